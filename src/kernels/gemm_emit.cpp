// The GEMM emitters both algorithms share (gemm_emit.hpp): registers, the entry, the block
// product as asynchronous FMAs with its last op peeled (so that its completion can start the
// count-down), the count-down, and the host's block extraction.
//
// The block product runs in columns (an FMA of mb elements per column of C) or in rows (an
// FMA of nb elements per row, into a row-major accumulator copied into C's columns by a
// finishing task), whichever block_product_cost finds faster. Each op's loop issues 6
// instructions, so a block of 4 rows in columns keeps the FMA lanes busy one cycle in six;
// in rows the same block streams 4 long ops and the single write port becomes the limit.
#include "wafer/kernels/gemm_emit.hpp"

#include <algorithm>
#include <cmath>

namespace wafer::kernels {

using ir::CodeBuilder;
using ir::dsd;
using ir::imm;
using ir::Opcode;
using ir::reg;

Expected<GemmRegs> take_gemm_regs(Pools& pools, const std::string& user) {
  auto g = pools.regs.take(14, user);
  if (!g) return g.status();
  auto d = pools.dsds.take(4, user);
  if (!d) return d.status();
  const std::vector<int>& x = *g;
  return GemmRegs{x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9], x[10], x[11], x[12], x[13],
                  (*d)[0], (*d)[1], (*d)[2], (*d)[3], Held{x, *d}};
}

namespace {

// Instructions the block product's inner loop issues per op: mdsd, ld, vfma, add, add, blt.
constexpr double kIssueCycles = 6;
// Write-port cycles a received panel element costs: one to store it, and a line's broadcast
// advances only when every PE of the line has room, so receives squeezed between each PE's
// own FMA cycles lose more (fitted on summa: within 10% on 8 shapes, docs/kernels.md).
constexpr double kReceiveCycles = 1.6;

double port_elements(const arch::Arch& a, DType t) { return a.mem_port_bits / 8.0 / dtype_bytes(t); }

// For i < mb: `each()` with r.k = i and r.c_off = i·nb, the start of the accumulator's row i.
template <typename F>
void for_each_row(CodeBuilder& b, int64_t mb, int64_t nb, const GemmRegs& r, F&& each) {
  const int loop = b.new_label();
  b.emit(Opcode::movi, {reg(r.k), imm(0)});
  b.emit(Opcode::movi, {reg(r.c_off), imm(0)});
  b.place(loop);
  each();
  b.emit(Opcode::add, {reg(r.c_off), reg(r.c_off), imm(int32_t(nb))});
  b.emit(Opcode::add, {reg(r.k), reg(r.k), imm(1)});
  b.emit(Opcode::blt, {reg(r.k), imm(int32_t(mb)), b.label(loop)});
}

}  // namespace

ProductCost block_product_cost(const arch::Arch& a, int64_t mb, int64_t nb, DType t, DType acc, bool b_rows_contiguous) {
  // Elements a cycle of one op reading a stride-1 operand of t and the accumulator of acc
  // (two reads, one write), within the FMA lanes.
  const double reads = a.mem_read_ports / (1 / port_elements(a, t) + 1 / port_elements(a, acc));
  const double rate = std::min({fma_lanes(a, t, acc), reads, a.mem_write_ports * port_elements(a, acc)});
  auto per_k = [&](int64_t len, int64_t ops) {
    const double elements = std::ceil(double(len) / rate);
    const double op = std::max({kIssueCycles, elements, (a.vector_setup_cycles + elements) / a.microthreads});
    // An op's element cycles each take a write access (the rate is at most a port's width).
    const double writes = double(ops) * elements + kReceiveCycles * double(mb + nb);
    return std::max(double(ops) * op, writes / a.mem_write_ports);
  };
  const double columns = per_k(mb, nb), rows = per_k(nb, mb);
  if (b_rows_contiguous && rows < columns) return {true, rows};
  return {false, columns};
}

bool summa_product_in_rows(const arch::Arch& a, const GemmShape& s) {
  const int64_t mb = s.M / s.h, nb = s.N / s.w;
  return block_product_cost(a, mb, nb, s.t, s.acc, true).rows;
}

bool cannon_product_in_rows(const arch::Arch& a, const GemmShape& s) {
  const int64_t mb = s.M / s.h, nb = s.N / s.w;
  return block_product_cost(a, mb, nb, s.t, s.acc, s.b_transposed).rows;
}

