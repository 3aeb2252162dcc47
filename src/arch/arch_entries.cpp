// Applies the entries of an arch file (any format) to a preset: the file layout's semantics.
//
// Layout (docs/machine-model.md): one flat top-level table; `base` names the preset
// (default wse3), `name` the arch (default: the file name without extension), and every
// other key is a parameter of arch_params(). A value is a plain number or a string with a
// unit that must match the parameter's ("1.1 GHz"; bytes also take B, KiB, MiB). Values go
// through set_param(), so range and integer checks live in one place, then validate() runs.
// An unknown key is answered with the nearest valid key by edit distance.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <optional>

#include "arch_entries.hpp"
#include "wafer/support/suggest.hpp"

namespace wafer::arch {

namespace {

std::string trim(const std::string& s) {
  const char* space = " \t\r\n";
  size_t b = s.find_first_not_of(space);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(space) - b + 1);
}

std::string nearest_key(const std::string& key) {
  std::vector<std::string> keys = {"base", "name"};
  for (const ParamInfo& p : arch_params()) keys.push_back(p.key);
  return *std::min_element(keys.begin(), keys.end(), [&](const auto& a, const auto& b) {
    return edit_distance(key, a) < edit_distance(key, b);
  });
}

// The factor that turns a value in `unit` into the parameter's unit, if the units agree.
std::optional<double> unit_scale(const ParamInfo& p, const std::string& unit) {
  std::string u = lower_case(unit), want = lower_case(p.unit);
  if (want == "bytes") {
    if (u == "b" || u == "byte" || u == "bytes") return 1.0;
    if (u == "kib") return 1024.0;
    if (u == "mib") return 1024.0 * 1024.0;
    return std::nullopt;
  }
  bool plural_word = want.size() > 1 && want.back() == 's' && want.find('/') == std::string::npos;
  if (u == want || (plural_word && u == want.substr(0, want.size() - 1))) return 1.0;
  return std::nullopt;
}

Expected<double> parse_quantity(const ParamInfo& p, const std::string& text) {
  std::string s = trim(text);
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc())
    return make_error("key '{}': expected a number, got string '{}'", p.key, text);
  std::string unit = trim(s.substr(size_t(end - s.data())));
  if (unit.empty()) return value;
  std::optional<double> scale = unit_scale(p, unit);
  if (!scale) {
    const char* hint = std::strcmp(p.unit, "bytes") == 0 ? " (use B, KiB or MiB)" : "";
    return make_error("key '{}': unit '{}' does not match '{}'{}", p.key, unit, p.unit, hint);
  }
  return value * *scale;
}

Expected<double> to_number(const ParamInfo& p, const ConfigEntry& v) {
  if (v.type == ConfigEntry::Type::number) return v.number;
  if (v.type == ConfigEntry::Type::string) return parse_quantity(p, v.text);
  return make_error("key '{}': expected a number or a string with unit '{}', got {}", p.key, p.unit,
                    v.type_name);
}

Expected<std::string> to_text(const std::string& key, const ConfigEntry& v) {
  if (v.type == ConfigEntry::Type::string) return v.text;
  std::string got = v.type == ConfigEntry::Type::number ? "number" : v.type_name;
  return make_error("key '{}': expected a string, got {}", key, got);
}

Status apply_param(Arch& arch, const std::string& key, const ConfigEntry& v) {
  const ParamInfo* p = find_param(key);
  if (!p && (v.type_name == "table" || v.type_name == "object"))
    return make_error("unknown key '{}': parameters go at the top level, not in a table", key);
  if (!p) return make_error("unknown key '{}' (did you mean '{}'?)", key, nearest_key(key));
  Expected<double> number = to_number(*p, v);
  if (!number) return number.status();
  return set_param(arch, *p, *number);
}

Expected<Arch> resolve_base(const ConfigEntries& entries) {
  auto it =
      std::find_if(entries.begin(), entries.end(), [](const auto& e) { return e.key == "base"; });
  if (it == entries.end()) return preset("wse3");
  Expected<std::string> base = to_text("base", *it);
  if (!base) return base.status();
  Expected<Arch> arch = preset(*base);
  if (!arch) return arch.status().with_context("key 'base'");
  return arch;
}

Expected<Arch> build_arch(const ConfigEntries& entries, const std::string& origin) {
  Expected<Arch> arch = resolve_base(entries);
  if (!arch) return arch;
  arch->name = std::filesystem::path(origin).stem().string();
  if (arch->name.empty()) arch->name = origin;
  for (const ConfigEntry& e : entries) {
    if (e.key == "base") continue;
    if (e.key != "name") {
      WAFER_TRY(apply_param(*arch, e.key, e));
      continue;
    }
    Expected<std::string> name = to_text(e.key, e);
    if (!name) return name.status();
    if (name->empty()) return make_error("key 'name': must not be empty");
    arch->name = *name;
  }
  WAFER_TRY(validate(*arch));
  return arch;
}

}  // namespace

Expected<Arch> apply_entries(const ConfigEntries& entries, const std::string& origin) {
  Expected<Arch> arch = build_arch(entries, origin);
  if (!arch) return arch.status().with_context(origin);
  return arch;
}

}  // namespace wafer::arch
