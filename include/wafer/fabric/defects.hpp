// The physical wafer behind the logical fabric, and maps of its manufacturing defects.
//
// WaferGeometry is the physical PE array: each physical row is cut into segments of
// `segment_logical` logical columns followed by `segment_spares` spare columns, and
// `spare_rows` spare rows lie below the logical rows. The default for any arch (24 + 2 per
// segment, 2 spare rows) gives WSE-3's 762 x 1172 logical fabric an 826 x 1174 physical
// array: 969,724 physical cores for 893,064 enabled (92.1%), close to the published 970,000
// physical / 900,000 enabled (shared/facts/wse.md, "Yield and redundancy").
//
// Every field is bounded so that the physical sizes and the repair's column arithmetic stay
// well inside int: the logical sides and the segment length lie in 1..kMaxWaferSide, the
// spares per segment and the spare rows in 0..kMaxWaferSide, the physical sides are at most
// kMaxWaferSide, and a PE's area lies in kMinCoreArea..kMaxCoreArea mm².
//
// A DefectMap lists defects in physical coordinates; each kills a core, a router, or the east
// or south link of a PE. generate_defects draws one from a defect density (per mm²) and the
// core area with a Poisson model or a clustered negative binomial model (a gamma-distributed
// density multiplier per die-sized block, a gamma-mixed Poisson), from a self-contained
// xoshiro256** generator so that a seed gives the same map on every platform. The text
// format (docs/yield.md) is a header `wafer-defects v1 W H` and one `core X Y`,
// `router X Y` or `link X Y E|S` line per broken part (a drawn wafer may hit a part twice; its
// file lists the part once, and a file that lists one twice is an error); `#` starts a
// comment.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "wafer/arch/arch.hpp"
#include "wafer/support/error.hpp"

namespace wafer::fabric {

constexpr int kMaxWaferSide = 1 << 15;  // physical PEs per side, and the bound of every count
constexpr double kMinCoreArea = 1e-4;   // mm² (100 µm²)
constexpr double kMaxCoreArea = 1e3;    // mm² (above a reticle-sized die)

// lo <= value <= hi, or the error "WHAT VALUE UNIT is out of range (must be LO..HI UNIT)".
Status check_range(const std::string& what, double value, double lo, double hi,
                   const std::string& unit = "");

struct WaferGeometry {
  int logical_width = 0;
  int logical_height = 0;
  int segment_logical = 24;     // logical columns per row segment
  int segment_spares = 2;       // spare physical columns at the end of each segment
  int spare_rows = 2;           // spare physical rows below the logical rows
  double core_area_mm2 = 0.05;  // one PE: core, SRAM, router and links (Cerebras, 2025)

  int segments() const { return (logical_width + segment_logical - 1) / segment_logical; }
  int physical_width() const { return logical_width + segments() * segment_spares; }
  int physical_height() const { return logical_height + spare_rows; }
  int64_t physical_count() const { return int64_t(physical_width()) * physical_height(); }
  int64_t logical_count() const { return int64_t(logical_width) * logical_height; }
  // Physical columns [segment_begin(j), segment_end(j)) of segment j.
  int segment_begin(int j) const { return j * (segment_logical + segment_spares); }
  int segment_end(int j) const;
  // Physical column of logical column x on a row without defects.
  int home_column(int x) const { return x + x / segment_logical * segment_spares; }
};

// The default geometry for an arch's logical fabric (see the file comment).
WaferGeometry default_geometry(const arch::Arch& a);
// Checks every field against its bound and the physical size; errors name the field.
Status validate(const WaferGeometry& g);

enum class DefectKind { core, router, link_east, link_south };

struct Defect {
  DefectKind kind = DefectKind::core;
  int x = 0;  // physical column
  int y = 0;  // physical row
  bool operator==(const Defect&) const = default;
};

struct DefectMap {
  int width = 0;   // physical columns
  int height = 0;  // physical rows
  std::vector<Defect> defects;
  bool operator==(const DefectMap&) const = default;
};

enum class DefectModelKind { poisson, negbin };

struct DefectModel {
  DefectModelKind kind = DefectModelKind::poisson;
  double density_per_mm2 = 0.001;  // WSE-3 blog's assumed 5 nm density
  double alpha = 2.0;              // negative binomial clustering (smaller: more clustered)
  int cluster_columns = 12;        // gamma blocks across the wafer: WSE-2's 12 x 7 dies
  int cluster_rows = 7;
  // Share of a PE's critical area that is core, router, east link, south link (assumption).
  std::array<double, 4> kind_share = {0.80, 0.10, 0.05, 0.05};
};

// Checks density (finite, >= 0, at most one expected defect per core), alpha and shares.
Status validate(const DefectModel& m, const WaferGeometry& g);
Expected<DefectModelKind> parse_model_kind(const std::string& name);

// xoshiro256** seeded through SplitMix64: the same stream on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next();
  double uniform();               // [0, 1)
  uint64_t below(uint64_t n);     // [0, n), n > 0
  uint64_t poisson(double mean);  // mean >= 0
  double gamma(double shape);     // Gamma(shape, scale 1), shape > 0

 private:
  double normal();
  std::array<uint64_t, 4> s_{};
};

// The seed of wafer `index` of a Monte Carlo run: independent of how wafers are shared out.
uint64_t wafer_seed(uint64_t seed, uint64_t index);

// Draws one wafer's defects; the model must have passed validate().
DefectMap generate_defects(const WaferGeometry& g, const DefectModel& m, uint64_t seed);
// One byte per physical PE (row-major), 1 where a defect retires the PE. A broken link
// retires the PE it leaves, since its logical neighbour traffic would need a detour.
std::vector<uint8_t> dead_pes(const DefectMap& map);

// The map with each broken part (kind and PE) once, in the order first drawn: a map file
// lists a part once, since a second defect breaks it no further.
DefectMap distinct_parts(const DefectMap& map);
// The text of distinct_parts(map).
std::string format_defect_map(const DefectMap& map);
// Errors name origin:line and what is wrong; a part listed twice is an error naming both lines.
Expected<DefectMap> parse_defect_map(const std::string& text, const std::string& origin);
Status save_defect_map(const DefectMap& map, const std::string& path);
// Loads a map and checks that it is for this geometry's physical size.
Expected<DefectMap> load_defect_map(const std::string& path, const WaferGeometry& g);

}  // namespace wafer::fabric
