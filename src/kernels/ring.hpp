// Shifts along a logical ring laid over a line of PEs (kernels/ring.cpp).
//
// The interleaved ring visits the even coordinates ascending, then the odd ones descending
// (0, 2, 4, ..., 5, 3, 1), so every pair of ring neighbours is at most 2 PEs apart: a shift
// by one ring position is a set of point-to-point flows of 1 or 2 hops, and each link carries
// at most one flow. Colors are given to flows so that no PE uses one color in two roles
// (send, receive, pass through); each PE then has one (send color, receive color) pair, and
// the distinct pairs are the cases the emitted code switches on.
#pragma once

#include <vector>

#include "mesh.hpp"
#include "wafer/kernels/compose.hpp"

namespace wafer::kernels {

// The ring order: ring position -> coordinate, and coordinate -> ring position.
std::vector<int> interleaved_ring(int n);
std::vector<int> ring_positions(const std::vector<int>& ring);

struct RingFlow {
  int from, to, color;  // coordinates along the line
};

struct RingShift {
  std::vector<int> colors;  // the colors the shift uses
  std::vector<RingFlow> flows;
  // Per coordinate: index into `cases`; each case is a (send color, receive color) pair.
  std::vector<int> case_of;
  std::vector<std::pair<int, int>> cases;
};

// Plans the shift that sends each PE's data to its ring predecessor (position l to l - 1)
// along axis `a` of a line of n PEs, taking colors from the pool.
Expected<RingShift> plan_ring_shift(int n, Pool& colors, const std::string& user);
// Adds the shift's routes on every line of `rect` along the axis.
void ring_shift_routes(ir::Program& p, const Axis& a, const ir::Rect& rect, const RingShift& s);

}  // namespace wafer::kernels
