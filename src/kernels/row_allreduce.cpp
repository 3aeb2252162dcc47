// The row all-reduce (row_allreduce.hpp): a K-tree into the middle column, a router
// multicast back.
#include "row_allreduce.hpp"

#include <cmath>
#include <map>

namespace wafer::kernels {

using ir::dsd;
using ir::imm;
using ir::Opcode;
using ir::reg;

std::vector<RowReduceRole> row_reduce_roles(int w, int root, const std::vector<int>& colors) {
  std::vector<RowReduceRole> roles(static_cast<size_t>(w));
  for (int side = 0; side < 2; ++side) {
    const int dir = side == 0 ? -1 : 1;  // west side: coordinates root - d
    const int depth = side == 0 ? root : w - 1 - root;
    if (depth == 0) continue;
    const int g = std::max(1, int(std::lround(std::sqrt(double(depth)))));
    const int* c = &colors[size_t(4 * side)];
    const int groups = (depth + g - 1) / g;
    for (int d = 1; d <= depth; ++d) {
      RowReduceRole& r = roles[size_t(root + dir * d)];
      const int q = (d - 1) / g, first = q * g + 1, last = std::min(depth, (q + 1) * g);
      if (d > first) r.out1 = c[d % 2];      // to d - 1
      if (d < last) r.in1 = c[(d + 1) % 2];  // from d + 1
      if (d == first) {
        r.out2 = c[2 + q % 2];  // to the leader of group q - 1, or the root
        if (q + 1 < groups) r.in2 = c[2 + (q + 1) % 2];
      }
    }
    (side == 0 ? roles[size_t(root)].in_w : roles[size_t(root)].in_e) = c[2];
  }
  return roles;
}

void row_reduce_routes(ir::Program& p, const ir::Rect& rect, int root, const std::vector<RowReduceRole>& roles) {
  const ir::PortMask R = ir::port_bit(ir::Dir::ramp);
  const ir::PortMask W = ir::port_bit(ir::Dir::west), E = ir::port_bit(ir::Dir::east);
  auto col = [&](int c) { return ir::Rect{rect.x + c, rect.y, 1, rect.h}; };
  for (int c = 0; c < rect.w; ++c) {
    const RowReduceRole& r = roles[size_t(c)];
    const bool west = c < root;
    const ir::PortMask toward = west ? E : W, from = west ? W : E;
    if (r.out1 >= 0) ir::add_route(p, col(c), r.out1, R, toward);
    if (r.in1 >= 0) ir::add_route(p, col(c), r.in1, from, R);
    if (r.out2 < 0) continue;
    // From the leader towards the next leader (or the root) through the members between;
    // the receiving end's route is added here too.
    ir::add_route(p, col(c), r.out2, R, toward);
    for (int k = c + (west ? 1 : -1);; k += west ? 1 : -1) {
      if (k == root || roles[size_t(k)].in2 == r.out2) {
        ir::add_route(p, col(k), r.out2, from, R);
        break;
      }
      ir::add_route(p, col(k), r.out2, from, toward);
    }
  }
}

Expected<RowAllReducePlan> plan_row_allreduce(Emit& e, const ir::Rect& rect, const std::string& user) {
  RowAllReducePlan plan;
  plan.rect = rect;
  plan.root = rect.w / 2;
  plan.roles.assign(size_t(rect.w), RowReduceRole{});
  if (rect.w == 1) return plan;
  // 4 colors per side that has PEs (the west side is empty only when w == 1), one broadcast.
  const bool east = rect.w - 1 - plan.root > 0;
  auto taken = e.pools.colors.take(east ? 9 : 5, user);
  if (!taken) return taken.status();
  plan.colors = *taken;
  std::vector<int> c8(plan.colors.begin(), plan.colors.end() - 1);
  while (c8.size() < 8) c8.push_back(-1);
  plan.bcast_color = plan.colors.back();
  plan.roles = row_reduce_roles(rect.w, plan.root, c8);

  row_reduce_routes(e.program, rect, plan.root, plan.roles);
  const ir::PortMask R = ir::port_bit(ir::Dir::ramp);
  const ir::PortMask W = ir::port_bit(ir::Dir::west), E = ir::port_bit(ir::Dir::east);
  const int root = plan.root;
  for (int c = 0; c < rect.w; ++c) {
    const bool west = c < root;
    // The broadcast: the root sends both ways, the others take a copy and pass it outwards.
    ir::PortMask tx = 0, rx = 0;
    if (c == root) {
      rx = R;
      if (c > 0) tx |= W;
      if (c < rect.w - 1) tx |= E;
    } else {
      rx = west ? E : W;
      tx = R;
      if (west && c > 0) tx |= W;
      if (!west && c < rect.w - 1) tx |= E;
    }
    ir::add_route(e.program, {rect.x + c, rect.y, 1, rect.h}, plan.bcast_color, rx, tx);
  }
  return plan;
}

void emit_reduce_role(ir::CodeBuilder& b, const RowReduceRole& r, int vec, int d_in, int d_out, uint32_t len,
                      DType t, Opcode op) {
  auto fab = [&](int d, int color) {
    b.emit(Opcode::fdsd, {dsd(d), ir::color_op(color), imm(int32_t(len)), ir::dtype_op(t)});
  };
  if (r.in1 >= 0 && r.out1 < 0) {  // a leader with a group behind it: take the group's result first
    fab(d_in, r.in1);
    b.emit(op, {dsd(vec), dsd(d_in), dsd(vec)});
  }
  const int out = r.out1 >= 0 ? r.out1 : r.out2;
  const int in = r.out1 >= 0 ? r.in1 : r.in2;
  if (out >= 0) {
    fab(d_out, out);
    if (in >= 0) {
      fab(d_in, in);
      b.emit(op, {dsd(d_out), dsd(d_in), dsd(vec)});
    } else {
      b.emit(Opcode::vmov, {dsd(d_out), dsd(vec)});
    }
  }
  for (int c : {r.in_w, r.in_e}) {
    if (c < 0) continue;
    fab(d_in, c);
    b.emit(op, {dsd(vec), dsd(d_in), dsd(vec)});
  }
}

Status emit_row_allreduce(Emit& e, const RowAllReducePlan& plan, int rx, int symbol, uint32_t offset,
                          uint32_t len, ReduceOp rop) {
  if (plan.rect.w == 1) return Status::ok();
  auto d = e.pools.dsds.take(3, "row all-reduce");
  if (!d) return d.status();
  const int vec = (*d)[0], d_in = (*d)[1], d_out = (*d)[2];
  const Opcode op = rop == ReduceOp::add ? Opcode::vadd : Opcode::vmax;
  ir::CodeBuilder& b = e.code;
  b.emit(Opcode::mdsd, {dsd(vec), ir::sym_op(symbol), imm(int32_t(offset)), imm(int32_t(len)), imm(1)});
  std::map<RowReduceRole, int> cases;
  for (const RowReduceRole& r : plan.roles) cases.emplace(r, b.new_label());
  const int end = b.new_label();
  for (int c = 0; c < plan.rect.w; ++c) {
    b.emit(Opcode::beq, {reg(rx), imm(c), b.label(cases.at(plan.roles[size_t(c)]))});
  }
  b.emit(Opcode::jmp, {b.label(end)});  // not reached: rx lies in the rectangle
  for (const auto& [role, label] : cases) {
    b.place(label);
    emit_reduce_role(b, role, vec, d_in, d_out, len, DType::f32, op);
    b.emit(Opcode::jmp, {b.label(end)});
  }
  b.place(end);
  // The broadcast back from the root.
  const int recv = b.new_label(), done = b.new_label();
  b.emit(Opcode::bne, {reg(rx), imm(plan.root), b.label(recv)});
  b.emit(Opcode::fdsd, {dsd(d_out), ir::color_op(plan.bcast_color), imm(int32_t(len)), ir::dtype_op(DType::f32)});
  b.emit(Opcode::vmov, {dsd(d_out), dsd(vec)});
  b.emit(Opcode::jmp, {b.label(done)});
  b.place(recv);
  b.emit(Opcode::fdsd, {dsd(d_in), ir::color_op(plan.bcast_color), imm(int32_t(len)), ir::dtype_op(DType::f32)});
  b.emit(Opcode::vmov, {dsd(vec), dsd(d_in)});
  b.place(done);
  e.pools.dsds.release(*d);
  return Status::ok();
}

}  // namespace wafer::kernels
