// Collective kernels: row/column broadcast, chain and tree reduce, 2D allreduce.
//
// Every PE holds a vector `v` of n elements. bcast-row / bcast-col send the vector of the PE
// at column / row 0 to its whole row / column. reduce-chain and reduce-tree sum each row's
// vectors into the PE at column 0. allreduce sums every PE's vector and leaves the total on
// every PE: rows chain-reduce into column 0, column 0 chain-reduces into PE (0,0), and the
// result is broadcast back through the routers (down column 0 and along every row at once).
#include <cmath>

#include "kernel_util.hpp"
#include "mesh.hpp"

namespace wafer::kernels {

using ir::CodeBuilder;
using ir::Opcode;

namespace {

constexpr int kVec = 0;  // DSD register holding v

struct VectorProgram {
  CodeBuilder b{"collective"};
  int symbol;
  uint32_t n;
  DType t;
  VectorProgram(uint32_t n, DType t) : n(n), t(t) {
    symbol = b.symbol("v", t, n);
    b.task("main", 1, ir::TaskKind::local);
    b.begin_task(1);
    b.emit(Opcode::mdsd, {ir::dsd(kVec), ir::sym_op(symbol), ir::imm(0), ir::imm(int32_t(n)), ir::imm(1)});
  }
  ir::Program finish(int w, int h) {
    b.emit(Opcode::ret, {});
    return single_code_program(w, h, b.finish());
  }
};

// Reference of a line reduction: per line, the sum of its PEs' vectors.
std::vector<double> line_sums(const std::vector<double>& data, int w, int h, uint32_t n, bool rows) {
  const int lines = rows ? h : w, len = rows ? w : h;
  std::vector<double> out(size_t(lines) * n, 0.0);
  for (int l = 0; l < lines; ++l) {
    for (int c = 0; c < len; ++c) {
      const size_t pe = rows ? size_t(l) * size_t(w) + size_t(c) : size_t(c) * size_t(w) + size_t(l);
      for (uint32_t i = 0; i < n; ++i) out[size_t(l) * n + i] += data[pe * n + i];
    }
  }
  return out;
}

int64_t size_n(const KernelParams& p) { return p.n ? p.n : 64; }

// Host bytes of vectors of n doubles: so many per PE and per grid row, at the builder's peak
// and kept during the run.
HostBytes vector_bytes(const KernelParams& p, uint64_t per_pe, uint64_t per_row, uint64_t kept_per_pe,
                       uint64_t kept_per_row) {
  const uint64_t n = uint64_t(size_n(p)), pes = uint64_t(p.grid_w) * uint64_t(p.grid_h);
  const uint64_t rows = uint64_t(p.grid_h), d = sizeof(double);
  return {n * (per_pe * pes + per_row * rows) * d, n * (kept_per_pe * pes + kept_per_row * rows) * d};
}

Expected<KernelCase> start_case(const arch::Arch& arch, const KernelParams& p, uint32_t& n) {
  n = uint32_t(size_n(p));
  WAFER_TRY(check_grid(arch, p));
  WAFER_TRY(check_size("--n", size_n(p), 1, max_elements(arch, p.dtype, 1)));
  KernelCase kc;
  kc.rect = {0, 0, p.grid_w, p.grid_h};
  kc.result_symbol = "v";
  return kc;
}

Expected<KernelCase> build_broadcast(const arch::Arch& arch, const KernelParams& p, bool rows, Stage stage) {
  uint32_t n;
  auto kc = start_case(arch, p, n);
  if (!kc) return kc;
  const Axis axis = rows ? Axis::row() : Axis::column();
  const ir::Rect grid{0, 0, p.grid_w, p.grid_h};
  VectorProgram vp(n, p.dtype);
  if (extent(axis, grid) > 1) emit_line_broadcast(vp.b, axis, kVec, n, p.dtype, 0);
  kc->program = vp.finish(p.grid_w, p.grid_h);
  line_broadcast_routes(kc->program, axis, grid, 0);
  if (stage == Stage::program) return kc;
  auto data = round_to(p.dtype, random_values(p.seed, size_t(grid.area()) * n));
  kc->reference.resize(data.size());
  for (int y = 0; y < grid.h; ++y) {
    for (int x = 0; x < grid.w; ++x) {
      const size_t src = rows ? size_t(y) * size_t(grid.w) : size_t(x);
      for (uint32_t i = 0; i < n; ++i) kc->reference[(size_t(y) * size_t(grid.w) + size_t(x)) * n + i] = data[src * n + i];
    }
  }
  kc->inputs.push_back(HostCopy{"v", grid, std::move(data), {}});
  kc->result_rect = grid;
  kc->tolerance = 0;
  return kc;
}

Expected<KernelCase> build_row_reduce(const arch::Arch& arch, const KernelParams& p, bool tree, Stage stage) {
  uint32_t n;
  auto kc = start_case(arch, p, n);
  if (!kc) return kc;
  const Axis axis = Axis::row();
  const ir::Rect grid{0, 0, p.grid_w, p.grid_h};
  if (tree && tree_levels(p.grid_w) > arch.colors) {
    return make_error("needs {} colors for a row of {} PEs; the arch has {}",
                      tree_levels(p.grid_w), p.grid_w, arch.colors);
  }
  VectorProgram vp(n, p.dtype);
  if (tree) emit_tree_reduce(vp.b, axis, p.grid_w, kVec, n, p.dtype, 0);
  else emit_chain_reduce(vp.b, axis, p.grid_w, kVec, n, p.dtype, 0, 1);
  kc->program = vp.finish(p.grid_w, p.grid_h);
  if (tree) tree_reduce_routes(kc->program, axis, grid, 0);
  else chain_reduce_routes(kc->program, axis, grid, 0, 1);
  if (stage == Stage::program) return kc;
  auto data = round_to(p.dtype, random_values(p.seed, size_t(grid.area()) * n));
  kc->reference = line_sums(data, grid.w, grid.h, n, true);
  kc->inputs.push_back(HostCopy{"v", grid, std::move(data), {}});
  kc->result_rect = {0, 0, 1, grid.h};
  kc->tolerance = sum_tolerance(p.dtype, uint64_t(grid.w));
  return kc;
}

Expected<KernelCase> build_allreduce(const arch::Arch& arch, const KernelParams& p, Stage stage) {
  uint32_t n;
  auto kc = start_case(arch, p, n);
  if (!kc) return kc;
  const ir::Rect grid{0, 0, p.grid_w, p.grid_h};
  VectorProgram vp(n, p.dtype);
  CodeBuilder& b = vp.b;
  emit_chain_reduce(b, Axis::row(), grid.w, kVec, n, p.dtype, 0, 1);
  const int not_column0 = b.new_label(), receive = b.new_label(), done = b.new_label();
  b.emit(Opcode::bne, {ir::special(ir::Special::x), ir::imm(0), b.label(not_column0)});
  emit_chain_reduce(b, Axis::column(), grid.h, kVec, n, p.dtype, 2, 3);
  b.place(not_column0);
  if (grid.area() > 1) {
    b.emit(Opcode::bne, {ir::special(ir::Special::x), ir::imm(0), b.label(receive)});
    b.emit(Opcode::bne, {ir::special(ir::Special::y), ir::imm(0), b.label(receive)});
    b.emit(Opcode::fdsd, {ir::dsd(1), ir::color_op(4), ir::imm(int32_t(n)), ir::dtype_op(p.dtype)});
    b.emit(Opcode::vmov, {ir::dsd(1), ir::dsd(kVec)});
    b.emit(Opcode::jmp, {b.label(done)});
    b.place(receive);
    b.emit(Opcode::fdsd, {ir::dsd(1), ir::color_op(4), ir::imm(int32_t(n)), ir::dtype_op(p.dtype)});
    b.emit(Opcode::vmov, {ir::dsd(kVec), ir::dsd(1)});
    b.place(done);
  }
  kc->program = vp.finish(grid.w, grid.h);
  chain_reduce_routes(kc->program, Axis::row(), grid, 0, 1);
  chain_reduce_routes(kc->program, Axis::column(), {0, 0, 1, grid.h}, 2, 3);
  grid_broadcast_routes(kc->program, grid, 4);
  if (stage == Stage::program) return kc;
  auto data = round_to(p.dtype, random_values(p.seed, size_t(grid.area()) * n));
  std::vector<double> total(n, 0.0);
  for (size_t pe = 0; pe < size_t(grid.area()); ++pe) {
    for (uint32_t i = 0; i < n; ++i) total[i] += data[pe * n + i];
  }
  kc->reference.reserve(data.size());
  for (size_t pe = 0; pe < size_t(grid.area()); ++pe) kc->reference.insert(kc->reference.end(), total.begin(), total.end());
  kc->inputs.push_back(HostCopy{"v", grid, std::move(data), {}});
  kc->result_rect = grid;
  kc->tolerance = sum_tolerance(p.dtype, uint64_t(grid.area()));
  return kc;
}

}  // namespace

Expected<KernelCase> build_bcast_row(const arch::Arch& a, const KernelParams& p, Stage s) { return build_broadcast(a, p, true, s); }
Expected<KernelCase> build_bcast_col(const arch::Arch& a, const KernelParams& p, Stage s) { return build_broadcast(a, p, false, s); }
Expected<KernelCase> build_reduce_chain(const arch::Arch& a, const KernelParams& p, Stage s) { return build_row_reduce(a, p, false, s); }
Expected<KernelCase> build_reduce_tree(const arch::Arch& a, const KernelParams& p, Stage s) { return build_row_reduce(a, p, true, s); }
Expected<KernelCase> build_allreduce_case(const arch::Arch& a, const KernelParams& p, Stage s) { return build_allreduce(a, p, s); }

// Broadcasts and allreduce: the data and the reference (per PE; allreduce's total is one more
// vector); kept with the output (per PE).
HostBytes every_pe_result_host_bytes(const KernelParams& p) { return vector_bytes(p, 2, 0, 3, 0); }
// Row reductions: the data (per PE) and the row sums; kept with the output (per row).
HostBytes row_reduce_host_bytes(const KernelParams& p) { return vector_bytes(p, 1, 1, 1, 2); }
KernelParams scale_collective_sizes(const KernelParams& p, double f) { return scale_n(p, size_n(p), f); }

}  // namespace wafer::kernels
