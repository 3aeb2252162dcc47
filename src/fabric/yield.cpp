// Monte Carlo wafer yield with repair, and closed-form diced-die yields; see yield.hpp.
//
// Each thread takes every T-th wafer and writes that wafer's outcome into its own slot; the
// report sums the slots in wafer order, so floating-point sums do not depend on the thread
// count. Progress is counted with an atomic and reported under a mutex, so the callback needs
// no locking of its own. The closed forms assume Poisson defects per PE: a PE dies with
// probability
// p = 1 - exp(-D·a), and a segment of S physical PEs with s spares fails with
// P(Binomial(S, p) > s).
#include "wafer/fabric/yield.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>
#include <numbers>
#include <thread>

namespace wafer::fabric {

namespace {

struct SchemeOutcome {
  bool repaired = false;
  int64_t spares_left = 0;
  int retired_rows = 0;
  int64_t longer_links = 0;
  int extra_hops_max = 0;
  double extra_hops_mean = 0;
  std::string failure;
};

struct WaferOutcome {
  int64_t defects = 0;
  int64_t dead = 0;
  std::vector<SchemeOutcome> schemes;
};

WaferOutcome evaluate(const YieldOptions& o, const DefectMap& map) {
  WaferOutcome w;
  w.defects = int64_t(map.defects.size());
  std::vector<uint8_t> dead = dead_pes(map);
  w.dead = std::count(dead.begin(), dead.end(), uint8_t(1));
  for (RepairScheme s : o.schemes) {
    auto r = repair(o.geometry, dead, {s, o.window});
    SchemeOutcome out;
    if (r) {
      out = {true,
             r->spares_left,
             r->retired_rows,
             r->cost.longer_links,
             r->cost.extra_hops_max,
             r->cost.extra_hops_mean,
             ""};
    } else {
      out.failure = r.message();
    }
    w.schemes.push_back(std::move(out));
  }
  return w;
}

SchemeYield summarize(RepairScheme s, const std::vector<WaferOutcome>& wafers, size_t k) {
  SchemeYield y;
  y.scheme = s;
  double spares = 0, retired = 0, longer = 0, mean_hops = 0;
  std::vector<int64_t> spares_left;
  for (size_t i = 0; i < wafers.size(); ++i) {
    const SchemeOutcome& o = wafers[i].schemes[k];
    if (!o.repaired) {
      if (y.first_failed_wafer < 0) {
        y.first_failed_wafer = int64_t(i);
        y.first_failure = o.failure;
      }
      continue;
    }
    ++y.repaired;
    spares += double(o.spares_left);
    spares_left.push_back(o.spares_left);
    retired += o.retired_rows;
    longer += double(o.longer_links);
    mean_hops += o.extra_hops_mean;
    y.extra_hops_max = std::max(y.extra_hops_max, o.extra_hops_max);
  }
  double n = double(std::max<int64_t>(y.repaired, 1));
  y.repaired_fraction = double(y.repaired) / double(wafers.size());
  y.mean_spares_left = spares / n;
  y.spares_left = quantiles_of(std::move(spares_left));
  y.mean_retired_rows = retired / n;
  y.mean_longer_links = longer / n;
  y.extra_hops_mean = mean_hops / n;
  return y;
}

YieldReport report_of(const YieldOptions& o, const std::vector<WaferOutcome>& wafers) {
  YieldReport r;
  r.wafers = int(wafers.size());
  double defects = 0, dead = 0;
  std::vector<int64_t> dead_pes;
  for (const WaferOutcome& w : wafers) {
    defects += double(w.defects);
    dead += double(w.dead);
    dead_pes.push_back(w.dead);
  }
  r.dead_pes = quantiles_of(std::move(dead_pes));
  r.mean_defects = defects / double(r.wafers);
  r.mean_dead_pes = dead / double(r.wafers);
  for (size_t k = 0; k < o.schemes.size(); ++k)
    r.schemes.push_back(summarize(o.schemes[k], wafers, k));
  return r;
}

int thread_count(int requested, int wafers) {
  int t = requested > 0 ? requested : int(std::max(1u, std::thread::hardware_concurrency()));
  return std::min(t, wafers);
}

}  // namespace

Quantiles quantiles_of(std::vector<int64_t> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  auto rank = [&](double q) { return v[size_t(std::ceil(q * double(v.size()))) - 1]; };
  return {v.front(), rank(0.5), rank(0.95), v.back()};
}

Status validate(const YieldOptions& o) {
  WAFER_TRY(validate(o.geometry));
  WAFER_TRY(validate(o.model, o.geometry));
  if (o.schemes.empty()) return make_error("no repair scheme given");
  WAFER_TRY(check_range("shift-2d window", o.window, 1, kMaxWaferSide));
  WAFER_TRY(check_range("wafer count", o.wafers, 1, kMaxWafers));
  return check_range("thread count", o.threads, 0, kMaxThreads);
}

Expected<YieldReport> run_yield(const YieldOptions& o) {
  WAFER_TRY(validate(o));
  std::vector<WaferOutcome> wafers(size_t(o.wafers));
  int threads = thread_count(o.threads, o.wafers);
  std::atomic<int> done{0};
  std::mutex progress_mutex;
  auto work = [&](int t) {
    for (int i = t; i < o.wafers; i += threads) {
      wafers[size_t(i)] =
          evaluate(o, generate_defects(o.geometry, o.model, wafer_seed(o.seed, uint64_t(i))));
      ++done;
      if (!o.progress) continue;
      std::lock_guard<std::mutex> lock(progress_mutex);
      o.progress(done.load(), o.wafers);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (std::thread& th : pool) th.join();
  return report_of(o, wafers);
}

Expected<YieldReport> yield_of_map(const YieldOptions& o, const DefectMap& map) {
  WAFER_TRY(validate(o));
  if (map.width != o.geometry.physical_width() || map.height != o.geometry.physical_height())
    return make_error("the defect map is for a {}x{} wafer but this physical fabric is {}x{}",
                      map.width, map.height, o.geometry.physical_width(),
                      o.geometry.physical_height());
  return report_of(o, {evaluate(o, map)});
}

double pe_death_probability(const WaferGeometry& g, double density) {
  return -std::expm1(-density * g.core_area_mm2);
}

double segment_failure_probability(const WaferGeometry& g, double density) {
  int size = g.segment_logical + g.segment_spares;
  return 1 - at_least_k_of_n(g.segment_logical, size, 1 - pe_death_probability(g, density));
}

double row_shift_yield(const WaferGeometry& g, double density) {
  double p = 1 - pe_death_probability(g, density);
  double log_yield = 0;
  for (int j = 0; j < g.segments(); ++j) {
    int size = g.segment_end(j) - g.segment_begin(j);
    int logical = size - g.segment_spares;
    log_yield += std::log(at_least_k_of_n(logical, size, p));
  }
  return std::exp(log_yield * g.logical_height);
}

double poisson_yield(double area, double density) { return std::exp(-area * density); }

double murphy_yield(double area, double density) {
  double ad = area * density;
  if (ad == 0) return 1;
  double y = -std::expm1(-ad) / ad;
  return y * y;
}

double negbin_yield(double area, double density, double alpha) {
  return std::pow(1 + area * density / alpha, -alpha);
}

double at_least_k_of_n(int k, int n, double p) {
  if (k <= 0) return 1;
  double sum = 0;
  for (int i = k; i <= n; ++i) {
    double log_term = std::lgamma(n + 1.0) - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0);
    double term = std::exp(log_term) * std::pow(p, i) * std::pow(1 - p, n - i);
    sum += term;
  }
  return std::min(sum, 1.0);
}

int dies_per_wafer(double die_area, double diameter) {
  double r = diameter / 2;
  double n = std::numbers::pi * (r * r / die_area - diameter / std::sqrt(2 * die_area));
  if (!(n >= 1)) return 0;
  return int(std::min(std::floor(n), double(std::numeric_limits<int>::max())));
}

Status validate(const DicedOptions& d) {
  WAFER_TRY(check_range("die area", d.die_area_mm2, kMinDieArea, kMaxDieArea, "mm²"));
  return check_range("wafer diameter", d.wafer_diameter_mm, 1, kMaxWaferDiameter, "mm");
}

DicedYield diced_yield(const DicedOptions& d, const DefectModel& m) {
  DicedYield y;
  double density = m.density_per_mm2, area = d.die_area_mm2;
  y.die_area_mm2 = area;
  y.dies_per_wafer = dies_per_wafer(area, d.wafer_diameter_mm);
  y.poisson = poisson_yield(area, density);
  y.murphy = murphy_yield(area, density);
  y.negbin = negbin_yield(area, density, m.alpha);
  y.model_yield = m.kind == DefectModelKind::negbin ? y.negbin : y.poisson;
  y.good_dies_per_wafer = y.dies_per_wafer * y.model_yield;
  y.non_unit_area_mm2 = std::max(0.0, area - d.units * d.unit_area_mm2);
  double unit_survives = poisson_yield(d.unit_area_mm2, density);
  y.redundant_yield = at_least_k_of_n(d.units_required, d.units, unit_survives) *
                      poisson_yield(y.non_unit_area_mm2, density);
  y.good_redundant_dies_per_wafer = y.dies_per_wafer * y.redundant_yield;
  return y;
}

CostReport cost_report(double wafer_cost, const WaferGeometry& g, double repaired_fraction,
                       const DicedYield& d) {
  auto per = [wafer_cost](double good) {
    return good > 0 ? wafer_cost / good : std::numeric_limits<double>::infinity();
  };
  double good_cores = repaired_fraction * double(g.logical_count());
  return {wafer_cost,
          per(good_cores),
          per(good_cores * g.core_area_mm2),
          per(d.good_dies_per_wafer),
          per(d.good_dies_per_wafer * d.die_area_mm2),
          per(d.good_redundant_dies_per_wafer)};
}

}  // namespace wafer::fabric
