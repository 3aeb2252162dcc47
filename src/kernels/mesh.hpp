// Building blocks the kernels share: collective patterns along one axis of the grid, as code
// emitted into a CodeBuilder plus the routes they need.
//
// Code is one program for all PEs that branches on the PE's coordinate (the `x`/`y`
// specials); routes differ per column or row and are added per rectangle. Emitters use
// registers r0..r3 and DSD registers d14, d15 as scratch; kernels use the others.
#pragma once

#include "wafer/ir/builder.hpp"
#include "wafer/ir/program.hpp"

namespace wafer::kernels {

struct Axis {
  ir::Special coord;   // x or y
  ir::Dir toward;      // towards coordinate 0: west or north
  ir::Dir away;        // east or south
  static Axis row() { return {ir::Special::x, ir::Dir::west, ir::Dir::east}; }
  static Axis column() { return {ir::Special::y, ir::Dir::north, ir::Dir::south}; }
};

// Rectangle of the PEs at coordinate `c` along the axis within `grid`.
ir::Rect slice(const Axis& a, const ir::Rect& grid, int c);
int extent(const Axis& a, const ir::Rect& grid);

// Chain reduction of the memory DSD `vec` (len elements of type t) towards coordinate 0:
// each PE adds what arrives from the far side to its own vector and passes the sum on, so
// the PE at coordinate 0 ends with the sum over the line. Colors c0 and c1 alternate.
void emit_chain_reduce(ir::CodeBuilder& b, const Axis& a, int n, int vec, uint32_t len, DType t,
                       int c0, int c1);
void chain_reduce_routes(ir::Program& p, const Axis& a, const ir::Rect& grid, int c0, int c1);

// Binary-tree reduction towards coordinate 0: at level s, the PE at 2^s (mod 2^(s+1)) sends
// its vector 2^s PEs towards 0 on color base+s, through pass-through routers.
int tree_levels(int n);
void emit_tree_reduce(ir::CodeBuilder& b, const Axis& a, int n, int vec, uint32_t len, DType t,
                      int base_color);
void tree_reduce_routes(ir::Program& p, const Axis& a, const ir::Rect& grid, int base_color);

// Broadcast of `vec` from coordinate 0 to every PE of the line (router multicast).
void emit_line_broadcast(ir::CodeBuilder& b, const Axis& a, int vec, uint32_t len, DType t,
                         int color);
void line_broadcast_routes(ir::Program& p, const Axis& a, const ir::Rect& grid, int color);

// Broadcast of `vec` from PE (0,0) of the grid to every PE: down column 0, then along rows,
// one color, all in the routers.
void grid_broadcast_routes(ir::Program& p, const ir::Rect& grid, int color);

// A one-code program of width x height running `code` on every PE.
ir::Program single_code_program(int width, int height, ir::Code code);

}  // namespace wafer::kernels
