// GEMM by SUMMA (the vendor's default algorithm) on a P x Q rectangle.
//
// PE (x, y) holds A block (y, x) (M/P x K/Q, column-major), B block (y, x) (K/P x N/Q,
// row-major) and C block (y, x). K is cut into S = lcm(P, Q) panels of K/S; in round s the
// PE column owning A's panel s broadcasts it along every row and the PE row owning B's panel
// s broadcasts it down every column. A broadcast from any PE of a line uses two colors: one
// whose routes carry wavelets away from coordinate 0 (and back to the sender's own core) and
// one towards coordinate 0 (likewise); PEs beyond the sender receive from the first, PEs
// before it from the second. The sender sends its panel towards 0, and as its own copy comes
// back wavelet by wavelet it forwards it on the away color (fabric to fabric: no memory
// access); it takes its own copy of the away stream into its buffer, so its single SRAM write
// port, the GEMM's bound on blocks of few rows, carries the panel once, as every other PE's
// does. Colors alternate by round parity, so two consecutive rounds never share a color; a
// round's colors are used again two rounds later. Reuse is safe only if round p + 2's stream
// never meets round p's at a router that both enter (a color's route takes the ramp and the
// upstream port, and the router interleaves the two wavelet by wavelet). The sender's
// coordinate never decreases with the round, so round p + 2's sender is round p's or lies
// beyond it, and only the toward-0 color can meet: round p + 2's toward stream passes round
// p's sender's router. The away stream's last wavelet leaves the sender after its toward
// stream's last one has come back through its router, so every PE beyond it, round p + 2's
// sender included, finishes round p after the toward stream has left. Phase p starts round p
// into one half of the panel buffers and multiplies round p - 1's panels from the other half.
// For C = A·Bᵀ the PE holds block (x, y) of Bᵀ (N/Q x K/P) column-major: the same bytes as
// B's block (y, x) row-major, so only the host's blocks differ.
//
// Bᵀ as a producer leaves it (GemmShape::b_as_produced; square rectangles): PE (x, y) holds
// Bᵀ block (y, x), the rows of Bᵀ that C's column y needs. Round s's Bᵀ panel first goes
// along each row from the owning column, as A's does, into a relay buffer; in the next phase
// the diagonal PE (x, x) broadcasts it down column x (the line's routes take any sender), and
// A's panel of round s goes along the rows in that phase too. Phase p so starts round p's
// relay, round p - 1's A and B broadcasts and round p - 2's product: three stages, each
// buffer double.
#include <numeric>

#include "wafer/kernels/gemm_emit.hpp"
#include "mesh.hpp"

