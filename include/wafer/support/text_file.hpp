// Helpers shared by the readers of user files (arch files, model files): reading a file with
// errors that name it, and turning a parser's byte offset or message into "line:col: reason".
#pragma once

#include <cstddef>
#include <string>

#include "wafer/support/error.hpp"

namespace wafer {

// The whole file; `what` names it in errors ("cannot read <what> '<path>': no such file").
Expected<std::string> read_text_file(const std::string& path, const std::string& what);

// "line:col" (1-based) of a byte offset into `text`.
std::string line_column(const std::string& text, size_t byte);

std::string lower_first(std::string s);
std::string lower_case(std::string s);

// nlohmann-json's exception text without its "[json.exception...] " tag and its
// "parse error at line L, column C: " prefix, lower-cased first.
std::string json_reason(const std::string& what);

}  // namespace wafer
