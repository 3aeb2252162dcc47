// A composable column sum: every PE row of a rectangle adds its vector into row 0's, along a
// chain up each column (colsum.cpp).
#pragma once

#include <string>

#include "wafer/kernels/compose.hpp"

namespace wafer::kernels {

// Emits, at the builder's position, the sum over the rectangle's rows of `len` elements of
// symbol `vec` (type t) into row 0's copy; `ry` holds the PE's row relative to the rectangle.
// Takes two colors, one register and two DSD registers from the pools (kept: the code it
// emits runs later). On every PE, `done` is activated when its part is finished: row 0 once
// its vector holds the column's sum, the other rows once their partial sum has left.
Status emit_column_sum(Emit& e, const ir::Rect& rect, int vec, uint32_t len, DType t, int ry, int done,
                       const std::string& user);

}  // namespace wafer::kernels
