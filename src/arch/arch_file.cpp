// Arch files: loads presets or TOML/JSON files by name.
//
// support/flat_config reads the document into format-neutral entries (with file:line:col
// on syntax errors); apply_entries() gives them their meaning. load_arch() takes a preset
// name or a .toml/.json file.
#include <algorithm>

#include <fmt/ranges.h>

#include "arch_entries.hpp"

namespace wafer::arch {

Expected<Arch> parse_arch_toml(const std::string& text, const std::string& origin) {
  auto entries = parse_flat_toml(text, origin);
  if (!entries) return entries.status();
  return apply_entries(*entries, origin);
}

Expected<Arch> parse_arch_json(const std::string& text, const std::string& origin) {
  auto entries = parse_flat_json(text, origin);
  if (!entries) return entries.status();
  return apply_entries(*entries, origin);
}

Expected<Arch> load_arch(const std::string& name_or_path) {
  const auto names = preset_names();
  if (std::find(names.begin(), names.end(), name_or_path) != names.end())
    return preset(name_or_path);
  if (!is_flat_config_path(name_or_path))
    return make_error("unknown arch '{}': not a preset ({}) nor a .toml or .json file",
                      name_or_path, fmt::join(names, ", "));
  auto entries = read_flat_config(name_or_path, "arch file");
  if (!entries) return entries.status();
  return apply_entries(*entries, name_or_path);
}

}  // namespace wafer::arch
