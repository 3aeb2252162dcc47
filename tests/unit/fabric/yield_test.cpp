// Tests of the yield analysis: the closed-form diced yields and dies per wafer, the WSE-3
// figures (every wafer repairs), row-shift failing before shift-2d at high density, results
// independent of the thread count, progress calls, one-map reports, costs, and the option
// errors and bounds.
#include "wafer/fabric/yield.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "wafer/arch/arch.hpp"

namespace wafer::fabric {
namespace {

YieldOptions wse3_options(double density, int wafers) {
  YieldOptions o;
  o.geometry = default_geometry(*arch::preset("wse3"));
  o.model.density_per_mm2 = density;
  o.wafers = wafers;
  return o;
}

TEST(DicedYield, ClosedFormsForAnH100SizedDie) {
  EXPECT_NEAR(poisson_yield(814, 0.001), 0.4430822, 1e-7);    // exp(-0.814)
  EXPECT_NEAR(murphy_yield(814, 0.001), 0.4680944, 1e-7);     // ((1 - exp(-0.814)) / 0.814)^2
  EXPECT_NEAR(negbin_yield(814, 0.001, 2), 0.5051401, 1e-7);  // (1 + 0.407)^-2
  EXPECT_EQ(murphy_yield(814, 0), 1.0);
  EXPECT_EQ(dies_per_wafer(814, 300), 63);  // 86.8 - 23.4
  EXPECT_EQ(dies_per_wafer(1e6, 300), 0);
}

TEST(DicedYield, AtLeastKOfN) {
  EXPECT_DOUBLE_EQ(at_least_k_of_n(2, 3, 0.5), 0.5);
  EXPECT_DOUBLE_EQ(at_least_k_of_n(3, 3, 0.9), 0.729);
  EXPECT_DOUBLE_EQ(at_least_k_of_n(0, 3, 0.1), 1.0);
}

TEST(DicedYield, SmRedundancyAndGoodDies) {
  DefectModel m;
  m.density_per_mm2 = 0.01;
  DicedYield d = diced_yield({}, m);
  EXPECT_EQ(d.dies_per_wafer, 63);
  EXPECT_NEAR(d.model_yield, std::exp(-8.14), 1e-12);
  EXPECT_NEAR(d.good_dies_per_wafer, 63 * std::exp(-8.14), 1e-9);
  EXPECT_EQ(d.non_unit_area_mm2, 0.0);  // 144 SMs x 6 mm² cover the 814 mm² die
  // Each SM survives with exp(-0.06); 132 of 144 needed.
  EXPECT_NEAR(d.redundant_yield, at_least_k_of_n(132, 144, std::exp(-0.06)), 1e-15);
  EXPECT_NEAR(d.redundant_yield, 0.922040, 1e-6);
}

TEST(WaferYield, Wse3RepairsEveryWaferAtItsPublishedDensity) {
  auto r = run_yield(wse3_options(0.001, 40));
  ASSERT_TRUE(r) << r.message();
  double expected = 0.001 * 0.05 * 969724;  // 48.49 defects per wafer
  EXPECT_NEAR(r->mean_defects, expected, 4 * std::sqrt(expected / 40));
  ASSERT_EQ(r->schemes.size(), 2u);
  for (const SchemeYield& s : r->schemes) {
    EXPECT_EQ(s.repaired_fraction, 1.0) << scheme_name(s.scheme);
    EXPECT_LE(s.extra_hops_max, 3);
    EXPECT_LT(s.extra_hops_mean, 1e-3);
  }
  EXPECT_NEAR(row_shift_yield(default_geometry(*arch::preset("wse3")), 0.001), 0.999988, 1e-6);
}

TEST(WaferYield, RowShiftFailsBeforeShiftTwoD) {
  auto r = run_yield(wse3_options(0.1, 6));
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->schemes[0].repaired_fraction, 0.0);
  EXPECT_EQ(r->schemes[1].repaired_fraction, 1.0);
  EXPECT_EQ(r->schemes[0].first_failed_wafer, 0);
  EXPECT_EQ(r->schemes[0].first_failure.rfind("row ", 0), 0u) << r->schemes[0].first_failure;
  EXPECT_EQ(r->schemes[1].first_failed_wafer, -1);
}

TEST(WaferYield, ResultDoesNotDependOnThreads) {
  YieldOptions o;
  o.geometry.logical_width = 96;
  o.geometry.logical_height = 64;
  o.model.kind = DefectModelKind::negbin;
  o.model.density_per_mm2 = 0.4;
  o.model.alpha = 0.7;
  o.wafers = 37;
  o.threads = 1;
  auto one = run_yield(o);
  o.threads = 3;
  auto three = run_yield(o);
  ASSERT_TRUE(one && three);
  EXPECT_EQ(one->mean_defects, three->mean_defects);
  EXPECT_EQ(one->dead_pes.max, three->dead_pes.max);
  EXPECT_EQ(one->dead_pes.p50, three->dead_pes.p50);
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(one->schemes[k].repaired, three->schemes[k].repaired);
    EXPECT_EQ(one->schemes[k].extra_hops_mean, three->schemes[k].extra_hops_mean);
    EXPECT_EQ(one->schemes[k].first_failed_wafer, three->schemes[k].first_failed_wafer);
    EXPECT_EQ(one->schemes[k].first_failure, three->schemes[k].first_failure);
  }
  EXPECT_LT(one->schemes[0].repaired, one->schemes[1].repaired);
}

