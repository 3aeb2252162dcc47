// Yield of a wafer-scale fabric with repair, beside the same silicon diced into dies.
//
// run_yield draws N wafers (wafer i from wafer_seed(seed, i), shared out over threads, summed
// in wafer order so that the report does not depend on the thread count; an optional callback
// hears how many are done, for a caller's progress line), repairs each with
// every requested scheme and reports the repaired fraction, defects, dead PEs, spares left
// and the repair's extra hops. diced_yield gives the closed-form yield of conventional dies
// of the same defect density: Poisson exp(-A·D), Murphy ((1 - exp(-A·D)) / (A·D))², negative
// binomial (1 + A·D/alpha)^-alpha, dies per 300 mm wafer, and a GPU-like die that needs
// `units_required` of `units` redundant units (132 of 144 SMs). Costs divide a wafer cost by
// good cores and good mm². docs/yield.md gives the formulas and their sources. Inputs are
// bounded (the window by kMaxWaferSide, the wafer and thread counts, the die area and the wafer
// diameter by the constants below) so that no count or die number overflows an int.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "wafer/fabric/defects.hpp"
#include "wafer/fabric/repair.hpp"
#include "wafer/support/error.hpp"

namespace wafer::fabric {

constexpr int kMaxWafers = 1000000;
constexpr int kMaxThreads = 1024;
constexpr double kMinDieArea = 0.01;   // mm²: at most ~7 million dies per 300 mm wafer
constexpr double kMaxDieArea = 70000;  // mm²: a 300 mm wafer is 70,686 mm²
constexpr double kMaxWaferDiameter = 1000;  // mm
// CSET (Khan & Mann, "AI Chips", 2020) models a 5 nm 300 mm wafer's foundry price at $16,988;
// an estimate, not a price list (docs/yield.md). The default of cost_report's wafer cost.
constexpr double kDefaultWaferCostUsd = 17000;

struct YieldOptions {
  WaferGeometry geometry;
  DefectModel model;
  std::vector<RepairScheme> schemes = {RepairScheme::row_shift, RepairScheme::shift_2d};
  int window = 8;  // shift-2d window
  int wafers = 100;
  uint64_t seed = 1;
  int threads = 0;  // 0: all cores
  // Called by run_yield after each wafer with the wafers done so far and the total; calls are
  // serialized (one at a time, from any worker thread) and `done` never decreases. Empty: none.
  std::function<void(int done, int total)> progress;
};

// Order statistics of a per-wafer count (nearest rank); all 0 over no wafers.
struct Quantiles {
  int64_t min = 0, p50 = 0, p95 = 0, max = 0;
};
Quantiles quantiles_of(std::vector<int64_t> values);

struct SchemeYield {
  RepairScheme scheme = RepairScheme::row_shift;
  int64_t repaired = 0;
  double repaired_fraction = 0;
  double mean_spares_left = 0;      // over repaired wafers
  Quantiles spares_left;            // over repaired wafers
  double mean_retired_rows = 0;     // over repaired wafers
  double mean_longer_links = 0;     // over repaired wafers
  int extra_hops_max = 0;           // worst link over repaired wafers
  double extra_hops_mean = 0;       // mean over repaired wafers of each wafer's mean
  int64_t first_failed_wafer = -1;  // the first wafer this scheme could not repair, or -1
  std::string first_failure;        // and why
};

struct YieldReport {
  int wafers = 0;
  double mean_defects = 0;
  double mean_dead_pes = 0;
  Quantiles dead_pes;
  std::vector<SchemeYield> schemes;
};

// Checks the geometry, the model, the schemes and the window, wafer and thread counts.
Status validate(const YieldOptions& o);
Expected<YieldReport> run_yield(const YieldOptions& o);
// The report for one given map (wafers = 1).
Expected<YieldReport> yield_of_map(const YieldOptions& o, const DefectMap& map);

// Probability that a PE is retired: at least one defect of any kind, Poisson model.
double pe_death_probability(const WaferGeometry& g, double density_per_mm2);
// Probability that a full row segment has more dead PEs than spares (Poisson model).
double segment_failure_probability(const WaferGeometry& g, double density_per_mm2);
// Row-shift yield in closed form: every segment of every logical row within its spares.
double row_shift_yield(const WaferGeometry& g, double density_per_mm2);

double poisson_yield(double area_mm2, double density);
double murphy_yield(double area_mm2, double density);
double negbin_yield(double area_mm2, double density, double alpha);
// P(at least k of n independent units survive), each with probability p.
double at_least_k_of_n(int k, int n, double p);
// Whole rectangular dies on a round wafer: pi r²/A - pi d / sqrt(2A), at least 0 and at most
// INT_MAX.
int dies_per_wafer(double die_area_mm2, double wafer_diameter_mm);

struct DicedOptions {
  double die_area_mm2 = 814;  // H100 die (Cerebras yield blog)
  double wafer_diameter_mm = 300;
  int units = 144;           // SMs on the die
  int units_required = 132;  // SMs enabled in the product
  double unit_area_mm2 = 6;  // SM area (Cerebras yield blog)
};

struct DicedYield {
  double die_area_mm2 = 0;
  int dies_per_wafer = 0;
  double poisson = 0, murphy = 0, negbin = 0;
  double model_yield = 0;          // the yield under the wafer's defect model
  double good_dies_per_wafer = 0;  // dies_per_wafer x model_yield
  double redundant_yield = 0;      // units_required of units, plus the non-unit area
  double good_redundant_dies_per_wafer = 0;
  double non_unit_area_mm2 = 0;
};

// Checks the die area (kMinDieArea..kMaxDieArea mm²) and the wafer diameter (1..kMaxWaferDiameter
// mm).
Status validate(const DicedOptions& d);
DicedYield diced_yield(const DicedOptions& d, const DefectModel& m);

struct CostReport {
  double wafer_cost_usd = 0;
  double wafer_per_good_core = 0;  // infinite when no wafer repairs
  double wafer_per_good_mm2 = 0;   // good mm²: logical PEs x core area on repaired wafers
  double diced_per_good_die = 0;
  double diced_per_good_mm2 = 0;
  double redundant_per_good_die = 0;
};

// Costs of good silicon for a wafer cost; the fabric yields its logical PEs when it repairs.
CostReport cost_report(double wafer_cost_usd, const WaferGeometry& g, double repaired_fraction,
                       const DicedYield& d);

}  // namespace wafer::fabric
