// Renders the comparison bar chart (see compare_plot.hpp) with support/raster: a title (twice
// the label size where it fits), a log10 axis of days with a grid line per decade, one bar per
// estimate labelled with its time in sensible units (estimate_report's duration) and limiter.
#include "compare_plot.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "estimate_report.hpp"
#include "wafer/support/raster.hpp"

namespace wafer::cli {

namespace {

constexpr int kWidth = 900, kLeft = 200, kRight = 860, kTop = 60, kBar = 34, kGap = 16;
constexpr Rgb kBlack = {0, 0, 0}, kGrid = {220, 220, 220}, kMissing = {150, 40, 40};

Rgb limiter_colour(estimate::Limiter l) { return viridis(double(int(l)) / 5.0); }

double days(const estimate::TrainEstimate& e) {
  return e.time_to_train_seconds.value_or(e.step_seconds) / 86400;
}

struct LogAxis {
  int lo = 0, hi = 1;  // decades
  int x(double v) const {
    double t = (std::log10(v) - lo) / double(hi - lo);
    return kLeft + int(std::lround(std::clamp(t, 0.0, 1.0) * (kRight - kLeft)));
  }
};

LogAxis axis_for(const std::vector<estimate::TrainEstimate>& es) {
  double lo = 1e300, hi = 0;
  for (const auto& e : es) {
    lo = std::min(lo, days(e));
    hi = std::max(hi, days(e));
  }
  LogAxis a;
  a.lo = int(std::floor(std::log10(lo))) - 1;
  a.hi = std::max(a.lo + 1, int(std::ceil(std::log10(hi))));
  return a;
}

void draw_axis(Image& img, const LogAxis& a, int bottom) {
  for (int d = a.lo; d <= a.hi; ++d) {
    int x = a.x(std::pow(10.0, d));
    draw_line(img, x, kTop, x, bottom, kGrid);
    std::string label = d >= 0 ? fmt::format("{:.0f}", std::pow(10.0, d))
                               : fmt::format("{:g}", std::pow(10.0, d));
    draw_text(img, x - text_width(label) / 2, bottom + 8, label);
  }
  draw_text(img, (kLeft + kRight - text_width("days to train")) / 2, bottom + 28,
            "days to train");
}

void draw_bar(Image& img, const LogAxis& a, int row, const estimate::TrainEstimate& e) {
  int y = kTop + 10 + row * (kBar + kGap);
  int x1 = std::max(kLeft + 2, a.x(days(e)));
  img.fill(kLeft, y, x1 - kLeft, kBar, limiter_colour(e.limiter));
  draw_text(img, 10, y + kBar / 2 - text_height() / 2, fmt::format("{} x{}", e.system, e.count));
  std::string label = fmt::format("{}  {}", duration(days(e) * 86400), to_string(e.limiter));
  const int ty = y + kBar / 2 - text_height() / 2;
  if (x1 + 6 + text_width(label) <= kWidth - 4)
    draw_text(img, x1 + 6, ty, label);
  else  // no room to the right of a long bar: inside it, in white
    draw_text(img, x1 - 6 - text_width(label), ty, label, {255, 255, 255});
}

}  // namespace

Status write_compare_plot(const std::string& path, const std::string& model,
                          const std::string& tokens,
                          const std::vector<estimate::TrainEstimate>& estimates,
                          const std::vector<std::string>& no_estimate) {
  if (estimates.empty()) return make_error("--plot: nothing to draw");
  const int rows = int(estimates.size() + no_estimate.size());
  const int bottom = kTop + 10 + rows * (kBar + kGap);
  Image img(kWidth, bottom + 50);
  const std::string title = fmt::format("time to train {} on {} tokens", model, tokens);
  draw_text(img, 10, 16, title, kBlack, fitting_scale(title, kWidth - 20));
  LogAxis a = axis_for(estimates);
  draw_axis(img, a, bottom);
  for (size_t i = 0; i < estimates.size(); ++i) draw_bar(img, a, int(i), estimates[i]);
  for (size_t i = 0; i < no_estimate.size(); ++i) {
    const int y = kTop + 10 + int(estimates.size() + i) * (kBar + kGap) + kBar / 2 - text_height() / 2;
    draw_text(img, 10, y, no_estimate[i], kBlack);
    draw_text(img, kLeft + 6, y, "no estimate (see the table)", kMissing);
  }
  draw_box(img, kLeft, kTop, kRight, bottom, kBlack);
  return write_png(path, img);
}

}  // namespace wafer::cli
