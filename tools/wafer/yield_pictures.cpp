// Rendering of the yield plot and the wafer map (see yield_pictures.hpp).
//
// Both pictures use support/raster: the plot maps each (density, yield) point into a fixed
// plot box, draws grid lines at the ticks, then each series as a 2-pixel polyline with square
// markers; the map classifies every physical PE once and fills one square per PE.
#include "yield_pictures.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

namespace wafer::cli {

namespace {

using namespace wafer::fabric;

constexpr Rgb kBlack = {0, 0, 0};
constexpr Rgb kGrid = {225, 225, 225};
constexpr std::array<Rgb, 8> kPalette = {{{31, 119, 180},
                                          {255, 127, 14},
                                          {44, 160, 44},
                                          {214, 39, 40},
                                          {148, 103, 189},
                                          {140, 86, 75},
                                          {227, 119, 194},
                                          {127, 127, 127}}};

// ---------------------------------------------------------------------------------------------
// Plot

constexpr int kPlotWidth = 960, kPlotHeight = 600;
constexpr int kLeft = 80, kTop = 48, kRight = 700, kBottom = 530;
constexpr int kLegendX = kRight + 24, kRowHeight = 22;

struct Axis {
  bool log = false;
  double lo = 0, hi = 1;
  std::vector<double> ticks;
};

Axis log_axis(double lo, double hi) {
  Axis a;
  a.log = true;
  const int first = int(std::floor(std::log10(lo))), last = int(std::ceil(std::log10(hi)));
  a.lo = std::pow(10.0, first);
  a.hi = std::pow(10.0, last);
  for (int e = first; e <= last; ++e) a.ticks.push_back(std::pow(10.0, e));
  return a;
}

Axis linear_axis(double lo, double hi) {
  Axis a;
  if (hi <= lo) {
    lo = 0;
    hi = std::max(2 * hi, 1e-3);
  }
  a.lo = lo;
  a.hi = hi;
  for (int i = 0; i <= 5; ++i) a.ticks.push_back(lo + (hi - lo) * i / 5);
  return a;
}

Axis density_axis(const std::vector<double>& d) {
  const auto [lo, hi] = std::minmax_element(d.begin(), d.end());
  if (*lo > 0 && *hi > 10 * *lo) return log_axis(*lo, *hi);
  return linear_axis(*lo, *hi);
}

// Where v lies between the axis ends, 0 at lo and 1 at hi.
double axis_fraction(const Axis& a, double v) {
  if (a.log) return (std::log10(v) - std::log10(a.lo)) / (std::log10(a.hi) - std::log10(a.lo));
  return (v - a.lo) / (a.hi - a.lo);
}

int plot_x(const Axis& a, double v) {
  return kLeft + int(std::lround(axis_fraction(a, v) * (kRight - kLeft)));
}

int plot_y(double yield) {
  return kBottom - int(std::lround(std::clamp(yield, 0.0, 1.0) * (kBottom - kTop)));
}

void draw_thick_line(Image& img, int x0, int y0, int x1, int y1, Rgb c) {
  draw_line(img, x0, y0, x1, y1, c);
  draw_line(img, x0 + 1, y0, x1 + 1, y1, c);
  draw_line(img, x0, y0 + 1, x1, y1 + 1, c);
}

void draw_x_axis(Image& img, const Axis& a) {
  for (double t : a.ticks) {
    const int x = plot_x(a, t);
    draw_line(img, x, kTop, x, kBottom, kGrid);
    draw_line(img, x, kBottom, x, kBottom + 5, kBlack);
    const std::string s = fmt::format("{:g}", t);
    draw_text(img, x - text_width(s) / 2, kBottom + 10, s);
  }
  const std::string name = a.log ? "defect density (/mm2, log scale)" : "defect density (/mm2)";
  draw_text(img, (kLeft + kRight - text_width(name)) / 2, kBottom + 36, name);
}

void draw_y_axis(Image& img) {
  for (int i = 0; i <= 5; ++i) {
    const int y = plot_y(i / 5.0);
    draw_line(img, kLeft, y, kRight, y, kGrid);
    draw_line(img, kLeft - 5, y, kLeft, y, kBlack);
    const std::string s = fmt::format("{:g}", i / 5.0);
    draw_text(img, kLeft - 10 - text_width(s), y - text_height() / 2, s);
  }
  draw_text(img, 12, kTop - 20, "yield");
}

void draw_series(Image& img, const Axis& a, const std::vector<double>& x, const PlotSeries& s,
                 Rgb c) {
  for (size_t i = 0; i < x.size() && i < s.y.size(); ++i) {
    const int px = plot_x(a, x[i]), py = plot_y(s.y[i]);
    if (i > 0) draw_thick_line(img, plot_x(a, x[i - 1]), plot_y(s.y[i - 1]), px, py, c);
    img.fill(px - 3, py - 3, 7, 7, c);
  }
}

void draw_legend_row(Image& img, int row, const std::string& name, Rgb c) {
  const int y = kTop + row * kRowHeight;
  img.fill(kLegendX, y, 18, text_height(), c);
  draw_text(img, kLegendX + 26, y, name);
}

// The order in which the series are drawn: by x, so that lines join points left to right.
YieldPlot sorted_by_density(const YieldPlot& p) {
  std::vector<size_t> order(p.densities.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return p.densities[a] < p.densities[b]; });
  YieldPlot out{p.title, {}, {}};
  for (size_t i : order) out.densities.push_back(p.densities[i]);
  for (const PlotSeries& s : p.series) {
    PlotSeries t{s.name, {}};
    for (size_t i : order) t.y.push_back(s.y[i]);
    out.series.push_back(t);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Wafer map

enum class PeState : uint8_t { spare, home, moved, retired, dead };

struct PeLegend {
  PeState state;
  Rgb colour;
  const char* name;
};

// What each state looks like and is called in the legend, in legend order.
constexpr std::array<PeLegend, 5> kPeLegend = {{{PeState::home, {70, 110, 160}, "logical pe at home"},
                                               {PeState::moved, {240, 200, 0}, "rerouted logical pe"},
                                               {PeState::spare, {205, 205, 205}, "unused spare"},
                                               {PeState::retired, {90, 90, 90}, "retired row"},
                                               {PeState::dead, {220, 30, 30}, "dead pe"}}};

constexpr int kMapTop = 28, kMapLegendWidth = 290;

Rgb colour_of(PeState s) {
  for (const PeLegend& l : kPeLegend)
    if (l.state == s) return l.colour;
  return kBlack;
}

// Physical rows above the last used one that hold no logical row.
void mark_retired_rows(const WaferGeometry& g, const LogicalToPhysical& m, std::vector<PeState>& pe) {
  std::vector<bool> used(size_t(g.physical_height()), false);
  int last = -1;
  for (int y = 0; y < m.logical_height; ++y) {
    used[size_t(m.physical_y(y))] = true;
    last = std::max(last, m.physical_y(y));
  }
  const size_t w = size_t(g.physical_width());
  for (int y = 0; y < last; ++y)
    if (!used[size_t(y)]) std::fill_n(pe.begin() + ptrdiff_t(size_t(y) * w), w, PeState::retired);
}

std::vector<PeState> classify(const WaferGeometry& g, const DefectMap& map, const RepairResult* r) {
  const size_t w = size_t(g.physical_width());
  std::vector<PeState> pe(size_t(g.physical_count()), PeState::spare);
  if (r) {
    const LogicalToPhysical& m = r->map;
    mark_retired_rows(g, m, pe);
    for (int y = 0; y < m.logical_height; ++y)
      for (int x = 0; x < m.logical_width; ++x) {
        const int px = m.physical_x(x, y), py = m.physical_y(y);
        const bool home = px == g.home_column(x) && py == y;
        pe[size_t(py) * w + size_t(px)] = home ? PeState::home : PeState::moved;
      }
  }
  const std::vector<uint8_t> dead = dead_pes(map);
  for (size_t i = 0; i < pe.size() && i < dead.size(); ++i)
    if (dead[i]) pe[i] = PeState::dead;
  return pe;
}

// Pixels per PE: enough for about 800 px across, at most 1600 px down, at least 1.
int map_scale(const WaferGeometry& g) {
  const int across = (800 + g.physical_width() - 1) / g.physical_width();
  return std::max(1, std::min(across, 1600 / g.physical_height()));
}

std::string legend_label(const PeLegend& l, const std::vector<PeState>& pe, int width) {
  const auto n = std::count(pe.begin(), pe.end(), l.state);
  if (l.state == PeState::retired) return fmt::format("{} ({})", l.name, n / width);
  return fmt::format("{} ({})", l.name, n);
}

void draw_pes(Image& img, const WaferGeometry& g, const std::vector<PeState>& pe, int scale) {
  const int side = scale >= 6 ? scale - 1 : scale;  // a white gap between large squares
  const int w = g.physical_width();
  for (int y = 0; y < g.physical_height(); ++y)
    for (int x = 0; x < w; ++x)
      img.fill(x * scale, kMapTop + y * scale, side, side,
               colour_of(pe[size_t(y) * size_t(w) + size_t(x)]));
}

}  // namespace

Image render_yield_plot(const YieldPlot& unsorted) {
  const YieldPlot p = sorted_by_density(unsorted);
  Image img(kPlotWidth, kPlotHeight);
  draw_text(img, kLeft, 14, p.title);
  if (p.densities.empty()) return img;
  const Axis a = density_axis(p.densities);
  draw_x_axis(img, a);
  draw_y_axis(img);
  draw_box(img, kLeft, kTop, kRight, kBottom, kBlack);
  for (size_t i = 0; i < p.series.size(); ++i) {
    const Rgb c = kPalette[i % kPalette.size()];
    draw_series(img, a, p.densities, p.series[i], c);
    draw_legend_row(img, int(i), p.series[i].name, c);
  }
  return img;
}

Image render_wafer_map(const WaferGeometry& g, const DefectMap& map, const RepairResult* repair,
                       const std::string& title) {
  const int scale = map_scale(g);
  const int map_w = g.physical_width() * scale, map_h = g.physical_height() * scale;
  const int legend_h = int(kPeLegend.size()) * kRowHeight + 8;
  Image img(map_w + kMapLegendWidth, kMapTop + std::max(map_h, legend_h));
  draw_text(img, 4, 8, title);
  const std::vector<PeState> pe = classify(g, map, repair);
  draw_pes(img, g, pe, scale);
  for (size_t i = 0; i < kPeLegend.size(); ++i) {
    const int y = kMapTop + int(i) * kRowHeight;
    img.fill(map_w + 16, y, 18, text_height(), kPeLegend[i].colour);
    draw_text(img, map_w + 42, y, legend_label(kPeLegend[i], pe, g.physical_width()));
  }
  return img;
}

}  // namespace wafer::cli
