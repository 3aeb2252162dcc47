// A composable all-reduce of a vector along every row of a rectangle of PEs: each PE of a
// row contributes an fp32 vector of `len` elements (one per local tensor row, e.g. the per-row
// maxima or sums of its block), and every PE of the row ends with the elementwise sum or max
// over the row.
//
// The reduction runs towards the row's middle column R from both sides as a K-tree (the
// pattern of gemv.cpp): on each side the PEs at distance 1..D from R form groups of
// G = round(sqrt(D)); inside a group the vectors flow as a pipelined chain into the group's
// leader (the member nearest R), and the leaders form a second pipelined chain towards R
// whose wavelets pass the other members' routers untouched. R combines both sides, then
// multicasts the result back along the row in the routers (one color, both directions).
// Critical path about 6G + D + 5D/G + 3·len cycles plus the op setups, instead of a chain's
// 6D + len.
//
// Everything is rectangle-relative and the colors come from the caller's pool (9 when the
// rectangle is at least 3 wide, fewer on narrower ones): 4 per side for the two chains and one
// for the broadcast. A plan's colors can be reused by any number of successive all-reduces in
// one code (each one's wavelets are consumed before the next one sends). The code picks a PE's
// role by comparing its relative column with constants, so no per-PE data is needed.
#pragma once

#include <string>
#include <vector>

#include "wafer/kernels/compose.hpp"

namespace wafer::kernels {

enum class ReduceOp : uint8_t { add, max };

// A PE's part in the K-tree (fabric colors, -1: none).
struct RowReduceRole {
  int in1 = -1, out1 = -1;  // group chain: from the next member out, to the next member in
  int in2 = -1, out2 = -1;  // leaders' chain
  int in_w = -1, in_e = -1; // the root: the nearest leaders of both sides
  auto key() const { return std::make_tuple(in1, out1, in2, out2, in_w, in_e); }
  bool operator<(const RowReduceRole& o) const { return key() < o.key(); }
  bool operator==(const RowReduceRole& o) const { return key() == o.key(); }
};

struct RowAllReducePlan {
  ir::Rect rect;                     // absolute
  int root = 0;                      // relative column that combines and broadcasts
  int bcast_color = -1;
  std::vector<int> colors;           // all colors taken (reduction colors, then the broadcast)
  std::vector<RowReduceRole> roles;  // per relative column
};

// The roles of a row of w PEs reducing into column `root` with 4 colors per side (pure; for tests).
std::vector<RowReduceRole> row_reduce_roles(int w, int root, const std::vector<int>& colors);

// Adds the K-tree's routes (the group chains and the leaders' chain, no broadcast) for every
// row of `rect` (absolute), the roles per relative column.
void row_reduce_routes(ir::Program& p, const ir::Rect& rect, int root, const std::vector<RowReduceRole>& roles);

// Emits one PE's part of the K-tree on the vector in DSD register `vec` (len elements of type
// t), combining with `op` (vadd or vmax); d_in and d_out are scratch DSD registers. The root
// ends with the row's result in `vec`; the others send theirs on.
void emit_reduce_role(ir::CodeBuilder& b, const RowReduceRole& r, int vec, int d_in, int d_out, uint32_t len,
                      DType t, ir::Opcode op);

// Takes the colors from e.pools and adds the routes for every row of `rect`.
Expected<RowAllReducePlan> plan_row_allreduce(Emit& e, const ir::Rect& rect, const std::string& user);

// Emits, at the builder's current position (inside a task), the all-reduce of the fp32 memory
// vector symbol[offset .. offset + len) along the PE's row. `rx` is a register holding the
// PE's column relative to the plan's rectangle. Two DSD registers are taken from the pool and
// given back; the vector ops are synchronous (the task holds the core until the result is in).
Status emit_row_allreduce(Emit& e, const RowAllReducePlan& plan, int rx, int symbol, uint32_t offset,
                          uint32_t len, ReduceOp op);

}  // namespace wafer::kernels
