// The simulated GEMM efficiencies the estimator prices wafer matmuls with.
//
// scripts/gemm_efficiency.sh runs `wafer kernel gemm --sweep` on the simulator and writes
// data/gemm_efficiency.csv; the build embeds that file in the estimate library (CMake reads it
// into a generated source, src/CMakeLists.txt), so the estimator uses what the simulator
// measured without linking the simulator. Rows: arch, grid, dtype, acc, block (C elements per
// PE side), ..., peak_fraction (flops per cycle over the grid's FMA lanes x 2); a row without
// a peak_fraction (a block that did not fit in SRAM) is skipped.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "wafer/arch/arch.hpp"
#include "wafer/support/error.hpp"

namespace wafer::estimate {

// Efficiency (fraction of the FMA lanes' peak) by block side, blocks ascending.
struct GemmEfficiencyCurve {
  std::vector<std::pair<double, double>> points;
  std::string grid;    // the grid the points were measured on ("32x32")
  std::string preset;  // the arch they were measured on ("wse3")
  bool empty() const { return points.empty(); }
  // Linear in the block between points, clamped to the first and last.
  double at(double block) const;
};

struct GemmEfficiencyRow {
  std::string arch, grid, dtype, acc;
  double block = 0;
  double peak_fraction = 0;
};

// The embedded file's text, and where it came from.
const char* gemm_efficiency_csv();
constexpr const char* kGemmEfficiencyFile = "data/gemm_efficiency.csv";
// The rows of a file's text (lines starting with '#' are comments; the header names the
// columns); an error names the line.
Expected<std::vector<GemmEfficiencyRow>> parse_gemm_efficiency(const std::string& text);
// The preset whose simulated GEMM cycles an arch shares: every parameter equal except those
// that change seconds but not the cycles of a kernel on a given grid (clock, fabric size, host
// I/O), so a file that only sets clock_ghz keeps its base's table; "" when none matches.
std::string cycle_equivalent_preset(const arch::Arch& a);
// The embedded rows for the arch's cycle-equivalent preset and the types, on the largest grid
// measured for them; empty when the file has none (a custom arch): the estimator then uses
// first principles alone.
GemmEfficiencyCurve simulated_gemm_efficiency(const arch::Arch& a, const std::string& dtype,
                                              const std::string& acc);

}  // namespace wafer::estimate
