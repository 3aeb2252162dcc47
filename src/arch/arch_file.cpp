// Arch files: reads TOML (toml++) or JSON (nlohmann) and loads presets or files by name.
//
// Each reader parses its document, turns a parse error into "file:line:col: reason", and
// maps the top-level table to format-neutral FileEntries; apply_entries() gives them their
// meaning. load_arch() picks the reader by the file's extension (.toml or .json).
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "arch_entries.hpp"

namespace wafer::arch {

namespace {

std::string lower_first(std::string s) {
  if (!s.empty()) s[0] = char(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

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

// nlohmann reports a byte offset; the line and column are counted here.
std::string json_place(const std::string& text, size_t byte) {
  size_t line = 1, column = 0;
  for (size_t i = 0; i < std::min(byte, text.size()); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 0;
    } else {
      ++column;
    }
  }
  return fmt::format("{}:{}", line, std::max<size_t>(column, 1));
}

// Drops nlohmann's "[json.exception...] " tag and its "parse error at line L, column C: ".
std::string json_reason(const std::string& what) {
  std::string reason = what;
  size_t tag = reason.find("] ");
  if (tag != std::string::npos) reason = reason.substr(tag + 2);
  size_t at = reason.find(": ");
  if (reason.rfind("parse error", 0) == 0 && at != std::string::npos)
    reason = reason.substr(at + 2);
  return lower_first(reason);
}

Expected<std::string> read_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return make_error("cannot read arch file '{}': no such file", path);
  if (!std::filesystem::is_regular_file(path, ec))
    return make_error("cannot read arch file '{}': not a regular file", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot read arch file '{}': cannot open", path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
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
    return make_error("{}:{}: {}", origin, json_place(text, e.byte), json_reason(e.what()));
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
  Expected<std::string> text = read_file(name_or_path);
  if (!text) return text.status();
  return ext == ".toml" ? parse_arch_toml(*text, name_or_path)
                        : parse_arch_json(*text, name_or_path);
}

}  // namespace wafer::arch