namespace wafer::kernels {

using ir::CodeBuilder;
using ir::dsd;
using ir::imm;
using ir::Opcode;
using ir::reg;

namespace {

// One operand's broadcast line: along rows for A (axis x), down columns for B (axis y).
struct Line {
  Axis axis;
  int origin, n;           // the rectangle's first coordinate and extent along the axis
  int64_t block_k, unit;   // the block's extent along K, elements per step along K
  int64_t len;             // panel elements
  int block, buf;          // symbols: the PE's own block, the two-half panel buffer
  int away[2], toward[2];  // colors by round parity
  int sent_away, sent_toward, got_away, got_toward;  // completion tasks
  const char* name = "";   // the operand: a, b, bt
  int delay = 0;           // phase p carries round p - delay
  // The diagonal relay: the sender of column x is row x, and it sends its half of `relay`
  // (the round's panel it received) instead of a panel of its own block. -1: not a relay.
  int relay = -1, diagonal_origin = 0;
};

void emit_receive(CodeBuilder& b, const Line& l, int color, int par, DType t, const GemmRegs& r, int done) {
  b.emit(Opcode::fdsd, {dsd(r.d_fab), ir::color_op(color), imm(int32_t(l.len)), ir::dtype_op(t)});
  b.emit(Opcode::mdsd, {dsd(r.d_mem), ir::sym_op(l.buf), imm(int32_t(par * l.len)), imm(int32_t(l.len)), imm(1)});
  b.emit_async(Opcode::vmov, {dsd(r.d_mem), dsd(r.d_fab)}, ir::OnDone::activate, done);
}

void emit_send(CodeBuilder& b, const Line& l, int color, DType t, const GemmRegs& r, int done) {
  b.emit(Opcode::fdsd, {dsd(r.d_fab), ir::color_op(color), imm(int32_t(l.len)), ir::dtype_op(t)});
  b.emit_async(Opcode::vmov, {dsd(r.d_fab), dsd(r.d_mem)}, ir::OnDone::activate, done);
}

// Points d_mem at the panel the line's sender sends in `round` (parity `par`): a slice of its
// own block, or the relay buffer's half.
void emit_source(CodeBuilder& b, const Line& l, int round, int par, int64_t kp, const GemmRegs& r) {
  if (l.relay >= 0) {
    b.emit(Opcode::mdsd, {dsd(r.d_mem), ir::sym_op(l.relay), imm(int32_t(par * l.len)), imm(int32_t(l.len)), imm(1)});
    return;
  }
  b.emit(Opcode::mul, {reg(r.tmp), reg(round), imm(int32_t(kp))});
  b.emit(Opcode::rem, {reg(r.tmp), reg(r.tmp), imm(int32_t(l.block_k))});
  b.emit(Opcode::mul, {reg(r.tmp), reg(r.tmp), imm(int32_t(l.unit))});
  b.emit(Opcode::mdsd, {dsd(r.d_mem), ir::sym_op(l.block), reg(r.tmp), imm(int32_t(l.len)), imm(1)});
}

// The line's round (in register `round`) of its broadcast, for round parity `par`.
void emit_round(CodeBuilder& b, const Line& l, int round, int par, int rounds, int64_t kp, DType t, const GemmRegs& r,
                int end) {
  const int src = b.new_label(), before = b.new_label();
  if (l.relay >= 0) {
    b.emit(Opcode::sub, {reg(r.tmp), ir::special(ir::Special::x), imm(l.diagonal_origin)});
  } else {
    b.emit(Opcode::mul, {reg(r.tmp), reg(round), imm(l.n)});
    b.emit(Opcode::div, {reg(r.tmp), reg(r.tmp), imm(rounds)});  // the sender's coordinate
  }
  b.emit(Opcode::sub, {reg(r.tmp2), ir::special(l.axis.coord), imm(l.origin)});
  b.emit(Opcode::beq, {reg(r.tmp2), reg(r.tmp), b.label(src)});
  b.emit(Opcode::blt, {reg(r.tmp2), reg(r.tmp), b.label(before)});
  emit_receive(b, l, l.away[par], par, t, r, l.got_away);
  b.emit(Opcode::add, {reg(r.pending), reg(r.pending), imm(1)});
  b.emit(Opcode::jmp, {b.label(end)});
  b.place(before);
  emit_receive(b, l, l.toward[par], par, t, r, l.got_toward);
  b.emit(Opcode::add, {reg(r.pending), reg(r.pending), imm(1)});
  b.emit(Opcode::jmp, {b.label(end)});
  b.place(src);
  emit_source(b, l, round, par, kp, r);
  emit_send(b, l, l.toward[par], t, r, l.sent_toward);
  // The sender's own toward copy, wavelet by wavelet as it comes back through its router, goes
  // out on the away color (fabric to fabric, no memory access); the away copy fills its buffer.
  b.emit(Opcode::fdsd, {dsd(r.d_fab), ir::color_op(l.toward[par]), imm(int32_t(l.len)), ir::dtype_op(t)});
  b.emit(Opcode::fdsd, {dsd(r.d_c), ir::color_op(l.away[par]), imm(int32_t(l.len)), ir::dtype_op(t)});
  b.emit_async(Opcode::vmov, {dsd(r.d_c), dsd(r.d_fab)}, ir::OnDone::activate, l.sent_away);
  emit_receive(b, l, l.away[par], par, t, r, l.got_away);
  b.emit(Opcode::add, {reg(r.pending), reg(r.pending), imm(3)});  // sent toward, forwarded away, got away
}

// The line's round of this phase: round = phase when `guarded` is false (the caller checked
// phase < rounds), else phase - delay in r.v, when delay <= phase < rounds + delay.
void emit_line(CodeBuilder& b, const Line& l, int rounds, int64_t kp, DType t, const GemmRegs& r, bool guarded) {
  const int odd = b.new_label(), end = b.new_label();
  int round = r.phase;
  if (guarded) {
    round = r.v;
    b.emit(Opcode::sub, {reg(r.v), reg(r.phase), imm(l.delay)});
    b.emit(Opcode::blt, {reg(r.v), imm(0), b.label(end)});
    b.emit(Opcode::bge, {reg(r.v), imm(rounds), b.label(end)});
  }
  b.emit(Opcode::and_, {reg(r.tmp), reg(round), imm(1)});
  b.emit(Opcode::bne, {reg(r.tmp), imm(0), b.label(odd)});
  emit_round(b, l, round, 0, rounds, kp, t, r, end);
  b.emit(Opcode::jmp, {b.label(end)});
  b.place(odd);
  emit_round(b, l, round, 1, rounds, kp, t, r, end);
  b.place(end);
}

void line_routes(ir::Program& p, const Line& l, const ir::Rect& rect) {
  const ir::PortMask R = ir::port_bit(ir::Dir::ramp), to = ir::port_bit(l.axis.toward), away = ir::port_bit(l.axis.away);
  for (int c = 0; c < l.n; ++c) {
    const ir::Rect s = slice(l.axis, rect, c);
    for (int par = 0; par < 2; ++par) {
      ir::add_route(p, s, l.away[par], ir::PortMask((c > 0 ? to : 0) | R), ir::PortMask((c < l.n - 1 ? away : 0) | R));
      ir::add_route(p, s, l.toward[par], ir::PortMask((c < l.n - 1 ? away : 0) | R), ir::PortMask((c > 0 ? to : 0) | R));
    }
  }
}

}  // namespace

Expected<GemmEmitted> emit_summa_gemm(Emit& e, const Site& site, const GemmShape& s) {
  const std::string user = e.name("gemm");
  WAFER_TRY(check_gemm_divides(s).with_context(user));
  const int rounds = std::lcm(s.w, s.h);
  if (s.K % rounds != 0)
    return make_error("{}: summa cuts K = {} into lcm({}, {}) = {} panels, which does not divide it", user, s.K,
                      s.w, s.h, rounds);
  const bool relayed = s.b_transposed && s.b_as_produced;
  if (relayed && s.w != s.h)
    return make_error("{}: Bᵀ as produced (block (y, x) on PE (x, y)) needs a square rectangle of PEs, got {}x{}",
                      user, s.w, s.h);
  const int lead = relayed ? 1 : 0;  // phases before round 0's A and B broadcasts
  const int64_t mb = s.M / s.h, nb = s.N / s.w, kp = s.K / rounds;
  auto colors = e.pools.colors.take(relayed ? 12 : 8, user);
  if (!colors) return colors.status();
  auto r = take_gemm_regs(e.pools, user);
  if (!r) return r.status();
  auto ids = e.pools.tasks.take(relayed ? 15 : 11, user);
  if (!ids) return ids.status();
  const std::vector<int>& t = *ids;
  const std::vector<int>& c = *colors;
  const int entry = site.entry_task >= 0 ? site.entry_task : t[10], phase = t[0];
  CodeBuilder& b = e.code;
  GemmSyms y{b.symbol(e.name("Apanel"), s.t, uint32_t(2 * mb * kp)), b.symbol(e.name("Bpanel"), s.t, uint32_t(2 * kp * nb)),
             b.symbol(e.name("C"), s.acc, uint32_t(mb * nb)), b.symbol(e.name("bias"), s.t, uint32_t(nb))};
  auto finish = emit_product_finish(e, summa_product_in_rows(e.arch, s), mb, nb, s.acc, y, *r, site.done_task);
  if (!finish) return finish.status();
  const int a_block = s.a_symbol >= 0 ? s.a_symbol : b.symbol(e.name("A"), s.t, uint32_t(mb * (s.K / s.w)));
  const int b_block = relayed && s.b_symbol >= 0 ? s.b_symbol : b.symbol(e.name("B"), s.t, uint32_t((s.K / s.h) * nb));
  Line a_line{Axis::row(), site.rect.x, s.w, s.K / s.w, mb, mb * kp, a_block, y.a, {c[0], c[1]}, {c[2], c[3]},
              t[2], t[3], t[4], t[5]};
  Line b_line{Axis::column(), site.rect.y, s.h, s.K / s.h, nb, kp * nb, b_block, y.b, {c[4], c[5]}, {c[6], c[7]},
              t[6], t[7], t[8], t[9]};
  a_line.delay = b_line.delay = lead;
  a_line.name = "a";
  b_line.name = "b";
  std::vector<std::pair<const char*, int>> parts = {
      {"computed", t[1]},     {"sent_a_east", t[2]},  {"sent_a_west", t[3]},  {"got_a_east", t[4]},
      {"got_a_west", t[5]},   {"sent_b_south", t[6]}, {"sent_b_north", t[7]}, {"got_b_south", t[8]},
      {"got_b_north", t[9]}};
  std::vector<Line> lines;
  if (relayed) {
    // Bᵀ block (y, x) is N/H x K/W column-major: panel s is kp of its columns, nb rows each.
    const int relay = b.symbol(e.name("Brelay"), s.t, uint32_t(2 * nb * kp));
    lines.push_back(Line{Axis::row(), site.rect.x, s.w, s.K / s.w, nb, nb * kp, b_block, relay, {c[8], c[9]},
                         {c[10], c[11]}, t[11], t[12], t[13], t[14]});
    lines.back().name = "bt";
    b_line.relay = relay;
    b_line.diagonal_origin = site.rect.x;
    for (auto [name, i] : {std::pair{"sent_bt_east", 11}, {"sent_bt_west", 12}, {"got_bt_east", 13}, {"got_bt_west", 14}})
      parts.push_back({name, t[size_t(i)]});
  }
  lines.push_back(a_line);
  lines.push_back(b_line);
  for (const Line& l : lines) line_routes(e.program, l, site.rect);
  b.task(e.name("entry"), entry, ir::TaskKind::local);
  b.begin_task(entry);
  emit_gemm_entry(b, mb, nb, y, *r, phase);
  b.task(e.name("phase"), phase, ir::TaskKind::local);
  b.begin_task(phase);
  const int no_round = b.new_label(), no_product = b.new_label();
  b.emit(Opcode::movi, {reg(r->pending), imm(0)});
  if (!relayed) b.emit(Opcode::bge, {reg(r->phase), imm(rounds), b.label(no_round)});
  for (const Line& l : lines) emit_line(b, l, rounds, kp, s.t, *r, relayed);
  b.place(no_round);
  b.emit(Opcode::blt, {reg(r->phase), imm(lead + 1), b.label(no_product)});
  b.emit(Opcode::add, {reg(r->pending), reg(r->pending), imm(1)});
  emit_current_halves(b, *r, relayed ? 0 : 1, mb * kp, kp * nb);  // round phase - lead - 1
  emit_block_product(b, BlockProduct{mb, nb, kp, nb, 1}, y, *r, t[1]);
  b.place(no_product);
  b.emit(Opcode::ret, {});
  for (const auto& [name, task] : parts) {
    b.task(e.name(name), task, ir::TaskKind::local);
    b.begin_task(task);
    emit_part_done(b, *r, rounds + lead + 1, phase, *finish);
  }

  GemmEmitted out;
  out.entry = entry;
  out.c_symbol = y.c;
  out.held = r->held;
  const ir::Rect rect = site.rect;
  const int64_t ka = s.K / s.w, kb = s.K / s.h;
  const std::string a_name = e.name("A"), b_name = e.name("B"), bias_name = e.name("bias");
  const bool bt = s.b_transposed;
  out.inputs = [=](const MatrixFn& a, const MatrixFn& bm, const MatrixFn& bias) {
    auto b_block = [=](int px, int py) {
      if (relayed) return matrix_block(nb, ka, py, px, true, bm);
      return bt ? matrix_block(nb, kb, px, py, true, bm) : matrix_block(kb, nb, py, px, false, bm);
    };
    std::vector<HostCopy> copies;
    if (bm) copies.push_back({b_name, rect, {}, b_block});
    copies.push_back({bias_name, rect, {}, [=](int px, int) { return matrix_block(1, nb, 0, px, true, bias); }});
    if (a) copies.push_back({a_name, rect, {}, [=](int px, int py) { return matrix_block(mb, ka, py, px, true, a); }});
    return copies;
  };
  out.c_block = [](int px, int py) { return std::make_pair(py, px); };
  return out;
}

}  // namespace wafer::kernels
