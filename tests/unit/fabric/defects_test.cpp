// Tests of the physical wafer geometry, the seeded generator, defect generation against the
// Poisson and negative binomial expectations (within 4 standard errors), the defect map
// text format round trip (each broken part once), and each bound, load and model error.
#include "wafer/fabric/defects.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

#include "wafer/arch/arch.hpp"

namespace wafer::fabric {
namespace {

WaferGeometry small_geometry() {
  WaferGeometry g;
  g.logical_width = 48;
  g.logical_height = 40;
  return g;
}

std::string temp_path(const std::string& name) { return ::testing::TempDir() + "/" + name; }

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(WaferGeometry, Wse3DefaultMatchesThePublishedCoreCounts) {
  WaferGeometry g = default_geometry(*arch::preset("wse3"));
  EXPECT_EQ(g.segments(), 32);
  EXPECT_EQ(g.physical_width(), 826);
  EXPECT_EQ(g.physical_height(), 1174);
  EXPECT_EQ(g.physical_count(), 969724);
  EXPECT_EQ(g.logical_count(), 893064);
  EXPECT_EQ(g.home_column(23), 23);
  EXPECT_EQ(g.home_column(24), 26);
  EXPECT_EQ(g.segment_begin(31), 806);
  EXPECT_EQ(g.segment_end(31), 826);
  EXPECT_TRUE(validate(g));
}

TEST(WaferGeometry, EmptyFabricIsAnError) {
  WaferGeometry g;
  EXPECT_EQ(validate(g).message(),
            "wafer geometry: logical_width 0 is out of range (must be 1..32768)");
}

// Each count is checked before the physical size is computed from it, so none overflows.
TEST(WaferGeometry, HugeCountsAreRangeErrors) {
  const WaferGeometry wse3 = default_geometry(*arch::preset("wse3"));
  WaferGeometry g = wse3;
  g.segment_logical = 2147483647;
  EXPECT_EQ(validate(g).message(),
            "wafer geometry: segment_logical 2147483647 is out of range (must be 1..32768)");
  g = wse3;
  g.segment_spares = 134217728;
  EXPECT_EQ(validate(g).message(),
            "wafer geometry: segment_spares 134217728 is out of range (must be 0..32768)");
  g = wse3;
  g.spare_rows = 2147483647;
  EXPECT_EQ(validate(g).message(),
            "wafer geometry: spare_rows 2147483647 is out of range (must be 0..32768)");
  g = wse3;
  g.segment_spares = 32768;  // in range, but 32 segments of 24 + 32768 columns are too wide
  EXPECT_EQ(validate(g).message(), "wafer geometry: physical 1049338x1174 exceeds 32768 per side");
  g = wse3;
  g.core_area_mm2 = 1e-10;
  EXPECT_EQ(validate(g).message(),
            "wafer geometry: core area 1e-10 mm² is out of range (must be 0.0001..1000 mm²)");
}

TEST(DefectRng, StreamIsFixedForASeed) {
  Rng r(1);
  EXPECT_EQ(r.next(), 12966619160104079557ull);
  EXPECT_EQ(r.next(), 9600361134598540522ull);
  EXPECT_EQ(wafer_seed(1, 0), 10451216379200822465ull);
  EXPECT_NE(wafer_seed(1, 1), wafer_seed(1, 0));
}

TEST(DefectRng, PoissonAndGammaMeans) {
  Rng r(7);
  const int n = 20000;
  double poisson = 0, gamma = 0;
  for (int i = 0; i < n; ++i) {
    poisson += double(r.poisson(75.0));
    gamma += r.gamma(0.5);
  }
  EXPECT_NEAR(poisson / n, 75.0, 4 * std::sqrt(75.0 / n));
  EXPECT_NEAR(gamma / n, 0.5, 4 * std::sqrt(0.5 / n));
}

// Mean and standard error of the defect count over `wafers` wafers.
std::pair<double, double> defect_count_stats(const WaferGeometry& g, const DefectModel& m,
                                             int wafers) {
  double sum = 0, sum2 = 0;
  for (int i = 0; i < wafers; ++i) {
    double n = double(generate_defects(g, m, wafer_seed(3, uint64_t(i))).defects.size());
    sum += n;
    sum2 += n * n;
  }
  double mean = sum / wafers;
  return {mean, std::sqrt((sum2 / wafers - mean * mean) / wafers)};
}

TEST(DefectGeneration, PoissonMeanMatchesDensityTimesArea) {
  WaferGeometry g = small_geometry();
  DefectModel m;
  m.density_per_mm2 = 2.0;
  const int wafers = 400;
  double expected =
      m.density_per_mm2 * g.core_area_mm2 * double(g.physical_count());  // 0.1 x 52 x 42
  EXPECT_NEAR(expected, 218.4, 1e-9);
  auto [mean, se] = defect_count_stats(g, m, wafers);
  EXPECT_NEAR(mean, expected, 4 * std::sqrt(expected / wafers));
  EXPECT_NEAR(se * se * wafers, expected, 0.25 * expected);  // Poisson: variance = mean
}

TEST(DefectGeneration, NegativeBinomialKeepsTheMeanAndWidensTheSpread) {
  WaferGeometry g = small_geometry();
  DefectModel m;
  m.kind = DefectModelKind::negbin;
  m.density_per_mm2 = 2.0;
  m.alpha = 0.5;
  const int wafers = 400;
  double expected = m.density_per_mm2 * g.core_area_mm2 * double(g.physical_count());
  // 84 gamma blocks, each Poisson(g * lambda_b): variance lambda_b + lambda_b^2 / alpha.
  double block = expected / 84;
  double variance = 84 * (block + block * block / m.alpha);
  auto [mean, se] = defect_count_stats(g, m, wafers);
  EXPECT_NEAR(mean, expected, 4 * std::sqrt(variance / wafers));
  EXPECT_GT(se * se * wafers, 2 * expected);
}

TEST(DefectGeneration, KindSharesAndDeadPes) {
  WaferGeometry g = small_geometry();
  DefectModel m;
  m.density_per_mm2 = 10.0;
  DefectMap map = generate_defects(g, m, 11);
  double cores = 0;
  for (const Defect& d : map.defects) cores += d.kind == DefectKind::core;
  double n = double(map.defects.size());
  EXPECT_NEAR(cores / n, 0.8, 4 * std::sqrt(0.8 * 0.2 / n));
  EXPECT_EQ(generate_defects(g, m, 11), map);
  EXPECT_NE(generate_defects(g, m, 12), map);
}

TEST(DefectGeneration, ALinkDefectRetiresItsPe) {
  DefectMap map{4, 3, {{DefectKind::link_east, 1, 2}, {DefectKind::router, 3, 0}}};
  std::vector<uint8_t> dead = dead_pes(map);
  EXPECT_EQ(dead, std::vector<uint8_t>({0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0}));
}

TEST(DefectMapFormat, SaveAndLoadRoundTrip) {
  WaferGeometry g = small_geometry();
  DefectModel m;
  m.density_per_mm2 = 1.0;
  DefectMap map = generate_defects(g, m, 5);
  ASSERT_GT(map.defects.size(), 50u);
  std::string path = temp_path("round_trip.defects");
  ASSERT_TRUE(save_defect_map(map, path));
  auto loaded = load_defect_map(path, g);
  ASSERT_TRUE(loaded) << loaded.message();
  EXPECT_EQ(*loaded, distinct_parts(map));
  EXPECT_EQ(dead_pes(*loaded), dead_pes(map));
}

// A drawn wafer may hit one part twice; the file lists each broken part once.
TEST(DefectMapFormat, APartHitTwiceIsSavedOnce) {
  DefectMap map{8, 6, {{DefectKind::core, 1, 2}, {DefectKind::router, 1, 2},
                       {DefectKind::core, 1, 2}, {DefectKind::link_east, 3, 3}}};
  EXPECT_EQ(format_defect_map(map), "wafer-defects v1 8 6\ncore 1 2\nrouter 1 2\nlink 3 3 E\n");
  EXPECT_EQ(distinct_parts(map).defects.size(), 3u);
}

TEST(DefectMapFormat, TextIsDocumentedFormat) {
  DefectMap map{8,
                6,
                {{DefectKind::core, 1, 2},
                 {DefectKind::router, 3, 4},
                 {DefectKind::link_east, 5, 0},
                 {DefectKind::link_south, 7, 5}}};
  EXPECT_EQ(format_defect_map(map),
            "wafer-defects v1 8 6\ncore 1 2\nrouter 3 4\nlink 5 0 E\nlink 7 5 S\n");
  auto parsed = parse_defect_map(
      "# a comment\n\nwafer-defects v1 8 6  # header\ncore 1 2\nrouter 3 4\n"
      "link 5 0 E\nlink 7 5 S\n",
      "m");
  ASSERT_TRUE(parsed) << parsed.message();
  EXPECT_EQ(*parsed, map);
}

std::string parse_message(const std::string& text) {
  auto r = parse_defect_map(text, "m.txt");
  return r ? "ok" : r.message();
}

TEST(DefectMapFormat, ErrorsNameTheLine) {
  EXPECT_EQ(parse_message("wafer-defects v2 8 6\n"),
            "m.txt:1: expected the header 'wafer-defects v1 WIDTH HEIGHT'");
  EXPECT_EQ(parse_message("wafer-defects v1 8 0\n"),
            "m.txt:1: wafer size 8x0 is not between 1 and 32768 per side");
  EXPECT_EQ(parse_message("wafer-defects v1 8 6\ncore 1 2\ncor 1 2\n"),
            "m.txt:3: unknown defect kind 'cor' (expected core, router or link)");
  EXPECT_EQ(parse_message("wafer-defects v1 8 6\ncore 8 2\n"),
            "m.txt:2: (8, 2) is outside the 8x6 wafer");
  EXPECT_EQ(parse_message("wafer-defects v1 8 6\nrouter 1\n"), "m.txt:2: expected 'router X Y'");
  EXPECT_EQ(parse_message("wafer-defects v1 8 6\nlink 1 2 W\n"),
            "m.txt:2: expected 'link X Y E|S'");
  EXPECT_EQ(parse_message("wafer-defects v1 8 6\ncore 1 2x\n"),
            "m.txt:2: y '2x' is not an integer");
  EXPECT_EQ(parse_message("wafer-defects v1 8 6\ncore 1 2\nrouter 1 2\n\ncore  1 2 # again\n"),
            "m.txt:5: duplicate defect 'core 1 2' (first on line 2)");
  EXPECT_EQ(parse_message("wafer-defects v1 8 6\nlink 1 2 E\nlink 1 2 S\nlink 1 2 E\n"),
            "m.txt:4: duplicate defect 'link 1 2 E' (first on line 2)");
  EXPECT_EQ(parse_message("# nothing\n"),
            "m.txt: empty defect map (expected the header 'wafer-defects v1 WIDTH HEIGHT')");
}

TEST(DefectMapFormat, WrongSizeAndMissingFileAreErrors) {
  WaferGeometry g = small_geometry();
  std::string path = temp_path("wrong_size.defects");
  write_file(path, "wafer-defects v1 10 10\n");
  auto r = load_defect_map(path, g);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message(), path + ": the map is for a 10x10 wafer but this physical fabric is 52x42");
  auto missing = load_defect_map(temp_path("no_such.defects"), g);
  EXPECT_EQ(missing.message(),
            "cannot read defect map '" + temp_path("no_such.defects") + "': no such file");
}

TEST(DefectModelCheck, BadValuesAreErrors) {
  WaferGeometry g = small_geometry();
  auto message = [&](DefectModel m) { return validate(m, g).message(); };
  DefectModel m;
  EXPECT_TRUE(validate(m, g));
  m.density_per_mm2 = -1;
  EXPECT_EQ(message(m), "defect density -1 /mm² must be finite and >= 0");
  m.density_per_mm2 = NAN;
  EXPECT_EQ(message(m), "defect density nan /mm² must be finite and >= 0");
  m.density_per_mm2 = 30;
  EXPECT_EQ(message(m),
            "defect density 30 /mm² gives 1.5 defects per 0.05 mm² core; at most 1 per core is "
            "meaningful");
  m.density_per_mm2 = 0.001;
  m.alpha = 0;
  EXPECT_EQ(message(m), "clustering alpha 0 must be > 0 and at most 1e6");
  EXPECT_EQ(parse_model_kind("gauss").message(),
            "unknown defect model 'gauss' (expected poisson or negbin)");
}

}  // namespace
}  // namespace wafer::fabric
