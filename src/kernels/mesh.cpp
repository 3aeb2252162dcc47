// Collective patterns along an axis: code emitters and their routes; see mesh.hpp.
#include "mesh.hpp"

namespace wafer::kernels {

using ir::add_route;
using ir::CodeBuilder;
using ir::Dir;
using ir::Opcode;
using ir::port_bit;

namespace {
constexpr int kSendDsd = 14, kRecvDsd = 15;
const ir::PortMask R = port_bit(Dir::ramp);
}  // namespace

ir::Rect slice(const Axis& a, const ir::Rect& g, int c) {
  return a.coord == ir::Special::x ? ir::Rect{g.x + c, g.y, 1, g.h} : ir::Rect{g.x, g.y + c, g.w, 1};
}

int extent(const Axis& a, const ir::Rect& g) { return a.coord == ir::Special::x ? g.w : g.h; }

namespace {

// One parity's role in a chain: send on `send`, receive on `recv`.
void emit_chain_role(CodeBuilder& b, const Axis& a, int n, int vec, uint32_t len, DType t,
                     int send, int recv, int done) {
  const int first = b.new_label(), last = b.new_label();
  const ir::Operand coord = ir::special(a.coord);
  b.emit(Opcode::beq, {coord, ir::imm(0), b.label(first)});
  b.emit(Opcode::beq, {coord, ir::imm(n - 1), b.label(last)});
  b.emit(Opcode::fdsd, {ir::dsd(kSendDsd), ir::color_op(send), ir::imm(int32_t(len)), ir::dtype_op(t)});
  b.emit(Opcode::fdsd, {ir::dsd(kRecvDsd), ir::color_op(recv), ir::imm(int32_t(len)), ir::dtype_op(t)});
  b.emit(Opcode::vadd, {ir::dsd(kSendDsd), ir::dsd(kRecvDsd), ir::dsd(vec)});
  b.emit(Opcode::jmp, {b.label(done)});
  b.place(last);
  b.emit(Opcode::fdsd, {ir::dsd(kSendDsd), ir::color_op(send), ir::imm(int32_t(len)), ir::dtype_op(t)});
  b.emit(Opcode::vmov, {ir::dsd(kSendDsd), ir::dsd(vec)});
  b.emit(Opcode::jmp, {b.label(done)});
  b.place(first);
  b.emit(Opcode::fdsd, {ir::dsd(kRecvDsd), ir::color_op(recv), ir::imm(int32_t(len)), ir::dtype_op(t)});
  b.emit(Opcode::vadd, {ir::dsd(vec), ir::dsd(kRecvDsd), ir::dsd(vec)});
  b.emit(Opcode::jmp, {b.label(done)});
}

}  // namespace

void emit_chain_reduce(CodeBuilder& b, const Axis& a, int n, int vec, uint32_t len, DType t,
                       int c0, int c1) {
  if (n < 2) return;
  const int odd = b.new_label(), done = b.new_label();
  b.emit(Opcode::and_, {ir::reg(0), ir::special(a.coord), ir::imm(1)});
  b.emit(Opcode::bne, {ir::reg(0), ir::imm(0), b.label(odd)});
  emit_chain_role(b, a, n, vec, len, t, c0, c1, done);
  b.place(odd);
  emit_chain_role(b, a, n, vec, len, t, c1, c0, done);
  b.place(done);
}

void chain_reduce_routes(ir::Program& p, const Axis& a, const ir::Rect& g, int c0, int c1) {
  const int n = extent(a, g);
  for (int c = 0; c < n && n > 1; ++c) {
    const int send = (c & 1) ? c1 : c0, recv = (c & 1) ? c0 : c1;
    if (c > 0) add_route(p, slice(a, g, c), send, R, port_bit(a.toward));
    if (c < n - 1) add_route(p, slice(a, g, c), recv, port_bit(a.away), R);
  }
}

int tree_levels(int n) {
  int levels = 0;
  while ((1 << levels) < n) ++levels;
  return levels;
}

void emit_tree_reduce(CodeBuilder& b, const Axis& a, int n, int vec, uint32_t len, DType t,
                      int base_color) {
  const ir::Operand coord = ir::special(a.coord);
  for (int s = 0; s < tree_levels(n); ++s) {
    const int step = 1 << s;
    const int send = b.new_label(), next = b.new_label();
    b.emit(Opcode::and_, {ir::reg(0), coord, ir::imm(2 * step - 1)});
    b.emit(Opcode::beq, {ir::reg(0), ir::imm(step), b.label(send)});
    b.emit(Opcode::bne, {ir::reg(0), ir::imm(0), b.label(next)});
    b.emit(Opcode::add, {ir::reg(1), coord, ir::imm(step)});
    b.emit(Opcode::bge, {ir::reg(1), ir::imm(n), b.label(next)});
    b.emit(Opcode::fdsd, {ir::dsd(kRecvDsd), ir::color_op(base_color + s), ir::imm(int32_t(len)), ir::dtype_op(t)});
    b.emit(Opcode::vadd, {ir::dsd(vec), ir::dsd(kRecvDsd), ir::dsd(vec)});
    b.emit(Opcode::jmp, {b.label(next)});
    b.place(send);
    b.emit(Opcode::fdsd, {ir::dsd(kSendDsd), ir::color_op(base_color + s), ir::imm(int32_t(len)), ir::dtype_op(t)});
    b.emit(Opcode::vmov, {ir::dsd(kSendDsd), ir::dsd(vec)});
    b.emit(Opcode::ret, {});
    b.place(next);
  }
}

void tree_reduce_routes(ir::Program& p, const Axis& a, const ir::Rect& g, int base_color) {
  const int n = extent(a, g);
  const ir::PortMask toward = port_bit(a.toward), away = port_bit(a.away);
  for (int s = 0; s < tree_levels(n); ++s) {
    const int step = 1 << s, color = base_color + s;
    for (int recv = 0; recv + step < n; recv += 2 * step) {
      add_route(p, slice(a, g, recv), color, away, R);
      for (int c = recv + 1; c < recv + step; ++c) add_route(p, slice(a, g, c), color, away, toward);
      add_route(p, slice(a, g, recv + step), color, R, toward);
    }
  }
}

void emit_line_broadcast(CodeBuilder& b, const Axis& a, int vec, uint32_t len, DType t, int color) {
  const int receive = b.new_label(), done = b.new_label();
  b.emit(Opcode::bne, {ir::special(a.coord), ir::imm(0), b.label(receive)});
  b.emit(Opcode::fdsd, {ir::dsd(kSendDsd), ir::color_op(color), ir::imm(int32_t(len)), ir::dtype_op(t)});
  b.emit(Opcode::vmov, {ir::dsd(kSendDsd), ir::dsd(vec)});
  b.emit(Opcode::jmp, {b.label(done)});
  b.place(receive);
  b.emit(Opcode::fdsd, {ir::dsd(kRecvDsd), ir::color_op(color), ir::imm(int32_t(len)), ir::dtype_op(t)});
  b.emit(Opcode::vmov, {ir::dsd(vec), ir::dsd(kRecvDsd)});
  b.place(done);
}

void line_broadcast_routes(ir::Program& p, const Axis& a, const ir::Rect& g, int color) {
  const int n = extent(a, g);
  if (n < 2) return;
  const ir::PortMask toward = port_bit(a.toward), away = port_bit(a.away);
  add_route(p, slice(a, g, 0), color, R, away);
  for (int c = 1; c < n - 1; ++c) add_route(p, slice(a, g, c), color, toward, away | R);
  add_route(p, slice(a, g, n - 1), color, toward, R);
}

void grid_broadcast_routes(ir::Program& p, const ir::Rect& g, int color) {
  const ir::PortMask N = port_bit(Dir::north), S = port_bit(Dir::south);
  const ir::PortMask E = port_bit(Dir::east), W = port_bit(Dir::west);
  const ir::PortMask east = g.w > 1 ? E : 0;
  for (int r = 0; r < g.h; ++r) {
    const ir::PortMask rx = r == 0 ? R : N;
    const ir::PortMask south = r + 1 < g.h ? S : 0;
    const ir::PortMask self = r == 0 ? 0 : R;
    if ((south | east | self) != 0) add_route(p, {g.x, g.y + r, 1, 1}, color, rx, south | east | self);
  }
  if (g.w > 2) add_route(p, {g.x + 1, g.y, g.w - 2, g.h}, color, W, E | R);
  if (g.w > 1) add_route(p, {g.x + g.w - 1, g.y, 1, g.h}, color, W, R);
}

ir::Program single_code_program(int width, int height, ir::Code code) {
  ir::Program p;
  p.width = width;
  p.height = height;
  p.codes.push_back(std::move(code));
  p.placements.push_back(ir::Placement{{0, 0, width, height}, 0, {}});
  return p;
}

}  // namespace wafer::kernels
