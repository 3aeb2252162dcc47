// A small RGB raster, the drawing helpers the project's pictures share, and a PNG writer.
//
// Image is 8-bit RGB, row-major, white when created; drawing outside it is clipped. Text uses
// a 3x5 pixel font (digits, upper-case letters, which lower-case letters map to, and a few
// signs) enlarged by an integer scale, each glyph followed by one blank column. draw_line is
// Bresenham's. viridis is the perceptual colour ramp of the heatmap and its colour bar.
// write_png encodes with libpng, whose errors longjmp into a C-style function that owns no
// C++ objects, into a temporary file renamed into place (atomic_file.hpp); failures are a
// Status naming the path.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "wafer/support/error.hpp"

namespace wafer {

using Rgb = std::array<uint8_t, 3>;

class Image {
 public:
  Image(int w, int h, Rgb background = {255, 255, 255});
  void set(int x, int y, Rgb c);
  void fill(int x, int y, int w, int h, Rgb c);
  Rgb at(int x, int y) const;
  int width() const { return w_; }
  int height() const { return h_; }
  const uint8_t* row(int y) const { return rgb_.data() + ptrdiff_t(y) * w_ * 3; }

 private:
  int w_, h_;
  std::vector<uint8_t> rgb_;
};

// viridis at v in [0, 1] (clamped), interpolated between nine samples.
Rgb viridis(double v);

// Pixels a string takes at `scale`: 4 * scale per character across, 5 * scale down.
int text_width(const std::string& text, int scale = 2);
inline int text_height(int scale = 2) { return 5 * scale; }
// Draws `text` with its top-left corner at (x, y).
void draw_text(Image& img, int x, int y, const std::string& text, Rgb c = {0, 0, 0}, int scale = 2);
// Both end points included.
void draw_line(Image& img, int x0, int y0, int x1, int y1, Rgb c);
// A vertical viridis bar: 1 at the top row, 0 at the bottom row.
// The outline of the rectangle with corners (x0, y0) and (x1, y1).
void draw_box(Image& img, int x0, int y0, int x1, int y1, Rgb c);
void draw_color_bar(Image& img, int x, int y, int w, int h);

Status write_png(const std::string& path, const Image& img);

}  // namespace wafer
