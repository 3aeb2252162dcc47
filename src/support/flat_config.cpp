// TOML and JSON documents to flat config entries, and TOML arrays of flat tables; see
// flat_config.hpp.
//
// toml++ rejects a key given twice itself. nlohmann-json keeps the last of two and records no
// positions, so the JSON parse reads through an iterator that marks how far the lexer got and
// a callback that places each top-level key there, which finds a second one with both places.
#include "wafer/support/flat_config.hpp"

#include <filesystem>
#include <iterator>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "wafer/support/text_file.hpp"

namespace wafer {

namespace {

ConfigEntry from_toml(const std::string& key, const toml::node& node, const std::string& origin) {
  ConfigEntry e;
  e.key = key;
  e.where = fmt::format("{}:{}:{}", origin, node.source().begin.line, node.source().begin.column);
  std::ostringstream type;
  type << node.type();
  e.type_name = type.str();
  if (auto i = node.value_exact<int64_t>()) {
    e.type = ConfigEntry::Type::number;
    e.number = double(*i);
  } else if (auto d = node.value_exact<double>()) {
    e.type = ConfigEntry::Type::number;
    e.number = *d;
  } else if (auto b = node.value_exact<bool>()) {
    e.type = ConfigEntry::Type::boolean;
    e.flag = *b;
  } else if (auto t = node.value_exact<std::string>()) {
    e.type = ConfigEntry::Type::string;
    e.text = *t;
  }
  return e;
}

// A character iterator that records how far nlohmann's lexer has read: nlohmann keeps no
// positions, but when its parse callback is handed a key the lexer has just read the key's
// closing quote, so the key's place is known exactly.
class ReadMark {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  ReadMark(const char* at, const char** read) : at_(at), read_(read) {}
  reference operator*() const { return *at_; }
  ReadMark& operator++() {
    *read_ = ++at_;
    return *this;
  }
  bool operator==(const ReadMark& other) const { return at_ == other.at_; }

 private:
  const char* at_;
  const char** read_;
};

// Parses a JSON document and places each top-level key at its opening quote; a key given twice
// is an error that names both places.
Expected<nlohmann::json> parse_json_placed(const std::string& text, const std::string& origin,
                                           std::map<std::string, std::string>& places) {
  const char* read = text.data();
  std::string duplicate;
  auto place_key = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& key) {
    if (depth != 1 || event != nlohmann::json::parse_event_t::key) return true;
    const size_t close = size_t(read - text.data()) - 1;
    const std::string at =
        fmt::format("{}:{}", origin, line_column(text, text.rfind('"', close - 1) + 1));
    auto [first, fresh] = places.try_emplace(key.get<std::string>(), at);
    if (!fresh && duplicate.empty())
      duplicate = fmt::format("{}: duplicate key '{}' (first at {})", at, first->first,
                              first->second);
    return true;
  };
  const char* end = text.data() + text.size();
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(ReadMark(text.data(), &read), ReadMark(end, &read), place_key);
  } catch (const nlohmann::json::parse_error& e) {
    return make_error("{}:{}: {}", origin, line_column(text, e.byte), json_reason(e.what()));
  } catch (const nlohmann::json::exception& e) {
    return make_error("{}: {}", origin, json_reason(e.what()));
  }
  if (!duplicate.empty()) return Status::error(duplicate);
  return doc;
}

ConfigEntry from_json(const std::string& key, const nlohmann::json& node, const std::string& where) {
  ConfigEntry e;
  e.key = key;
  e.where = where;
  e.type_name = node.type_name();
  if (node.is_number()) {
    e.type = ConfigEntry::Type::number;
    e.number = node.get<double>();
  } else if (node.is_boolean()) {
    e.type = ConfigEntry::Type::boolean;
    e.flag = node.get<bool>();
  } else if (node.is_string()) {
    e.type = ConfigEntry::Type::string;
    e.text = node.get<std::string>();
  }
  return e;
}

Expected<toml::table> parse_toml(const std::string& text, const std::string& origin) {
  try {
    return toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    return make_error("{}:{}:{}: {}", origin, at.line, at.column,
                      lower_first(std::string(e.description())));
  }
}

ConfigEntries flat_entries(const toml::table& table, const std::string& origin) {
  ConfigEntries entries;
  for (const auto& [key, node] : table) entries.push_back(from_toml(std::string(key.str()), node, origin));
  return entries;
}

}  // namespace

Expected<ConfigEntries> parse_flat_toml(const std::string& text, const std::string& origin) {
  Expected<toml::table> table = parse_toml(text, origin);
  if (!table) return table.status();
  return flat_entries(*table, origin);
}

Expected<ConfigDocument> parse_toml_tables(const std::string& text, const std::string& origin) {
  Expected<toml::table> table = parse_toml(text, origin);
  if (!table) return table.status();
  ConfigDocument doc;
  for (const auto& [key, node] : *table) {
    const toml::array* array = node.as_array();
    if (!array || !array->is_array_of_tables()) {
      doc.top.push_back(from_toml(std::string(key.str()), node, origin));
      continue;
    }
    for (const toml::node& element : *array) {
      const auto& at = element.source().begin;
      const std::string where = fmt::format("{}:{}:{}", origin, at.line, at.column);
      doc.tables.push_back({std::string(key.str()), where, flat_entries(*element.as_table(), origin)});
    }
  }
  return doc;
}

Expected<ConfigEntries> parse_flat_json(const std::string& text, const std::string& origin) {
  std::map<std::string, std::string> places;
  auto doc = parse_json_placed(text, origin, places);
  if (!doc) return doc.status();
  if (!doc->is_object())
    return make_error("{}: expected an object at the top level, got {}", origin, doc->type_name());
  ConfigEntries entries;
  for (const auto& [key, node] : doc->items()) entries.push_back(from_json(key, node, places[key]));
  return entries;
}

}  // namespace wafer

namespace wafer {

bool is_flat_config_path(const std::string& path) {
  std::string ext = lower_case(std::filesystem::path(path).extension().string());
  return ext == ".toml" || ext == ".json";
}

Expected<ConfigEntries> read_flat_config(const std::string& path, const std::string& what) {
  Expected<std::string> text = read_text_file(path, what);
  if (!text) return text.status();
  std::string ext = lower_case(std::filesystem::path(path).extension().string());
  return ext == ".json" ? parse_flat_json(*text, path) : parse_flat_toml(*text, path);
}

}  // namespace wafer