void emit_block_product(CodeBuilder& b, const BlockProduct& p, const GemmSyms& y, const GemmRegs& r, int done) {
  // One orientation's walk: the vector operand (A's column k, or B's row k), the scalar one
  // (B[k, j], or A[i, k]) and the destination (C's column j, or the accumulator's row i).
  const bool rows = y.rows >= 0;
  const int vec_sym = rows ? y.b : y.a, vec_start = rows ? r.cur_b : r.cur_a;
  const int scalar_sym = rows ? y.a : y.b, scalar_start = rows ? r.cur_a : r.cur_b;
  const int dst_sym = rows ? y.rows : y.c;
  const int32_t len = int32_t(rows ? p.nb : p.mb), ops = int32_t(rows ? p.mb : p.nb), kb = int32_t(p.kb);
  const int32_t vec_k = int32_t(rows ? p.b_k : p.mb), scalar_k = int32_t(rows ? p.mb : p.b_k);
  const int32_t scalar_op = int32_t(rows ? 1 : p.b_j);
  const int kloop = b.new_label(), jtest = b.new_label(), jloop = b.new_label(), jend = b.new_label();
  b.emit(Opcode::movi, {reg(r.k), imm(0)});
  b.emit(Opcode::mov, {reg(r.a_off), reg(vec_start)});
  b.emit(Opcode::mov, {reg(r.u), reg(scalar_start)});  // u = index of op 0's scalar
  b.place(kloop);
  b.emit(Opcode::mdsd, {dsd(r.d_a), ir::sym_op(vec_sym), reg(r.a_off), imm(len), imm(1)});
  b.emit(Opcode::mov, {reg(r.b_idx), reg(r.u)});
  b.emit(Opcode::movi, {reg(r.c_off), imm(0)});
  b.emit(Opcode::movi, {reg(r.bound), imm(len * ops)});
  b.emit(Opcode::bne, {reg(r.k), imm(kb - 1), b.label(jtest)});
  b.emit(Opcode::movi, {reg(r.bound), imm(len * (ops - 1))});
  b.place(jtest);
  b.emit(Opcode::bge, {reg(r.c_off), reg(r.bound), b.label(jend)});
  b.place(jloop);
  b.emit(Opcode::mdsd, {dsd(r.d_c), ir::sym_op(dst_sym), reg(r.c_off), imm(len), imm(1)});
  b.emit(Opcode::ld, {reg(r.b_val), ir::sym_op(scalar_sym), reg(r.b_idx)});
  b.emit_async(Opcode::vfma, {dsd(r.d_c), dsd(r.d_a), reg(r.b_val), dsd(r.d_c)}, ir::OnDone::none, -1);
  b.emit(Opcode::add, {reg(r.c_off), reg(r.c_off), imm(len)});
  b.emit(Opcode::add, {reg(r.b_idx), reg(r.b_idx), imm(scalar_op)});
  b.emit(Opcode::blt, {reg(r.c_off), reg(r.bound), b.label(jloop)});
  b.place(jend);
  b.emit(Opcode::add, {reg(r.a_off), reg(r.a_off), imm(vec_k)});
  b.emit(Opcode::add, {reg(r.u), reg(r.u), imm(scalar_k)});
  b.emit(Opcode::add, {reg(r.k), reg(r.k), imm(1)});
  b.emit(Opcode::blt, {reg(r.k), imm(kb), b.label(kloop)});
  // The peeled last op: the vector operand of k = kb - 1 (still in d_a), the last destination.
  b.emit(Opcode::mdsd, {dsd(r.d_c), ir::sym_op(dst_sym), reg(r.c_off), imm(len), imm(1)});
  b.emit(Opcode::ld, {reg(r.b_val), ir::sym_op(scalar_sym), reg(r.b_idx)});
  b.emit_async(Opcode::vfma, {dsd(r.d_c), dsd(r.d_a), reg(r.b_val), dsd(r.d_c)}, ir::OnDone::activate, done);
}

