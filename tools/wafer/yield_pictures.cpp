// Rendering of the yield plot and the wafer map (see yield_pictures.hpp).
//
// Both pictures use support/raster's text, legend and PNG writer: the plot maps each (density,
// yield) point into a fixed plot box, draws grid lines at the ticks, then each series as a
// 2-pixel polyline with square markers; the map classifies every physical PE once, takes the
// highest state (PeState order) of each cell's PEs, fills one square per cell, then marks the
// dead cells over their neighbours when a cell is smaller than kDeadMark pixels.
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
constexpr int kLegendX = kRight + 24;

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
  const std::string name = a.log ? "defect density (/mm², log scale)" : "defect density (/mm²)";
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
  draw_text(img, 12, kTop - 14, "yield");
}

void draw_series(Image& img, const Axis& a, const std::vector<double>& x, const PlotSeries& s,
                 Rgb c) {
  for (size_t i = 0; i < x.size() && i < s.y.size(); ++i) {
    const int px = plot_x(a, x[i]), py = plot_y(s.y[i]);
    if (i > 0) draw_thick_line(img, plot_x(a, x[i - 1]), plot_y(s.y[i - 1]), px, py, c);
    img.fill(px - 3, py - 3, 7, 7, c);
  }
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

// In drawing priority: a block of PEs drawn as one pixel shows its highest state.
enum class PeState : uint8_t { home, spare, moved, retired, dead };

struct PeLegend {
  PeState state;
  Rgb colour;
  const char* name;
};

// What each state looks like and is called in the legend, in legend order.
constexpr std::array<PeLegend, 5> kPeLegend = {{{PeState::home, {70, 110, 160}, "logical PE at home"},
                                               {PeState::moved, {240, 200, 0}, "rerouted logical PE"},
                                               {PeState::spare, {205, 205, 205}, "unused spare"},
                                               {PeState::retired, {90, 90, 90}, "retired row"},
                                               {PeState::dead, {220, 30, 30}, "dead PE"}}};

constexpr int kMaxMapSide = 1600;  // PEs per side drawn at one pixel each; more go in blocks
constexpr int kDeadMark = 5;       // pixels across a dead PE's mark at least
constexpr int kMargin = 8, kTextScale = 2;

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

// How the map is drawn: `block` x `block` physical PEs per cell (1 unless the array exceeds
// kMaxMapSide), each cell a square of `scale` pixels, enough for about 800 px across.
struct MapLayout {
  int block = 1, scale = 1;
  int cells_w = 0, cells_h = 0;
};

MapLayout map_layout(const WaferGeometry& g) {
  MapLayout l;
  l.block = (std::max(g.physical_width(), g.physical_height()) + kMaxMapSide - 1) / kMaxMapSide;
  l.cells_w = (g.physical_width() + l.block - 1) / l.block;
  l.cells_h = (g.physical_height() + l.block - 1) / l.block;
  const int across = (800 + l.cells_w - 1) / l.cells_w;
  l.scale = std::max(1, std::min(across, kMaxMapSide / l.cells_h));
  return l;
}

// The state each cell shows: the highest of its PEs', so a block holding a dead PE is dead.
std::vector<PeState> cells_of(const WaferGeometry& g, const std::vector<PeState>& pe, const MapLayout& l) {
  std::vector<PeState> cells(size_t(l.cells_w) * size_t(l.cells_h), PeState::home);
  const int w = g.physical_width();
  for (int y = 0; y < g.physical_height(); ++y)
    for (int x = 0; x < w; ++x) {
      PeState& c = cells[size_t(y / l.block) * size_t(l.cells_w) + size_t(x / l.block)];
      c = std::max(c, pe[size_t(y) * size_t(w) + size_t(x)]);
    }
  return cells;
}

std::string legend_label(const PeLegend& l, const std::vector<PeState>& pe, int width) {
  const auto n = std::count(pe.begin(), pe.end(), l.state);
  if (l.state == PeState::retired) return fmt::format("{} ({})", l.name, n / width);
  return fmt::format("{} ({})", l.name, n);
}

std::vector<LegendEntry> map_legend(const std::vector<PeState>& pe, int width, const MapLayout& l) {
  std::vector<LegendEntry> rows;
  for (const PeLegend& e : kPeLegend) rows.push_back({e.colour, legend_label(e, pe, width)});
  if (l.scale < kDeadMark)
    rows.push_back({{255, 255, 255}, fmt::format("(dead PEs marked {0}x{0} px)", kDeadMark)});
  if (l.block > 1) rows.push_back({{255, 255, 255}, fmt::format("(a pixel is {0}x{0} PEs)", l.block)});
  return rows;
}

struct Box {
  int x, y, w, h;
};

// Fills the part of `b` inside `within`.
void fill_within(Image& img, const Box& within, const Box& b, Rgb c) {
  const int x0 = std::max(b.x, within.x), y0 = std::max(b.y, within.y);
  const int x1 = std::min(b.x + b.w, within.x + within.w), y1 = std::min(b.y + b.h, within.y + within.h);
  img.fill(x0, y0, x1 - x0, y1 - y0, c);
}

// The cells, then a mark at least kDeadMark pixels wide over each dead one, so that one dead
// PE stays visible when the whole wafer is seen at once.
void draw_cells(Image& img, int top, const std::vector<PeState>& cells, const MapLayout& l) {
  const int side = l.scale >= 6 ? l.scale - 1 : l.scale;  // a white gap between large squares
  for (int y = 0; y < l.cells_h; ++y)
    for (int x = 0; x < l.cells_w; ++x)
      img.fill(x * l.scale, top + y * l.scale, side, side, colour_of(cells[size_t(y) * size_t(l.cells_w) + size_t(x)]));
  if (l.scale >= kDeadMark) return;
  const int off = (kDeadMark - l.scale) / 2;
  for (int y = 0; y < l.cells_h; ++y)
    for (int x = 0; x < l.cells_w; ++x)
      if (cells[size_t(y) * size_t(l.cells_w) + size_t(x)] == PeState::dead)
        fill_within(img, {0, top, l.cells_w * l.scale, l.cells_h * l.scale},
                    {x * l.scale - off, top + y * l.scale - off, kDeadMark, kDeadMark}, colour_of(PeState::dead));
}

}  // namespace

