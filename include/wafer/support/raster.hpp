// A small RGB raster, the drawing helpers the project's pictures share, and a PNG writer.
//
// Image is 8-bit RGB, row-major, white when created; drawing outside it is clipped. Text uses
// a built-in 5x7 pixel font (printable ASCII with real lower case, and '²') enlarged by an
// integer scale; every picture's labels go through draw_text, its colour scales through
// draw_color_bar and its keys through draw_legend. draw_line is Bresenham's. viridis is the
// perceptual colour ramp of the heatmap and its colour bar.
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

// Text is drawn in a 5x7 pixel font (printable ASCII, lower case with descenders, and '²';
// anything else shows as '?') with one blank column between glyphs, enlarged by `scale`.
constexpr int kGlyphColumns = 5, kGlyphRows = 8, kGlyphAdvance = 6;
// Pixels UTF-8 `text` takes across (without the blank column after its last glyph) and down.
int text_width(const std::string& text, int scale = 1);
inline int text_height(int scale = 1) { return kGlyphRows * scale; }
// The largest scale up to `max_scale` (at least 1) at which `text` fits in `width` pixels:
// titles are drawn twice the size of labels where there is room.
int fitting_scale(const std::string& text, int width, int max_scale = 2);
// Draws `text` with its top-left corner at (x, y).
void draw_text(Image& img, int x, int y, const std::string& text, Rgb c = {0, 0, 0}, int scale = 1);
// Both end points included.
void draw_line(Image& img, int x0, int y0, int x1, int y1, Rgb c);
// The outline of the rectangle with corners (x0, y0) and (x1, y1).
void draw_box(Image& img, int x0, int y0, int x1, int y1, Rgb c);

// The smallest step of 1, 2 or 5 times a power of ten that cuts `span` into at most
// `max_steps` steps: tick spacing for axes and colour bars.
double nice_step(double span, int max_steps);

// A vertical viridis colour bar for values 0..top: `unit` on top, then a width x height ramp,
// `top` at its first row and 0 at its last, outlined, with ticks and labels on its right at
// round values (nice_step) and at the top.
struct ColorBar {
  double top = 1;
  std::string unit;
  int width = 14, height = 200;
  int scale = 1;
};
// The colour of `value` on a bar whose top is `top` (viridis of value / top, clamped).
Rgb color_bar_colour(double value, double top);
// Pixels the bar takes across (labels and unit included) and down (unit included).
int color_bar_width(const ColorBar& bar);
int color_bar_height(const ColorBar& bar);
// Rows below the bar's top-left corner where the ramp starts and where `value` lies on it.
int color_bar_ramp_top(const ColorBar& bar);
int color_bar_row(const ColorBar& bar, double value);
// Draws the bar with its top-left corner (the unit's) at (x, y).
void draw_color_bar(Image& img, int x, int y, const ColorBar& bar);

// A legend: one row per entry, a colour swatch then its label.
struct LegendEntry {
  Rgb colour;
  std::string label;
};
int legend_row_height(int scale = 1);
int legend_width(const std::vector<LegendEntry>& entries, int scale = 1);
// Draws the rows from (x, y) down; returns the height they take.
int draw_legend(Image& img, int x, int y, const std::vector<LegendEntry>& entries, int scale = 1);

Status write_png(const std::string& path, const Image& img);

}  // namespace wafer
