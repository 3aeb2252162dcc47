// support/raster: a written image is a PNG of the right size, a missing directory is an error
// naming the path, lines and text put their pixels where expected.
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "wafer/support/raster.hpp"

namespace wafer {
namespace {

constexpr Rgb kWhite = {255, 255, 255};
constexpr Rgb kRed = {255, 0, 0};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

uint32_t big_endian(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = v << 8 | uint8_t(s[at + i]);
  return v;
}

TEST(Raster, WritesPngWithSignatureAndSize) {
  Image img(37, 21);
  img.fill(2, 3, 5, 5, kRed);
  const std::string path = ::testing::TempDir() + "/wafer_raster.png";
  Status st = write_png(path, img);
  ASSERT_TRUE(st.is_ok()) << st.message();
  const std::string png = read_file(path);
  ASSERT_GT(png.size(), 33u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  EXPECT_EQ(big_endian(png, 16), 37u);
  EXPECT_EQ(big_endian(png, 20), 21u);
}

TEST(Raster, MissingDirectoryNamesThePath) {
  Status st = write_png("/nonexistent-dir/r.png", Image(2, 2));
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("'/nonexistent-dir/r.png'"), std::string::npos) << st.message();
}

TEST(Raster, LineCoversBothEndsAndOnePixelPerColumn) {
  Image img(10, 10);
  draw_line(img, 1, 2, 7, 5, kRed);
  EXPECT_EQ(img.at(1, 2), kRed);
  EXPECT_EQ(img.at(7, 5), kRed);
  for (int x = 1; x <= 7; ++x) {
    int lit = 0;
    for (int y = 0; y < 10; ++y) lit += img.at(x, y) == kRed;
    EXPECT_EQ(lit, 1) << "column " << x;
  }
  EXPECT_EQ(img.at(0, 2), kWhite);
  EXPECT_EQ(img.at(8, 5), kWhite);
}

TEST(Raster, VerticalAndReversedLines) {
  Image img(5, 5);
  draw_line(img, 2, 4, 2, 0, kRed);
  for (int y = 0; y < 5; ++y) EXPECT_EQ(img.at(2, y), kRed);
  EXPECT_EQ(img.at(1, 2), kWhite);
}

TEST(Raster, TextWidthAndGlyphPixels) {
  EXPECT_EQ(text_width("ab1", 2), 24);
  Image img(20, 12);
  draw_text(img, 0, 0, "1", kRed, 2);
  EXPECT_EQ(img.at(2, 0), kRed);    // top of the 1's stem
  EXPECT_EQ(img.at(0, 0), kWhite);  // left of it
  draw_text(img, 8, 0, "T", kRed, 1);
  EXPECT_EQ(img.at(8, 0), kRed);
  EXPECT_EQ(img.at(8, 1), kWhite);
}

}  // namespace
}  // namespace wafer
