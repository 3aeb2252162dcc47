// The raster helpers and the libpng writer of support/raster.hpp.
//
// The font table lists each glyph's eight rows top to bottom, bit 4 the left column; text is
// decoded from UTF-8 first so that a multi-byte character takes one glyph. The colour bar's
// rows map linearly from top (first row) to 0 (last row), and its labels are the values at
// its ticks with three significant digits. libpng reports errors by longjmp, so encode_png
// owns no C++ objects and keeps the message in a plain char buffer.
#include "wafer/support/raster.hpp"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include <fmt/format.h>

#include "wafer/support/atomic_file.hpp"

namespace wafer {

Image::Image(int w, int h, Rgb background) : w_(w), h_(h), rgb_(size_t(w) * size_t(h) * 3) {
  for (size_t i = 0; i < rgb_.size(); ++i) rgb_[i] = background[i % 3];
}

void Image::set(int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
  std::copy(c.begin(), c.end(), rgb_.begin() + (ptrdiff_t(y) * w_ + x) * 3);
}

void Image::fill(int x, int y, int w, int h, Rgb c) {
  for (int j = y; j < y + h; ++j)
    for (int i = x; i < x + w; ++i) set(i, j, c);
}

Rgb Image::at(int x, int y) const {
  const uint8_t* p = row(y) + ptrdiff_t(x) * 3;
  return {p[0], p[1], p[2]};
}

namespace {

constexpr Rgb kInk = {0, 0, 0};
constexpr int kSwatchWidth = 16;
constexpr int kColorBarTicks = 5;  // at most this many round values below the top

std::string value_label(double v) { return fmt::format("{:.3g}", v); }

int ramp_rows(const ColorBar& bar) { return std::max(1, bar.height - 1); }

// The labelled values: round steps from 0, then the top, dropping a step whose label would
// touch the top's.
std::vector<double> bar_ticks(const ColorBar& bar) {
  std::vector<double> ticks;
  if (!(bar.top > 0)) return {0};
  const double step = nice_step(bar.top, kColorBarTicks);
  const double min_gap = bar.top * (text_height(bar.scale) + 2) / ramp_rows(bar);
  for (int i = 0; i * step < bar.top - min_gap; ++i) ticks.push_back(i * step);
  ticks.push_back(bar.top);
  return ticks;
}

// viridis at 0, 1/8, ..., 1 (matplotlib's map, as sampled by R's viridis(9)).
constexpr std::array<Rgb, 9> kViridis = {{{68, 1, 84},
                                          {71, 45, 123},
                                          {59, 82, 139},
                                          {44, 114, 142},
                                          {33, 144, 140},
                                          {39, 173, 129},
                                          {93, 200, 99},
                                          {170, 220, 50},
                                          {253, 231, 37}}};

// Rows top to bottom, bit 4 the left column; rows 0..6 hold capitals and digits, row 7 the
// descenders of g, j, p, q and y. Printable ASCII from ' ' to '~'.
using Glyph = std::array<uint8_t, kGlyphRows>;

constexpr std::array<Glyph, 95> kFont = {{
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},  // ' '
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04, 0x00},  // !
    {0x0A, 0x0A, 0x0A, 0x00, 0x00, 0x00, 0x00, 0x00},  // "
    {0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A, 0x00},  // #
    {0x04, 0x0F, 0x14, 0x0E, 0x05, 0x1E, 0x04, 0x00},  // $
    {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03, 0x00},  // %
    {0x0C, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0D, 0x00},  // &
    {0x04, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00},  // '
    {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02, 0x00},  // (
    {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08, 0x00},  // )
    {0x00, 0x04, 0x15, 0x0E, 0x15, 0x04, 0x00, 0x00},  // *
    {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00, 0x00},  // +
    {0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08, 0x00},  // ,
    {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00, 0x00},  // -
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C, 0x00},  // .
    {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00, 0x00},  // /
    {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E, 0x00},  // 0
    {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E, 0x00},  // 1
    {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F, 0x00},  // 2
    {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E, 0x00},  // 3
    {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02, 0x00},  // 4
    {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E, 0x00},  // 5
    {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E, 0x00},  // 6
    {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08, 0x00},  // 7
    {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E, 0x00},  // 8
    {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C, 0x00},  // 9
    {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00, 0x00},  // :
    {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x04, 0x08, 0x00},  // ;
    {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02, 0x00},  // <
    {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00, 0x00},  // =
    {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08, 0x00},  // >
    {0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04, 0x00},  // ?
    {0x0E, 0x11, 0x01, 0x0D, 0x15, 0x15, 0x0E, 0x00},  // @
    {0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x00},  // A
    {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E, 0x00},  // B
    {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E, 0x00},  // C
    {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C, 0x00},  // D
    {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F, 0x00},  // E
    {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10, 0x00},  // F
    {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F, 0x00},  // G
    {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11, 0x00},  // H
    {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E, 0x00},  // I
    {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C, 0x00},  // J
    {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11, 0x00},  // K
    {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F, 0x00},  // L
    {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11, 0x00},  // M
    {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x00},  // N
    {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E, 0x00},  // O
    {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10, 0x00},  // P
    {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D, 0x00},  // Q
    {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11, 0x00},  // R
    {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E, 0x00},  // S
    {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x00},  // T
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E, 0x00},  // U
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04, 0x00},  // V
    {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A, 0x00},  // W
    {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11, 0x00},  // X
    {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x00},  // Y
    {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F, 0x00},  // Z
    {0x0E, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E, 0x00},  // [
    {0x00, 0x10, 0x08, 0x04, 0x02, 0x01, 0x00, 0x00},  // backslash
    {0x0E, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0E, 0x00},  // ]
    {0x04, 0x0A, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00},  // ^
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F, 0x00},  // _
    {0x08, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00},  // `
    {0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F, 0x00},  // a
    {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E, 0x00},  // b
    {0x00, 0x00, 0x0E, 0x10, 0x10, 0x11, 0x0E, 0x00},  // c
    {0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F, 0x00},  // d
    {0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E, 0x00},  // e
    {0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08, 0x00},  // f
    {0x00, 0x00, 0x0F, 0x11, 0x11, 0x0F, 0x01, 0x0E},  // g
    {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00},  // h
    {0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E, 0x00},  // i
    {0x02, 0x00, 0x06, 0x02, 0x02, 0x02, 0x12, 0x0C},  // j
    {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12, 0x00},  // k
    {0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E, 0x00},  // l
    {0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11, 0x00},  // m
    {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00},  // n
    {0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E, 0x00},  // o
    {0x00, 0x00, 0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10},  // p
    {0x00, 0x00, 0x0F, 0x11, 0x11, 0x0F, 0x01, 0x01},  // q
    {0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10, 0x00},  // r
    {0x00, 0x00, 0x0F, 0x10, 0x0E, 0x01, 0x1E, 0x00},  // s
    {0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06, 0x00},  // t
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D, 0x00},  // u
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x0A, 0x04, 0x00},  // v
    {0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0A, 0x00},  // w
    {0x00, 0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x00},  // x
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x0F, 0x01, 0x0E},  // y
    {0x00, 0x00, 0x1F, 0x02, 0x04, 0x08, 0x1F, 0x00},  // z
    {0x02, 0x04, 0x04, 0x08, 0x04, 0x04, 0x02, 0x00},  // {
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x00},  // |
    {0x08, 0x04, 0x04, 0x02, 0x04, 0x04, 0x08, 0x00},  // }
    {0x00, 0x00, 0x08, 0x15, 0x02, 0x00, 0x00, 0x00},  // ~
}};

