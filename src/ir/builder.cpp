// CodeBuilder: appends instructions and resolves labels; see builder.hpp.
#include "wafer/ir/builder.hpp"

#include <cstring>

#include "wafer/support/error.hpp"

namespace wafer::ir {

namespace {
Operand make(Operand::Kind kind, int32_t value) {
  Operand o;
  o.kind = kind;
  o.value = value;
  return o;
}
}  // namespace

Operand reg(int index) { return make(Operand::Kind::reg, index); }
Operand imm(int32_t value) { return make(Operand::Kind::imm, value); }
Operand fimm(float value) {
  int32_t bits;
  std::memcpy(&bits, &value, 4);
  Operand o = make(Operand::Kind::imm, bits);
  o.imm_is_float = true;
  return o;
}
Operand dsd(int index) { return make(Operand::Kind::dsd, index); }
Operand special(Special s) { return make(Operand::Kind::special, int32_t(s)); }
Operand color_op(int color) { return make(Operand::Kind::color, color); }
Operand task_op(int id) { return make(Operand::Kind::task, id); }
Operand sym_op(int symbol_index) { return make(Operand::Kind::sym, symbol_index); }
Operand dtype_op(DType t) { return make(Operand::Kind::dtype, int32_t(t)); }

void add_route(Program& p, const Rect& r, int color, PortMask rx, PortMask tx) {
  if (r.w < 1 || r.h < 1) return;
  Route route;
  route.rect = r;
  route.color = color;
  route.positions.push_back(RoutePosition{rx, tx});
  p.routes.push_back(route);
}

CodeBuilder::CodeBuilder(std::string name) { code_.name = std::move(name); }

int CodeBuilder::symbol(const std::string& name, DType type, uint32_t count) {
  code_.symbols.push_back(Symbol{name, type, count});
  return int(code_.symbols.size()) - 1;
}

int CodeBuilder::task(const std::string& name, int id, TaskKind kind, int color, bool blocked) {
  Task t;
  t.name = name;
  t.id = id;
  t.kind = kind;
  t.color = color;
  t.blocked = blocked;
  t.entry = UINT32_MAX;
  code_.tasks.push_back(t);
  return id;
}

void CodeBuilder::begin_task(int id) {
  for (Task& t : code_.tasks) {
    if (t.id == id) {
      t.entry = uint32_t(code_.instrs.size());
      return;
    }
  }
  WAFER_CHECK(false && "begin_task of an undeclared task");
}

int CodeBuilder::new_label() {
  label_pos_.push_back(-1);
  return int(label_pos_.size()) - 1;
}

void CodeBuilder::place(int label) { label_pos_.at(size_t(label)) = int(code_.instrs.size()); }

Operand CodeBuilder::label(int label) const { return make(Operand::Kind::label, -1 - label); }

Instr& CodeBuilder::emit(Opcode op, std::initializer_list<Operand> args) {
  Instr in;
  in.op = op;
  size_t i = 0;
  for (const Operand& a : args) {
    WAFER_CHECK(i < in.args.size());
    if (a.kind == Operand::Kind::label) fixups_.push_back({code_.instrs.size() * 8 + i, -1 - a.value});
    in.args[i++] = a;
  }
  code_.instrs.push_back(in);
  return code_.instrs.back();
}

Instr& CodeBuilder::emit_async(Opcode op, std::initializer_list<Operand> args, OnDone on_done,
                               int task_id) {
  Instr& in = emit(op, args);
  in.async = true;
  in.on_done = on_done;
  in.done_task = task_id;
  return in;
}

Code CodeBuilder::finish() {
  for (auto [where, label] : fixups_) {
    int pos = label_pos_.at(size_t(label));
    WAFER_CHECK(pos >= 0 && "label used but never placed");
    code_.instrs[where / 8].args[where % 8].value = pos;
  }
  for (const Task& t : code_.tasks) WAFER_CHECK(t.entry != UINT32_MAX && "task without code");
  return std::move(code_);
}

}  // namespace wafer::ir
