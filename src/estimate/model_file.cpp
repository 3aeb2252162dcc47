// Models from TOML/JSON files and from shape flags.
//
// Both readers (support/flat_config) and the shape flags produce one list of Settings (key,
// value, where it was written); apply_settings() is the one place that starts from the base
// (a zoo model or the GPT-style defaults), checks each key against the parameter table
// (model_params(), model.cpp), converts and sets values, fills derived defaults (kv_heads,
// ffn) and validates the result.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include <fmt/ranges.h>

#include "wafer/estimate/model.hpp"
#include "wafer/support/text_file.hpp"

namespace wafer::estimate {

namespace {

// One setting: a key of a model file, or a shape flag (where = "shape flags").
using Setting = ConfigEntry;

// Where the settings come from: a file (keys are named 'key') or shape flags (--key).
struct Origin {
  std::string name;
  bool flags = false;
  std::string key_name(const std::string& key) const {
    if (!flags) return fmt::format("key '{}'", key);
    std::string flag = "--" + key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    return flag;
  }
};

Status apply_setting(Model& m, const Setting& s, const Origin& origin) {
  return apply_entry(m, model_params(), s, origin.key_name(s.key), {"base"});
}

// The starting point: the zoo model named by `base`, or the GPT-style defaults.
Expected<Model> base_model(const std::vector<Setting>& settings) {
  auto it = std::find_if(settings.begin(), settings.end(),
                         [](const Setting& s) { return s.key == "base"; });
  if (it == settings.end()) {
    Model m;
    m.name = "custom";
    m.vocab = 50257;
    m.seq = 2048;
    return m;
  }
  if (it->type != Setting::Type::string)
    return wrong_type(*it, "a zoo model name").with_context(it->where + ": key 'base'");
  Expected<Model> m = zoo_model(it->text);
  if (!m) return m.status().with_context(it->where + ": key 'base'");
  return m;
}

// Without a base: layers, hidden and heads are required; kv_heads and ffn are derived.
Status fill_defaults(Model& m, const std::set<std::string>& set, const Origin& origin) {
  for (const char* key : {"layers", "hidden", "heads"})
    if (!set.count(key)) return make_error("{}: missing {}", origin.name, origin.key_name(key));
  if (!set.count("kv_heads")) m.kv_heads = m.heads;
  if (!set.count("ffn"))
    m.ffn = m.mlp == MlpKind::gelu ? 4 * m.hidden : (8 * m.hidden / 3 + 255) / 256 * 256;
  return Status::ok();
}

Expected<Model> apply_settings(const std::vector<Setting>& settings, const Origin& origin) {
  Expected<Model> m = base_model(settings);
  if (!m) return m.status();
  std::set<std::string> set;
  for (const Setting& s : settings) {
    if (s.key == "base") continue;
    WAFER_TRY(apply_setting(*m, s, origin));
    set.insert(s.key);
  }
  bool has_base = std::any_of(settings.begin(), settings.end(),
                              [](const Setting& s) { return s.key == "base"; });
  if (!has_base) WAFER_TRY(fill_defaults(*m, set, origin));
  WAFER_TRY(validate(*m).with_context(origin.name));
  return m;
}

Setting number_flag(const char* key, int64_t value) {
  Setting s;
  s.key = key;
  s.type = Setting::Type::number;
  s.number = double(value);
  s.where = "shape flags";
  return s;
}

}  // namespace

Expected<Model> parse_model_toml(const std::string& text, const std::string& origin) {
  auto settings = parse_flat_toml(text, origin);
  if (!settings) return settings.status();
  return apply_settings(*settings, {origin});
}

Expected<Model> parse_model_json(const std::string& text, const std::string& origin) {
  auto settings = parse_flat_json(text, origin);
  if (!settings) return settings.status();
  return apply_settings(*settings, {origin});
}

Expected<Model> load_model(const std::string& name_or_path) {
  if (zoo_model_name(name_or_path)) return zoo_model(name_or_path);
  if (!is_flat_config_path(name_or_path))
    return make_error("{}; nor is it a .toml or .json model file",
                      zoo_model(name_or_path).message());
  auto settings = read_flat_config(name_or_path, "model file");
  if (!settings) return settings.status();
  return apply_settings(*settings, {name_or_path});
}

Expected<Model> model_from_shape(const ModelShape& shape) {
  std::vector<Setting> settings;
  const std::pair<const char*, const std::optional<int64_t>*> numbers[] = {
      {"layers", &shape.layers}, {"hidden", &shape.hidden}, {"heads", &shape.heads},
      {"kv_heads", &shape.kv_heads}, {"ffn", &shape.ffn}, {"vocab", &shape.vocab},
      {"seq", &shape.seq}};
  for (const auto& [key, value] : numbers)
    if (value->has_value()) settings.push_back(number_flag(key, **value));
  if (shape.mlp) {
    Setting s = number_flag("mlp", 0);
    s.type = Setting::Type::string;
    s.text = *shape.mlp;
    settings.push_back(s);
  }
  return apply_settings(settings, {"shape flags", true});
}

}  // namespace wafer::estimate
