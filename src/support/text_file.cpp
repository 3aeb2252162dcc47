// Reading user files and formatting parser positions and messages (text_file.hpp).
#include "wafer/support/text_file.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace wafer {

Expected<std::string> read_text_file(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return make_error("cannot read {} '{}': no such file", what, path);
  if (!std::filesystem::is_regular_file(path, ec))
    return make_error("cannot read {} '{}': not a regular file", what, path);
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot read {} '{}': cannot open", what, path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string line_column(const std::string& text, size_t byte) {
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

std::string lower_first(std::string s) {
  if (!s.empty()) s[0] = char(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

std::string lower_case(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string json_reason(const std::string& what) {
  std::string reason = what;
  size_t tag = reason.find("] ");
  if (tag != std::string::npos) reason = reason.substr(tag + 2);
  size_t at = reason.find(": ");
  if (reason.rfind("parse error", 0) == 0 && at != std::string::npos)
    reason = reason.substr(at + 2);
  return lower_first(reason);
}

}  // namespace wafer
