// stream-fma: the dense workload of the speed benchmark, as a verified kernel.
//
// Every PE of a W x H grid is busy every cycle: column 0 streams its vector x (n elements)
// east along its row, and every other PE computes y = A ⊙ x + y with one vector FMA that
// takes x straight from the fabric, one element per cycle, while its router forwards the
// stream to the next PE (multicast to the ramp and east).
#include "kernel_util.hpp"
#include "mesh.hpp"

namespace wafer::kernels {

using ir::add_route;
using ir::CodeBuilder;
using ir::Opcode;

namespace {

int64_t size_n(const KernelParams& p) { return p.n ? p.n : 2048; }

}  // namespace

// Peak: x (n per row), A, y and the reference (n per PE). Kept: those and y read back.
HostBytes stream_fma_host_bytes(const KernelParams& p) {
  const uint64_t n = uint64_t(size_n(p)), pes = uint64_t(p.grid_w) * uint64_t(p.grid_h);
  const uint64_t x = n * uint64_t(p.grid_h);
  return {(x + 3 * n * pes) * sizeof(double), (x + 4 * n * pes) * sizeof(double)};
}

KernelParams scale_stream_fma_sizes(const KernelParams& p, double f) { return scale_n(p, size_n(p), f); }

Expected<KernelCase> build_stream_fma(const arch::Arch& arch, const KernelParams& p, Stage stage) {
  WAFER_TRY(check_grid(arch, p));
  if (p.grid_w < 2) return make_error("needs a grid at least 2 PEs wide");
  const int64_t n = size_n(p);
  WAFER_TRY(check_size("--n", n, 1, max_elements(arch, p.dtype, 0) / 3));
  const ir::Rect grid{0, 0, p.grid_w, p.grid_h};
  CodeBuilder b("stream_fma");
  const int A = b.symbol("A", p.dtype, uint32_t(n));
  const int x = b.symbol("x", p.dtype, uint32_t(n));
  const int y = b.symbol("y", p.dtype, uint32_t(n));
  b.task("main", 1, ir::TaskKind::local);
  b.begin_task(1);
  const int compute = b.new_label(), done = b.new_label();
  const ir::Operand len = ir::imm(int32_t(n));
  b.emit(Opcode::fdsd, {ir::dsd(0), ir::color_op(0), len, ir::dtype_op(p.dtype)});
  b.emit(Opcode::bne, {ir::special(ir::Special::x), ir::imm(0), b.label(compute)});
  b.emit(Opcode::mdsd, {ir::dsd(1), ir::sym_op(x), ir::imm(0), len, ir::imm(1)});
  b.emit(Opcode::vmov, {ir::dsd(0), ir::dsd(1)});
  b.emit(Opcode::jmp, {b.label(done)});
  b.place(compute);
  b.emit(Opcode::mdsd, {ir::dsd(1), ir::sym_op(A), ir::imm(0), len, ir::imm(1)});
  b.emit(Opcode::mdsd, {ir::dsd(2), ir::sym_op(y), ir::imm(0), len, ir::imm(1)});
  b.emit(Opcode::vfma, {ir::dsd(2), ir::dsd(1), ir::dsd(0), ir::dsd(2)});
  b.place(done);
  b.emit(Opcode::ret, {});
  KernelCase kc;
  kc.rect = {0, 0, p.grid_w, p.grid_h};
  kc.program = single_code_program(grid.w, grid.h, b.finish());
  const ir::PortMask R = ir::port_bit(ir::Dir::ramp), E = ir::port_bit(ir::Dir::east),
                     W = ir::port_bit(ir::Dir::west);
  add_route(kc.program, {0, 0, 1, grid.h}, 0, R, E);
  add_route(kc.program, {1, 0, grid.w - 2, grid.h}, 0, W, E | R);
  add_route(kc.program, {grid.w - 1, 0, 1, grid.h}, 0, W, R);
  if (stage == Stage::program) return kc;

  const size_t pes = size_t(grid.area());
  auto xs = round_to(p.dtype, random_values(p.seed, size_t(n) * size_t(grid.h)));
  auto as = round_to(p.dtype, random_values(p.seed + 1, size_t(n) * pes));
  auto ys = round_to(p.dtype, random_values(p.seed + 2, size_t(n) * pes));
  kc.reference.resize(size_t(n) * pes);
  for (size_t pe = 0; pe < pes; ++pe) {
    const size_t row = pe / size_t(grid.w);
    for (size_t i = 0; i < size_t(n); ++i) {
      kc.reference[pe * size_t(n) + i] =
          pe % size_t(grid.w) == 0 ? ys[pe * size_t(n) + i]
                                   : as[pe * size_t(n) + i] * xs[row * size_t(n) + i] + ys[pe * size_t(n) + i];
    }
  }
  kc.inputs.push_back(HostCopy{"x", {0, 0, 1, grid.h}, std::move(xs), {}});
  kc.inputs.push_back(HostCopy{"A", grid, std::move(as), {}});
  kc.inputs.push_back(HostCopy{"y", grid, std::move(ys), {}});
  kc.result_symbol = "y";
  kc.result_rect = grid;
  kc.tolerance = 2 * unit_roundoff(p.dtype);
  return kc;
}

}  // namespace wafer::kernels
