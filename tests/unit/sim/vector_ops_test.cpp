// Tests of the vector ops added for the math routines (vmin, vdiv, vclamp, vscale, vlogb,
// vsel): their results in fp32 (the float fast path), fp16 and bf16 (exact in double, one
// rounding), i32 where they have an integer form, special values, the float-only check, the
// streaming path with a fabric source, and their cycle counts (derivations in comments).
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "wafer/arch/arch.hpp"
#include "wafer/ir/builder.hpp"
#include "wafer/ir/program.hpp"
#include "wafer/ir/text.hpp"
#include "wafer/sim/simulator.hpp"
#include "wafer/support/numeric.hpp"

namespace wafer::sim {
namespace {

using ir::CodeBuilder;
using ir::dsd;
using ir::fimm;
using ir::imm;
using ir::Opcode;
using ir::sym_op;

arch::Arch wse3() { return *arch::preset("wse3"); }

// One PE: d0 = out, d1 = a, d2 = b, d3 = c (all of `type`, n elements); main runs `op` with
// the given operands (dsd(0) first) or, with op == nop, a nop in its place.
ir::Program op_program(Opcode op, std::initializer_list<ir::Operand> args, DType type, uint32_t n,
                       DType out_type) {
  CodeBuilder b("ops");
  const int out = b.symbol("out", out_type, n);
  const int a = b.symbol("a", type, n), bs = b.symbol("b", type, n), c = b.symbol("c", type, n);
  b.task("main", 1, ir::TaskKind::local);
  b.begin_task(1);
  const int syms[] = {out, a, bs, c};
  for (int i = 0; i < 4; ++i) b.emit(Opcode::mdsd, {dsd(i), sym_op(syms[i]), imm(0), imm(int32_t(n)), imm(1)});
  if (op == Opcode::nop) b.emit(Opcode::nop, {});
  else b.emit(op, args);
  b.emit(Opcode::ret, {});
  ir::Program p;
  p.codes.push_back(b.finish());
  p.placements.push_back({{0, 0, 1, 1}, 0, {}});
  return p;
}

struct Outcome {
  std::vector<double> out;
  uint64_t cycles = 0;
  std::string error;
};

Outcome run(const ir::Program& p, const std::vector<double>& a, const std::vector<double>& b = {},
            const std::vector<double>& c = {}) {
  Outcome o;
  auto s = Simulator::create(wse3(), p, Options{});
  if (!s) return {{}, 0, s.message()};
  const uint32_t n = p.codes[0].symbols[1].count;
  auto fill = [&](const char* sym, std::vector<double> v) {
    v.resize(n, 1.0);
    EXPECT_TRUE((*s)->write_symbol(sym, {0, 0, 1, 1}, v));
  };
  fill("a", a);
  fill("b", b);
  fill("c", c);
  EXPECT_TRUE((*s)->launch("main", {0, 0, 1, 1}));
  auto r = (*s)->run();
  if (!r) return {{}, 0, r.message()};
  o.cycles = r->cycles;
  auto v = (*s)->read_symbol("out", {0, 0, 1, 1});
  EXPECT_TRUE(v.has_value());
  if (v) o.out = *v;
  return o;
}

std::vector<double> apply(Opcode op, std::initializer_list<ir::Operand> args, DType type,
                          const std::vector<double>& a, const std::vector<double>& b = {},
                          const std::vector<double>& c = {}, std::optional<DType> out_type = std::nullopt) {
  const uint32_t n = uint32_t(a.size());
  const Outcome o = run(op_program(op, args, type, n, out_type.value_or(type)), a, b, c);
  EXPECT_EQ(o.error, "");
  return o.out;
}

// Cycles the op adds over a nop on vectors of n elements.
uint64_t op_cycles(Opcode op, std::initializer_list<ir::Operand> args, DType type, uint32_t n) {
  const std::vector<double> ones(n, 1.0);
  const uint64_t with = run(op_program(op, args, type, n, type), ones, ones, ones).cycles;
  const uint64_t without = run(op_program(Opcode::nop, {}, type, n, type), ones).cycles;
  return with - without;
}

const double kInf = INFINITY, kNan = NAN;

void expect_same(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "element " << i << " got " << got[i];
    } else {
      EXPECT_EQ(got[i], want[i]) << "element " << i;
      EXPECT_EQ(std::signbit(got[i]), std::signbit(want[i])) << "sign of element " << i;
    }
  }
}

