// GEMV y = A·x + b on a W x H rectangle of PEs, with a two-level (K-tree) reduction along
// each row into its middle column.
//
// A (M x N) is tiled: PE (c, r) holds the block of rows [r·M/H, (r+1)·M/H) and columns
// [c·N/W, (c+1)·N/W), column-major. x arrives split over the columns and replicated down
// them (each PE holds its column's segment, as a producer kernel leaves it), or, with
// --algo ktree-bcast, only on row 0, which then multicasts it down its column in the routers.
// Every PE computes its partial y block as a stream of asynchronous vector FMAs
// (y += A[:, j] · x[j], all SIMD lanes, each op's setup hidden behind the others on the
// microthreads, the memory ports the limit); the last one starts the reduction.
//
// The reduction (row_allreduce.hpp's K-tree) runs towards the row's middle column R from
// both sides. On each side the PEs at distance 1..D from R form groups of G = round(sqrt(D)) consecutive PEs; inside a
// group the partial vectors flow as a pipelined chain (each PE adds what arrives to its own
// vector while streaming it on) into the group's leader, the member nearest R; the leaders
// then form a second pipelined chain towards R whose wavelets pass the other members'
// routers without touching their cores. The critical path is about 6G + D + 5D/G + 2·len
// cycles instead of the 6D + len of a single chain. R adds both sides' streams and b; the
// answer is y on column R, M/H elements per PE. Each PE's role (colors in and out at each
// level) is written by the host into `role`, and the code switches on the distinct roles.
#include <algorithm>
#include <cmath>
#include <map>

#include "kernel_util.hpp"
#include "mesh.hpp"
#include "row_allreduce.hpp"

