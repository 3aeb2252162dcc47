// JSON text that never throws: every nlohmann-json value the project prints or writes goes
// through json_text, which replaces bytes that are not valid UTF-8 (a file name in a foreign
// encoding, a symbol written with \xHH escapes) by U+FFFD instead of throwing type_error 316.
// A template over the JSON type, so it serves nlohmann::json and nlohmann::ordered_json alike
// without this header depending on the library.
#pragma once

#include <string>

namespace wafer {

// `indent` < 0 is the compact one-line form, else pretty-printed with that many spaces.
template <typename Json>
std::string json_text(const Json& value, int indent = -1) {
  return value.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace wafer
