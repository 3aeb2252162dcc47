// Data movement between layouts and rectangles (docs/kernels.md, "Data movement"): transpose,
// relayout (split / replicate / first along an axis, and translation to another rectangle),
// slice and concat along rows or columns, so that kernels whose layouts differ can be chained.
//
// Every tensor is a DistTensor with column-major blocks (GEMM C's and the norms' layout when
// both axes are split). All of them are one engine (move_plan.hpp): a pass moves rectangles of
// the tensor along the rows (or columns) of PEs as ordered point-to-point streams, each PE
// forwarding what passes through it and then sending its own pieces, keeping what is
// addressed to it, on two alternating colors per direction, so the data needs no headers and
// a link carries one stream per direction. What each PE does is a table of rows the host
// computes; one small interpreter runs them. Data is moved bit for bit (vmov), so any float
// type works and the result is exact.
//
// - transpose: Y = Xᵀ (C x R) on X's rectangle in X's layout kind. Each PE transposes its block
//   locally (strided ops), then a pass along x takes every element to the column of PEs that
//   holds its Y column and a pass along y to the row that holds its Y row (an X-then-Y route).
//   On a square grid the first pass gathers each PE row's blocks on the diagonal PE, so that
//   PE stages C x R/P elements. Non-square grids work when R and C divide over both sides.
// - relayout: split -> first is a gather to coordinate 0, first -> split a scatter from it,
//   replicate -> split a local copy, split/first -> replicate a gather (or copy) then a router
//   multicast along the lines, replicate -> first a view. One axis changes per call.
//   A translation by (dx, dy) moves every block along x, then along y: in one pass when the
//   move is at least the rectangle's extent, else one PE per pass (systolic, through two
//   staging buffers); it runs on the bounding rectangle of both rectangles.
// - reshard: X on its rectangle into Y's split on another rectangle of another shape (layers of
//   different sizes), the rows and columns both hold: a pass along x takes every element to
//   the column of PEs that holds its Y column, on X's row of PEs (a staging block there), and
//   a pass along y to the row that holds its Y row. Y's padding past X's extent is left as
//   SRAM starts (zeros). It runs on the bounding rectangle of both rectangles.
// - slice of a range of rows or columns: a view (the sub-rectangle of PEs, the same symbol,
//   no code but an entry that activates done) when the range is aligned to the blocks,
//   otherwise (or when asked: whole_rect) moved into a new tensor on the same rectangle (the
//   length must divide over it).
// - concat of two tensors on the same rectangle along rows or columns (Q|K|V, SwiGLU's gate
//   and up), any sizes whose sum divides over the rectangle.
//
// The emitters start at the Site's entry task and activate its done task on every PE of the
// Site's rectangle (x's, or the bounding rectangle of a translation). The per-PE tables
// (MoveEmitted::tables) must be copied in with the code, as Cannon's roles are.
#pragma once

#include <string>
#include <vector>

#include "wafer/kernels/compose.hpp"
#include "wafer/kernels/kernels.hpp"

namespace wafer::kernels {

struct MoveEmitted {
  int entry = -1;
  DistTensor y;                  // the result; a view names x's symbol
  int y_symbol = -1;             // the code's symbol of y (x's for a view), for a consumer
  bool view = false;             // nothing moves
  std::vector<HostCopy> tables;  // the per-PE move tables, copied in before the launch
  int64_t data_bytes = 0;        // SRAM per PE of the kernel's own symbols (x excluded)
  int64_t wavelets = 0;          // elements sent over links, all PEs
  Held held;
};

struct TransposeSpec {
  DistTensor x;          // rows split over y, columns over x, column-major; x.rect is the Site's
  int x_symbol = -1;     // the symbol that holds x's blocks (a producer's); -1: declared as x.name
  std::string y = "y";   // output symbol (scoped by Emit::name)
};

struct RelayoutSpec {
  DistTensor x;
  int x_symbol = -1;
  Spread rows_over_y = Spread::split;  // the layout wanted (one axis may differ from x's)
  Spread cols_over_x = Spread::split;
  int dx = 0, dy = 0;                  // or a translation (layouts unchanged)
  std::string y = "y";
};

struct ReshardSpec {
  DistTensor x;       // rows split over y, columns over x, column-major
  int x_symbol = -1;
  DistTensor y;       // the same, on its own rectangle and split; its name is scoped by Emit::name
  int64_t rows = 0, cols = 0;  // what moves: rows [0, rows) x columns [0, cols), within both
};
enum class MoveAxis : uint8_t { rows, cols };

struct SliceSpec {
  DistTensor x;
  int x_symbol = -1;
  MoveAxis axis = MoveAxis::cols;
  int64_t offset = 0, length = 0;  // the range [offset, offset + length) of rows or columns
  std::string y = "y";
  bool whole_rect = false;  // moved onto all of x's rectangle even when a view would do
};

struct ConcatSpec {
  DistTensor a, b;  // on the same rectangle, the axis split, the other dimension equal
  int a_symbol = -1, b_symbol = -1;
  MoveAxis axis = MoveAxis::cols;
  std::string y = "y";
};

Expected<MoveEmitted> emit_transpose(Emit& e, const Site& site, const TransposeSpec& s);
Expected<MoveEmitted> emit_relayout(Emit& e, const Site& site, const RelayoutSpec& s);
Expected<MoveEmitted> emit_slice(Emit& e, const Site& site, const SliceSpec& s);
Expected<MoveEmitted> emit_concat(Emit& e, const Site& site, const ConcatSpec& s);

// The rectangle a relayout runs on: x's, or the bounding rectangle of x's and the translated one.
ir::Rect relayout_rect(const RelayoutSpec& s);
Expected<MoveEmitted> emit_reshard(Emit& e, const Site& site, const ReshardSpec& s);
// The bounding rectangle of x's and y's rectangles, which a reshard runs on.
ir::Rect reshard_rect(const ReshardSpec& s);

// The registered kernels (`wafer kernel transpose|relayout|slice|concat`); --m rows, --n
// columns, --algo the case (movement_kernels.cpp).
Expected<KernelCase> build_transpose(const arch::Arch& a, const KernelParams& p, Stage s);
Expected<KernelCase> build_relayout(const arch::Arch& a, const KernelParams& p, Stage s);
Expected<KernelCase> build_slice(const arch::Arch& a, const KernelParams& p, Stage s);
Expected<KernelCase> build_concat(const arch::Arch& a, const KernelParams& p, Stage s);
HostBytes movement_host_bytes(const KernelParams& p);
KernelParams scale_movement_sizes(const KernelParams& p, double f);

}  // namespace wafer::kernels
