// Row-shift and shift-2d repair of a defective wafer; see repair.hpp.
//
// Both schemes place one physical row at a time with the same two passes. Each logical
// column x has an allowed physical range: its row segment (row-shift), or its home column
// +- window (shift-2d). Pass 1 gives x the leftmost good column in its range right of the
// previous column's; for ranges whose both ends grow with x this greedy finds an
// order-preserving assignment whenever one exists. Pass 2, right to left, moves each column
// that pass 1 left of its home back toward home (never past its east neighbour), so spares
// are borrowed from the west only where needed. Under row-shift pass 1 never places a column
// left of home and pass 2 changes nothing. A row that cannot be placed fails row-shift;
// shift-2d retires it and places the logical row on the next physical row. A window is
// clamped to the row in 64-bit arithmetic, so any window is safe.
#include "wafer/fabric/repair.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace wafer::fabric {

namespace {

struct Range {
  int lo;
  int hi;  // inclusive
};

Range allowed(const WaferGeometry& g, const RepairOptions& o, int x) {
  if (o.scheme == RepairScheme::row_shift) {
    int j = x / g.segment_logical;
    return {g.segment_begin(j), g.segment_end(j) - 1};
  }
  const int64_t home = g.home_column(x);
  return {int(std::max<int64_t>(0, home - o.window)),
          int(std::min<int64_t>(g.physical_width() - 1, home + o.window))};
}

// Places the logical columns of one row on the good columns of `dead_row`; returns the first
// logical column that finds no place, or -1.
int place_row(const WaferGeometry& g, const RepairOptions& o, const uint8_t* dead_row,
              int32_t* out) {
  int prev = -1;
  for (int x = 0; x < g.logical_width; ++x) {
    Range r = allowed(g, o, x);
    int c = std::max(prev + 1, r.lo);
    while (c <= r.hi && dead_row[c]) ++c;
    if (c > r.hi) return x;
    out[x] = prev = c;
  }
  int next = g.physical_width();
  for (int x = g.logical_width - 1; x >= 0; --x) {
    int c = std::min(g.home_column(x), next - 1);
    while (c > out[x] && dead_row[c]) --c;
    out[x] = next = std::max(c, int(out[x]));
  }
  return -1;
}

int64_t count_dead(const uint8_t* row, int begin, int end) {
  return std::count(row + begin, row + end, uint8_t(1));
}

Status segment_error(const WaferGeometry& g, const uint8_t* dead_row, int y, int x) {
  int j = x / g.segment_logical;
  int begin = g.segment_begin(j), end = g.segment_end(j);
  int logical = std::min(g.segment_logical, g.logical_width - j * g.segment_logical);
  return make_error("row {} segment {} (physical columns {}..{}) has {} dead cores but {} spares",
                    y, j, begin, end - 1, count_dead(dead_row, begin, end), end - begin - logical);
}

std::string window_failure(const WaferGeometry& g, const RepairOptions& o, const uint8_t* dead_row,
                           int y, int x) {
  Range r = allowed(g, o, x);
  return fmt::format(
      "row {}: logical column {} finds no free good column in physical columns {}..{} ({} dead)", y,
      x, r.lo, r.hi, count_dead(dead_row, r.lo, r.hi + 1));
}

Status rows_error(const std::vector<int>& failed, const std::string& first_reason, int spare_rows) {
  std::string rows;
  for (size_t i = 0; i < failed.size() && i < 8; ++i)
    rows += fmt::format("{}{}", i ? ", " : "", failed[i]);
  if (failed.size() > 8) rows += fmt::format(" and {} more", failed.size() - 8);
  return make_error(
      "shift-2d: {} physical rows ({}) cannot hold a logical row but there are {} spare rows; {}",
      failed.size(), rows, spare_rows, first_reason);
}

// Adds one logical link whose physical distance is `distance` hops on the repaired wafer and
// `perfect` hops on the defect-free one.
void add_link(RepairCost& c, int64_t& extra_sum, int extra) {
  ++c.links;
  c.longer_links += extra > 0;
  c.extra_hops_max = std::max(c.extra_hops_max, extra);
  extra_sum += extra;
}

}  // namespace

const char* scheme_name(RepairScheme s) {
  return s == RepairScheme::row_shift ? "row-shift" : "shift-2d";
}

