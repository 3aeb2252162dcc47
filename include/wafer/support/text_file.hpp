// Helpers shared by the readers of user files (arch files, model files): reading a file with
// errors that name it, turning a parser's byte offset or message into "line:col: reason", and
// checking that a name is valid UTF-8 before it can reach JSON output.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "wafer/support/error.hpp"

namespace wafer {

// The whole file; `what` names it in errors ("cannot read <what> '<path>': no such file").
Expected<std::string> read_text_file(const std::string& path, const std::string& what);

// "line:col" (1-based) of a byte offset into `text`.
std::string line_column(const std::string& text, size_t byte);

// The offset of the first byte of `s` that does not start a well-formed UTF-8 sequence
// (overlong forms, surrogates and code points above U+10FFFF are not), or npos when all do.
size_t invalid_utf8_at(std::string_view s);

// `s` with every byte that is not printable ASCII written as \xHH, for messages.
std::string escaped_bytes(std::string_view s);

std::string lower_first(std::string s);
std::string lower_case(std::string s);

// nlohmann-json's exception text without its "[json.exception...] " tag and its
// "parse error at line L, column C: " prefix, lower-cased first.
std::string json_reason(const std::string& what);

}  // namespace wafer