Image render_yield_plot(const YieldPlot& unsorted) {
  const YieldPlot p = sorted_by_density(unsorted);
  Image img(kPlotWidth, kPlotHeight);
  draw_text(img, kLeft, 8, p.title, kBlack, fitting_scale(p.title, kPlotWidth - kLeft - 8));
  if (p.densities.empty()) return img;
  const Axis a = density_axis(p.densities);
  draw_x_axis(img, a);
  draw_y_axis(img);
  draw_box(img, kLeft, kTop, kRight, kBottom, kBlack);
  std::vector<LegendEntry> legend;
  for (size_t i = 0; i < p.series.size(); ++i) {
    const Rgb c = kPalette[i % kPalette.size()];
    draw_series(img, a, p.densities, p.series[i], c);
    legend.push_back({c, p.series[i].name});
  }
  draw_legend(img, kLegendX, kTop, legend);
  return img;
}

Image render_wafer_map(const WaferGeometry& g, const DefectMap& map, const RepairResult* repair,
                       const std::string& title) {
  const MapLayout l = map_layout(g);
  const std::vector<PeState> pe = classify(g, map, repair);
  const std::vector<LegendEntry> legend = map_legend(pe, g.physical_width(), l);
  const int map_w = l.cells_w * l.scale, map_h = l.cells_h * l.scale;
  const int legend_x = map_w + 16;
  const int width = std::max(legend_x + legend_width(legend, kTextScale) + kMargin, text_width(title) + 2 * kMargin);
  const int title_scale = fitting_scale(title, width - 2 * kMargin, kTextScale);
  const int top = kMargin + text_height(title_scale) + kMargin;
  const int legend_h = int(legend.size()) * legend_row_height(kTextScale);
  Image img(width, top + std::max(map_h, legend_h));
  draw_text(img, kMargin, kMargin, title, kBlack, title_scale);
  draw_cells(img, top, cells_of(g, pe, l), l);
  draw_legend(img, legend_x, top, legend, kTextScale);
  return img;
}

}  // namespace wafer::cli
