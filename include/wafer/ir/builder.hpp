// A C++ API that kernels (and later the compiler) use to emit per-PE code.
//
// CodeBuilder appends instructions to one Code, with forward labels resolved by finish().
// Operand helpers (reg, imm, fimm, dsd, special) make emitted code read like the text
// format: b.emit(Opcode::vfma, {dsd(0), dsd(1), reg(2), dsd(0)}).
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "wafer/ir/program.hpp"

namespace wafer::ir {

Operand reg(int index);
Operand imm(int32_t value);
Operand fimm(float value);
Operand dsd(int index);
Operand special(Special s);
Operand color_op(int color);
Operand task_op(int id);
Operand sym_op(int symbol_index);
Operand dtype_op(DType t);

// Adds a one-position route (rx -> tx) for `color` on the PEs of r; an empty rect adds none.
void add_route(Program& p, const Rect& r, int color, PortMask rx, PortMask tx);

class CodeBuilder {
 public:
  explicit CodeBuilder(std::string name);

  int symbol(const std::string& name, DType type, uint32_t count);
  // Declares a task; instructions emitted after begin_task() belong to it.
  int task(const std::string& name, int id, TaskKind kind, int color = -1, bool blocked = false);
  void begin_task(int id);

  int new_label();
  void place(int label);
  Operand label(int label) const;

  Instr& emit(Opcode op, std::initializer_list<Operand> args);
  // Async vector op: runs on a microthread; on completion activates or unblocks `task_id`.
  Instr& emit_async(Opcode op, std::initializer_list<Operand> args, OnDone on_done,
                    int task_id);

  // Resolves labels; the builder must not be used afterwards.
  Code finish();

 private:
  Code code_;
  std::vector<int> label_pos_;
  std::vector<std::pair<size_t, int>> fixups_;  // (instr index * 8 + arg, label)
};

}  // namespace wafer::ir