namespace wafer::kernels {

using ir::CodeBuilder;
using ir::dsd;
using ir::imm;
using ir::Opcode;
using ir::reg;

namespace {

struct GemvShape {
  int64_t M, N, mb, nb;
  DType t;
  bool bcast;
};

struct GemvRegs {
  int j, a_off, xj, role;
  int d_a, d_y, d_in, d_out, d_x;
};

// The PE's part in the K-tree; the root (no output colors) then adds b.
void emit_role(CodeBuilder& b, const RowReduceRole& r, int len, DType t, const GemvRegs& g, int bias) {
  emit_reduce_role(b, r, g.d_y, g.d_in, g.d_out, uint32_t(len), t, Opcode::vadd);
  if (r.out1 < 0 && r.out2 < 0) {
    b.emit(Opcode::mdsd, {dsd(g.d_in), ir::sym_op(bias), imm(0), imm(len), imm(1)});
    b.emit(Opcode::vadd, {dsd(g.d_y), dsd(g.d_y), dsd(g.d_in)});
  }
}

}  // namespace

// Sizes default to 32 x 32 per PE.
struct GemvSizes {
  int64_t M, N;
};
static GemvSizes gemv_sizes(const KernelParams& p) {
  return {p.m ? p.m : 32 * int64_t(p.grid_h), p.n ? p.n : 32 * int64_t(p.grid_w)};
}

// Peak: one PE's A block while it is written, x, b and the reference; kept: the reference,
// x, b and y read back. All doubles; A itself is never held.
HostBytes gemv_host_bytes(const KernelParams& p) {
  const auto [M, N] = gemv_sizes(p);
  const uint64_t block = uint64_t(M / std::max(1, p.grid_h)) * uint64_t(N / std::max(1, p.grid_w));
  const uint64_t kept = (uint64_t(N) + 3 * uint64_t(M)) * sizeof(double);
  return {kept + block * sizeof(double), kept};
}

// M and N scaled alike, kept multiples of the grid's height and width.
KernelParams scale_gemv_sizes(const KernelParams& p, double f) {
  const auto [M, N] = gemv_sizes(p);
  KernelParams q = p;
  q.m = std::max<int64_t>(1, int64_t(double(M / p.grid_h) * f)) * p.grid_h;
  q.n = std::max<int64_t>(1, int64_t(double(N / p.grid_w) * f)) * p.grid_w;
  return q;
}

Expected<KernelCase> build_gemv(const arch::Arch& arch, const KernelParams& p, Stage stage) {
  WAFER_TRY(check_grid(arch, p));
  const auto [M, N] = gemv_sizes(p);
  if (M % p.grid_h != 0) return make_error("--m {} must be a multiple of the grid height {}", M, p.grid_h);
  if (N % p.grid_w != 0) return make_error("--n {} must be a multiple of the grid width {}", N, p.grid_w);
  if (!p.algo.empty() && p.algo != "ktree" && p.algo != "ktree-bcast")
    return make_error("unknown algorithm '{}' (algorithms: ktree, ktree-bcast)", p.algo);
  const GemvShape s{M, N, M / p.grid_h, N / p.grid_w, p.dtype, p.algo == "ktree-bcast"};
  const int64_t bytes = (s.mb * s.nb + s.nb + 2 * s.mb) * dtype_bytes(p.dtype);
  if (bytes > arch.sram_bytes - 4096) {
    return make_error("a {}x{} block per PE needs {} bytes of SRAM but the arch has {} per PE "
                      "(leave 4096 for code); use a larger grid or smaller --m/--n",
                      s.mb, s.nb, bytes, arch.sram_bytes);
  }
  const ir::Rect rect = p.rect();
  const int root = rect.w / 2;
  KernelCase kc;
  kc.program.width = rect.x + rect.w;
  kc.program.height = rect.y + rect.h;
  Pools pools = Pools::for_arch(arch);
  auto colors = pools.colors.take(s.bcast ? 9 : 8, "gemv");
  if (!colors) return colors.status();
  const std::vector<RowReduceRole> roles = row_reduce_roles(rect.w, root, *colors);
  row_reduce_routes(kc.program, rect, root, roles);
  const int x_color = s.bcast ? (*colors)[8] : -1;
  if (s.bcast && rect.h > 1) line_broadcast_routes(kc.program, Axis::column(), rect, x_color);
  std::map<RowReduceRole, int> cases;
  for (const RowReduceRole& r : roles) cases.emplace(r, int(cases.size()));

  auto regs = pools.regs.take(4, "gemv");
  auto dsds = pools.dsds.take(5, "gemv");
  if (!regs || !dsds) return regs ? dsds.status() : regs.status();
  const GemvRegs g{(*regs)[0], (*regs)[1], (*regs)[2], (*regs)[3], (*dsds)[0], (*dsds)[1], (*dsds)[2], (*dsds)[3], (*dsds)[4]};
  CodeBuilder b("gemv");
  const int A = b.symbol("A", s.t, uint32_t(s.mb * s.nb));
  const int x = b.symbol("x", s.t, uint32_t(s.nb));
  const int y = b.symbol("y", s.t, uint32_t(s.mb));
  const int bias = b.symbol("b", s.t, uint32_t(s.mb));
  const int role = b.symbol("role", DType::i32, 1);
  const int32_t mb = int32_t(s.mb), nb = int32_t(s.nb);
  b.task("main", 1, ir::TaskKind::local);
  b.task("reduce", 2, ir::TaskKind::local);
  b.begin_task(1);
  b.emit(Opcode::mdsd, {dsd(g.d_y), ir::sym_op(y), imm(0), imm(mb), imm(1)});
  if (s.bcast && rect.h > 1) {
    b.emit(Opcode::mdsd, {dsd(g.d_x), ir::sym_op(x), imm(0), imm(nb), imm(1)});
    b.emit(Opcode::sub, {reg(g.j), ir::special(ir::Special::y), imm(rect.y)});
    const int recv = b.new_label(), done = b.new_label();
    b.emit(Opcode::bne, {reg(g.j), imm(0), b.label(recv)});
    b.emit(Opcode::fdsd, {dsd(g.d_out), ir::color_op(x_color), imm(nb), ir::dtype_op(s.t)});
    b.emit(Opcode::vmov, {dsd(g.d_out), dsd(g.d_x)});
    b.emit(Opcode::jmp, {b.label(done)});
    b.place(recv);
    b.emit(Opcode::fdsd, {dsd(g.d_in), ir::color_op(x_color), imm(nb), ir::dtype_op(s.t)});
    b.emit(Opcode::vmov, {dsd(g.d_x), dsd(g.d_in)});
    b.place(done);
  }
  b.emit(Opcode::vmov, {dsd(g.d_y), ir::fimm(0.0f)});
  // for j < nb - 1: y += A[:, j] * x[j] (async); the last one activates `reduce`.
  const int loop = b.new_label(), last = b.new_label();
  b.emit(Opcode::movi, {reg(g.j), imm(0)});
  b.emit(Opcode::movi, {reg(g.a_off), imm(0)});
  b.emit(Opcode::bge, {reg(g.j), imm(nb - 1), b.label(last)});
  b.place(loop);
  b.emit(Opcode::mdsd, {dsd(g.d_a), ir::sym_op(A), reg(g.a_off), imm(mb), imm(1)});
  b.emit(Opcode::ld, {reg(g.xj), ir::sym_op(x), reg(g.j)});
  b.emit_async(Opcode::vfma, {dsd(g.d_y), dsd(g.d_a), reg(g.xj), dsd(g.d_y)}, ir::OnDone::none, -1);
  b.emit(Opcode::add, {reg(g.j), reg(g.j), imm(1)});
  b.emit(Opcode::add, {reg(g.a_off), reg(g.a_off), imm(mb)});
  b.emit(Opcode::blt, {reg(g.j), imm(nb - 1), b.label(loop)});
  b.place(last);
  b.emit(Opcode::mdsd, {dsd(g.d_a), ir::sym_op(A), reg(g.a_off), imm(mb), imm(1)});
  b.emit(Opcode::ld, {reg(g.xj), ir::sym_op(x), reg(g.j)});
  b.emit_async(Opcode::vfma, {dsd(g.d_y), dsd(g.d_a), reg(g.xj), dsd(g.d_y)}, ir::OnDone::activate, 2);
  b.emit(Opcode::ret, {});
  b.begin_task(2);
  b.emit(Opcode::ld, {reg(g.role), ir::sym_op(role), imm(0)});
  const int end = b.new_label();
  for (const auto& [r, index] : cases) {
    const int next = b.new_label();
    b.emit(Opcode::bne, {reg(g.role), imm(index), b.label(next)});
    emit_role(b, r, mb, s.t, g, bias);
    b.emit(Opcode::jmp, {b.label(end)});
    b.place(next);
  }
  b.place(end);
  b.emit(Opcode::ret, {});
  kc.program.codes.push_back(b.finish());
  kc.program.placements.push_back(ir::Placement{{0, 0, kc.program.width, kc.program.height}, 0, {}});
  kc.rect = rect;
  kc.flops = 2.0 * double(M) * double(N);
  kc.peak_flops_per_cycle = 2.0 * double(rect.area()) * fma_lanes(arch, s.t, s.t);
  kc.result_symbol = "y";
  kc.result_rect = {rect.x + root, rect.y, 1, rect.h};
  kc.tolerance = sum_tolerance(p.dtype, uint64_t(N));
  if (stage == Stage::program) return kc;

  const DType t = s.t;
  const uint64_t seed = p.seed;
  auto a_val = [t, seed, N](int64_t i, int64_t j) { return round_to(t, random_value(seed, uint64_t(i * N + j))); };
  std::vector<double> xs(static_cast<size_t>(N)), bs(static_cast<size_t>(M));
  for (int64_t j = 0; j < N; ++j) xs[size_t(j)] = round_to(t, random_value(seed + 1, uint64_t(j)));
  for (int64_t i = 0; i < M; ++i) bs[size_t(i)] = round_to(t, random_value(seed + 2, uint64_t(i)));
  kc.inputs.push_back(HostCopy{"A", rect, {}, [=](int px, int py) {
    std::vector<double> v(size_t(s.mb * s.nb));
    for (int64_t j = 0; j < s.nb; ++j)
      for (int64_t i = 0; i < s.mb; ++i) v[size_t(j * s.mb + i)] = a_val(py * s.mb + i, px * s.nb + j);
    return v;
  }});
  const ir::Rect x_rect{rect.x, rect.y, rect.w, s.bcast ? 1 : rect.h};
  kc.inputs.push_back(HostCopy{"x", x_rect, {}, [s, xs](int px, int) {
    return std::vector<double>(xs.begin() + px * s.nb, xs.begin() + (px + 1) * s.nb);
  }});
  kc.inputs.push_back(HostCopy{"b", kc.result_rect, {}, [s, bs](int, int py) {
    return std::vector<double>(bs.begin() + py * s.mb, bs.begin() + (py + 1) * s.mb);
  }});
  std::vector<int> role_of;
  for (const RowReduceRole& r : roles) role_of.push_back(cases.at(r));
  kc.inputs.push_back(HostCopy{"role", rect, {}, [role_of](int px, int) { return std::vector<double>{double(role_of[size_t(px)])}; }});
  kc.reference.assign(size_t(M), 0.0);
  for (int64_t i = 0; i < M; ++i) {
    double sum = bs[size_t(i)];
    for (int64_t j = 0; j < N; ++j) sum += a_val(i, j) * xs[size_t(j)];
    kc.reference[size_t(i)] = sum;
  }
  return kc;
}

}  // namespace wafer::kernels
