// GEMM by Cannon's algorithm on interleaved rings (the shift-based algorithm of WaferLLM's
// MeshGEMM), on a g x g rectangle.
//
// The PE at ring position (lx, ly) (ring.hpp: ring neighbours are at most 2 PEs apart) holds
// C block (ly, lx) and, aligned as Cannon needs, A block (ly, (lx + ly) mod g) and B block
// ((lx + ly) mod g, lx); the alignment is where the host (or a producer) places the data,
// not a fabric step. Phase p multiplies the current A and B blocks into C while, except in
// the last phase, the same blocks travel to the ring predecessors (A along the row, B up the
// column) into the other half of the double buffers. For C = A·Bᵀ the B buffers hold the
// blocks of Bᵀ ((lx, (lx + ly) mod g), column-major, N/g x K/g) and the block product reads
// B[k, j] = Bᵀ[j, k] at j + k·nb instead of k + j·kb; the shifts move the same bytes. A PE's send and receive colors depend on
// its place in the ring; the host writes the PE's case of each shift into `roles`, and the
// code switches on it.
#include "wafer/kernels/gemm_emit.hpp"
#include "ring.hpp"

namespace wafer::kernels {

using ir::CodeBuilder;
using ir::dsd;
using ir::imm;
using ir::Opcode;
using ir::reg;

namespace {

// One switch case per (send color, receive color) pair: send the current half of `sym`,
// receive into the other half.
void emit_shift(CodeBuilder& b, const RingShift& s, int sym, int cur_reg, int64_t half, DType t,
                const GemmRegs& r, int send_done, int recv_done) {
  const int after = b.new_label();
  for (size_t i = 0; i < s.cases.size(); ++i) {
    const int next = b.new_label();
    b.emit(Opcode::bne, {reg(r.tmp2), imm(int32_t(i)), b.label(next)});
    b.emit(Opcode::fdsd, {dsd(r.d_fab), ir::color_op(s.cases[i].first), imm(int32_t(half)), ir::dtype_op(t)});
    b.emit(Opcode::mdsd, {dsd(r.d_mem), ir::sym_op(sym), reg(cur_reg), imm(int32_t(half)), imm(1)});
    b.emit_async(Opcode::vmov, {dsd(r.d_fab), dsd(r.d_mem)}, ir::OnDone::activate, send_done);
    b.emit(Opcode::sub, {reg(r.tmp), imm(int32_t(half)), reg(cur_reg)});
    b.emit(Opcode::fdsd, {dsd(r.d_fab), ir::color_op(s.cases[i].second), imm(int32_t(half)), ir::dtype_op(t)});
    b.emit(Opcode::mdsd, {dsd(r.d_mem), ir::sym_op(sym), reg(r.tmp), imm(int32_t(half)), imm(1)});
    b.emit_async(Opcode::vmov, {dsd(r.d_mem), dsd(r.d_fab)}, ir::OnDone::activate, recv_done);
    b.emit(Opcode::jmp, {b.label(after)});
    b.place(next);
  }
  b.place(after);
}

}  // namespace

Expected<GemmEmitted> emit_cannon_gemm(Emit& e, const Site& site, const GemmShape& s) {
  const std::string user = e.name("gemm");
  WAFER_TRY(check_gemm_divides(s).with_context(user));
  if (s.w != s.h) return make_error("{}: cannon needs a square rectangle of PEs, got {}x{}", user, s.w, s.h);
  if (s.a_symbol >= 0)
    return make_error("{}: cannon reads A from its own aligned double buffer; chain a producer into summa", user);
  const int g = s.w;
  const int64_t mb = s.M / g, nb = s.N / g, kb = s.K / g;
  auto row = plan_ring_shift(g, e.pools.colors, user);
  if (!row) return row.status();
  auto col = plan_ring_shift(g, e.pools.colors, user);
  if (!col) return col.status();
  ring_shift_routes(e.program, Axis::row(), site.rect, *row);
  ring_shift_routes(e.program, Axis::column(), site.rect, *col);
  auto r = take_gemm_regs(e.pools, user);
  if (!r) return r.status();
  auto ids = e.pools.tasks.take(7, user);
  if (!ids) return ids.status();
  const int entry = site.entry_task >= 0 ? site.entry_task : (*ids)[6], phase = (*ids)[0];
  const int* parts = &(*ids)[1];  // computed, sent A, got A, sent B, got B
  CodeBuilder& b = e.code;
  const int64_t a_half = mb * kb, b_half = kb * nb;
  GemmSyms y{b.symbol(e.name("A"), s.t, uint32_t(2 * a_half)), b.symbol(e.name("B"), s.t, uint32_t(2 * b_half)),
             b.symbol(e.name("C"), s.acc, uint32_t(mb * nb)), b.symbol(e.name("bias"), s.t, uint32_t(nb))};
  auto finish = emit_product_finish(e, cannon_product_in_rows(e.arch, s), mb, nb, s.acc, y, *r, site.done_task);
  if (!finish) return finish.status();
  const int roles = b.symbol(e.name("roles"), DType::i32, 2);
  b.task(e.name("entry"), entry, ir::TaskKind::local);
  b.begin_task(entry);
  emit_gemm_entry(b, mb, nb, y, *r, phase);
  b.task(e.name("phase"), phase, ir::TaskKind::local);
  b.begin_task(phase);
  const int compute = b.new_label();
  emit_current_halves(b, *r, 0, a_half, b_half);
  b.emit(Opcode::movi, {reg(r->pending), imm(1)});
  b.emit(Opcode::bge, {reg(r->phase), imm(g - 1), b.label(compute)});
  b.emit(Opcode::movi, {reg(r->pending), imm(5)});
  b.emit(Opcode::ld, {reg(r->tmp2), ir::sym_op(roles), imm(0)});
  emit_shift(b, *row, y.a, r->cur_a, a_half, s.t, *r, parts[1], parts[2]);
  b.emit(Opcode::ld, {reg(r->tmp2), ir::sym_op(roles), imm(1)});
  emit_shift(b, *col, y.b, r->cur_b, b_half, s.t, *r, parts[3], parts[4]);
  b.place(compute);
  const BlockProduct product = s.b_transposed ? BlockProduct{mb, nb, kb, nb, 1} : BlockProduct{mb, nb, kb, 1, kb};
  emit_block_product(b, product, y, *r, parts[0]);
  b.emit(Opcode::ret, {});
  static const char* kParts[] = {"computed", "sent_a", "got_a", "sent_b", "got_b"};
  for (int i = 0; i < 5; ++i) {
    b.task(e.name(kParts[i]), parts[i], ir::TaskKind::local);
    b.begin_task(parts[i]);
    emit_part_done(b, *r, g, phase, *finish);
  }

  GemmEmitted out;
  out.entry = entry;
  out.c_symbol = y.c;
  out.held = r->held;
  const std::vector<int> pos = ring_positions(interleaved_ring(g));
  const std::vector<int> case_a = row->case_of, case_b = col->case_of;
  const ir::Rect rect = site.rect;
  const std::string a_name = e.name("A"), b_name = e.name("B"), bias_name = e.name("bias"), roles_name = e.name("roles");
  const bool bt = s.b_transposed;
  out.inputs = [=](const MatrixFn& a, const MatrixFn& bm, const MatrixFn& bias) {
    auto at = [pos](int c) { return pos[size_t(c)]; };
    auto b_block = [=](int px, int py) {
      const int kblock = (at(px) + at(py)) % g;
      return bt ? matrix_block(nb, kb, at(px), kblock, true, bm, size_t(2 * b_half))
                : matrix_block(kb, nb, kblock, at(px), true, bm, size_t(2 * b_half));
    };
    return std::vector<HostCopy>{
        {a_name, rect, {}, [=](int px, int py) { return matrix_block(mb, kb, at(py), (at(px) + at(py)) % g, true, a, size_t(2 * a_half)); }},
        {b_name, rect, {}, b_block},
        {bias_name, rect, {}, [=](int px, int) { return matrix_block(1, nb, 0, at(px), true, bias); }},
        {roles_name, rect, {}, [=](int px, int py) {
           return std::vector<double>{double(g > 1 ? case_a[size_t(px)] : 0), double(g > 1 ? case_b[size_t(py)] : 0)};
         }}};
  };
  out.c_block = [pos](int px, int py) { return std::make_pair(pos[size_t(py)], pos[size_t(px)]); };
  return out;
}

}  // namespace wafer::kernels