TEST(WaferYield, ProgressCountsEveryWaferInOrder) {
  YieldOptions o;
  o.geometry.logical_width = 48;
  o.geometry.logical_height = 16;
  o.wafers = 23;
  o.threads = 3;
  std::vector<int> seen;
  o.progress = [&](int done, int total) {
    EXPECT_EQ(total, 23);
    seen.push_back(done);
  };
  ASSERT_TRUE(run_yield(o));
  ASSERT_EQ(seen.size(), 23u) << "one call per wafer";
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_GE(seen.front(), 1);
  EXPECT_EQ(seen.back(), 23);
}

TEST(WaferYield, OneMapReport) {
  YieldOptions o = wse3_options(0.001, 1);
  DefectMap map{826, 1174, {{DefectKind::core, 10, 5}, {DefectKind::link_south, 400, 1173}}};
  auto r = yield_of_map(o, map);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->wafers, 1);
  EXPECT_EQ(r->mean_defects, 2.0);
  EXPECT_EQ(r->schemes[0].repaired, 1);
  // Columns 10..23 of row 5 shift: 14 x 2 vertical links and one horizontal link.
  EXPECT_EQ(r->schemes[0].mean_longer_links, 29.0);
  EXPECT_EQ(r->schemes[0].mean_spares_left, 969724.0 - 893064 - 2);
  EXPECT_EQ(r->schemes[0].spares_left.min, 969724 - 893064 - 2);
  EXPECT_EQ(r->dead_pes.max, 2);
  map.width = 10;
  EXPECT_EQ(yield_of_map(o, map).message(),
            "the defect map is for a 10x1174 wafer but this physical fabric is 826x1174");
}

TEST(WaferYield, QuantilesUseNearestRank) {
  Quantiles q = quantiles_of({9, 1, 5, 3, 7, 2, 8, 4, 6, 10});
  EXPECT_EQ(q.min, 1);
  EXPECT_EQ(q.p50, 5);
  EXPECT_EQ(q.p95, 10);
  EXPECT_EQ(q.max, 10);
  EXPECT_EQ(quantiles_of({}).max, 0);
}

TEST(WaferYield, CostPerGoodCoreAndMm2) {
  WaferGeometry g = default_geometry(*arch::preset("wse3"));
  DicedYield d;
  d.die_area_mm2 = 800;
  d.good_dies_per_wafer = 25;
  d.good_redundant_dies_per_wafer = 50;
  CostReport c = cost_report(17000, g, 0.5, d);
  EXPECT_DOUBLE_EQ(c.wafer_per_good_core, 17000 / (0.5 * 893064));
  EXPECT_DOUBLE_EQ(c.wafer_per_good_mm2, 17000 / (0.5 * 893064 * 0.05));
  EXPECT_DOUBLE_EQ(c.diced_per_good_die, 680);
  EXPECT_DOUBLE_EQ(c.diced_per_good_mm2, 0.85);
  EXPECT_DOUBLE_EQ(c.redundant_per_good_die, 340);
  EXPECT_TRUE(std::isinf(cost_report(17000, g, 0, d).wafer_per_good_core));
}

TEST(WaferYield, BadOptionsAreErrors) {
  YieldOptions o = wse3_options(0.001, 0);
  EXPECT_EQ(run_yield(o).message(), "wafer count 0 is out of range (must be 1..1000000)");
  o.wafers = 1;
  o.window = 0;
  EXPECT_EQ(run_yield(o).message(), "shift-2d window 0 is out of range (must be 1..32768)");
  o.window = 8;
  o.schemes.clear();
  EXPECT_EQ(run_yield(o).message(), "no repair scheme given");
  o = wse3_options(-0.5, 1);
  EXPECT_EQ(run_yield(o).message(), "defect density -0.5 /mm² must be finite and >= 0");
}

// The CLI's overflow reproducers: each huge count is an error naming it and its range.
TEST(WaferYield, HugeCountsAreRangeErrors) {
  YieldOptions o = wse3_options(0.001, 1);
  o.window = 2147483647;
  EXPECT_EQ(validate(o).message(), "shift-2d window 2147483647 is out of range (must be 1..32768)");
  o.window = 8;
  o.wafers = 2147483647;
  EXPECT_EQ(validate(o).message(), "wafer count 2147483647 is out of range (must be 1..1000000)");
  o.wafers = 1;
  o.threads = 100000;
  EXPECT_EQ(validate(o).message(), "thread count 100000 is out of range (must be 0..1024)");
  o.threads = 0;
  o.geometry.segment_spares = 134217728;
  EXPECT_EQ(run_yield(o).message(),
            "wafer geometry: segment_spares 134217728 is out of range (must be 0..32768)");
}

TEST(DicedYield, DieAreaAndWaferDiameterAreBounded) {
  DicedOptions d;
  EXPECT_TRUE(validate(d));
  d.die_area_mm2 = 1e-10;
  EXPECT_EQ(validate(d).message(), "die area 1e-10 mm² is out of range (must be 0.01..70000 mm²)");
  d.die_area_mm2 = NAN;
  EXPECT_EQ(validate(d).message(), "die area nan mm² is out of range (must be 0.01..70000 mm²)");
  d.die_area_mm2 = 0.01;  // the smallest die: millions per wafer, still an int
  EXPECT_TRUE(validate(d));
  EXPECT_EQ(dies_per_wafer(0.01, 300), 7061919);
  d.wafer_diameter_mm = 0;
  EXPECT_EQ(validate(d).message(), "wafer diameter 0 mm is out of range (must be 1..1000 mm)");
  // Unvalidated input stays within int: no wafer or a tiny die.
  EXPECT_EQ(dies_per_wafer(1e-10, 300), 2147483647);
  EXPECT_EQ(dies_per_wafer(NAN, 300), 0);
}

}  // namespace
}  // namespace wafer::fabric
