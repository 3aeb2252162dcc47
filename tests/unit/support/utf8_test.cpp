// support: invalid_utf8_at finds the first byte of a malformed sequence (stray continuation,
// truncated, overlong, surrogate, above U+10FFFF), escaped_bytes shows bytes for messages, and
// json_text prints a name that is not UTF-8 with U+FFFD instead of throwing.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "wafer/support/json_text.hpp"
#include "wafer/support/text_file.hpp"

namespace wafer {
namespace {

constexpr size_t kValid = std::string::npos;

TEST(Utf8, AcceptsWellFormedText) {
  EXPECT_EQ(invalid_utf8_at(""), kValid);
  EXPECT_EQ(invalid_utf8_at("plain ascii"), kValid);
  EXPECT_EQ(invalid_utf8_at("\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), kValid);
  EXPECT_EQ(invalid_utf8_at("\xf4\x8f\xbf\xbf"), kValid);  // U+10FFFF
}

TEST(Utf8, FindsTheFirstBadByte) {
  EXPECT_EQ(invalid_utf8_at("sym\xff"), 3u);
  EXPECT_EQ(invalid_utf8_at("a\x80"), 1u);             // stray continuation byte
  EXPECT_EQ(invalid_utf8_at("ab\xc3"), 2u);            // truncated at the end
  EXPECT_EQ(invalid_utf8_at("\xe2\x82x"), 0u);         // truncated before an ASCII byte
  EXPECT_EQ(invalid_utf8_at("\xc0\xaf"), 0u);          // overlong '/'
  EXPECT_EQ(invalid_utf8_at("\xe0\x80\xaf"), 0u);      // overlong, three bytes
  EXPECT_EQ(invalid_utf8_at("\xed\xa0\x80"), 0u);      // surrogate U+D800
  EXPECT_EQ(invalid_utf8_at("\xf4\x90\x80\x80"), 0u);  // U+110000
  EXPECT_EQ(invalid_utf8_at("\xf8\x88\x80\x80\x80"), 0u);
}

TEST(Utf8, EscapedBytesShowsWhatIsNotPrintableAscii) {
  EXPECT_EQ(escaped_bytes("b\xff.toml"), "b\\xff.toml");
  EXPECT_EQ(escaped_bytes("tab\there"), "tab\\x09here");
}

TEST(JsonText, ReplacesInvalidUtf8InsteadOfThrowing) {
  const nlohmann::ordered_json j = {{"program", "p\xff.wafer"}, {"n", 1}};
  EXPECT_EQ(json_text(j), "{\"program\":\"p\xef\xbf\xbd.wafer\",\"n\":1}");
  EXPECT_EQ(json_text(nlohmann::json("\xc3\xa9")), "\"\xc3\xa9\"");
  EXPECT_EQ(json_text(nlohmann::json::array({1}), 2), "[\n  1\n]");
}

}  // namespace
}  // namespace wafer
