// support/raster: a written image is a PNG of the right size, a missing directory is an error
// naming the path, lines and text put their pixels where expected, the colour bar puts each
// value on its row and colour with ticks at round values, legends lay out their rows.
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
constexpr Rgb kBlue = {0, 0, 255};
constexpr Rgb kBlack = {0, 0, 0};

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

TEST(Raster, TextWidthCountsCharactersNotBytes) {
  EXPECT_EQ(text_width("ab1", 2), 34);  // 3 glyphs of 6 columns, less the last blank one
  EXPECT_EQ(text_width("mm\xc2\xb2"), 17) << "the UTF-8 '²' is one glyph";
  EXPECT_EQ(text_width("a\xff"), 11) << "a stray byte is one '?'";
  EXPECT_EQ(text_width(""), 0);
  EXPECT_EQ(text_height(2), 16);
}

TEST(Raster, GlyphPixelsAtTheirPlace) {
  Image img(40, 20);
  draw_text(img, 0, 0, "1", kRed, 2);
  EXPECT_EQ(img.at(4, 0), kRed);    // top of the 1's stem: column 2, doubled
  EXPECT_EQ(img.at(5, 1), kRed);
  EXPECT_EQ(img.at(2, 0), kWhite);  // left of it on the first row
  EXPECT_EQ(img.at(2, 2), kRed);    // the flag on the second row
  EXPECT_EQ(img.at(2, 12), kRed);   // the foot spans columns 1..3
  EXPECT_EQ(img.at(6, 12), kRed);
  draw_text(img, 14, 0, "Tg", kRed, 1);
  for (int x = 14; x <= 18; ++x) EXPECT_EQ(img.at(x, 0), kRed) << "T's bar at " << x;
  EXPECT_EQ(img.at(14, 1), kWhite);
  EXPECT_EQ(img.at(16, 1), kRed);
  EXPECT_EQ(img.at(21, 7), kRed) << "g's descender on the eighth row";
  EXPECT_EQ(img.at(20, 7), kWhite);
}

TEST(Raster, FittingScale) {
  EXPECT_EQ(fitting_scale("abc", 34), 2);  // 17 px at 1, 34 px at 2
  EXPECT_EQ(fitting_scale("abc", 33), 1);
  EXPECT_EQ(fitting_scale("abc", 5), 1) << "never below 1";
  EXPECT_EQ(fitting_scale("abc", 1000, 3), 3);
}

TEST(Raster, NiceSteps) {
  EXPECT_DOUBLE_EQ(nice_step(0.8, 5), 0.2);
  EXPECT_DOUBLE_EQ(nice_step(1172, 10), 200);
  EXPECT_DOUBLE_EQ(nice_step(3, 1), 5);
  EXPECT_DOUBLE_EQ(nice_step(7.5, 1), 10);
  EXPECT_DOUBLE_EQ(nice_step(1, 1), 1);
}

TEST(Raster, ColorBarMapsValuesToRowsAndColours) {
  const ColorBar bar{0.8, "busy fraction", 14, 101, 1};
  EXPECT_EQ(color_bar_ramp_top(bar), 16) << "the unit and a line's gap above the ramp";
  EXPECT_EQ(color_bar_row(bar, 0.8), 16);
  EXPECT_EQ(color_bar_row(bar, 0.4), 66);
  EXPECT_EQ(color_bar_row(bar, 0), 116);
  EXPECT_EQ(color_bar_row(bar, 5), 16) << "clamped";
  EXPECT_EQ(color_bar_height(bar), 117);
  EXPECT_EQ(color_bar_width(bar), 77) << "the unit is wider than the bar and its labels";
  EXPECT_EQ(color_bar_colour(0.4, 0.8), (Rgb{33, 144, 140})) << "the middle of viridis";
  EXPECT_EQ(color_bar_colour(0.8, 0.8), (Rgb{253, 231, 37}));
  EXPECT_EQ(color_bar_colour(0, 0.8), (Rgb{68, 1, 84}));

  Image img(100, 130);
  draw_color_bar(img, 0, 0, bar);
  EXPECT_EQ(img.at(5, 66), (Rgb{33, 144, 140}));
  EXPECT_EQ(img.at(0, 66), kBlack) << "outline";
  // Ticks at the round values 0, 0.2, 0.4, 0.6 and at the top, each with its label.
  for (double v : {0.0, 0.2, 0.4, 0.6, 0.8}) {
    const int row = color_bar_row(bar, v);
    EXPECT_EQ(img.at(15, row), kBlack) << "tick at " << v;
    EXPECT_EQ(img.at(21, row - 4), kBlack) << "the top of the label's leading 0 at " << v;
  }
  EXPECT_EQ(img.at(15, color_bar_row(bar, 0.1)), kWhite) << "no tick between round values";
}

TEST(Raster, LegendRowsHaveSwatchAndLabel) {
  Image img(120, 40);
  const int h = draw_legend(img, 2, 3, {{kRed, "a"}, {kBlue, "b"}});
  EXPECT_EQ(h, 2 * legend_row_height());
  EXPECT_EQ(legend_row_height(), 14);
  EXPECT_EQ(img.at(2, 3), kRed);
  EXPECT_EQ(img.at(17, 9), kRed);
  EXPECT_EQ(img.at(2, 3 + 14), kBlue);
  EXPECT_EQ(img.at(27, 3 + 2), kBlack) << "the top of the a right of the swatch";
  EXPECT_EQ(img.at(26, 3 + 2), kWhite);
  EXPECT_EQ(legend_width({{kRed, "ab"}}), 16 + 8 + 11);
}

}  // namespace
}  // namespace wafer
