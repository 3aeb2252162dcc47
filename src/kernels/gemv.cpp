// GEMV y = A·x + b on a W x H grid of PEs.
//
// A (M x N) is tiled: PE (c, r) holds the block of rows [r·M/H, (r+1)·M/H) and columns
// [c·N/W, (c+1)·N/W), column-major, and the PEs of row 0 hold x's segments. Each PE of row 0
// broadcasts its x segment down its column (router multicast); every PE then computes its
// partial y block as a sequence of vector FMAs, one per column of its block
// (y += A[:,j] · x[j]); the partial blocks are chain-reduced along each row into column 0,
// which adds b. The answer is y on the PEs of column 0, M/H elements each.
#include <algorithm>
#include <cmath>

#include "kernel_util.hpp"
#include "mesh.hpp"

namespace wafer::kernels {

using ir::CodeBuilder;
using ir::Opcode;

namespace {

constexpr int kColorX = 4;  // x broadcast; colors 0 and 1 carry the row reduction
constexpr int kY = 0, kX = 1, kColumn = 2, kB = 3;  // DSD registers

ir::Code gemv_code(const ir::Rect& grid, uint32_t mb, uint32_t nb, DType t) {
  CodeBuilder b("gemv");
  const int A = b.symbol("A", t, mb * nb);
  const int x = b.symbol("x", t, nb);
  const int y = b.symbol("y", t, mb);
  const int bias = b.symbol("b", t, mb);
  b.task("main", 1, ir::TaskKind::local);
  b.begin_task(1);
  b.emit(Opcode::mdsd, {ir::dsd(kX), ir::sym_op(x), ir::imm(0), ir::imm(int32_t(nb)), ir::imm(1)});
  b.emit(Opcode::mdsd, {ir::dsd(kY), ir::sym_op(y), ir::imm(0), ir::imm(int32_t(mb)), ir::imm(1)});
  if (grid.h > 1) emit_line_broadcast(b, Axis::column(), kX, nb, t, kColorX);
  b.emit(Opcode::vmov, {ir::dsd(kY), ir::fimm(0.0f)});
  // for j in 0..nb: y += A[:, j] * x[j]   (r4 = j, r5 = j * mb, r6 = x[j])
  const int loop = b.new_label();
  b.emit(Opcode::movi, {ir::reg(4), ir::imm(0)});
  b.emit(Opcode::movi, {ir::reg(5), ir::imm(0)});
  b.place(loop);
  b.emit(Opcode::mdsd, {ir::dsd(kColumn), ir::sym_op(A), ir::reg(5), ir::imm(int32_t(mb)), ir::imm(1)});
  b.emit(Opcode::ld, {ir::reg(6), ir::sym_op(x), ir::reg(4)});
  b.emit(Opcode::vfma, {ir::dsd(kY), ir::dsd(kColumn), ir::reg(6), ir::dsd(kY)});
  b.emit(Opcode::add, {ir::reg(4), ir::reg(4), ir::imm(1)});
  b.emit(Opcode::add, {ir::reg(5), ir::reg(5), ir::imm(int32_t(mb))});
  b.emit(Opcode::blt, {ir::reg(4), ir::imm(int32_t(nb)), b.label(loop)});
  emit_chain_reduce(b, Axis::row(), grid.w, kY, mb, t, 0, 1);
  const int done = b.new_label();
  b.emit(Opcode::bne, {ir::special(ir::Special::x), ir::imm(0), b.label(done)});
  b.emit(Opcode::mdsd, {ir::dsd(kB), ir::sym_op(bias), ir::imm(0), ir::imm(int32_t(mb)), ir::imm(1)});
  b.emit(Opcode::vadd, {ir::dsd(kY), ir::dsd(kY), ir::dsd(kB)});
  b.place(done);
  b.emit(Opcode::ret, {});
  return b.finish();
}

struct Sizes {
  int64_t m, n;
};
Sizes sizes(const KernelParams& p) {
  return {p.m ? p.m : 32 * int64_t(p.grid_h), p.n ? p.n : 32 * int64_t(p.grid_w)};
}

}  // namespace

// Peak: A and its per-PE blocks (M·N each), x and b and their copies in the inputs, the
// reference (M). Kept: the blocks, x, b, the reference and y read back. All doubles.
HostBytes gemv_host_bytes(const KernelParams& p) {
  const auto [M, N] = sizes(p);
  const uint64_t mn = uint64_t(M) * uint64_t(N), m = uint64_t(M), n = uint64_t(N);
  return {(2 * mn + 2 * n + 3 * m) * sizeof(double), (mn + n + 3 * m) * sizeof(double)};
}

// M and N scaled alike, kept multiples of the grid's height and width.
KernelParams scale_gemv_sizes(const KernelParams& p, double f) {
  const auto [M, N] = sizes(p);
  KernelParams q = p;
  q.m = std::max<int64_t>(1, int64_t(double(M / p.grid_h) * f)) * p.grid_h;
  q.n = std::max<int64_t>(1, int64_t(double(N / p.grid_w) * f)) * p.grid_w;
  return q;
}

Expected<KernelCase> build_gemv(const arch::Arch& arch, const KernelParams& p, Stage stage) {
  WAFER_TRY(check_grid(arch, p));
  const auto [M, N] = sizes(p);
  if (M % p.grid_h != 0) return make_error("--m {} must be a multiple of the grid height {}", M, p.grid_h);
  if (N % p.grid_w != 0) return make_error("--n {} must be a multiple of the grid width {}", N, p.grid_w);
  const int64_t mb = M / p.grid_h, nb = N / p.grid_w;
  const int64_t bytes = (mb * nb + nb + 2 * mb) * dtype_bytes(p.dtype);
  if (bytes > arch.sram_bytes - 4096) {
    return make_error("a {}x{} block per PE needs {} bytes of SRAM but the arch has {} per PE "
                      "(leave 4096 for code); use a larger grid or smaller --m/--n",
                      mb, nb, bytes, arch.sram_bytes);
  }
  const ir::Rect grid{0, 0, p.grid_w, p.grid_h};
  KernelCase kc;
  kc.rect = {0, 0, p.grid_w, p.grid_h};
  kc.program = single_code_program(grid.w, grid.h, gemv_code(grid, uint32_t(mb), uint32_t(nb), p.dtype));
  if (grid.h > 1) line_broadcast_routes(kc.program, Axis::column(), grid, kColorX);
  chain_reduce_routes(kc.program, Axis::row(), grid, 0, 1);
  if (stage == Stage::program) return kc;

  const auto A = round_to(p.dtype, random_values(p.seed, size_t(M * N)));
  const auto x = round_to(p.dtype, random_values(p.seed + 1, size_t(N)));
  const auto bias = round_to(p.dtype, random_values(p.seed + 2, size_t(M)));
  // Per-PE blocks, row-major over PEs, each block column-major.
  std::vector<double> blocks;
  blocks.reserve(size_t(M * N));
  for (int r = 0; r < grid.h; ++r) {
    for (int c = 0; c < grid.w; ++c) {
      for (int64_t j = 0; j < nb; ++j) {
        for (int64_t i = 0; i < mb; ++i) blocks.push_back(A[size_t((r * mb + i) * N + c * nb + j)]);
      }
    }
  }
  kc.inputs.push_back(HostCopy{"A", grid, std::move(blocks), {}});
  kc.inputs.push_back(HostCopy{"x", {0, 0, grid.w, 1}, x, {}});
  kc.inputs.push_back(HostCopy{"b", {0, 0, 1, grid.h}, bias, {}});
  kc.reference.assign(size_t(M), 0.0);
  for (int64_t i = 0; i < M; ++i) {
    double s = bias[size_t(i)];
    for (int64_t j = 0; j < N; ++j) s += A[size_t(i * N + j)] * x[size_t(j)];
    kc.reference[size_t(i)] = s;
  }
  kc.result_symbol = "y";
  kc.result_rect = {0, 0, 1, grid.h};
  kc.tolerance = sum_tolerance(p.dtype, uint64_t(N));
  return kc;
}

}  // namespace wafer::kernels
