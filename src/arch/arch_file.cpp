// Arch files: loads presets or TOML/JSON files by name.
//
// support/flat_config reads the document into format-neutral entries (with file:line:col
// on syntax errors); apply_entries() gives them their meaning. load_arch() picks the reader
// by the file's extension (.toml or .json).
#include <algorithm>
#include <filesystem>

#include <fmt/ranges.h>

#include "arch_entries.hpp"
#include "wafer/support/text_file.hpp"

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