constexpr Glyph kSquared = {0x0C, 0x02, 0x04, 0x08, 0x0E, 0x00, 0x00, 0x00};  // superscript 2

// Bytes of the UTF-8 sequence a byte starts, or 0 for a byte that cannot start one.
int sequence_length(uint8_t b) {
  return b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
}

// The code points of UTF-8 text; a byte that starts no valid sequence reads as '?'.
std::vector<char32_t> code_points(const std::string& text) {
  std::vector<char32_t> out;
  for (size_t i = 0; i < text.size();) {
    const int n = sequence_length(uint8_t(text[i]));
    char32_t c = n == 1 ? uint8_t(text[i]) : char32_t(uint8_t(text[i]) & (0x7F >> n));
    bool ok = n > 0 && i + size_t(n) <= text.size();
    for (int k = 1; ok && k < n; ++k) {
      const auto b = uint8_t(text[i + size_t(k)]);
      ok = (b & 0xC0) == 0x80;
      c = c << 6 | (b & 0x3F);
    }
    out.push_back(ok ? c : U'?');
    i += ok ? size_t(n) : 1;
  }
  return out;
}

Glyph glyph(char32_t c) {
  if (c >= U' ' && c <= U'~') return kFont[size_t(c - U' ')];
  if (c == U'\u00b2') return kSquared;
  return kFont[size_t(U'?' - U' ')];
}

struct PngError {
  char message[256] = "unknown error";
};

void on_png_error(png_structp png, png_const_charp message) {
  auto* err = static_cast<PngError*>(png_get_error_ptr(png));
  std::snprintf(err->message, sizeof err->message, "%s", message);
  png_longjmp(png, 1);
}

void on_png_warning(png_structp, png_const_charp) {}

// Encodes 8-bit RGB rows into `f`; holds no C++ objects, since libpng errors longjmp here.
bool encode_png(std::FILE* f, int width, int height, png_bytepp rows, PngError* err) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, err, on_png_error, on_png_warning);
  if (!png) return false;
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, png_uint_32(width), png_uint_32(height), 8, PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

}  // namespace

Rgb viridis(double v) {
  v = std::clamp(v, 0.0, 1.0) * double(kViridis.size() - 1);
  const size_t i = std::min(size_t(v), kViridis.size() - 2);
  const double f = v - double(i);
  Rgb c;
  for (int k = 0; k < 3; ++k)
    c[k] = uint8_t(double(kViridis[i][k]) * (1 - f) + double(kViridis[i + 1][k]) * f + 0.5);
  return c;
}

