// Arch files: reads TOML (toml++) or JSON (nlohmann) and loads presets or files by name.
//
// Each reader parses its document, turns a parse error into "file:line:col: reason", and
// maps the top-level table to format-neutral FileEntries; apply_entries() gives them their
// meaning. load_arch() picks the reader by the file's extension (.toml or .json).
#include <algorithm>
#include <filesystem>
#include <sstream>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "arch_entries.hpp"
#include "wafer/support/text_file.hpp"

namespace wafer::arch {

namespace {

FileValue from_toml(const toml::node& node) {
  FileValue v;
  if (auto i = node.value_exact<int64_t>()) {
    v.type = FileValue::Type::number;
    v.number = double(*i);
  } else if (auto d = node.value_exact<double>()) {
    v.type = FileValue::Type::number;
    v.number = *d;
  } else if (auto s = node.value_exact<std::string>()) {
    v.type = FileValue::Type::string;
    v.text = *s;
  } else {
    std::ostringstream type;
    type << node.type();
    v.type_name = type.str();
  }
  return v;
}

FileValue from_json(const nlohmann::json& node) {
  FileValue v;
  if (node.is_number()) {
    v.type = FileValue::Type::number;
    v.number = node.get<double>();
  } else if (node.is_string()) {
    v.type = FileValue::Type::string;
    v.text = node.get<std::string>();
  } else {
    v.type_name = node.type_name();
  }
  return v;
}

}  // namespace

Expected<Arch> parse_arch_toml(const std::string& text, const std::string& origin) {
  toml::table table;
  try {
    table = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    return make_error("{}:{}:{}: {}", origin, at.line, at.column,
                      lower_first(std::string(e.description())));
  }
  FileEntries entries;
  for (const auto& [key, node] : table)
    entries.emplace_back(std::string(key.str()), from_toml(node));
  return apply_entries(entries, origin);
}

Expected<Arch> parse_arch_json(const std::string& text, const std::string& origin) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return make_error("{}:{}: {}", origin, line_column(text, e.byte), json_reason(e.what()));
  } catch (const nlohmann::json::exception& e) {
    return make_error("{}: {}", origin, json_reason(e.what()));
  }
  if (!doc.is_object())
    return make_error("{}: expected an object at the top level, got {}", origin, doc.type_name());
  FileEntries entries;
  for (const auto& [key, node] : doc.items()) entries.emplace_back(key, from_json(node));
  return apply_entries(entries, origin);
}

Expected<Arch> load_arch(const std::string& name_or_path) {
  const auto names = preset_names();
  if (std::find(names.begin(), names.end(), name_or_path) != names.end())
    return preset(name_or_path);
  std::string ext = lower_case(std::filesystem::path(name_or_path).extension().string());
  if (ext != ".toml" && ext != ".json") {
    return make_error("unknown arch '{}': not a preset ({}) nor a .toml or .json file",
                      name_or_path, fmt::join(names, ", "));
  }
  Expected<std::string> text = read_text_file(name_or_path, "arch file");
  if (!text) return text.status();
  return ext == ".toml" ? parse_arch_toml(*text, name_or_path)
                        : parse_arch_json(*text, name_or_path);
}

}  // namespace wafer::arch
