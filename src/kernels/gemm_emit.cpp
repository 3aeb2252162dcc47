// The GEMM emitters both algorithms share (gemm_emit.hpp): registers, the entry, the block
// product as asynchronous FMAs with its last op peeled (so that its completion can start the
// count-down), the count-down, and the host's block extraction.
#include "wafer/kernels/gemm_emit.hpp"

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

void emit_block_product(CodeBuilder& b, const BlockProduct& p, const GemmSyms& y, const GemmRegs& r, int done) {
  const int32_t mb = int32_t(p.mb), nb = int32_t(p.nb), kb = int32_t(p.kb);
  const int kloop = b.new_label(), jtest = b.new_label(), jloop = b.new_label(), jend = b.new_label();
  b.emit(Opcode::movi, {reg(r.k), imm(0)});
  b.emit(Opcode::mov, {reg(r.a_off), reg(r.cur_a)});
  b.emit(Opcode::mov, {reg(r.u), reg(r.cur_b)});  // u = index of B[k, 0]
  b.place(kloop);
  b.emit(Opcode::mdsd, {dsd(r.d_a), ir::sym_op(y.a), reg(r.a_off), imm(mb), imm(1)});
  b.emit(Opcode::mov, {reg(r.b_idx), reg(r.u)});
  b.emit(Opcode::movi, {reg(r.c_off), imm(0)});
  b.emit(Opcode::movi, {reg(r.bound), imm(mb * nb)});
  b.emit(Opcode::bne, {reg(r.k), imm(kb - 1), b.label(jtest)});
  b.emit(Opcode::movi, {reg(r.bound), imm(mb * (nb - 1))});
  b.place(jtest);
  b.emit(Opcode::bge, {reg(r.c_off), reg(r.bound), b.label(jend)});
  b.place(jloop);
  b.emit(Opcode::mdsd, {dsd(r.d_c), ir::sym_op(y.c), reg(r.c_off), imm(mb), imm(1)});
  b.emit(Opcode::ld, {reg(r.b_val), ir::sym_op(y.b), reg(r.b_idx)});
  b.emit_async(Opcode::vfma, {dsd(r.d_c), dsd(r.d_a), reg(r.b_val), dsd(r.d_c)}, ir::OnDone::none, -1);
  b.emit(Opcode::add, {reg(r.c_off), reg(r.c_off), imm(mb)});
  b.emit(Opcode::add, {reg(r.b_idx), reg(r.b_idx), imm(int32_t(p.b_j))});
  b.emit(Opcode::blt, {reg(r.c_off), reg(r.bound), b.label(jloop)});
  b.place(jend);
  b.emit(Opcode::add, {reg(r.a_off), reg(r.a_off), imm(mb)});
  b.emit(Opcode::add, {reg(r.u), reg(r.u), imm(int32_t(p.b_k))});
  b.emit(Opcode::add, {reg(r.k), reg(r.k), imm(1)});
  b.emit(Opcode::blt, {reg(r.k), imm(kb), b.label(kloop)});
  // The peeled last op: A column kb - 1 (still in d_a), C column nb - 1, B[kb - 1, nb - 1].
  b.emit(Opcode::mdsd, {dsd(r.d_c), ir::sym_op(y.c), reg(r.c_off), imm(mb), imm(1)});
  b.emit(Opcode::ld, {reg(r.b_val), ir::sym_op(y.b), reg(r.b_idx)});
  b.emit_async(Opcode::vfma, {dsd(r.d_c), dsd(r.d_a), reg(r.b_val), dsd(r.d_c)}, ir::OnDone::activate, done);
}

void emit_gemm_entry(CodeBuilder& b, int64_t mb, int64_t nb, const GemmSyms& y, const GemmRegs& r, int first) {
  const int init = b.new_label();
  b.emit(Opcode::movi, {reg(r.phase), imm(0)});
  b.emit(Opcode::movi, {reg(r.k), imm(0)});
  b.emit(Opcode::movi, {reg(r.c_off), imm(0)});
  b.place(init);
  b.emit(Opcode::mdsd, {dsd(r.d_c), ir::sym_op(y.c), reg(r.c_off), imm(int32_t(mb)), imm(1)});
  b.emit(Opcode::ld, {reg(r.b_val), ir::sym_op(y.bias), reg(r.k)});
  b.emit(Opcode::vmov, {dsd(r.d_c), reg(r.b_val)});
  b.emit(Opcode::add, {reg(r.c_off), reg(r.c_off), imm(int32_t(mb))});
  b.emit(Opcode::add, {reg(r.k), reg(r.k), imm(1)});
  b.emit(Opcode::blt, {reg(r.k), imm(int32_t(nb)), b.label(init)});
  b.emit(Opcode::activate, {ir::task_op(first)});
  b.emit(Opcode::ret, {});
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