Expected<RepairScheme> parse_scheme(const std::string& name) {
  if (name == "row-shift") return RepairScheme::row_shift;
  if (name == "shift-2d") return RepairScheme::shift_2d;
  return make_error("unknown repair scheme '{}' (expected row-shift or shift-2d)", name);
}

Expected<RepairResult> repair(const WaferGeometry& g, const std::vector<uint8_t>& dead,
                              const RepairOptions& opts) {
  WAFER_CHECK(dead.size() == size_t(g.physical_count()));
  const int pw = g.physical_width(), lw = g.logical_width, lh = g.logical_height;
  RepairResult r;
  r.scheme = opts.scheme;
  r.map = {lw, lh, std::vector<int32_t>(size_t(g.logical_count())),
           std::vector<int32_t>(size_t(lh))};
  std::vector<int> failed;
  std::string first_reason;
  int y = 0;
  for (int py = 0; py < g.physical_height() && y < lh; ++py) {
    const uint8_t* row = dead.data() + size_t(py) * pw;
    int bad = place_row(g, opts, row, r.map.column.data() + size_t(y) * lw);
    if (bad < 0) {
      r.map.row[size_t(y++)] = py;
      continue;
    }
    if (opts.scheme == RepairScheme::row_shift) return segment_error(g, row, py, bad);
    if (failed.empty()) first_reason = window_failure(g, opts, row, py, bad);
    failed.push_back(py);
  }
  if (y < lh) return rows_error(failed, first_reason, g.spare_rows);
  r.dead_pes = std::count(dead.begin(), dead.end(), uint8_t(1));
  int64_t retired = 0;
  for (int py : failed) retired += pw - count_dead(dead.data() + size_t(py) * pw, 0, pw);
  r.retired_rows = int(failed.size());
  r.spares_left = g.physical_count() - r.dead_pes - retired - g.logical_count();
  r.spares_used = g.physical_count() - g.logical_count() - r.spares_left;
  r.cost = repair_cost(g, r.map);
  return r;
}

Expected<RepairResult> repair(const WaferGeometry& g, const DefectMap& map,
                              const RepairOptions& opts) {
  if (map.width != g.physical_width() || map.height != g.physical_height())
    return make_error("the defect map is for a {}x{} wafer but this physical fabric is {}x{}",
                      map.width, map.height, g.physical_width(), g.physical_height());
  return repair(g, dead_pes(map), opts);
}

static int east_extra_hops(const WaferGeometry& g, const LogicalToPhysical& m, int x, int y) {
  const int distance = m.physical_x(x + 1, y) - m.physical_x(x, y);
  return std::max(0, distance - (g.home_column(x + 1) - g.home_column(x)));
}

static int south_extra_hops(const LogicalToPhysical& m, int x, int y) {
  const int distance = std::abs(m.physical_x(x, y + 1) - m.physical_x(x, y)) +
                       m.physical_y(y + 1) - m.physical_y(y);
  return std::max(0, distance - 1);
}

RepairCost repair_cost(const WaferGeometry& g, const LogicalToPhysical& m) {
  RepairCost c;
  int64_t extra_sum = 0;
  for (int y = 0; y < m.logical_height; ++y) {
    for (int x = 0; x < m.logical_width; ++x) {
      if (x + 1 < m.logical_width) add_link(c, extra_sum, east_extra_hops(g, m, x, y));
      if (y + 1 < m.logical_height) add_link(c, extra_sum, south_extra_hops(m, x, y));
    }
  }
  c.extra_hops_mean = c.links ? double(extra_sum) / double(c.links) : 0;
  return c;
}

LinkExtraHops link_extra_hops(const WaferGeometry& g, const LogicalToPhysical& m, int width,
                              int height) {
  LinkExtraHops h;
  h.width = width;
  h.height = height;
  h.east.assign(size_t(width) * size_t(height), 0);
  h.south.assign(size_t(width) * size_t(height), 0);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const size_t i = size_t(y) * size_t(width) + size_t(x);
      if (x + 1 < width) h.east[i] = uint16_t(east_extra_hops(g, m, x, y));
      if (y + 1 < height) h.south[i] = uint16_t(south_extra_hops(m, x, y));
    }
  }
  return h;
}

}  // namespace wafer::fabric