TEST(VectorOps, MinIsFminLikeVmax) {
  for (DType t : {DType::f32, DType::f16, DType::bf16}) {
    expect_same(apply(Opcode::vmin, {dsd(0), dsd(1), dsd(2)}, t, {3, -2, kNan, kInf}, {-2, 3, 1, 5}),
                {-2, -2, 1, 5});
  }
  expect_same(apply(Opcode::vmin, {dsd(0), dsd(1), imm(4)}, DType::i32, {7, -9, 4}), {4, -9, 4});
}

TEST(VectorOps, DivRoundsOnce) {
  // 1/3: fp32 0x1.555556p-2; fp16 0x1.554p-2 (11 bits); bf16 0x1.56p-2 (8 bits, rounded up).
  expect_same(apply(Opcode::vdiv, {dsd(0), fimm(1.0f), dsd(1)}, DType::f32, {3, 0, -0.0, kInf}),
              {double(1.0f / 3.0f), kInf, -kInf, 0});
  expect_same(apply(Opcode::vdiv, {dsd(0), fimm(1.0f), dsd(1)}, DType::f16, {3}), {0x1.554p-2});
  expect_same(apply(Opcode::vdiv, {dsd(0), fimm(1.0f), dsd(1)}, DType::bf16, {3}), {0x1.56p-2});
  expect_same(apply(Opcode::vdiv, {dsd(0), dsd(1), dsd(2)}, DType::f32, {0, kInf}, {0, kInf}), {kNan, kNan});
  // 2049/2 = 1024.5 is a tie in fp16 (ulp 1 above 1024): to even, 1024.
  expect_same(apply(Opcode::vdiv, {dsd(0), dsd(1), fimm(2.0f)}, DType::f32, {2049}, {}, {}, DType::f16), {1024});
}

TEST(VectorOps, ClampKeepsNan) {
  for (DType t : {DType::f32, DType::f16}) {
    expect_same(apply(Opcode::vclamp, {dsd(0), dsd(1), fimm(-2.0f), fimm(2.0f)}, t, {kNan, 5, -kInf, 0.5, -0.0}),
                {kNan, 2, -2, 0.5, -0.0});
  }
  expect_same(apply(Opcode::vclamp, {dsd(0), dsd(1), imm(0), imm(10)}, DType::i32, {-5, 5, 50}), {0, 5, 10});
}

TEST(VectorOps, ScaleByPowerOfTwo) {
  // The exponent source rounds to the nearest integer, ties to even (2.5 -> 2), NaN as 0.
  expect_same(apply(Opcode::vscale, {dsd(0), dsd(1), dsd(2)}, DType::f32,
                    {1.5, 1, 1.5, 1, 3, 3, kInf, 0, -0.0, kNan},
                    {3, -149, -149, 128, 2.5, kNan, -1e9, 1e9, 1e9, 0}),
              {12, 0x1p-149, 0x1p-148, kInf, 12, 3, kInf, 0, -0.0, kNan});
  // fp16: 1.5·2^-25 lies between the subnormals 0 and 2^-24, nearer 2^-24.
  expect_same(apply(Opcode::vscale, {dsd(0), dsd(1), dsd(2)}, DType::f16, {1.5, 1}, {-25, 16}),
              {0x1p-24, kInf});
}

TEST(VectorOps, LogbIsTheExponent) {
  for (DType t : {DType::f32, DType::bf16}) {
    expect_same(apply(Opcode::vlogb, {dsd(0), dsd(1)}, t, {0, -0.0, 10, -0.3, kInf, kNan, 1}),
                {-kInf, -kInf, 3, -2, kInf, kNan, 0});
  }
  expect_same(apply(Opcode::vlogb, {dsd(0), dsd(1)}, DType::f32, {0x1p-149, 0x1.8p-140}), {-149, -140});
}

TEST(VectorOps, SelectOnNegative) {
  // vsel D, C, A, B: A where C < 0, else B; -0 and NaN are not below 0.
  for (DType t : {DType::f32, DType::f16}) {
    expect_same(apply(Opcode::vsel, {dsd(0), dsd(1), dsd(2), dsd(3)}, t, {-1, -0.0, kNan, 2, -kInf},
                      {10, 10, 10, 10, 10}, {20, 20, 20, 20, 20}),
                {10, 20, 20, 20, 10});
  }
  expect_same(apply(Opcode::vsel, {dsd(0), dsd(1), imm(7), dsd(2)}, DType::i32, {-1, 0, 1}, {5, 5, 5}), {7, 5, 5});
}

