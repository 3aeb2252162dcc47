// What the two GEMM algorithms share (gemm_cannon.cpp, gemm_summa.cpp): the shape, the
// registers and tasks of one instance, the block product and the phase bookkeeping.
//
// Both run as phases: a phase starts its communication (asynchronous sends and receives on
// the microthreads) and the block product of the data the previous phase brought, counts
// the asynchronous parts it started in a register, and each part's completion activates its
// own task (two completions never merge into one activation), which counts down; the last
// one starts the next phase, or activates the continuation task after the last phase.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "wafer/kernels/compose.hpp"
#include "wafer/kernels/kernels.hpp"

namespace wafer::kernels {

struct GemmShape {
  int w, h;                   // PEs: columns x rows
  int64_t M, N, K;
  DType t, acc;
  // An existing symbol that already holds A's blocks (a producer's output on the same PEs,
  // e.g. another GEMM's C): summa reads it in place of declaring its own A. -1: its own.
  int a_symbol = -1;
  // C = A·Bᵀ: B is given as Bᵀ (N x K). Each PE holds the block of Bᵀ that is the transpose
  // of the B block it would hold, column-major (as a GEMM's C block is): cannon's block
  // product reads it through its strides; summa's row-major B block and a column-major Bᵀ
  // block are the same bytes, so its panels and product are unchanged.
  bool b_transposed = false;
  // With b_transposed, summa on a square rectangle only: Bᵀ lies as a producer leaves it,
  // block (y, x) on PE (x, y), column-major (A's distribution: N over the rows of PEs, K over
  // the columns; e.g. another GEMM's C, for Q·Kᵀ). b_symbol: a symbol that already holds
  // those blocks (a producer's output on the same PEs); -1: its own.
  bool b_as_produced = false;
  int b_symbol = -1;
};

// The registers of one GEMM instance (taken from the pool for its lifetime).
struct GemmRegs {
  int phase, pending, cur_a, cur_b, k, a_off, b_idx, c_off, b_val, bound, tmp, tmp2, u, v;
  int d_a, d_c, d_mem, d_fab;
  Held held;
};
Expected<GemmRegs> take_gemm_regs(Pools& pools, const std::string& user);

// Symbols: the A and B buffers the product reads (two halves each), C, the bias segment, and
// the row-major accumulator of a product in rows (-1 when the product runs in columns).
struct GemmSyms {
  int a, b, c, bias;
  int rows = -1;
};

// The block product's orientation and its cost, for blocks of mb x nb. In columns, an FMA
// per column j of C of mb elements (C column-major, as it is kept); in rows, an FMA per row
// i of nb elements into a row-major accumulator, copied into C's columns once after the last
// phase (which needs B's rows contiguous, b_j = 1). Each op costs the most of the inner loop's
// instructions, its elements at the FMA lanes and memory ports, and its share of the
// microthreads' setups; the write port also takes each panel element received from the
// fabric, mb + nb a step of k (both algorithms receive each once). The sums are the same in
// either orientation (k ascending, one FMA per element), so the results are too. The
// emitters take the cheaper orientation; the compiler's estimate uses the cost (within 10%
// of the simulated summa on blocks from 2 x 16 to 32 x 16, docs/kernels.md).
struct ProductCost {
  bool rows;
  double cycles_per_k;  // one step of k over the whole block
};
ProductCost block_product_cost(const arch::Arch& a, int64_t mb, int64_t nb, DType t, DType acc, bool b_rows_contiguous);
// Whether each algorithm's block product runs in rows for the shape (cannon's only with Bᵀ,
// whose rows of B are contiguous).
bool summa_product_in_rows(const arch::Arch& a, const GemmShape& s);
bool cannon_product_in_rows(const arch::Arch& a, const GemmShape& s);

// The block product C += A·B of the current halves: A column-major (mb x kb, column k at
// cur_a + k·mb), B[k, j] at cur_b + k·b_k + j·b_j. Asynchronous FMAs, k-major, in columns or
// (y.rows >= 0) in rows; the last one activates `done`.
struct BlockProduct {
  int64_t mb, nb, kb, b_k, b_j;
};
void emit_block_product(ir::CodeBuilder& b, const BlockProduct& p, const GemmSyms& y, const GemmRegs& r, int done);

// Entry: C = bias in every column (or the accumulator's rows = bias), phase = 0, then
// activates `first`.
void emit_gemm_entry(ir::CodeBuilder& b, int64_t mb, int64_t nb, const GemmSyms& y, const GemmRegs& r, int first);
// With `rows`, declares the row-major accumulator (y.rows, mb x nb of acc) and the task that
// ends the GEMM: it copies the accumulator into C's columns, then activates `done` (when >= 0).
// Returns the task the last phase activates: that one, or `done` itself without `rows`.
Expected<int> emit_product_finish(Emit& e, bool rows, int64_t mb, int64_t nb, DType acc, GemmSyms& y,
                                  const GemmRegs& r, int done);
// A part's completion: count down; the last one advances `phase` and activates `next` while
// phase < phases, else `done` (when >= 0).
void emit_part_done(ir::CodeBuilder& b, const GemmRegs& r, int phases, int next, int done);
// cur_a, cur_b = the halves of phase parity (phase + parity_shift) & 1.
void emit_current_halves(ir::CodeBuilder& b, const GemmRegs& r, int parity_shift, int64_t a_half, int64_t b_half);

// An emitted GEMM: its entry task, and where the data lives. `inputs` fill A, B (Bᵀ's
// elements, (row j, column k), when b_transposed) and the bias (and any per-PE values the
// algorithm reads) one PE at a time from element functions;
// c_block(px, py) is the (block row, block column) of C that PE (px, py) of the rectangle
// holds, column-major, mb x nb.
using MatrixFn = std::function<double(int64_t row, int64_t col)>;
struct GemmEmitted {
  int entry = -1;
  int c_symbol = -1;  // the symbol that holds C's blocks
  Held held;          // registers the kernel holds while it runs
  std::function<std::vector<HostCopy>(const MatrixFn& a, const MatrixFn& b, const MatrixFn& bias)> inputs;
  std::function<std::pair<int, int>(int px, int py)> c_block;
};

// Block (bi, bj) of a matrix in blocks of br x bc, column-major or row-major.
std::vector<double> matrix_block(int64_t br, int64_t bc, int64_t bi, int64_t bj, bool col_major,
                                 const MatrixFn& value, size_t capacity = 0);

// M over the rectangle's rows, N over its columns, K over both: the blocks every algorithm
// assumes; the emitters refuse a shape that does not divide (the error names the size).
Status check_gemm_divides(const GemmShape& s);

Expected<GemmEmitted> emit_cannon_gemm(Emit& e, const Site& site, const GemmShape& s);
Expected<GemmEmitted> emit_summa_gemm(Emit& e, const Site& site, const GemmShape& s);

}  // namespace wafer::kernels
