// The raster helpers and the libpng writer of support/raster.hpp.
//
// The font table lists each glyph's five rows top to bottom, bit 2 the left column. libpng
// reports errors by longjmp, so encode_png owns no C++ objects and keeps the message in a
// plain char buffer.
#include "wafer/support/raster.hpp"

#include <png.h>

#include <algorithm>
#include <cctype>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <utility>

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

using Glyph = std::array<uint8_t, 5>;

constexpr std::array<Glyph, 10> kDigits = {{{7, 5, 5, 5, 7},
                                           {2, 6, 2, 2, 7},
                                           {7, 1, 7, 4, 7},
                                           {7, 1, 7, 1, 7},
                                           {5, 5, 7, 1, 1},
                                           {7, 4, 7, 1, 7},
                                           {7, 4, 7, 5, 7},
                                           {7, 1, 1, 1, 1},
                                           {7, 5, 7, 5, 7},
                                           {7, 5, 7, 1, 7}}};

constexpr std::array<Glyph, 26> kLetters = {{{2, 5, 7, 5, 5}, {6, 5, 6, 5, 6}, {3, 4, 4, 4, 3},
                                            {6, 5, 5, 5, 6}, {7, 4, 6, 4, 7}, {7, 4, 6, 4, 4},
                                            {3, 4, 5, 5, 3}, {5, 5, 7, 5, 5}, {7, 2, 2, 2, 7},
                                            {1, 1, 1, 5, 2}, {5, 5, 6, 5, 5}, {4, 4, 4, 4, 7},
                                            {5, 7, 7, 5, 5}, {6, 5, 5, 5, 5}, {2, 5, 5, 5, 2},
                                            {6, 5, 6, 4, 4}, {2, 5, 5, 6, 3}, {6, 5, 6, 5, 5},
                                            {3, 4, 2, 1, 6}, {7, 2, 2, 2, 2}, {5, 5, 5, 5, 7},
                                            {5, 5, 5, 5, 2}, {5, 5, 7, 7, 5}, {5, 5, 2, 5, 5},
                                            {5, 5, 2, 2, 2}, {7, 1, 2, 4, 7}}};

constexpr std::array<std::pair<char, Glyph>, 13> kSigns = {{{'.', {0, 0, 0, 0, 2}},
                                                           {'-', {0, 0, 7, 0, 0}},
                                                           {',', {0, 0, 0, 2, 4}},
                                                           {':', {0, 2, 0, 2, 0}},
                                                           {'=', {0, 7, 0, 7, 0}},
                                                           {'/', {1, 1, 2, 4, 4}},
                                                           {'(', {2, 4, 4, 4, 2}},
                                                           {')', {2, 1, 1, 1, 2}},
                                                           {'%', {5, 1, 2, 4, 5}},
                                                           {'+', {0, 2, 7, 2, 0}},
                                                           {'_', {0, 0, 0, 0, 7}},
                                                           {'<', {1, 2, 4, 2, 1}},
                                                           {'>', {4, 2, 1, 2, 4}}}};

Glyph glyph(char c) {
  if (c >= '0' && c <= '9') return kDigits[size_t(c - '0')];
  const int upper = std::toupper(static_cast<unsigned char>(c));
  if (upper >= 'A' && upper <= 'Z') return kLetters[size_t(upper - 'A')];
  for (const auto& [sign, g] : kSigns)
    if (sign == c) return g;
  return {0, 0, 0, 0, 0};
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

int text_width(const std::string& text, int scale) { return int(text.size()) * 4 * scale; }

void draw_text(Image& img, int x, int y, const std::string& text, Rgb c, int scale) {
  for (char ch : text) {
    const Glyph g = glyph(ch);
    for (int r = 0; r < 5; ++r)
      for (int col = 0; col < 3; ++col)
        if (g[size_t(r)] & (4 >> col)) img.fill(x + col * scale, y + r * scale, scale, scale, c);
    x += 4 * scale;
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

void draw_color_bar(Image& img, int x, int y, int w, int h) {
  for (int j = 0; j < h; ++j) img.fill(x, y + j, w, 1, viridis(1 - double(j) / double(h - 1)));
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
