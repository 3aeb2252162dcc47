// Element-wise kernels over a tensor spread over PEs: the binary ops add, sub, mul, div and
// max with NumPy/ONNX broadcasting of the second operand, and the unary functions of vmath
// (exp, reciprocal, sqrt, rsqrt, tanh, erf, sigmoid, GELU in its erf and tanh forms, SiLU,
// ReLU) and neg (docs/kernels.md, "Element-wise kernels").
//
// A (R x D) lies on a W x H rectangle as GEMM's C and the norms' X do: rows split over y (mb =
// R/H per PE row), columns over x (nb = D/W per PE column), the PE at relative (x, y) holding
// block (y, x), column-major. The output Y has A's layout and type (it may be A's symbol: in
// place), so a producer's output feeds these kernels where it lies and they feed the next one.
// The second operand B of a binary op is, as the broadcast rules give for 2-D:
//   full    R x D, A's layout: one op over the block's mb·nb elements;
//   row     1 x D, the row replicated over y, columns split over x (as the norms' gamma):
//           column j of the block is combined with the scalar B[j];
//   col     R x 1, rows split over y, the column replicated over x: every column of the
//           block is combined with the mb-vector B;
//           both one op per block column, or per block row (strided) when that is cheaper;
//   scalar  1 x 1 on every PE: one op over the block with B[0] as a scalar source.
// No PE talks to another: there are no colors or routes, only code.
//
// Types: A, B and Y are fp32, fp16 or bf16 (B may differ from A; Y is A's type). The binary
// ops, ReLU, neg and reciprocal are one vector op that computes exactly and rounds once to Y's
// type (correctly rounded). The transcendental functions compute in fp32 (vmath): a 16-bit
// block is converted exactly into fp32 scratch and the fp32 result rounded once more to Y.
// Their fp32 scratch (vmath::scratch_vectors per element) may be bounded by running the block
// in chunks of `chunk` elements through an fp32 staging vector, with the same results.
//
// The kernel starts at the Site's entry task and activates its done task on every PE when Y is
// written. The per-line ops of the row and col forms are asynchronous (their setups overlap
// on the microthreads), the last one's completion activating the done task; everything else
// is synchronous.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "wafer/kernels/compose.hpp"
#include "wafer/kernels/kernels.hpp"

namespace wafer::kernels {

enum class EltwiseOp : uint8_t {
  add, sub, mul, div, max, min,
  exp, reciprocal, sqrt, rsqrt, tanh, erf, sigmoid, gelu, gelu_tanh, silu, relu, neg, log,
  count_
};
const char* eltwise_name(EltwiseOp op);  // as `wafer kernel` names it: "gelu-tanh"
std::optional<EltwiseOp> parse_eltwise(std::string_view name);
bool eltwise_is_binary(EltwiseOp op);

enum class Broadcast : uint8_t { full, row, col, scalar };
const char* broadcast_name(Broadcast b);

// B's layout for a broadcast form against A (same rectangle; B's type `t`).
DistTensor broadcast_operand(const DistTensor& a, Broadcast form, const std::string& name, DType t);

struct EltwiseSpec {
  EltwiseOp op = EltwiseOp::add;
  // A: rows split over y, columns over x, column-major blocks; a.rect is the Site's rectangle.
  DistTensor a;
  int a_symbol = -1;        // the symbol that holds A's blocks (a producer's); -1: declared as a.name
  // B (binary ops): R x D, 1 x D, R x 1 or 1 x 1, laid out as broadcast_operand() says.
  DistTensor b;
  int b_symbol = -1;        // -1: declared as b.name
  std::string y = "y";      // output symbol (scoped by Emit::name); a.name for in place
  int64_t chunk = 0;        // transcendental functions: elements per vmath pass, dividing
                            // mb·nb (0: the whole block in one pass)
};

struct EltwiseEmitted {
  int entry = -1;
  DistTensor y;             // A's layout and type
  int y_symbol = -1, a_symbol = -1, b_symbol = -1;
  Broadcast form = Broadcast::full;  // binary ops
  int64_t data_bytes = 0;   // SRAM per PE of the symbols the kernel declares (A and B included)
  Held held;                // registers and DSD registers the kernel holds while it runs
};

// The broadcast form of B against A, or an error naming both tensors and the dimension.
Expected<Broadcast> broadcast_form(const std::string& user, const DistTensor& a, const DistTensor& b);

// fp32 scratch bytes per element of a vmath pass for the op on type t (0 for one-op kernels).
int64_t eltwise_scratch_bytes(EltwiseOp op, DType t, bool chunked);

Expected<EltwiseEmitted> emit_eltwise(Emit& e, const Site& site, const EltwiseSpec& s);

// The registered kernels (`wafer kernel add|sub|...|gelu|gelu-tanh|...`): --m rows, --n
// columns (defaults 4 per PE row and 8 per PE column), --algo bcast=full|row|col|scalar for
// the binary ops. One registry row per op.
KernelInfo eltwise_kernel_info(EltwiseOp op);
Expected<KernelCase> build_eltwise_kernel(EltwiseOp op, const arch::Arch& a, const KernelParams& p, Stage s);

}  // namespace wafer::kernels
