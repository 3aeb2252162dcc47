// Renders the simulate picture (see cluster_plot.hpp) with support/raster: a title, a row of
// bar groups (metrics that no run has, such as TTFT without requests, are left out), a legend
// of the policies' colours, and one panel per family with its utilisation in [0, 1] against
// simulated time, every run on one axis that ends where the longest run ends.
#include "cluster_plot.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "estimate_report.hpp"
#include "wafer/support/raster.hpp"

namespace wafer::cli {

namespace {

constexpr int kWidth = 1100, kLeft = 60, kRight = 1080, kBarsTop = 60, kBarsHeight = 200;
constexpr int kPanelHeight = 140, kPanelGap = 40;
constexpr Rgb kBlack = {0, 0, 0}, kGrid = {220, 220, 220};

struct Metric {
  const char* name;
  double (*value)(const cluster::Summary&);
  std::string (*label)(double);
};

std::string seconds_label(double v) { return duration(v); }
std::string ms_label(double v) { return fmt::format("{:.3g} ms", v * 1e3); }
std::string plain_label(double v) { return fmt::format("{:.3g}", v); }

const std::vector<Metric>& metrics() {
  static const std::vector<Metric> m = {
      {"avg JCT", [](const cluster::Summary& s) { return s.avg_jct; }, seconds_label},
      {"p99 JCT", [](const cluster::Summary& s) { return s.p99_jct; }, seconds_label},
      {"makespan", [](const cluster::Summary& s) { return s.makespan; }, seconds_label},
      {"TTFT p99", [](const cluster::Summary& s) { return s.ttft_p99; }, ms_label},
      {"TPOT p99", [](const cluster::Summary& s) { return s.tpot_p99; }, ms_label},
      {"goodput/s", [](const cluster::Summary& s) { return s.goodput; }, plain_label},
      {"$", [](const cluster::Summary& s) { return s.dollars; }, plain_label},
      {"kWh", [](const cluster::Summary& s) { return s.energy_kwh; }, plain_label},
  };
  return m;
}

Rgb policy_colour(size_t i, size_t n) {
  return viridis(n > 1 ? double(i) / double(n - 1) * 0.85 : 0.3);
}

void draw_bar_groups(Image& img, const std::vector<const Metric*>& shown,
                     const std::vector<cluster::Summary>& runs) {
  const int group_width = (kRight - kLeft) / int(shown.size());
  const int bar = std::max(4, (group_width - 20) / int(runs.size()));
  const int base = kBarsTop + kBarsHeight;
  for (size_t g = 0; g < shown.size(); ++g) {
    const int x0 = kLeft + int(g) * group_width + 10;
    double top = 0;
    for (const cluster::Summary& s : runs) top = std::max(top, shown[g]->value(s));
    for (size_t i = 0; i < runs.size(); ++i) {
      const double v = shown[g]->value(runs[i]);
      const int h = top > 0 ? int(std::lround(v / top * (kBarsHeight - 30))) : 0;
      img.fill(x0 + int(i) * bar, base - h, bar - 2, h, policy_colour(i, runs.size()));
    }
    draw_text(img, x0, base + 6, shown[g]->name);
    draw_text(img, x0, base + 18, "max " + shown[g]->label(top));
  }
  draw_line(img, kLeft, base, kRight, base, kBlack);
}

double series_end(const cluster::Summary& s) {
  const auto& first = s.series.begin()->second;
  return s.series_start + s.series_width * double(first.size());
}

// Each run's buckets at their own times on one axis from 0 to the latest run's end.
void draw_panel(Image& img, int top, const std::string& family,
                const std::vector<cluster::Summary>& runs, double end) {
  const int bottom = top + kPanelHeight;
  draw_text(img, kLeft, top - 14, family + " utilisation over time (0 to 1)");
  for (double f : {0.0, 0.5, 1.0}) {
    const int y = bottom - int(f * kPanelHeight);
    draw_line(img, kLeft, y, kRight, y, kGrid);
    draw_text(img, 10, y - 4, fmt::format("{:.1f}", f));
  }
  auto x_at = [&](double t) { return kLeft + int(std::lround(t / end * (kRight - kLeft))); };
  auto y_at = [&](double v) { return bottom - int(std::clamp(v, 0.0, 1.0) * kPanelHeight); };
  for (size_t i = 0; i < runs.size(); ++i) {
    auto it = runs[i].series.find(family);
    if (it == runs[i].series.end()) continue;
    const std::vector<double>& v = it->second;
    const double w = runs[i].series_width, t0 = runs[i].series_start + w / 2;
    for (size_t k = 0; k + 1 < v.size(); ++k)
      draw_line(img, x_at(t0 + double(k) * w), y_at(v[k]), x_at(t0 + double(k + 1) * w),
                y_at(v[k + 1]), policy_colour(i, runs.size()));
  }
  draw_box(img, kLeft, top, kRight, bottom, kBlack);
  const std::string axis = fmt::format("simulated time: 0 to {}", duration(end));
  draw_text(img, kRight - text_width(axis), bottom + 6, axis);
}

}  // namespace

Status write_simulate_plot(const std::string& path, const std::string& workload,
                           const std::vector<cluster::Summary>& runs) {
  if (runs.empty()) return make_error("--plot: nothing to draw");
  std::vector<const Metric*> shown;
  for (const Metric& m : metrics())
    if (std::any_of(runs.begin(), runs.end(), [&](const auto& s) { return m.value(s) > 0; }))
      shown.push_back(&m);
  if (shown.empty()) return make_error("--plot: no metric has a value to draw");
  std::vector<LegendEntry> legend;
  for (size_t i = 0; i < runs.size(); ++i)
    legend.push_back({policy_colour(i, runs.size()), runs[i].policy});
  const int legend_top = kBarsTop + kBarsHeight + 40;
  const int panels_top = legend_top + int(legend.size()) * legend_row_height() + kPanelGap;
  const int families = int(runs.front().series.size());
  Image img(kWidth, panels_top + families * (kPanelHeight + kPanelGap) + 10);
  const std::string title = fmt::format("wafer cluster simulate: {}", workload);
  draw_text(img, 10, 16, title, kBlack, fitting_scale(title, kWidth - 20));
  draw_bar_groups(img, shown, runs);
  draw_legend(img, kLeft, legend_top, legend);
  double end = 0;
  for (const cluster::Summary& s : runs) end = std::max(end, series_end(s));
  int top = panels_top;
  for (const auto& [family, values] : runs.front().series) {
    draw_panel(img, top, family, runs, std::max(end, 1e-9));
    top += kPanelHeight + kPanelGap;
  }
  return write_png(path, img);
}

}  // namespace wafer::cli
