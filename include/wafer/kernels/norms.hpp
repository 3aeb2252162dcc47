// Reductions along the hidden dimension of a tensor spread over PEs, and what applies them:
// softmax over rows, LayerNorm, RMSNorm, and the row sum and mean (docs/kernels.md, "Row reductions").
//
// X (R rows x D columns, tokens x hidden) lies on a W x H rectangle as GEMM's C does: rows
// split over the rectangle's y (R/H per PE row), columns over its x (D/W per PE), the PE at
// relative (x, y) holding block (y, x), column-major (a DistTensor with rows_over_y and
// cols_over_x split, col_major). A GEMM's output therefore feeds these kernels on the same PEs
// without moving (pass its C symbol as x_symbol).
//
// On each PE, with the block column-major, a column of the block is mb = R/H contiguous
// elements, one per local row, so every per-row quantity (max, sum, mean, 1/sqrt(var + eps))
// is a vector of mb elements and the work is whole-vector ops:
// - the local reduction over the nb = D/W columns halves the block: the first ceil(nb/2)
//   columns combine with the last floor(nb/2) in one op over mb·floor(nb/2) contiguous
//   elements, then again within the half, ceil(log2 nb) ops in all (no per-row loop, no
//   strided DSDs), into an fp32 scratch vector;
// - the per-row vectors are all-reduced along the PE row by the K-tree of row_allreduce.hpp
//   (fp32 wavelets, mb of them), so every PE of the row has them;
// - applying them touches each column once per step: nb asynchronous ops of mb elements
//   (their setups overlap on the microthreads), the last one's completion starting the next
//   step; gamma and beta (length D, split over x like X's columns) are a scalar per column.
// All arithmetic is fp32: fp16 and bf16 blocks are converted (vcvt) into an fp32 copy F and
// the result is rounded once to the output type by the op that writes it. exp and rsqrt are
// the vmath routines (fp32). LayerNorm is two-pass: the mean, then the mean of (x - mean)².
//
// A row whose real length L is less than X's columns (a compiler's padding at the end) is
// reduced over its L columns only: a per-PE mask of the block's columns (NormEmitted::tables,
// written with the code) sets the padding to -inf before softmax's max, or to 0 before the
// norms' sums (and again after LayerNorm's centring), and the means divide by L. The
// output's padding is then 0 (softmax) or unspecified (the norms).
//
// The kernels start at the Site's entry task and activate its done task on every PE when the
// output is written. Their registers are in NormEmitted::held: a kernel that runs after this
// one on the same PEs may have them once the caller releases them (compose.hpp).
#pragma once

#include <string>

#include "wafer/kernels/compose.hpp"
#include "wafer/kernels/kernels.hpp"

namespace wafer::kernels {

enum class NormKind : uint8_t { softmax, layernorm, rmsnorm, rowsum, rowmean };
const char* norm_name(NormKind k);

struct NormSpec {
  NormKind kind = NormKind::softmax;
  // The input: rows split over y, columns over x, column-major blocks; x.rect is the Site's
  // rectangle. x.dtype fp32, fp16 or bf16.
  DistTensor x;
  int x_symbol = -1;        // the symbol that holds x's blocks (a producer's); -1: declared as x.name
  std::string y = "y";      // output symbol (scoped by Emit::name); may be x.name for in place
  double eps = 1e-5;        // layernorm, rmsnorm
  int64_t length = 0;       // softmax, layernorm, rmsnorm: the row's real columns; 0: all x.cols
};

struct NormEmitted {
  int entry = -1;
  // The output: softmax, layernorm, rmsnorm: X's layout and type; rowsum and rowmean: R x 1,
  // rows split over y, the column replicated over x (every PE of a row holds its mb results).
  DistTensor y;
  // gamma (layernorm, rmsnorm) and beta (layernorm): 1 x D, the row replicated over y and the
  // columns split over x, X's type; name empty when the kernel has none.
  DistTensor gamma, beta;
  int64_t data_bytes = 0;   // SRAM per PE of the kernel's symbols (x included)
  Held held;                // registers and DSD registers the kernel holds while it runs
  std::vector<HostCopy> tables;  // the padding's mask (length < x.cols), copied in with the code
};

// Data bytes per PE the kernel declares for a block of mb x nb of type t (x included).
int64_t norm_data_bytes(NormKind k, int64_t mb, int64_t nb, DType t, bool separate_y, bool masked = false);

Expected<NormEmitted> emit_norm(Emit& e, const Site& site, const NormSpec& s);

// The registered kernels (`wafer kernel softmax|layernorm|rmsnorm|rowsum|rowmean`): --m rows,
// --n hidden; defaults 16 rows per PE row and 32 columns per PE column.
Expected<KernelCase> build_norm_kernel(NormKind k, const arch::Arch& a, const KernelParams& p, Stage s);
HostBytes norm_host_bytes(const KernelParams& p);
KernelParams scale_norm_sizes(const KernelParams& p, double f);

}  // namespace wafer::kernels
