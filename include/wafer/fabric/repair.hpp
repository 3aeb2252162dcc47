// Repair: mapping the logical W x H fabric onto the good PEs of a defective physical wafer.
//
// row-shift (WSE-1, Hot Chips 31): logical row y stays on physical row y; within each row
// segment the logical columns take the segment's good physical columns in order, so a dead
// PE shifts the rest of its segment one position toward the segment's spares. A segment with
// more dead PEs than spares is unrepairable, and the error names it.
//
// shift-2d (this project's stronger scheme): a logical column may take any good physical
// column within `window` of its home column in the same row, so a segment short of spares
// borrows them from its neighbours on either side; a physical row that still cannot hold a
// full logical row is retired and the logical rows below shift one row down toward the spare
// rows. Both schemes keep logical order within a row, so a logical east neighbour is always
// physically east; see repair.cpp for the assignment algorithm.
//
// The result is a LogicalToPhysical map (for the simulator to use later) and its cost. A
// link's length is the Manhattan distance between the physical PEs of two logical
// neighbours (a skipped PE is passed through, one hop); the cost of a link is how many hops
// it gained over the defect-free wafer, where a link across a segment's spare columns is
// already 1 + segment_spares hops. A link that got shorter counts as 0.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wafer/fabric/defects.hpp"
#include "wafer/support/error.hpp"

namespace wafer::fabric {

enum class RepairScheme { row_shift, shift_2d };

const char* scheme_name(RepairScheme s);
Expected<RepairScheme> parse_scheme(const std::string& name);

struct LogicalToPhysical {
  int logical_width = 0;
  int logical_height = 0;
  std::vector<int32_t> column;  // physical x of logical PE (x, y), at y * logical_width + x
  std::vector<int32_t> row;     // physical y of logical row y

  int physical_x(int x, int y) const { return column[size_t(y) * logical_width + x]; }
  int physical_y(int y) const { return row[size_t(y)]; }
};

struct RepairCost {
  int64_t links = 0;           // logical neighbour links (east and south)
  int64_t longer_links = 0;    // links longer than on the defect-free wafer
  int extra_hops_max = 0;      // hops gained over the defect-free wafer, worst link
  double extra_hops_mean = 0;  // mean over all logical links
};

struct RepairResult {
  RepairScheme scheme = RepairScheme::row_shift;
  LogicalToPhysical map;
  int64_t dead_pes = 0;     // physical PEs retired by defects
  int64_t spares_used = 0;  // physical PEs not holding a logical PE: dead, or in a retired row
  int64_t spares_left = 0;  // good physical PEs still free
  int retired_rows = 0;
  RepairCost cost;
};

struct RepairOptions {
  RepairScheme scheme = RepairScheme::shift_2d;  // the stronger scheme, where a wafer runs
  int window = 8;  // shift-2d: how far a logical column may move from its home column
};

// Repairs a wafer given one byte per physical PE (1: dead); an unrepairable wafer is an error
// that says where the spares ran out.
Expected<RepairResult> repair(const WaferGeometry& g, const std::vector<uint8_t>& dead,
                              const RepairOptions& opts);
Expected<RepairResult> repair(const WaferGeometry& g, const DefectMap& map,
                              const RepairOptions& opts);
RepairCost repair_cost(const WaferGeometry& g, const LogicalToPhysical& m);

// Physical hops each logical link of the width x height rectangle at the origin gains over
// the defect-free wafer: east[y * width + x] for (x,y)-(x+1,y), south[...] for (x,y)-(x,y+1).
// The simulator turns them into extra link latency (a repaired wafer runs programs unchanged).
struct LinkExtraHops {
  int width = 0, height = 0;
  std::vector<uint16_t> east, south;
};
LinkExtraHops link_extra_hops(const WaferGeometry& g, const LogicalToPhysical& m, int width,
                              int height);

}  // namespace wafer::fabric
