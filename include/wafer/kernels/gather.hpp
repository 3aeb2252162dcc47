// Gather along the rows of a table: the embedding lookup out[t, :] = table[ids[t], :] of
// ONNX Gather (axis 0) on a token-embedding table (docs/kernels.md, "Gather (embedding
// lookup)").
//
// The table (V rows of vocabulary x D hidden columns) lies on a W x H rectangle with its rows
// split over the rectangle's y (Vb = ceil(V/H) per PE row; the last PE row's rows past V are
// padding, zeros, never selected) and its columns over x (Db = D/W per PE), each block
// row-major, so that one vocabulary row's slice is Db contiguous elements. The T token ids
// are data on the wafer (i32, written by the host or left by a producer), replicated on
// every PE: the code generator never sees them, so each PE indexes its SRAM by a runtime
// value (`ld` of the id, a memory DSD whose offset is a register).
//
// Per PE, for each token t in order: id = ids[t] (a negative id counts from the end, id + V,
// as ONNX allows); if id lies in the PE row's vocabulary range [ry·Vb, ry·Vb + Vb) (and below
// V), one asynchronous vmov copies its Db elements from the table block to out[t, :],
// otherwise the same vmov copies a row of zeros (the `zero` symbol, never written). Every
// token's op has the same shape (Db elements, stride 1 on both sides), so they finish in
// issue order and the last one's completion starts the next step. Then the column sum of
// colsum.hpp adds the PE rows' T x Db blocks into row 0: at most one row of each column
// holds a non-zero for a token, so every sum is x + 0 + ... + 0 = x, exact in any type (a
// -0 entry comes out as +0). An id outside [-V, V) matches no PE row and gives a row of
// zeros (never a fault); the standalone kernel refuses such ids on the host
// (check_token_ids) before anything runs.
//
// The output is T x D on the rectangle's row 0 only (rows_over_y = first), the columns split
// over x like the table's, each block T x Db row-major: token t's slice is contiguous, the
// [T, D] order of ONNX's output. Cost: about 11 scalar instructions per token on every PE
// (the loop is the limit; the copies overlap on the microthreads), then the column sum,
// about H·(2·ramp + hop) + T·Db cycles.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wafer/kernels/compose.hpp"
#include "wafer/kernels/kernels.hpp"

namespace wafer::kernels {

struct GatherSpec {
  DType dtype = DType::f32;  // the table's and the output's type: fp32, fp16 or bf16
  int64_t vocab = 0;         // V: rows of the table
  int64_t hidden = 0;        // D: columns, split over the rectangle's x
  int64_t tokens = 0;        // T: token ids, the output's rows
  // Symbols that already hold the table's blocks or the ids (a producer's), -1: declared by
  // the kernel as "table" and "ids" (scoped by Emit::name).
  int table_symbol = -1;
  int ids_symbol = -1;
  std::string out = "out";   // the output symbol (scoped by Emit::name)
};

struct GatherEmitted {
  int entry = -1;
  // table: (H·Vb) x D, rows split over y, columns over x, row-major blocks (rows past V are
  // padding). ids: T x 1 i32, replicated on every PE. out: T x D on row 0, columns split over
  // x, row-major blocks; the other rows' `out` blocks are work space.
  DistTensor table, ids, out;
  int64_t data_bytes = 0;  // SRAM per PE of the kernel's symbols
  Held held;               // registers and DSD registers the kernel holds while it runs
};

// SRAM bytes per PE of the gather's symbols (table block, ids, zero row, out block).
int64_t gather_data_bytes(const GatherSpec& s, int w, int h);

Expected<GatherEmitted> emit_gather(Emit& e, const Site& site, const GatherSpec& s);

// Host side: every id must lie in [-V, V) (negative ids count from the end); the error names
// the first id that does not, its position and V.
Status check_token_ids(const std::vector<int64_t>& ids, int64_t vocab);
// The row of the table an id in [-V, V) selects.
inline int64_t token_row(int64_t id, int64_t vocab) { return id < 0 ? id + vocab : id; }
// The standalone kernel's ids: 0, V - 1, -1 and -V first (the range's edges, and repeats
// through the negative form), then seeded uniform in [-V, V).
std::vector<int64_t> default_token_ids(int64_t vocab, int64_t tokens, uint64_t seed);

// The registered kernel (`wafer kernel gather`): --m tokens T, --n hidden D, --k vocabulary V;
// defaults 16 tokens, 4 columns per PE column and 16 vocabulary rows per PE row. `ids`
// replaces the default ids (tests).
Expected<KernelCase> build_gather_case(const arch::Arch& a, const KernelParams& p, Stage s,
                                       const std::vector<int64_t>* ids = nullptr);
Expected<KernelCase> build_gather(const arch::Arch& a, const KernelParams& p, Stage s);
HostBytes gather_host_bytes(const KernelParams& p);
KernelParams scale_gather_sizes(const KernelParams& p, double f);

}  // namespace wafer::kernels