TEST(VectorOps, FloatOnlyOpsRejectIntegerDestinations) {
  for (Opcode op : {Opcode::vdiv, Opcode::vscale}) {
    const Outcome o = run(op_program(op, {dsd(0), dsd(1), dsd(2)}, DType::i32, 4, DType::i32), {1});
    EXPECT_NE(o.error.find("needs a float destination"), std::string::npos) << o.error;
  }
  const Outcome o = run(op_program(Opcode::vlogb, {dsd(0), dsd(1)}, DType::i32, 4, DType::i32), {1});
  EXPECT_NE(o.error.find("'vlogb' needs a float destination, d0 is i32"), std::string::npos) << o.error;
}

TEST(VectorOps, CycleCounts) {
  const uint64_t setup = uint64_t(wse3().vector_setup_cycles);  // 15
  // vdiv: the iterative divider takes 8 cycles per fp32 element and 4 per fp16 one
  // (lanes 1/8 and 1/4), whatever the ports allow: setup + 8n and setup + 4n.
  EXPECT_EQ(op_cycles(Opcode::vdiv, {dsd(0), dsd(1), dsd(2)}, DType::f32, 100), setup + 800);
  EXPECT_EQ(op_cycles(Opcode::vdiv, {dsd(0), dsd(1), dsd(2)}, DType::f16, 100), setup + 400);
  // vmin fp32: 4 lanes, but the one 64-bit write port stores 2 fp32 elements a cycle:
  // ceil(101/2) = 51 cycles. fp16: 8 lanes, 4 elements per 64-bit write: ceil(101/4) = 26.
  EXPECT_EQ(op_cycles(Opcode::vmin, {dsd(0), dsd(1), dsd(2)}, DType::f32, 101), setup + 51);
  EXPECT_EQ(op_cycles(Opcode::vmin, {dsd(0), dsd(1), dsd(2)}, DType::f16, 101), setup + 26);
  // vclamp, vscale, vlogb: arithmetic lanes, same port limit as vmin.
  EXPECT_EQ(op_cycles(Opcode::vclamp, {dsd(0), dsd(1), fimm(0), fimm(1)}, DType::f32, 101), setup + 51);
  EXPECT_EQ(op_cycles(Opcode::vscale, {dsd(0), dsd(1), dsd(2)}, DType::f32, 101), setup + 51);
  EXPECT_EQ(op_cycles(Opcode::vlogb, {dsd(0), dsd(1)}, DType::f32, 101), setup + 51);
  // vsel with three memory sources: one element needs 3 reads on 2 read ports, so each
  // element holds the ports for a second cycle, except the last: the op completes in the
  // cycle of its last element (vector.cpp), 2n - 1. With two (a scalar third) the ports
  // move 2 elements of each source a cycle again: ceil(n/2).
  EXPECT_EQ(op_cycles(Opcode::vsel, {dsd(0), dsd(1), dsd(2), dsd(3)}, DType::f32, 100), setup + 199);
  EXPECT_EQ(op_cycles(Opcode::vsel, {dsd(0), dsd(1), dsd(2), fimm(0)}, DType::f32, 100), setup + 50);
}

// A fabric-fed fp32 op takes the engine's streaming step unless Options::general_path; both
// give the same values and cycles for the new ops.
TEST(VectorOps, StreamingPathMatchesGeneralPath) {
  const char* text = R"(
program 1 1
code c {
  sym out f32 6
  task main local 1 {
    mdsd d0, out, 0, 6, 1
    fdsd d1, 3, 6, f32
    vclamp d0, d1, -1.0, 1.0
    ret
  }
}
place c 0 0 1 1
route 3 0 0 1 1 rx W tx R
host {
  stream 3 W 0 0 1 1 f32 values 0.5 -3 nan 7 -0.25 inf
  launch main 0 0 1 1
  d2h out 0 0 1 1
}
)";
  auto p = ir::parse_program(text, "stream.wafer");
  ASSERT_TRUE(p.has_value()) << p.message();
  std::vector<double> results[2];
  uint64_t cycles[2];
  for (int general = 0; general < 2; ++general) {
    Options o;
    o.general_path = general == 1;
    auto s = Simulator::create(wse3(), *p, o);
    ASSERT_TRUE(s.has_value()) << s.message();
    RunResult total;
    auto out = (*s)->run_host_script(&total);
    ASSERT_TRUE(out.has_value()) << out.message();
    results[general] = (*out)[0].values;
    cycles[general] = total.cycles;
  }
  expect_same(results[0], {0.5, -1, kNan, 1, -0.25, 1});
  expect_same(results[1], results[0]);
  EXPECT_EQ(cycles[0], cycles[1]);
}

}  // namespace
}  // namespace wafer::sim