void emit_gemm_entry(CodeBuilder& b, int64_t mb, int64_t nb, const GemmSyms& y, const GemmRegs& r, int first) {
  b.emit(Opcode::movi, {reg(r.phase), imm(0)});
  if (y.rows >= 0) {
    b.emit(Opcode::mdsd, {dsd(r.d_a), ir::sym_op(y.bias), imm(0), imm(int32_t(nb)), imm(1)});
    for_each_row(b, mb, nb, r, [&] {
      b.emit(Opcode::mdsd, {dsd(r.d_c), ir::sym_op(y.rows), reg(r.c_off), imm(int32_t(nb)), imm(1)});
      b.emit(Opcode::vmov, {dsd(r.d_c), dsd(r.d_a)});
    });
  } else {
    const int init = b.new_label();
    b.emit(Opcode::movi, {reg(r.k), imm(0)});
    b.emit(Opcode::movi, {reg(r.c_off), imm(0)});
    b.place(init);
    b.emit(Opcode::mdsd, {dsd(r.d_c), ir::sym_op(y.c), reg(r.c_off), imm(int32_t(mb)), imm(1)});
    b.emit(Opcode::ld, {reg(r.b_val), ir::sym_op(y.bias), reg(r.k)});
    b.emit(Opcode::vmov, {dsd(r.d_c), reg(r.b_val)});
    b.emit(Opcode::add, {reg(r.c_off), reg(r.c_off), imm(int32_t(mb))});
    b.emit(Opcode::add, {reg(r.k), reg(r.k), imm(1)});
    b.emit(Opcode::blt, {reg(r.k), imm(int32_t(nb)), b.label(init)});
  }
  b.emit(Opcode::activate, {ir::task_op(first)});
  b.emit(Opcode::ret, {});
}

Expected<int> emit_product_finish(Emit& e, bool rows, int64_t mb, int64_t nb, DType acc, GemmSyms& y,
                                  const GemmRegs& r, int done) {
  if (!rows) return done;
  auto id = e.pools.tasks.take(1, e.name("gemm"));
  if (!id) return id.status();
  const int finish = (*id)[0];
  CodeBuilder& b = e.code;
  y.rows = b.symbol(e.name("Crows"), acc, uint32_t(mb * nb));
  b.task(e.name("rows_to_c"), finish, ir::TaskKind::local);
  b.begin_task(finish);
  for_each_row(b, mb, nb, r, [&] {
    b.emit(Opcode::mdsd, {dsd(r.d_a), ir::sym_op(y.rows), reg(r.c_off), imm(int32_t(nb)), imm(1)});
    b.emit(Opcode::mdsd, {dsd(r.d_c), ir::sym_op(y.c), reg(r.k), imm(int32_t(nb)), imm(int32_t(mb))});
    b.emit(Opcode::vmov, {dsd(r.d_c), dsd(r.d_a)});
  });
  if (done >= 0) b.emit(Opcode::activate, {ir::task_op(done)});
  b.emit(Opcode::ret, {});
  return finish;
}

void emit_part_done(CodeBuilder& b, const GemmRegs& r, int phases, int next, int done) {
  const int out = b.new_label(), again = b.new_label();
  b.emit(Opcode::sub, {reg(r.pending), reg(r.pending), imm(1)});
  b.emit(Opcode::bne, {reg(r.pending), imm(0), b.label(out)});
  b.emit(Opcode::add, {reg(r.phase), reg(r.phase), imm(1)});
  b.emit(Opcode::blt, {reg(r.phase), imm(phases), b.label(again)});
  if (done >= 0) b.emit(Opcode::activate, {ir::task_op(done)});
  b.emit(Opcode::jmp, {b.label(out)});
  b.place(again);
  b.emit(Opcode::activate, {ir::task_op(next)});
  b.place(out);
  b.emit(Opcode::ret, {});
}

void emit_current_halves(CodeBuilder& b, const GemmRegs& r, int parity_shift, int64_t a_half, int64_t b_half) {
  b.emit(Opcode::add, {reg(r.tmp), reg(r.phase), imm(parity_shift)});
  b.emit(Opcode::and_, {reg(r.tmp), reg(r.tmp), imm(1)});
  b.emit(Opcode::mul, {reg(r.cur_a), reg(r.tmp), imm(int32_t(a_half))});
  b.emit(Opcode::mul, {reg(r.cur_b), reg(r.tmp), imm(int32_t(b_half))});
}

std::vector<double> matrix_block(int64_t br, int64_t bc, int64_t bi, int64_t bj, bool col_major,
                                 const MatrixFn& value, size_t capacity) {
  std::vector<double> v(std::max(size_t(br * bc), capacity));
  for (int64_t c = 0; c < bc; ++c) {
    for (int64_t r = 0; r < br; ++r)
      v[size_t(col_major ? c * br + r : r * bc + c)] = value(bi * br + r, bj * bc + c);
  }
  return v;
}

Status check_gemm_divides(const GemmShape& s) {
  if (s.M % s.h != 0) return make_error("M = {} does not divide evenly over {} rows of PEs", s.M, s.h);
  if (s.N % s.w != 0) return make_error("N = {} does not divide evenly over {} columns of PEs", s.N, s.w);
  if (s.K % s.w != 0 || s.K % s.h != 0)
    return make_error("K = {} does not divide evenly over {}x{} PEs", s.K, s.w, s.h);
  return Status::ok();
}

}  // namespace wafer::kernels
