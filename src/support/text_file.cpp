// Reading user files and formatting parser positions and messages (text_file.hpp).
#include "wafer/support/text_file.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
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

namespace {

// The length of the well-formed UTF-8 sequence starting at s[i], or 0 when there is none.
size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return uint32_t(uint8_t(s[i + k])); };
  const uint32_t lead = byte(0);
  if (lead < 0x80) return 1;
  const size_t length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 0;
  if (length == 0 || lead >= 0xf8 || s.size() - i < length) return 0;
  uint32_t code = lead & (0x7fu >> length);
  for (size_t k = 1; k < length; ++k) {
    if ((byte(k) & 0xc0) != 0x80) return 0;
    code = code << 6 | (byte(k) & 0x3f);
  }
  constexpr uint32_t kShortest[] = {0, 0, 0x80, 0x800, 0x10000};
  const bool surrogate = code >= 0xd800 && code <= 0xdfff;
  return code < kShortest[length] || code > 0x10ffff || surrogate ? 0 : length;
}

}  // namespace

size_t invalid_utf8_at(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t length = utf8_sequence_length(s, i);
    if (length == 0) return i;
    i += length;
  }
  return std::string_view::npos;
}

std::string escaped_bytes(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto byte = uint8_t(c);
    out += byte >= 0x20 && byte < 0x7f ? std::string(1, c) : fmt::format("\\x{:02x}", byte);
  }
  return out;
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
