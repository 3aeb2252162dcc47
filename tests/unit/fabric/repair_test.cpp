// Tests of row-shift and shift-2d repair: the map on a perfect and a defective wafer, the
// cost figures, windows up to INT_MAX, the unrepairable-segment and out-of-spare-rows
// errors, and the Monte Carlo segment failure rate against its closed form (within 4
// standard errors).
#include "wafer/fabric/repair.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "wafer/fabric/yield.hpp"

namespace wafer::fabric {
namespace {

// 10 logical columns in segments of 4 + 1 spare: physical width 13; 3 logical rows + 1 spare.
WaferGeometry tiny() {
  WaferGeometry g;
  g.logical_width = 10;
  g.logical_height = 3;
  g.segment_logical = 4;
  g.segment_spares = 1;
  g.spare_rows = 1;
  return g;
}

struct Wafer {
  WaferGeometry g = tiny();
  std::vector<uint8_t> dead = std::vector<uint8_t>(size_t(g.physical_count()), 0);
  void kill(int x, int y) { dead[size_t(y) * g.physical_width() + x] = 1; }
  Expected<RepairResult> repair_with(RepairScheme s, int window = 8) const {
    return repair(g, dead, {s, window});
  }
};

std::vector<int32_t> row_of(const LogicalToPhysical& m, int y) {
  return {m.column.begin() + y * m.logical_width, m.column.begin() + (y + 1) * m.logical_width};
}

TEST(Repair, PerfectWaferMapsHomeColumnsAtNoCost) {
  Wafer w;
  for (RepairScheme s : {RepairScheme::row_shift, RepairScheme::shift_2d}) {
    auto r = w.repair_with(s);
    ASSERT_TRUE(r) << r.message();
    EXPECT_EQ(row_of(r->map, 2), std::vector<int32_t>({0, 1, 2, 3, 5, 6, 7, 8, 10, 11}));
    EXPECT_EQ(r->map.row, std::vector<int32_t>({0, 1, 2}));
    EXPECT_EQ(r->spares_left, 52 - 30);
    EXPECT_EQ(r->cost.links, 47);
    EXPECT_EQ(r->cost.longer_links, 0);
    EXPECT_EQ(r->cost.extra_hops_max, 0);
  }
}

TEST(Repair, RowShiftBypassesADeadCoreTowardTheSpare) {
  Wafer w;
  w.kill(1, 1);
  auto r = w.repair_with(RepairScheme::row_shift);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(row_of(r->map, 1), std::vector<int32_t>({0, 2, 3, 4, 5, 6, 7, 8, 10, 11}));
  EXPECT_EQ(r->dead_pes, 1);
  EXPECT_EQ(r->spares_used, 1);
  EXPECT_EQ(r->spares_left, 21);
  // The 0-1 link and the six vertical links of columns 1..3 gain one hop.
  EXPECT_EQ(r->cost.longer_links, 7);
  EXPECT_EQ(r->cost.extra_hops_max, 1);
  EXPECT_DOUBLE_EQ(r->cost.extra_hops_mean, 7.0 / 47);
}

TEST(Repair, RowShiftNamesTheSegmentThatRanOutOfSpares) {
  Wafer w;
  w.kill(0, 2);
  w.kill(1, 2);
  auto r = w.repair_with(RepairScheme::row_shift);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message(), "row 2 segment 0 (physical columns 0..4) has 2 dead cores but 1 spares");
}

TEST(Repair, ShiftTwoDBorrowsSparesFromTheNextSegment) {
  Wafer w;
  w.kill(0, 2);
  w.kill(1, 2);
  auto r = w.repair_with(RepairScheme::shift_2d);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(row_of(r->map, 2), std::vector<int32_t>({2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(r->retired_rows, 0);
  // Vertical links to row 1 gain 2 hops (columns 0..3) or 1 hop (columns 4..7).
  EXPECT_EQ(r->cost.longer_links, 8);
  EXPECT_EQ(r->cost.extra_hops_max, 2);
  EXPECT_DOUBLE_EQ(r->cost.extra_hops_mean, 12.0 / 47);
}

TEST(Repair, ShiftTwoDRetiresARowIntoTheSpareRow) {
  Wafer w;
  for (int x = 0; x < w.g.physical_width(); ++x) w.kill(x, 1);
  auto shifted = w.repair_with(RepairScheme::row_shift);
  EXPECT_EQ(shifted.message(),
            "row 1 segment 0 (physical columns 0..4) has 5 dead cores but 1 spares");
  auto r = w.repair_with(RepairScheme::shift_2d);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->map.row, std::vector<int32_t>({0, 2, 3}));
  EXPECT_EQ(r->retired_rows, 1);
  EXPECT_EQ(r->spares_left, 52 - 13 - 30);
  EXPECT_EQ(r->cost.longer_links, 10);
  EXPECT_EQ(r->cost.extra_hops_max, 1);
}

TEST(Repair, ANarrowWindowRetiresTheRowInstead) {
  Wafer w;
  w.kill(0, 2);
  w.kill(1, 2);
  auto r = w.repair_with(RepairScheme::shift_2d, 1);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->map.row, std::vector<int32_t>({0, 1, 3}));
  EXPECT_EQ(r->retired_rows, 1);
  EXPECT_EQ(r->spares_left, 52 - 2 - 11 - 30);  // the retired row's 11 good PEs are lost
}

// The window is clamped to the row in 64-bit arithmetic: INT_MAX is the whole row.
TEST(Repair, AHugeWindowIsTheWholeRow) {
  Wafer w;
  w.kill(0, 2);
  w.kill(1, 2);
  auto huge = w.repair_with(RepairScheme::shift_2d, 2147483647);
  auto row = w.repair_with(RepairScheme::shift_2d, 13);
  ASSERT_TRUE(huge && row);
  EXPECT_EQ(huge->map.column, row->map.column);
  EXPECT_EQ(huge->retired_rows, 0);
  EXPECT_EQ(huge->map.physical_x(0, 2), 2);
}

TEST(Repair, ShiftTwoDOutOfSpareRowsSaysWhy) {
  Wafer w;
  for (int x = 0; x < w.g.physical_width(); ++x) {
    w.kill(x, 0);
    w.kill(x, 1);
  }
  auto r = w.repair_with(RepairScheme::shift_2d);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message(),
            "shift-2d: 2 physical rows (0, 1) cannot hold a logical row but there are 1 spare "
            "rows; row 0: "
            "logical column 0 finds no free good column in physical columns 0..8 (9 dead)");
}

TEST(Repair, MapForAnotherWaferIsAnError) {
  DefectMap map{5, 5, {}};
  auto r = repair(tiny(), map, {});
  EXPECT_EQ(r.message(), "the defect map is for a 5x5 wafer but this physical fabric is 13x4");
  EXPECT_EQ(parse_scheme("spiral").message(),
            "unknown repair scheme 'spiral' (expected row-shift or shift-2d)");
}

// 48 x 40 logical: two full segments of 24 + 2 per row, 42 physical rows.
WaferGeometry mc_geometry() {
  WaferGeometry g;
  g.logical_width = 48;
  g.logical_height = 40;
  return g;
}

// Every logical PE on a good physical PE, rows distinct and increasing, columns increasing.
void expect_valid(const WaferGeometry& g, const std::vector<uint8_t>& dead,
                  const LogicalToPhysical& m) {
  for (int y = 0; y < m.logical_height; ++y) {
    if (y > 0) {
      ASSERT_GT(m.physical_y(y), m.physical_y(y - 1));
    }
    for (int x = 0; x < m.logical_width; ++x) {
      if (x > 0) {
        ASSERT_GT(m.physical_x(x, y), m.physical_x(x - 1, y));
      }
      ASSERT_EQ(dead[size_t(m.physical_y(y)) * g.physical_width() + m.physical_x(x, y)], 0);
    }
  }
}

TEST(RepairMonteCarlo, MapsAreValidAndShiftTwoDIsAtLeastAsStrong) {
  WaferGeometry g = mc_geometry();
  DefectModel m;
  m.density_per_mm2 = 0.6;
  int row_shift_ok = 0, shift_2d_ok = 0;
  for (int i = 0; i < 200; ++i) {
    std::vector<uint8_t> dead = dead_pes(generate_defects(g, m, wafer_seed(4, uint64_t(i))));
    auto rs = repair(g, dead, {RepairScheme::row_shift, 8});
    auto s2 = repair(g, dead, {RepairScheme::shift_2d, 8});
    if (rs) expect_valid(g, dead, rs->map);
    if (s2) expect_valid(g, dead, s2->map);
    EXPECT_TRUE(!rs || s2) << "wafer " << i;
    row_shift_ok += bool(rs);
    shift_2d_ok += bool(s2);
  }
  EXPECT_LT(row_shift_ok, 10);  // P = (1 - 0.0404)^80 = 0.037
  EXPECT_GT(shift_2d_ok, 190);
}

TEST(RepairMonteCarlo, SegmentFailureRateMatchesTheClosedForm) {
  WaferGeometry g = mc_geometry();
  DefectModel m;
  m.density_per_mm2 = 0.6;
  const int wafers = 300, size = 26, pw = g.physical_width();
  int64_t segments = 0, failed = 0;
  for (int i = 0; i < wafers; ++i) {
    std::vector<uint8_t> dead = dead_pes(generate_defects(g, m, wafer_seed(9, uint64_t(i))));
    for (int y = 0; y < g.physical_height(); ++y)
      for (int j = 0; j < g.segments(); ++j, ++segments) {
        const uint8_t* begin = dead.data() + size_t(y) * pw + g.segment_begin(j);
        failed += std::count(begin, begin + size, uint8_t(1)) > g.segment_spares;
      }
  }
  double p = segment_failure_probability(g, m.density_per_mm2);
  EXPECT_NEAR(p, 0.0404423, 1e-6);  // P(Binomial(26, 1 - exp(-0.03)) > 2)
  EXPECT_NEAR(double(failed) / double(segments), p, 4 * std::sqrt(p * (1 - p) / double(segments)));
}

TEST(RepairMonteCarlo, RowShiftYieldMatchesTheClosedForm) {
  YieldOptions o;
  o.geometry = mc_geometry();
  o.model.density_per_mm2 = 0.2;
  o.schemes = {RepairScheme::row_shift};
  o.wafers = 400;
  auto r = run_yield(o);
  ASSERT_TRUE(r) << r.message();
  double y = row_shift_yield(o.geometry, 0.2);
  EXPECT_NEAR(y, 0.841280, 1e-6);  // (1 - P(segment fails))^80
  EXPECT_NEAR(r->schemes[0].repaired_fraction, y, 4 * std::sqrt(y * (1 - y) / o.wafers));
}

}  // namespace
}  // namespace wafer::fabric
