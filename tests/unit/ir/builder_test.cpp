// ir::CodeBuilder: operand helpers, tasks, forward labels and async ops; and a program built
// in C++ prints to text that parses back to an equal Program.
#include "wafer/ir/builder.hpp"

#include <gtest/gtest.h>

#include "program_equal.hpp"
#include "wafer/ir/text.hpp"
#include "wafer/ir/verify.hpp"

namespace wafer::ir {
namespace {

using testing::expect_round_trip;

TEST(Builder, OperandHelpersSetKindAndValue) {
  EXPECT_EQ(reg(5).kind, Operand::Kind::reg);
  EXPECT_EQ(reg(5).value, 5);
  EXPECT_EQ(imm(-7).value, -7);
  EXPECT_FALSE(imm(-7).imm_is_float);
  EXPECT_EQ(uint32_t(fimm(1.0f).value), 0x3f800000u);
  EXPECT_TRUE(fimm(1.0f).imm_is_float);
  EXPECT_EQ(dsd(3).kind, Operand::Kind::dsd);
  EXPECT_EQ(special(Special::wavelet).value, int32_t(Special::wavelet));
  EXPECT_EQ(color_op(11).kind, Operand::Kind::color);
  EXPECT_EQ(task_op(4).kind, Operand::Kind::task);
  EXPECT_EQ(sym_op(2).kind, Operand::Kind::sym);
  EXPECT_EQ(dtype_op(DType::bf16).value, int32_t(DType::bf16));
}

// A loop counting r1 down from 10, then an async vector op that activates `done`.
Code counting_code() {
  CodeBuilder b("count");
  const int v = b.symbol("v", DType::f16, 32);
  b.task("main", 1, TaskKind::local);
  b.task("done", 2, TaskKind::local);
  b.task("rx", 3, TaskKind::data, 6, true);
  b.begin_task(1);
  const int loop = b.new_label();
  const int out = b.new_label();
  b.emit(Opcode::movi, {reg(1), imm(10)});
  b.place(loop);
  b.emit(Opcode::beq, {reg(1), imm(0), b.label(out)});
  b.emit(Opcode::sub, {reg(1), reg(1), imm(1)});
  b.emit(Opcode::jmp, {b.label(loop)});
  b.place(out);
  b.emit(Opcode::mdsd, {dsd(0), sym_op(v), imm(0), imm(32), imm(1)});
  b.emit_async(Opcode::vfma, {dsd(0), dsd(0), fimm(0.5f), dsd(0)}, OnDone::activate, 2);
  b.emit(Opcode::ret, {});
  b.begin_task(2);
  b.emit(Opcode::unblock, {task_op(3)});
  b.emit(Opcode::ret, {});
  b.begin_task(3);
  b.emit(Opcode::fdsd, {dsd(1), color_op(6), imm(1), dtype_op(DType::f32)});
  b.emit(Opcode::mov, {reg(2), special(Special::wavelet)});
  b.emit(Opcode::ret, {});
  return b.finish();
}

TEST(Builder, ResolvesForwardAndBackwardLabels) {
  const Code c = counting_code();
  EXPECT_EQ(c.instrs[1].args[2].kind, Operand::Kind::label);
  EXPECT_EQ(c.instrs[1].args[2].value, 4);  // out: the mdsd
  EXPECT_EQ(c.instrs[3].args[0].value, 1);  // loop: the beq
}

TEST(Builder, RecordsTasksAndEntries) {
  const Code c = counting_code();
  ASSERT_EQ(c.tasks.size(), 3u);
  EXPECT_EQ(c.tasks[0].entry, 0u);
  EXPECT_EQ(c.tasks[1].entry, 7u);
  EXPECT_EQ(c.tasks[2].entry, 9u);
  EXPECT_EQ(c.tasks[2].color, 6);
  EXPECT_TRUE(c.tasks[2].blocked);
  EXPECT_EQ(c.instrs.size(), 12u);
}

TEST(Builder, EmitsAsyncOps) {
  const Code code = counting_code();
  const Instr& vfma = code.instrs[5];
  EXPECT_TRUE(vfma.async);
  EXPECT_EQ(vfma.on_done, OnDone::activate);
  EXPECT_EQ(vfma.done_task, 2);
}

Program program_of(Code code) {
  Program p;
  p.width = 2;
  p.height = 1;
  p.codes.push_back(std::move(code));
  p.placements.push_back(Placement{{0, 0, 2, 1}, 0, {}});
  return p;
}

TEST(Builder, BuiltProgramVerifiesAndRoundTrips) {
  const Program p = program_of(counting_code());
  const Status st = verify(p, *arch::preset("wse3"));
  EXPECT_TRUE(st.is_ok()) << st.message();
  expect_round_trip(p);
}

TEST(Builder, TasksEmittedOutOfDeclarationOrderRoundTrip) {
  CodeBuilder b("shuffled");
  b.task("late", 5, TaskKind::control);
  b.task("early", 1, TaskKind::local);
  b.begin_task(1);
  b.emit(Opcode::activate, {task_op(5)});
  b.emit(Opcode::ret, {});
  b.begin_task(5);
  b.emit(Opcode::ret, {});
  const Program p = program_of(b.finish());
  EXPECT_EQ(p.codes[0].tasks[0].entry, 2u);
  const std::string text = print_program(p);
  EXPECT_NE(text.find("task late control 5 at L2"), std::string::npos) << text;
  expect_round_trip(p);
}

}  // namespace
}  // namespace wafer::ir
