// The embedded simulated GEMM efficiencies (gemm_efficiency.hpp): a small CSV reader for the
// file scripts/gemm_efficiency.sh writes (plain cells, no quoting), the choice of the largest
// grid measured for an arch and types, and linear interpolation in the block side, clamped.
#include "wafer/estimate/gemm_efficiency.hpp"

#include <algorithm>
#include <charconv>
#include <sstream>
#include <string_view>

namespace wafer::estimate {

namespace {

std::vector<std::string> cells_of(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream in(line);
  for (std::string cell; std::getline(in, cell, ',');) cells.push_back(cell);
  if (!line.empty() && line.back() == ',') cells.emplace_back();
  return cells;
}

bool read_number(const std::string& text, double& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return !text.empty() && ec == std::errc() && ptr == end;
}

int grid_pes(const std::string& grid) {
  int w = 0, h = 0;
  const size_t x = grid.find('x');
  if (x == std::string::npos) return 0;
  std::from_chars(grid.data(), grid.data() + x, w);
  std::from_chars(grid.data() + x + 1, grid.data() + grid.size(), h);
  return w * h;
}

constexpr std::string_view kCycleNeutralKeys[] = {"fabric_width", "fabric_height", "clock_ghz",
                                                  "host_io_gbytes_per_s", "io_channels_per_edge"};

bool same_cycles(const arch::Arch& a, const arch::Arch& b) {
  for (const arch::ParamInfo& p : arch::arch_params()) {
    if (std::find(std::begin(kCycleNeutralKeys), std::end(kCycleNeutralKeys), p.key) != std::end(kCycleNeutralKeys))
      continue;
    if (arch::get_param(a, p) != arch::get_param(b, p)) return false;
  }
  return true;
}

}  // namespace

std::string cycle_equivalent_preset(const arch::Arch& a) {
  for (const std::string& name : arch::preset_names()) {
    const Expected<arch::Arch> p = arch::preset(name);
    if (p && same_cycles(a, *p)) return name;
  }
  return "";
}

double GemmEfficiencyCurve::at(double block) const {
  if (points.empty()) return 0;
  if (block <= points.front().first) return points.front().second;
  if (block >= points.back().first) return points.back().second;
  auto hi = std::lower_bound(points.begin(), points.end(), std::make_pair(block, 0.0));
  auto lo = hi - 1;
  const double t = (block - lo->first) / (hi->first - lo->first);
  return lo->second + t * (hi->second - lo->second);
}

Expected<std::vector<GemmEfficiencyRow>> parse_gemm_efficiency(const std::string& text) {
  std::vector<GemmEfficiencyRow> rows;
  std::vector<std::string> header;
  std::stringstream in(text);
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    const std::vector<std::string> cells = cells_of(line);
    if (header.empty()) {
      header = cells;
      continue;
    }
    if (cells.size() != header.size())
      return make_error("{}:{}: {} cells, the header has {}", kGemmEfficiencyFile, line_no, cells.size(), header.size());
    auto cell = [&](const char* key) {
      const auto at = std::find(header.begin(), header.end(), key);
      return at == header.end() ? std::string() : cells[size_t(at - header.begin())];
    };
    GemmEfficiencyRow r{cell("arch"), cell("grid"), cell("dtype"), cell("acc")};
    if (cell("peak_fraction").empty() || cell("verified") != "true") continue;
    if (!read_number(cell("block"), r.block) || !read_number(cell("peak_fraction"), r.peak_fraction))
      return make_error("{}:{}: block '{}' or peak_fraction '{}' is not a number", kGemmEfficiencyFile, line_no,
                        cell("block"), cell("peak_fraction"));
    rows.push_back(r);
  }
  return rows;
}

GemmEfficiencyCurve simulated_gemm_efficiency(const arch::Arch& a, const std::string& dtype,
                                              const std::string& acc) {
  static const auto rows = parse_gemm_efficiency(gemm_efficiency_csv());
  GemmEfficiencyCurve curve;
  const std::string arch = cycle_equivalent_preset(a);
  if (!rows || arch.empty()) return curve;
  curve.preset = arch;
  int largest = 0;
  for (const GemmEfficiencyRow& r : *rows)
    if (r.arch == arch && r.dtype == dtype && r.acc == acc) largest = std::max(largest, grid_pes(r.grid));
  for (const GemmEfficiencyRow& r : *rows) {
    if (r.arch != arch || r.dtype != dtype || r.acc != acc || grid_pes(r.grid) != largest) continue;
    curve.points.emplace_back(r.block, r.peak_fraction);
    curve.grid = r.grid;
  }
  std::sort(curve.points.begin(), curve.points.end());
  return curve;
}

}  // namespace wafer::estimate
