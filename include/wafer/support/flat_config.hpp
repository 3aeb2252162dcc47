// Flat key = value configuration files (TOML or JSON), read into typed entries.
//
// Arch, model and system files are all flat: top-level keys with numbers, strings or
// booleans. parse_flat_toml / parse_flat_json turn a document into one ConfigEntry per
// top-level key (sorted by key, not in document order), with its place in the file; what
// the keys mean, and the order they apply in, is the
// caller's business. Syntax errors and a key given twice name file:line:col. The parsers
// (toml++, nlohmann-json) stay inside flat_config.cpp.
#pragma once

#include <string>
#include <vector>

#include "wafer/support/error.hpp"

namespace wafer {

struct ConfigEntry {
  std::string key;
  enum class Type { number, boolean, string, other } type = Type::other;
  double number = 0;
  bool flag = false;
  std::string text;
  std::string type_name;  // the document's name for the value's type ("table", "array", ...)
  std::string where;      // "file:line:col" (TOML: of the value; JSON: of the key)
};
using ConfigEntries = std::vector<ConfigEntry>;

Expected<ConfigEntries> parse_flat_toml(const std::string& text, const std::string& origin);
Expected<ConfigEntries> parse_flat_json(const std::string& text, const std::string& origin);

// A TOML document of top-level keys and arrays of flat tables (`[[pool]]`, `[[job]]`): `top`
// holds the top-level keys as parse_flat_toml gives them, `tables` one entry per table of an
// array, arrays by name and each in document order; `where` is the table's header.
struct ConfigTable {
  std::string array;
  std::string where;
  ConfigEntries entries;
};
struct ConfigDocument {
  ConfigEntries top;
  std::vector<ConfigTable> tables;
};
Expected<ConfigDocument> parse_toml_tables(const std::string& text, const std::string& origin);

// Whether a path names a flat config file: it ends in .toml or .json (any case).
bool is_flat_config_path(const std::string& path);
// Reads a .toml or .json file and parses it by its extension; `what` names the file in the
// error when it cannot be read ("arch file", "model file").
Expected<ConfigEntries> read_flat_config(const std::string& path, const std::string& what);

}  // namespace wafer
