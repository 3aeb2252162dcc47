// Column sum along a chain, rectangle-relative. The last row of the rectangle sends its
// vector north; every row between adds what arrives from the south to its own vector while
// it streams (vadd fab_out, fab_in, vec: one element per cycle, so the rows pipeline and the
// sum reaches row 0 after about rows x (hop + ramps) + len cycles); row 0 adds it into its
// vector. Row r sends on color c[r & 1] and receives on c[(r + 1) & 1], so no PE has two
// routes of one color: row r's route of c[r & 1] is R -> N, and of c[(r + 1) & 1] S -> R.
// The code branches on the row's parity, as a fabric DSD names its color as an immediate.
#include "colsum.hpp"

#include "mesh.hpp"

namespace wafer::kernels {

using ir::dsd;
using ir::imm;
using ir::Opcode;
using ir::reg;

namespace {

void colsum_routes(ir::Program& p, const ir::Rect& rect, const int c[2]) {
  const ir::PortMask R = ir::port_bit(ir::Dir::ramp), N = ir::port_bit(ir::Dir::north), S = ir::port_bit(ir::Dir::south);
  for (int r = 0; r < rect.h; ++r) {
    const ir::Rect row = slice(Axis::column(), rect, r);
    if (r > 0) ir::add_route(p, row, c[r & 1], R, N);
    if (r < rect.h - 1) ir::add_route(p, row, c[(r + 1) & 1], S, R);
  }
}

}  // namespace

Status emit_column_sum(Emit& e, const ir::Rect& rect, int vec, uint32_t len, DType t, int ry, int done,
                       const std::string& user) {
  ir::CodeBuilder& b = e.code;
  const ir::OnDone on = done >= 0 ? ir::OnDone::activate : ir::OnDone::none;
  if (rect.h == 1) {
    if (done >= 0) b.emit(Opcode::activate, {ir::task_op(done)});
    return Status::ok();
  }
  auto colors = e.pools.colors.take(2, user);
  if (!colors) return colors.status();
  auto tmp = e.pools.regs.take(user);
  if (!tmp) return tmp.status();
  auto d = e.pools.dsds.take(3, user);
  if (!d) return d.status();
  const int c[2] = {(*colors)[0], (*colors)[1]};
  const int d_vec = (*d)[0], d_in = (*d)[1], d_out = (*d)[2];
  colsum_routes(e.program, rect, c);
  const int first = b.new_label(), last = b.new_label(), odd = b.new_label(), end = b.new_label();
  auto fab = [&](int dreg, int color) {
    b.emit(Opcode::fdsd, {dsd(dreg), ir::color_op(color), imm(int32_t(len)), ir::dtype_op(t)});
  };
  b.emit(Opcode::mdsd, {dsd(d_vec), ir::sym_op(vec), imm(0), imm(int32_t(len)), imm(1)});
  b.emit(Opcode::beq, {reg(ry), imm(0), b.label(first)});
  b.emit(Opcode::and_, {reg(*tmp), reg(ry), imm(1)});
  b.emit(Opcode::beq, {reg(ry), imm(rect.h - 1), b.label(last)});
  b.emit(Opcode::bne, {reg(*tmp), imm(0), b.label(odd)});
  for (int par = 0; par < 2; ++par) {  // a middle row of parity par
    fab(d_out, c[par]);
    fab(d_in, c[1 - par]);
    b.emit_async(Opcode::vadd, {dsd(d_out), dsd(d_in), dsd(d_vec)}, on, done);
    b.emit(Opcode::jmp, {b.label(end)});
    if (par == 0) b.place(odd);
  }
  b.place(last);  // the last row only sends, on its parity's color
  const int last_odd = b.new_label();
  b.emit(Opcode::bne, {reg(*tmp), imm(0), b.label(last_odd)});
  fab(d_out, c[0]);
  b.emit_async(Opcode::vmov, {dsd(d_out), dsd(d_vec)}, on, done);
  b.emit(Opcode::jmp, {b.label(end)});
  b.place(last_odd);
  fab(d_out, c[1]);
  b.emit_async(Opcode::vmov, {dsd(d_out), dsd(d_vec)}, on, done);
  b.emit(Opcode::jmp, {b.label(end)});
  b.place(first);  // row 0 receives on c[1]
  fab(d_in, c[1]);
  b.emit_async(Opcode::vadd, {dsd(d_vec), dsd(d_in), dsd(d_vec)}, on, done);
  b.place(end);
  return Status::ok();
}

}  // namespace wafer::kernels