int text_width(const std::string& text, int scale) {
  const int n = int(code_points(text).size());
  return n ? (n * kGlyphAdvance - 1) * scale : 0;
}

int fitting_scale(const std::string& text, int width, int max_scale) {
  int scale = std::max(1, max_scale);
  while (scale > 1 && text_width(text, scale) > width) --scale;
  return scale;
}

void draw_text(Image& img, int x, int y, const std::string& text, Rgb c, int scale) {
  for (char32_t ch : code_points(text)) {
    const Glyph g = glyph(ch);
    for (int r = 0; r < kGlyphRows; ++r)
      for (int col = 0; col < kGlyphColumns; ++col)
        if (g[size_t(r)] & (0x10 >> col)) img.fill(x + col * scale, y + r * scale, scale, scale, c);
    x += kGlyphAdvance * scale;
  }
}

void draw_line(Image& img, int x0, int y0, int x1, int y1, Rgb c) {
  const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
  const int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  int err = dx + dy;
  for (;;) {
    img.set(x0, y0, c);
    if (x0 == x1 && y0 == y1) return;
    const int e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x0 += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y0 += sy;
    }
  }
}

void draw_box(Image& img, int x0, int y0, int x1, int y1, Rgb c) {
  draw_line(img, x0, y0, x1, y0, c);
  draw_line(img, x1, y0, x1, y1, c);
  draw_line(img, x1, y1, x0, y1, c);
  draw_line(img, x0, y1, x0, y0, c);
}

double nice_step(double span, int max_steps) {
  if (!(span > 0) || max_steps < 1) return 1;
  const double raw = span / max_steps, decade = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (m * decade >= raw) return m * decade;
  return 10 * decade;
}

Rgb color_bar_colour(double value, double top) { return viridis(top > 0 ? value / top : 0); }

int color_bar_width(const ColorBar& bar) {
  int labels = 0;
  for (double v : bar_ticks(bar)) labels = std::max(labels, text_width(value_label(v), bar.scale));
  return std::max(text_width(bar.unit, bar.scale), bar.width + 6 * bar.scale + labels);
}

int color_bar_height(const ColorBar& bar) { return color_bar_ramp_top(bar) + bar.height; }

int color_bar_ramp_top(const ColorBar& bar) { return bar.unit.empty() ? 0 : text_height(bar.scale) * 2; }

int color_bar_row(const ColorBar& bar, double value) {
  const double f = bar.top > 0 ? std::clamp(value / bar.top, 0.0, 1.0) : 0;
  return color_bar_ramp_top(bar) + int(std::lround((1 - f) * ramp_rows(bar)));
}

void draw_color_bar(Image& img, int x, int y, const ColorBar& bar) {
  draw_text(img, x, y, bar.unit, kInk, bar.scale);
  const int top = y + color_bar_ramp_top(bar);
  for (int j = 0; j < bar.height; ++j)
    img.fill(x, top + j, bar.width, 1, color_bar_colour(bar.top * (1 - double(j) / ramp_rows(bar)), bar.top));
  draw_box(img, x, top, x + bar.width - 1, top + bar.height - 1, kInk);
  const int tick_x = x + bar.width, label_x = tick_x + 6 * bar.scale;
  for (double v : bar_ticks(bar)) {
    const int row = y + color_bar_row(bar, v);
    draw_line(img, tick_x, row, tick_x + 3 * bar.scale, row, kInk);
    draw_text(img, label_x, row - text_height(bar.scale) / 2, value_label(v), kInk, bar.scale);
  }
}

int legend_row_height(int scale) { return text_height(scale) + 6 * scale; }

int legend_width(const std::vector<LegendEntry>& entries, int scale) {
  int w = 0;
  for (const LegendEntry& e : entries) w = std::max(w, text_width(e.label, scale));
  return kSwatchWidth * scale + 8 * scale + w;
}

int draw_legend(Image& img, int x, int y, const std::vector<LegendEntry>& entries, int scale) {
  for (size_t i = 0; i < entries.size(); ++i) {
    const int row = y + int(i) * legend_row_height(scale);
    img.fill(x, row, kSwatchWidth * scale, text_height(scale) - scale, entries[i].colour);
    draw_text(img, x + (kSwatchWidth + 8) * scale, row, entries[i].label, kInk, scale);
  }
  return int(entries.size()) * legend_row_height(scale);
}

Status write_png(const std::string& path, const Image& img) {
  std::vector<png_bytep> rows(size_t(img.height()));
  for (int y = 0; y < img.height(); ++y) rows[size_t(y)] = const_cast<png_bytep>(img.row(y));
  return write_file_atomically(path, "", [&](std::FILE* f) {
    PngError err;
    if (encode_png(f, img.width(), img.height(), rows.data(), &err)) return Status::ok();
    return Status::error(err.message);
  });
}

}  // namespace wafer
