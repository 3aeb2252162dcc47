// Tests of the simulator on hand-built programs: the scalar ISA, runtime errors, vector
// numerics (single IEEE rounding in fp16/bf16, int16 wrap-around), vector-op timing, fabric
// transfers and their latency per hop, backpressure, async ops and microthreads, data tasks,
// control wavelets and switch positions, deadlock and --max-cycles reports, and determinism
// over thread counts.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "wafer/arch/arch.hpp"
#include "wafer/ir/builder.hpp"
#include "wafer/ir/program.hpp"
#include "wafer/kernels/kernels.hpp"
#include "wafer/sim/simulator.hpp"
#include "wafer/support/numeric.hpp"

namespace wafer::sim {
namespace {

using ir::add_route;

using ir::CodeBuilder;
using ir::Dir;
using ir::dsd;
using ir::fimm;
using ir::imm;
using ir::Opcode;
using ir::reg;
using ir::special;
using ir::Special;
using ir::sym_op;

constexpr ir::PortMask N = ir::port_bit(Dir::north), E = ir::port_bit(Dir::east),
                       S = ir::port_bit(Dir::south), W = ir::port_bit(Dir::west),
                       R = ir::port_bit(Dir::ramp);

arch::Arch preset(const std::string& name) {
  auto a = arch::preset(name);
  EXPECT_TRUE(a.has_value());
  return *a;
}

// A program of w x h PEs running `code` on every PE.
ir::Program one_code(int w, int h, ir::Code code) {
  ir::Program p;
  p.width = w;
  p.height = h;
  p.codes.push_back(std::move(code));
  p.placements.push_back({{0, 0, w, h}, 0, {}});
  return p;
}

// Adds a code placed on one rectangle; returns its index.
int place(ir::Program& p, ir::Code code, ir::Rect r) {
  p.codes.push_back(std::move(code));
  p.placements.push_back({r, int(p.codes.size()) - 1, {}});
  return int(p.codes.size()) - 1;
}

Options opts(int threads = 1) {
  Options o;
  o.threads = threads;
  return o;
}

std::unique_ptr<Simulator> make(const arch::Arch& a, const ir::Program& p, Options o = opts()) {
  auto s = Simulator::create(a, p, o);
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.message());
  if (!s) return nullptr;
  return std::move(*s);
}

std::vector<double> read(Simulator& s, const std::string& sym, ir::Rect r = {0, 0, 1, 1}) {
  auto v = s.read_symbol(sym, r);
  EXPECT_TRUE(v.has_value()) << (v ? "" : v.message());
  return v ? *v : std::vector<double>{};
}

// Runs a one-PE program with task "main" and returns the run's error message.
std::string run_error(const arch::Arch& a, const ir::Program& p, Options o = opts()) {
  auto s = make(a, p, o);
  if (!s) return "create failed";
  EXPECT_TRUE(s->launch("main", {0, 0, p.width, p.height}));
  auto r = s->run();
  return r ? "no error" : r.message();
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// ---------------------------------------------------------------- scalar ISA

TEST(EngineScalar, ArithmeticMemoryAndLoops) {
  CodeBuilder b("scalar");
  const int in = b.symbol("in", DType::i32, 10);
  const int out = b.symbol("out", DType::i32, 16);
  const int fout = b.symbol("fout", DType::f32, 4);
  b.task("main", 1, ir::TaskKind::local);
  b.begin_task(1);
  auto st = [&](int sym, int index, ir::Operand v) { b.emit(Opcode::st, {sym_op(sym), imm(index), v}); };
  b.emit(Opcode::movi, {reg(1), imm(7)});
  b.emit(Opcode::movi, {reg(2), imm(5)});
  b.emit(Opcode::add, {reg(3), reg(1), reg(2)});       // 12
  st(out, 0, reg(3));
  b.emit(Opcode::mul, {reg(4), reg(3), reg(1)});       // 84
  st(out, 1, reg(4));
  b.emit(Opcode::div, {reg(5), reg(4), reg(2)});       // 16
  st(out, 2, reg(5));
  b.emit(Opcode::shl, {reg(6), reg(1), imm(3)});       // 56
  st(out, 3, reg(6));
  b.emit(Opcode::movi, {reg(7), imm(-7)});
  b.emit(Opcode::div, {reg(8), reg(7), imm(2)});       // -3 (truncates)
  st(out, 4, reg(8));
  b.emit(Opcode::rem, {reg(8), reg(7), imm(2)});       // -1
  st(out, 5, reg(8));
  b.emit(Opcode::movi, {reg(8), imm(-16)});
  b.emit(Opcode::shr, {reg(9), reg(8), imm(2)});       // -4 (arithmetic)
  st(out, 6, reg(9));
  b.emit(Opcode::itof, {reg(10), reg(4)});             // 84.0
  b.emit(Opcode::fmul, {reg(11), reg(10), fimm(0.5f)});   // 42.0
  b.emit(Opcode::fadd, {reg(11), reg(11), fimm(0.25f)});  // 42.25
  st(fout, 0, reg(11));
  b.emit(Opcode::ftoi, {reg(12), reg(11)});            // 42
  st(out, 7, reg(12));
  b.emit(Opcode::ftoi, {reg(12), fimm(-2.75f)});       // -2 (truncates)
  st(out, 8, reg(12));
  b.emit(Opcode::ld, {reg(13), sym_op(in), imm(3)});
  st(out, 9, reg(13));
  // sum = in[0] + ... + in[9]
  b.emit(Opcode::movi, {reg(14), imm(0)});
  b.emit(Opcode::movi, {reg(15), imm(0)});
  const int loop = b.new_label();
  b.place(loop);
  b.emit(Opcode::ld, {reg(13), sym_op(in), reg(15)});
  b.emit(Opcode::add, {reg(14), reg(14), reg(13)});
  b.emit(Opcode::add, {reg(15), reg(15), imm(1)});
  b.emit(Opcode::blt, {reg(15), imm(10), b.label(loop)});
  st(out, 10, reg(14));
  st(out, 11, reg(15));
  b.emit(Opcode::mul, {reg(1), special(Special::x), imm(100)});
  b.emit(Opcode::add, {reg(1), reg(1), special(Special::y)});
  st(out, 12, reg(1));
  b.emit(Opcode::mul, {reg(1), special(Special::width), imm(10)});
  b.emit(Opcode::add, {reg(1), reg(1), special(Special::height)});
  st(out, 13, reg(1));
  b.emit(Opcode::fdiv, {reg(1), fimm(1.0f), fimm(8.0f)});
  st(fout, 1, reg(1));
  b.emit(Opcode::fsub, {reg(1), fimm(1.0f), fimm(8.0f)});
  st(fout, 2, reg(1));
  b.emit(Opcode::fmax, {reg(1), fimm(-3.0f), fimm(2.5f)});
  st(fout, 3, reg(1));
  b.emit(Opcode::xor_, {reg(1), imm(0xF0), imm(0xFF)});  // 0x0F
  b.emit(Opcode::or_, {reg(1), reg(1), imm(0x100)});      // 0x10F
  b.emit(Opcode::and_, {reg(1), reg(1), imm(0x1F0)});     // 0x100
  st(out, 14, reg(1));
  b.emit(Opcode::ret, {});
  ir::Code code = b.finish();
  const uint64_t straight = code.instrs.size() - 4;  // every instruction but the loop body
  const uint64_t executed = straight + 4 * 10;

  auto s = make(preset("wse3"), one_code(2, 1, std::move(code)));
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->write_symbol("in", {0, 0, 2, 1}, {3, 1, 4, 1, 5, 9, 2, 6, 5, 3}));
  ASSERT_TRUE(s->launch("main", {0, 0, 2, 1}));
  auto r = s->run();
  ASSERT_TRUE(r.has_value()) << r.message();
  const std::vector<double> o = read(*s, "out", {0, 0, 2, 1});
  ASSERT_EQ(o.size(), 32u);
  const std::vector<double> pe0(o.begin(), o.begin() + 16), pe1(o.begin() + 16, o.end());
  EXPECT_EQ(pe0, (std::vector<double>{12, 84, 16, 56, -3, -1, -4, 42, -2, 1, 39, 10, 0, 21, 256, 0}));
  EXPECT_EQ(pe1[12], 100);  // x = 1, y = 0
  EXPECT_EQ(pe1[10], 39);
  EXPECT_EQ(read(*s, "fout", {1, 0, 1, 1}), (std::vector<double>{42.25, 0.125, -7.0, 2.5}));
  // One scalar instruction per cycle; the run ends one cycle after the last 'ret'.
  EXPECT_EQ(s->stats().instructions, 2 * executed);
  EXPECT_EQ(r->cycles, executed + 1);
  EXPECT_EQ(s->stats().busy[0], executed);
  EXPECT_EQ(s->stats().busy[1], executed);
}

// ---------------------------------------------------------------- runtime errors

TEST(EngineErrors, IntegerDivisionByZeroNamesThePe) {
  CodeBuilder b("divider");
  b.task("main", 1, ir::TaskKind::local);
  b.begin_task(1);
  b.emit(Opcode::mul, {reg(0), special(Special::x), special(Special::y)});
  b.emit(Opcode::sub, {reg(0), reg(0), imm(1)});  // zero only on PE (1,1)
  b.emit(Opcode::div, {reg(1), imm(10), reg(0)});
  b.emit(Opcode::ret, {});
  const std::string e = run_error(preset("wse2"), one_code(3, 2, b.finish()));
  EXPECT_TRUE(contains(e, "PE (1,1)")) << e;
  EXPECT_TRUE(contains(e, "integer division by zero")) << e;
  EXPECT_TRUE(contains(e, "'div'")) << e;
  EXPECT_TRUE(contains(e, "task 'main'")) << e;
  EXPECT_TRUE(contains(e, "cycle 2")) << e;  // the third instruction runs in cycle 2
}

TEST(EngineErrors, LowestFaultingPeIsReported) {
  CodeBuilder b("divider");
  b.task("main", 1, ir::TaskKind::local);
  b.begin_task(1);
  b.emit(Opcode::rem, {reg(1), special(Special::x), imm(0)});  // every PE faults at once
  b.emit(Opcode::ret, {});
  const ir::Program p = one_code(4, 3, b.finish());
  for (int threads : {1, 2}) {
    const std::string e = run_error(preset("wse2"), p, opts(threads));
    EXPECT_TRUE(contains(e, "PE (0,0)")) << e;
    EXPECT_TRUE(contains(e, "integer division by zero")) << e;
  }
}

// A task of three nops and no 'ret': the core faults in cycle 2 and stops at once, so the
// same error comes whatever the superstep and thread count (before, the engine stepped the
// faulted core on past its last instruction within a superstep).
TEST(EngineErrors, TaskWithoutRetStopsTheCore) {
  CodeBuilder b("noret");
  b.task("main", 1, ir::TaskKind::local);
  b.begin_task(1);
  for (int i = 0; i < 3; ++i) b.emit(Opcode::nop, {});
  const ir::Program p = one_code(64, 96, b.finish());
  const std::string expected =
      "cycle 2: PE (0,0) code 'noret' task 'main': ran past the last instruction (missing 'ret')";
  for (int threads : {1, 2, 3}) {
    for (uint32_t superstep : {0u, 1u, kMaxSuperstep}) {
      Options o = opts(threads);
      o.superstep = superstep;
      EXPECT_EQ(run_error(preset("wse3"), p, o), expected)
          << "threads " << threads << " superstep " << superstep;
    }
  }
}

TEST(EngineErrors, LoadIndexOutOfRange) {
  CodeBuilder b("loader");
  const int in = b.symbol("in", DType::f32, 4);
  b.task("main", 1, ir::TaskKind::local);
  b.begin_task(1);
  b.emit(Opcode::add, {reg(2), special(Special::x), imm(3)});  // 3 on (0,0), 4 on (1,0)
  b.emit(Opcode::ld, {reg(1), sym_op(in), reg(2)});
  b.emit(Opcode::ret, {});
  const std::string e = run_error(preset("wse3"), one_code(2, 1, b.finish()));
  EXPECT_TRUE(contains(e, "PE (1,0)")) << e;
  EXPECT_TRUE(contains(e, "index 4 outside symbol 'in' (4 elements)")) << e;

  CodeBuilder c("storer");
  const int v = c.symbol("v", DType::i16, 8);
  c.task("main", 1, ir::TaskKind::local);
  c.begin_task(1);
  c.emit(Opcode::st, {sym_op(v), imm(-1), imm(5)});
  c.emit(Opcode::ret, {});
  const std::string e2 = run_error(preset("wse3"), one_code(1, 1, c.finish()));
  EXPECT_TRUE(contains(e2, "PE (0,0)")) << e2;
  EXPECT_TRUE(contains(e2, "index -1 outside symbol 'v' (8 elements)")) << e2;
}

ir::Program dsd_program(int offset, int length, int stride) {
  CodeBuilder b("dsds");
  const int buf = b.symbol("buf", DType::f32, 16);
  b.task("main", 1, ir::TaskKind::local);
  b.begin_task(1);
  b.emit(Opcode::movi, {reg(1), imm(length)});  // a length computed at run time
  b.emit(Opcode::mdsd, {dsd(0), sym_op(buf), imm(offset), reg(1), imm(stride)});
  b.emit(Opcode::vmov, {dsd(0), fimm(1.0f)});
  b.emit(Opcode::ret, {});
  return one_code(2, 2, b.finish());
}

TEST(EngineErrors, DsdOutsideItsSymbol) {
  const arch::Arch a = preset("wse2");
  const std::string e = run_error(a, dsd_program(0, 17, 1));
  EXPECT_TRUE(contains(e, "PE (0,0)")) << e;
  EXPECT_TRUE(contains(e, "symbol 'buf'")) << e;
  EXPECT_TRUE(contains(e, "16 elements")) << e;
  EXPECT_TRUE(contains(e, "'mdsd'")) << e;
  const std::string strided = run_error(a, dsd_program(0, 9, 2));  // last element 16
  EXPECT_TRUE(contains(strided, "symbol 'buf'")) << strided;
  EXPECT_TRUE(contains(strided, "stride 2")) << strided;
  EXPECT_TRUE(contains(run_error(a, dsd_program(4, 13, 1)), "symbol 'buf'"));
  EXPECT_TRUE(contains(run_error(a, dsd_program(0, 0, 1)), "symbol 'buf'"));
  // The largest descriptors that fit are fine.
  EXPECT_EQ(run_error(a, dsd_program(4, 12, 1)), "no error");
  EXPECT_EQ(run_error(a, dsd_program(1, 8, 2)), "no error");
  EXPECT_EQ(run_error(a, dsd_program(15, 16, -1)), "no error");
}

// ---------------------------------------------------------------- vector numerics

// add = a + b, mul = a * b, fma = a * b + c, unfused = round(round(a * b) + c), all of type
// t, n elements. The fma takes b from the fabric (color 0, streamed in from the west edge):
// with a, c and b all in memory it would need three reads a cycle from two read ports.
ir::Program elementwise_program(DType t, uint32_t n) {
  CodeBuilder b("elementwise");
  const int a = b.symbol("a", t, n), bb = b.symbol("b", t, n), c = b.symbol("c", t, n);
  const int add = b.symbol("add", t, n), mul = b.symbol("mul", t, n), fma = b.symbol("fma", t, n);
  const int unfused = b.symbol("unfused", t, n);
  b.task("main", 1, ir::TaskKind::local);
  b.begin_task(1);
  const int syms[] = {a, bb, c, add, mul, fma, unfused};
  for (int i = 0; i < 7; ++i) {
    b.emit(Opcode::mdsd, {dsd(i), sym_op(syms[i]), imm(0), imm(int32_t(n)), imm(1)});
  }
  b.emit(Opcode::fdsd, {dsd(7), ir::color_op(0), imm(int32_t(n)), ir::dtype_op(t)});
  b.emit(Opcode::vadd, {dsd(3), dsd(0), dsd(1)});
  b.emit(Opcode::vmul, {dsd(4), dsd(0), dsd(1)});
  b.emit(Opcode::vmov, {dsd(5), dsd(2)});
  b.emit(Opcode::vfma, {dsd(5), dsd(0), dsd(7), dsd(5)});  // fma = a * b + fma
  b.emit(Opcode::vmul, {dsd(6), dsd(0), dsd(1)});
  b.emit(Opcode::vadd, {dsd(6), dsd(6), dsd(2)});
  b.emit(Opcode::ret, {});
  ir::Program p = one_code(1, 1, b.finish());
  add_route(p, {0, 0, 1, 1}, 0, W, R);
  return p;
}

double rounded(DType t, double exact) { return decode_value(t, encode_value(t, exact)); }

// The sum of two doubles is exact when TwoSum's error term is zero.
bool exact_sum(double a, double b) {
  const double s = a + b, bb = s - a;
  return (a - (s - bb)) + (b - bb) == 0;
}

class EngineVectorFloat : public ::testing::TestWithParam<DType> {};

TEST_P(EngineVectorFloat, AddMulFmaRoundOnceToNearestEven) {
  const DType t = GetParam();
  const bool f16 = t == DType::f16;
  const int bits = f16 ? 10 : 7;           // fraction bits
  const double q = std::ldexp(1.0, -bits);  // quantum at 1.0
  // Hand-picked cases: ties in the sum and product, subnormal results, overflow, cancellation.
  std::vector<double> a = {1, 1 + q, 1 + q, 3, -2, 0.5, 1.5, 1 + 3 * q};
  std::vector<double> b = {q / 2, q / 2, 1 + q, -3, 2, -0.5, 1 + q, 1 + q};
  std::vector<double> c = {0, -1, -(1 + 2 * q), 9, 0, 0.25, -2.25, -1};
  if (f16) {
    a.insert(a.end(), {60000, 300, std::ldexp(1.0, -14), 2050, -0.0});
    b.insert(b.end(), {10000, 300, std::ldexp(1.0, -3), 1, 0.0});
    c.insert(c.end(), {-60000, -1, std::ldexp(1.0, -24), 1, -0.0});
  }
  // Seeded random values with moderate exponents, so a*b+c is exact in double.
  const std::vector<double> r = kernels::random_values(7, 3 * 200, -1, 1);
  for (size_t i = 0; i < 200; ++i) {
    auto val = [&](double u, int k) { return std::ldexp(u, int((i * 7 + size_t(k) * 3) % 9) - 4); };
    a.push_back(rounded(t, val(r[3 * i], 0)));
    b.push_back(rounded(t, val(r[3 * i + 1], 1)));
    c.push_back(rounded(t, val(r[3 * i + 2], 2)));
  }
  const uint32_t n = uint32_t(a.size());
  auto s = make(preset("wse3"), elementwise_program(t, n));
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->write_symbol("a", {0, 0, 1, 1}, a));
  ASSERT_TRUE(s->write_symbol("b", {0, 0, 1, 1}, b));
  ASSERT_TRUE(s->write_symbol("c", {0, 0, 1, 1}, c));
  ASSERT_TRUE(s->stream_in(0, Dir::west, {0, 0, 1, 1}, b, t));
  ASSERT_TRUE(s->launch("main", {0, 0, 1, 1}));
  auto run = s->run();
  ASSERT_TRUE(run.has_value()) << run.message();
  const auto add = read(*s, "add"), mul = read(*s, "mul"), fma = read(*s, "fma");
  const auto unfused = read(*s, "unfused");
  ASSERT_EQ(add.size(), n);
  for (uint32_t i = 0; i < n; ++i) {
    ASSERT_EQ(rounded(t, a[i]), a[i]) << i;  // inputs are representable
    const double p = a[i] * b[i];
    ASSERT_EQ(std::fma(a[i], b[i], -p), 0.0) << i;  // the product is exact in double
    ASSERT_TRUE(exact_sum(a[i], b[i])) << i;
    ASSERT_TRUE(exact_sum(p, c[i])) << i;
    EXPECT_EQ(add[i], rounded(t, a[i] + b[i])) << "add " << i << ": " << a[i] << " + " << b[i];
    EXPECT_EQ(mul[i], rounded(t, p)) << "mul " << i << ": " << a[i] << " * " << b[i];
    EXPECT_EQ(fma[i], rounded(t, p + c[i])) << "fma " << i << ": " << a[i] << " * " << b[i] << " + " << c[i];
    EXPECT_EQ(unfused[i], rounded(t, rounded(t, p) + c[i])) << "unfused " << i;
  }
  // The hand-picked ties, spelled out.
  EXPECT_EQ(add[0], 1.0);                  // 1 + q/2: tie, to even
  EXPECT_EQ(add[1], 1 + 2 * q);            // 1 + q + q/2: tie, to even
  EXPECT_EQ(mul[2], 1 + 2 * q);            // (1+q)^2 = 1 + 2q + q^2
  // (1+q)^2 - (1+2q) = q^2: one rounding keeps it, rounding the product first loses it.
  EXPECT_EQ(fma[2], q * q);
  EXPECT_EQ(unfused[2], 0.0);
  if (f16) {
    EXPECT_EQ(add[8], INFINITY);           // 70000 overflows
    EXPECT_EQ(mul[9], INFINITY);           // 90000 overflows
    EXPECT_EQ(fma[9], INFINITY);
    EXPECT_EQ(mul[10], std::ldexp(1.0, -17));  // subnormal result, exact
    EXPECT_EQ(fma[10], std::ldexp(1.0, -17) + std::ldexp(1.0, -24));
    EXPECT_EQ(add[11], 2052.0);            // 2051: tie between 2050 (odd) and 2052 (even)
    EXPECT_EQ(mul[11], 2050.0);
    EXPECT_EQ(fma[11], 2052.0);
  }
}

INSTANTIATE_TEST_SUITE_P(Types, EngineVectorFloat, ::testing::Values(DType::f16, DType::bf16),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(EngineVector, Int16WrapsAround) {
  CodeBuilder b("ints");
  const uint32_t n = 6;
  const int a = b.symbol("a", DType::i16, n), bb = b.symbol("b", DType::i16, n);
  const int sum = b.symbol("sum", DType::i16, n), prod = b.symbol("prod", DType::i16, n);
  const int neg = b.symbol("neg", DType::i16, n);
  b.task("main", 1, ir::TaskKind::local);
  b.begin_task(1);
  const int syms[] = {a, bb, sum, prod, neg};
  for (int i = 0; i < 5; ++i) b.emit(Opcode::mdsd, {dsd(i), sym_op(syms[i]), imm(0), imm(int32_t(n)), imm(1)});
  b.emit(Opcode::vadd, {dsd(2), dsd(0), dsd(1)});
  b.emit(Opcode::vmul, {dsd(3), dsd(0), dsd(1)});
  b.emit(Opcode::vneg, {dsd(4), dsd(0)});
  b.emit(Opcode::ret, {});
  auto s = make(preset("wse2"), one_code(1, 1, b.finish()));
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->write_symbol("a", {0, 0, 1, 1}, {30000, -32768, 300, 100, 32767, -5}));
  ASSERT_TRUE(s->write_symbol("b", {0, 0, 1, 1}, {10000, -1, 300, -200, 1, 7}));
  ASSERT_TRUE(s->launch("main", {0, 0, 1, 1}));
  ASSERT_TRUE(s->run().has_value());
  // 40000 - 65536, -32769 + 65536, 600, -100, 32768 - 65536, 2.
  EXPECT_EQ(read(*s, "sum"), (std::vector<double>{-25536, 32767, 600, -100, -32768, 2}));
  // 3e8 mod 2^16 = 41728 -> -23808; 32768 -> -32768; 90000 - 65536 = 24464.
  EXPECT_EQ(read(*s, "prod"), (std::vector<double>{-23808, -32768, 24464, -20000, 32767, -35}));
  // -(-32768) wraps to -32768.
  EXPECT_EQ(read(*s, "neg"), (std::vector<double>{-30000, -32768, -300, -100, -32767, 5}));
}

// Integer ops on fp32 sources convert each source as vcvt does (to nearest even, saturating,
// NaN as 0), then wrap (program-format.md); 1e30 and 4e18 overflowed int64 before.
TEST(EngineVector, IntegerOpsOnFloatSourcesSaturateThenWrap) {
  CodeBuilder b("mixed");
  const uint32_t n = 6;
  const int a = b.symbol("a", DType::f32, n), bb = b.symbol("b", DType::f32, n);
  const int sum = b.symbol("sum", DType::i32, n), prod = b.symbol("prod", DType::i32, n);
  const int mag = b.symbol("mag", DType::i32, n), fma = b.symbol("fma", DType::i16, n);
  b.task("main", 1, ir::TaskKind::local);
  b.begin_task(1);
  const int syms[] = {a, bb, sum, prod, mag, fma};
  for (int i = 0; i < 6; ++i) b.emit(Opcode::mdsd, {dsd(i), sym_op(syms[i]), imm(0), imm(int32_t(n)), imm(1)});
  b.emit(Opcode::vadd, {dsd(2), dsd(0), dsd(1)});
  b.emit(Opcode::vmul, {dsd(3), dsd(0), dsd(1)});
  b.emit(Opcode::vabs, {dsd(4), dsd(0)});
  b.emit(Opcode::vfma, {dsd(5), dsd(0), dsd(1), imm(7)});
  b.emit(Opcode::ret, {});
  auto s = make(preset("wse2"), one_code(1, 1, b.finish()));
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->write_symbol("a", {0, 0, 1, 1}, {1e30, -1e30, 4e18, NAN, 2.5, -3.5}));
  ASSERT_TRUE(s->write_symbol("b", {0, 0, 1, 1}, {1, -1, 2, 5, 0.5, 1}));
  ASSERT_TRUE(s->launch("main", {0, 0, 1, 1}));
  auto r = s->run();
  ASSERT_TRUE(r.has_value()) << r.message();
  // a converts to 2147483647, -2147483648, 2147483647, 0, 2, -4; b to 1, -1, 2, 5, 0, 1.
  EXPECT_EQ(read(*s, "sum"), (std::vector<double>{-2147483648.0, 2147483647, -2147483647, 5, 2, -3}));
  EXPECT_EQ(read(*s, "prod"), (std::vector<double>{2147483647, -2147483648.0, -2, 0, 0, -4}));
  EXPECT_EQ(read(*s, "mag"), (std::vector<double>{2147483647, -2147483648.0, 2147483647, 0, 2, 4}));
  // In i16: a is 32767, -32768, 32767, 0, 2, -4; a*b+7 = 32774 -> -32762, 32775 -> -32761,
  // 65541 -> 5, 7, 7, 3.
  EXPECT_EQ(read(*s, "fma"), (std::vector<double>{-32762, -32761, 5, 7, 7, 3}));
}

// An fma whose three sources are all in memory needs three reads per element, one more than
// the arch's two read ports. It must either complete (taking more than one cycle per
// element) or fail with an error that names the op; it must not hang and be reported as a
// deadlock.
TEST(EngineVector, FmaWithThreeMemorySources) {
  CodeBuilder b("fma3");
  const uint32_t n = 8;
  const int x = b.symbol("x", DType::f32, n), y = b.symbol("y", DType::f32, n);
  const int z = b.symbol("z", DType::f32, n), out = b.symbol("out", DType::f32, n);
  b.task("main", 1, ir::TaskKind::local);
  b.begin_task(1);
  const int syms[] = {x, y, z, out};
  for (int i = 0; i < 4; ++i) b.emit(Opcode::mdsd, {dsd(i), sym_op(syms[i]), imm(0), imm(int32_t(n)), imm(1)});
  b.emit(Opcode::vfma, {dsd(3), dsd(0), dsd(1), dsd(2)});
  b.emit(Opcode::ret, {});
  auto s = make(preset("wse3"), one_code(1, 1, b.finish()));
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->write_symbol("x", {0, 0, 1, 1}, {1, 2, 3, 4, 5, 6, 7, 8}));
  ASSERT_TRUE(s->write_symbol("y", {0, 0, 1, 1}, {2, 2, 2, 2, 2, 2, 2, 2}));
  ASSERT_TRUE(s->write_symbol("z", {0, 0, 1, 1}, {1, 1, 1, 1, 1, 1, 1, 1}));
  ASSERT_TRUE(s->launch("main", {0, 0, 1, 1}));
  auto r = s->run();
  if (r) {
    EXPECT_EQ(read(*s, "out"), (std::vector<double>{3, 5, 7, 9, 11, 13, 15, 17}));
    EXPECT_GE(r->cycles, 15u + 2 * n);
  } else {
    EXPECT_FALSE(contains(r.message(), "deadlock")) << r.message();
    EXPECT_TRUE(contains(r.message(), "vfma")) << r.message();
  }
}

// ---------------------------------------------------------------- vector timing

// y = A * 2 + y over L fp32 elements: two memory reads and one write per element, lanes
// from lanes_f32_fma. With `vector` false the vfma is replaced by a nop (the baseline).
ir::Program fma_program(uint32_t length, bool vector = true) {
  CodeBuilder b("timing");
  const int A = b.symbol("A", DType::f32, length), y = b.symbol("y", DType::f32, length);
  b.task("main", 1, ir::TaskKind::local);
  b.begin_task(1);
  b.emit(Opcode::mdsd, {dsd(0), sym_op(y), imm(0), imm(int32_t(length)), imm(1)});
  b.emit(Opcode::mdsd, {dsd(1), sym_op(A), imm(0), imm(int32_t(length)), imm(1)});
  if (vector) b.emit(Opcode::vfma, {dsd(0), dsd(1), fimm(2.0f), dsd(0)});
  else b.emit(Opcode::nop, {});
  b.emit(Opcode::ret, {});
  return one_code(1, 1, b.finish());
}

uint64_t run_cycles(const arch::Arch& a, const ir::Program& p, Options o = opts()) {
  auto s = make(a, p, o);
  if (!s) return 0;
  EXPECT_TRUE(s->launch("main", {0, 0, p.width, p.height}));
  auto r = s->run();
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.message());
  return r ? r->cycles : 0;
}

// Cycles a vfma of `length` elements adds over a one-cycle instruction.
uint64_t vector_cycles(const arch::Arch& a, uint32_t length) {
  return run_cycles(a, fma_program(length)) - run_cycles(a, fma_program(length, false));
}

TEST(EngineTiming, SingleVectorOp) {
  for (const char* name : {"wse2", "wse3"}) {
    const arch::Arch a = preset(name);
    ASSERT_EQ(a.lanes_f32_fma, 1.0);
    // Four one-cycle instructions (mdsd, mdsd, nop, ret) and one cycle to find the PE idle.
    EXPECT_EQ(run_cycles(a, fma_program(64, false)), 5u) << name;
    for (uint32_t L : {1u, 7u, 64u, 301u}) {
      // The op holds the main thread for vector_setup_cycles, then one cycle per element;
      // the next instruction issues in the cycle after the last element.
      EXPECT_EQ(vector_cycles(a, L), uint64_t(a.vector_setup_cycles) + L) << name << " L=" << L;
    }
    EXPECT_EQ(run_cycles(a, fma_program(100)), 5u + 15u + 100u) << name;
  }
}

TEST(EngineTiming, LanesScaleTheElementTime) {
  const arch::Arch base = preset("wse3");
  const uint64_t setup = uint64_t(base.vector_setup_cycles);
  arch::Arch half = base;
  half.lanes_f32_fma = 0.5;
  arch::Arch quarter = base;
  quarter.lanes_f32_fma = 0.25;
  arch::Arch two = base;
  two.lanes_f32_fma = 2;
  arch::Arch four = base;
  four.lanes_f32_fma = 4;
  for (uint32_t L : {1u, 10u, 101u}) {
    EXPECT_EQ(vector_cycles(base, L), setup + L) << L;
    EXPECT_EQ(vector_cycles(half, L), setup + 2 * L) << L;  // 0.5 lanes: twice the time
    EXPECT_EQ(vector_cycles(quarter, L), setup + 4 * L) << L;
    EXPECT_EQ(vector_cycles(two, L), setup + (L + 1) / 2) << L;  // ceil(L / 2)
    // Four lanes would need 4 reads of 64-bit ports a cycle for the two stride-1 fp32
    // sources; the two read ports move 2 x 2 elements, so the op still does 2 per cycle.
    EXPECT_EQ(vector_cycles(four, L), setup + (L + 1) / 2) << L;
  }
}

TEST(EngineTiming, FractionalLanesAboveOne) {
  // 1.5 lanes is 3 elements every 2 cycles: 300 elements in 200 cycles (the memory ports
  // allow 2 fp32 elements a cycle for this op).
  arch::Arch a = preset("wse3");
  a.lanes_f32_fma = 1.5;
  EXPECT_EQ(vector_cycles(a, 300), uint64_t(a.vector_setup_cycles) + 200);
}

// Starting the clock just before 2^31, 2^32 or an epoch step (machine.hpp) moves every span
// by the same amount, also the spans that straddle the boundary.
class EngineTraceClock : public ::testing::TestWithParam<uint64_t> {};

TEST_P(EngineTraceClock, TraceSpanOfAVectorOp) {
  const uint64_t t0 = GetParam();
  Options o = opts();
  o.trace.enabled = true;
  o.first_cycle = t0;
  const arch::Arch a = preset("wse2");
  auto s = make(a, fma_program(40), o);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->launch("main", {0, 0, 1, 1}));
  auto r = s->run();
  ASSERT_TRUE(r.has_value()) << r.message();
  const TraceEvent* op = nullptr;
  const TraceEvent* task = nullptr;
  for (const TraceEvent& e : s->trace_events()) (e.instr >= 0 ? op : task) = &e;
  ASSERT_EQ(s->trace_events().size(), 2u);
  ASSERT_NE(op, nullptr);
  ASSERT_NE(task, nullptr);
  EXPECT_EQ(op->instr, 2);
  EXPECT_EQ(op->task, 1);
  EXPECT_EQ(op->microthread, 0);
  EXPECT_EQ(op->start, t0 + 2);             // issued by the third instruction
  EXPECT_EQ(op->end - op->start, 1u + 15u + 40u);
  EXPECT_EQ(task->start, t0);
  EXPECT_EQ(task->end, op->end + 1);        // 'ret' runs in the cycle after the op
  EXPECT_EQ(r->cycles, task->end - t0 + 1);  // and one cycle in which the PE finds nothing to do
  EXPECT_EQ(s->now(), t0 + r->cycles);
  EXPECT_EQ(s->stats().vector_elements, 40u);
}

// 30 cycles before each boundary: the 59-cycle run crosses it.
INSTANTIATE_TEST_SUITE_P(Clock, EngineTraceClock,
                         ::testing::Values(0, (1ull << 30) - 30, (1ull << 31) - 30,
                                           (1ull << 32) - 30, (5ull << 32) - 30));

// ---------------------------------------------------------------- fabric

struct Transfer {
  uint64_t cycles = 0;
  std::vector<double> received;
  bool counted = false;  // per-PE counters were collected
};

// PE (0,0) sends `values` east on color 0; PE (k+1,0) receives them; k PEs between only
// route (no code).
Transfer transfer(const arch::Arch& a, int k, const std::vector<double>& values, Options o = opts()) {
  const uint32_t n = uint32_t(values.size());
  CodeBuilder tx("sender");
  const int src = tx.symbol("src", DType::f32, n);
  tx.task("main", 1, ir::TaskKind::local);
  tx.begin_task(1);
  tx.emit(Opcode::fdsd, {dsd(0), ir::color_op(0), imm(int32_t(n)), ir::dtype_op(DType::f32)});
  tx.emit(Opcode::mdsd, {dsd(1), sym_op(src), imm(0), imm(int32_t(n)), imm(1)});
  tx.emit(Opcode::vmov, {dsd(0), dsd(1)});
  tx.emit(Opcode::ret, {});
  CodeBuilder rx("receiver");
  const int dst = rx.symbol("dst", DType::f32, n);
  rx.task("main", 1, ir::TaskKind::local);
  rx.begin_task(1);
  rx.emit(Opcode::fdsd, {dsd(0), ir::color_op(0), imm(int32_t(n)), ir::dtype_op(DType::f32)});
  rx.emit(Opcode::mdsd, {dsd(1), sym_op(dst), imm(0), imm(int32_t(n)), imm(1)});
  rx.emit(Opcode::vmov, {dsd(1), dsd(0)});
  rx.emit(Opcode::ret, {});
  ir::Program p;
  p.width = k + 2;
  p.height = 1;
  place(p, tx.finish(), {0, 0, 1, 1});
  place(p, rx.finish(), {k + 1, 0, 1, 1});
  add_route(p, {0, 0, 1, 1}, 0, R, E);
  if (k > 0) add_route(p, {1, 0, k, 1}, 0, W, E);
  add_route(p, {k + 1, 0, 1, 1}, 0, W, R);
  Transfer out;
  auto s = make(a, p, o);
  if (!s) return out;
  EXPECT_TRUE(s->write_symbol("src", {0, 0, 1, 1}, values));
  EXPECT_TRUE(s->launch("main", {0, 0, 1, 1}));
  EXPECT_TRUE(s->launch("main", {k + 1, 0, 1, 1}));
  auto r = s->run();
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.message());
  if (!r) return out;
  out.cycles = r->cycles;
  out.received = read(*s, "dst", {k + 1, 0, 1, 1});
  out.counted = !s->stats().busy.empty();
  return out;
}

TEST(EngineFabric, TransferArrivesIntactAndEachHopCostsHopLatency) {
  std::vector<double> values;
  for (int i = 0; i < 24; ++i) values.push_back(i * 1.5 - 7.25);
  for (const char* name : {"wse2", "wse3"}) {
    const arch::Arch a = preset(name);
    const Transfer direct = transfer(a, 0, values);
    EXPECT_EQ(direct.received, values) << name;
    // Sender: 2 instructions, issue, 15 setup, element i enters its ramp at cycle 18 + i.
    // Each element: ramp (2) to the router, one hop, ramp (2) to the receiver's core, which
    // consumes it on arrival; then 'ret' and one idle cycle.
    EXPECT_EQ(direct.cycles, 18u + 2 + uint64_t(a.hop_latency) + 2 + 23 + 3) << name;
    for (int k : {1, 2, 4}) {
      const Transfer t = transfer(a, k, values);
      EXPECT_EQ(t.received, values) << name << " k=" << k;
      EXPECT_EQ(t.cycles, direct.cycles + uint64_t(k) * uint64_t(a.hop_latency)) << name << " k=" << k;
    }
  }
}

TEST(EngineFabric, CountersOffChangeNothingButTheCounters) {
  std::vector<double> values;
  for (int i = 0; i < 40; ++i) values.push_back(i * 0.75 - 3);
  const arch::Arch a = preset("wse3");
  Options quiet = opts();
  quiet.collect_stats = false;
  const Transfer counted = transfer(a, 3, values);
  const Transfer plain = transfer(a, 3, values, quiet);
  EXPECT_TRUE(counted.counted);
  EXPECT_FALSE(plain.counted);
  EXPECT_EQ(plain.received, values);
  EXPECT_EQ(plain.cycles, counted.cycles);
  EXPECT_EQ(plain.cycles, 18u + 2 + 4 * uint64_t(a.hop_latency) + 2 + 39 + 3);
}

TEST(EngineFabric, BackpressureLosesNothing) {
  // The sender pushes 1000 wavelets as fast as it can; the receiver consumes one every 4
  // cycles (vfma at 0.25 lanes), so queues fill and the sender stalls.
  arch::Arch a = preset("wse3");
  a.lanes_f32_fma = 0.25;
  const uint32_t n = 1000;
  CodeBuilder tx("sender");
  const int src = tx.symbol("x", DType::f32, n);
  tx.task("main", 1, ir::TaskKind::local);
  tx.begin_task(1);
  tx.emit(Opcode::fdsd, {dsd(0), ir::color_op(3), imm(int32_t(n)), ir::dtype_op(DType::f32)});
  tx.emit(Opcode::mdsd, {dsd(1), sym_op(src), imm(0), imm(int32_t(n)), imm(1)});
  tx.emit(Opcode::vmov, {dsd(0), dsd(1)});
  tx.emit(Opcode::ret, {});
  CodeBuilder rx("receiver");
  const int A = rx.symbol("A", DType::f32, n), y = rx.symbol("y", DType::f32, n);
  rx.task("main", 1, ir::TaskKind::local);
  rx.begin_task(1);
  rx.emit(Opcode::fdsd, {dsd(0), ir::color_op(3), imm(int32_t(n)), ir::dtype_op(DType::f32)});
  rx.emit(Opcode::mdsd, {dsd(1), sym_op(A), imm(0), imm(int32_t(n)), imm(1)});
  rx.emit(Opcode::mdsd, {dsd(2), sym_op(y), imm(0), imm(int32_t(n)), imm(1)});
  rx.emit(Opcode::vfma, {dsd(2), dsd(1), dsd(0), dsd(2)});  // y = A * x + y
  rx.emit(Opcode::ret, {});
  ir::Program p;
  p.width = 3;
  p.height = 1;
  place(p, tx.finish(), {0, 0, 1, 1});
  place(p, rx.finish(), {2, 0, 1, 1});
  add_route(p, {0, 0, 1, 1}, 3, R, E);
  add_route(p, {1, 0, 1, 1}, 3, W, E);
  add_route(p, {2, 0, 1, 1}, 3, W, R);
  auto s = make(a, p);
  ASSERT_TRUE(s);
  std::vector<double> x(n), A0(n), y0(n);
  for (uint32_t i = 0; i < n; ++i) {
    x[i] = double(i) * 0.5;
    A0[i] = double(i % 7) - 3;
    y0[i] = double(i);
  }
  ASSERT_TRUE(s->write_symbol("x", {0, 0, 1, 1}, x));
  ASSERT_TRUE(s->write_symbol("A", {2, 0, 1, 1}, A0));
  ASSERT_TRUE(s->write_symbol("y", {2, 0, 1, 1}, y0));
  ASSERT_TRUE(s->launch("main", {0, 0, 1, 1}));
  ASSERT_TRUE(s->launch("main", {2, 0, 1, 1}));
  auto r = s->run();
  ASSERT_TRUE(r.has_value()) << r.message();
  const auto out = read(*s, "y", {2, 0, 1, 1});
  ASSERT_EQ(out.size(), n);
  for (uint32_t i = 0; i < n; ++i) ASSERT_EQ(out[i], A0[i] * x[i] + y0[i]) << i;
  // The receiver's op: 15 setup cycles then 4 cycles per element.
  EXPECT_GE(r->cycles, 15u + 4u * n);
  EXPECT_LE(r->cycles, 15u + 4u * n + 30u);
  // The sender spent most of the run stalled on a full queue, the wavelets all crossed the
  // middle router once.
  EXPECT_GT(s->stats().stall[0], 2500u);
  EXPECT_EQ(s->stats().link_out[1][size_t(Dir::east)], n);
  EXPECT_EQ(s->stats().link_out[0][size_t(Dir::east)], n);
  EXPECT_EQ(s->stats().link_out[2][size_t(Dir::ramp)], n);
}

// ---------------------------------------------------------------- async ops

TEST(EngineAsync, CompletionActivatesTheNextTask) {
  CodeBuilder b("async");
  const uint32_t n = 64;
  const int buf = b.symbol("buf", DType::f32, n), out = b.symbol("out", DType::f32, 2);
  b.task("main", 1, ir::TaskKind::local);
  b.task("after", 3, ir::TaskKind::local);
  b.begin_task(1);
  b.emit(Opcode::mdsd, {dsd(0), sym_op(buf), imm(0), imm(int32_t(n)), imm(1)});
  b.emit_async(Opcode::vmov, {dsd(0), fimm(3.0f)}, ir::OnDone::activate, 3);
  b.emit(Opcode::ret, {});
  b.begin_task(3);
  b.emit(Opcode::ld, {reg(1), sym_op(buf), imm(int32_t(n - 1))});
  b.emit(Opcode::st, {sym_op(out), imm(0), reg(1)});
  b.emit(Opcode::ret, {});
  Options o = opts();
  o.trace.enabled = true;
  auto s = make(preset("wse2"), one_code(1, 1, b.finish()), o);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->launch("main", {0, 0, 1, 1}));
  auto r = s->run();
  ASSERT_TRUE(r.has_value()) << r.message();
  EXPECT_EQ(read(*s, "out"), (std::vector<double>{3.0, 0.0}));  // ran after the op ended
  EXPECT_EQ(read(*s, "buf"), std::vector<double>(n, 3.0));
  const TraceEvent *op = nullptr, *main_span = nullptr, *after = nullptr;
  for (const TraceEvent& e : s->trace_events()) {
    if (e.instr >= 0) op = &e;
    else if (e.task == 1) main_span = &e;
    else if (e.task == 3) after = &e;
  }
  ASSERT_TRUE(op && main_span && after);
  EXPECT_EQ(op->microthread, 1);  // the first microthread
  EXPECT_EQ(main_span->end, 3u);  // main ended right after issuing (mdsd, vmov, ret)
  EXPECT_LT(main_span->end, op->end);
  // The activated task starts in the cycle the op writes its last elements (it sees them:
  // the op's writes come first within the cycle), i.e. one cycle before the op's span ends.
  EXPECT_EQ(after->start + 1, op->end);
  // 15 setup cycles, then 2 fp32 elements a cycle (one 64-bit write port).
  EXPECT_EQ(op->end - op->start, 1u + 15u + n / 2);
}

// main issues an async op, then reads the op's destination and notes the value; with a
// second async op in between when `second` is set.
ir::Program async_program(bool second) {
  CodeBuilder b("async");
  const uint32_t n = 64;
  const int buf = b.symbol("buf", DType::f32, n), buf2 = b.symbol("buf2", DType::f32, n);
  const int out = b.symbol("out", DType::f32, 2);
  b.task("main", 1, ir::TaskKind::local);
  b.begin_task(1);
  b.emit(Opcode::mdsd, {dsd(0), sym_op(buf), imm(0), imm(int32_t(n)), imm(1)});
  b.emit(Opcode::mdsd, {dsd(1), sym_op(buf2), imm(0), imm(int32_t(n)), imm(1)});
  b.emit(Opcode::vmov, {dsd(0), fimm(3.0f)}).async = true;
  if (second) b.emit(Opcode::vmov, {dsd(1), fimm(4.0f)}).async = true;
  b.emit(Opcode::ld, {reg(1), sym_op(buf), imm(int32_t(n - 1))});
  b.emit(Opcode::st, {sym_op(out), imm(0), reg(1)});
  b.emit(Opcode::st, {sym_op(out), imm(1), fimm(1.0f)});
  b.emit(Opcode::ret, {});
  return one_code(1, 1, b.finish());
}

TEST(EngineAsync, MainThreadProceedsWhileAMicrothreadWorks) {
  const arch::Arch a = preset("wse2");
  auto s = make(a, async_program(false));
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->launch("main", {0, 0, 1, 1}));
  auto r = s->run();
  ASSERT_TRUE(r.has_value()) << r.message();
  // main read buf[63] before the op wrote it, and finished its task.
  EXPECT_EQ(read(*s, "out"), (std::vector<double>{0.0, 1.0}));
  EXPECT_EQ(read(*s, "buf"), std::vector<double>(64, 3.0));
  // The run lasts as long as the op: issued in cycle 2, 15 setup, 32 cycles of elements.
  EXPECT_EQ(r->cycles, 2u + 1 + 15 + 32 + 1);
}

TEST(EngineAsync, NoFreeMicrothreadStallsTheMainThread) {
  arch::Arch a = preset("wse2");
  {
    auto s = make(a, async_program(true));
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->launch("main", {0, 0, 1, 1}));
    ASSERT_TRUE(s->run().has_value());
    EXPECT_EQ(read(*s, "out")[0], 0.0);  // two microthreads free: no wait
    EXPECT_EQ(read(*s, "buf2"), std::vector<double>(64, 4.0));
  }
  a.microthreads = 1;
  auto s = make(a, async_program(true));
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->launch("main", {0, 0, 1, 1}));
  auto r = s->run();
  ASSERT_TRUE(r.has_value()) << r.message();
  // The second async op waited for the first to finish, so main saw its result.
  EXPECT_EQ(read(*s, "out"), (std::vector<double>{3.0, 1.0}));
  EXPECT_EQ(read(*s, "buf"), std::vector<double>(64, 3.0));
  EXPECT_EQ(read(*s, "buf2"), std::vector<double>(64, 4.0));
  EXPECT_GE(r->cycles, 2u * (15 + 32));
}

// ---------------------------------------------------------------- data tasks

TEST(EngineDataTask, WaveletsTriggerADataTask) {
  CodeBuilder tx("sender");
  tx.task("main", 1, ir::TaskKind::local);
  tx.begin_task(1);
  tx.emit(Opcode::movi, {reg(1), imm(1)});
  const int loop = tx.new_label();
  tx.place(loop);
  tx.emit(Opcode::mul, {reg(2), reg(1), reg(1)});
  tx.emit(Opcode::send, {ir::color_op(2), reg(2)});  // 1, 4, 9, ..., 100
  tx.emit(Opcode::add, {reg(1), reg(1), imm(1)});
  tx.emit(Opcode::bge, {imm(10), reg(1), tx.label(loop)});
  tx.emit(Opcode::ret, {});
  CodeBuilder rx("receiver");
  const int acc = rx.symbol("acc", DType::i32, 1), count = rx.symbol("count", DType::i32, 1);
  const int log = rx.symbol("log", DType::i32, 10);
  rx.task("on_data", 2, ir::TaskKind::data, 2);
  rx.begin_task(2);
  rx.emit(Opcode::ld, {reg(1), sym_op(acc), imm(0)});
  rx.emit(Opcode::add, {reg(1), reg(1), special(Special::wavelet)});
  rx.emit(Opcode::st, {sym_op(acc), imm(0), reg(1)});
  rx.emit(Opcode::ld, {reg(2), sym_op(count), imm(0)});
  rx.emit(Opcode::st, {sym_op(log), reg(2), special(Special::wavelet)});
  rx.emit(Opcode::add, {reg(2), reg(2), imm(1)});
  rx.emit(Opcode::st, {sym_op(count), imm(0), reg(2)});
  rx.emit(Opcode::ret, {});
  ir::Program p;
  p.width = 2;
  p.height = 1;
  place(p, tx.finish(), {0, 0, 1, 1});
  place(p, rx.finish(), {1, 0, 1, 1});
  add_route(p, {0, 0, 1, 1}, 2, R, E);
  add_route(p, {1, 0, 1, 1}, 2, W, R);
  auto s = make(preset("wse3"), p);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->launch("main", {0, 0, 1, 1}));
  auto r = s->run();
  ASSERT_TRUE(r.has_value()) << r.message();
  const ir::Rect pe1{1, 0, 1, 1};
  EXPECT_EQ(read(*s, "acc", pe1), std::vector<double>{385});
  EXPECT_EQ(read(*s, "count", pe1), std::vector<double>{10});
  EXPECT_EQ(read(*s, "log", pe1), (std::vector<double>{1, 4, 9, 16, 25, 36, 49, 64, 81, 100}));
}

// ---------------------------------------------------------------- control wavelets

TEST(EngineControl, SendcAdvancesTheSwitchPosition) {
  // (0,0) routes color 3 east in position 0 and south in position 1. It sends 1, 2, 3, a
  // control wavelet (switch to south), 10, 20, a control wavelet (back to east), 100.
  CodeBuilder tx("sender");
  tx.task("main", 1, ir::TaskKind::local);
  tx.begin_task(1);
  for (int v : {1, 2, 3}) tx.emit(Opcode::send, {ir::color_op(3), imm(v)});
  tx.emit(Opcode::sendc, {ir::color_op(3), imm(5)});  // activates task 5 where it lands
  for (int v : {10, 20}) tx.emit(Opcode::send, {ir::color_op(3), imm(v)});
  tx.emit(Opcode::sendc, {ir::color_op(3), imm(5)});
  tx.emit(Opcode::send, {ir::color_op(3), imm(100)});
  tx.emit(Opcode::ret, {});
  CodeBuilder rx("receiver");
  const int acc = rx.symbol("acc", DType::i32, 1), count = rx.symbol("count", DType::i32, 1);
  const int ctl = rx.symbol("ctl", DType::i32, 1);
  rx.task("on_data", 3, ir::TaskKind::data, 3);
  rx.task("on_control", 5, ir::TaskKind::control);
  rx.begin_task(3);
  rx.emit(Opcode::ld, {reg(1), sym_op(acc), imm(0)});
  rx.emit(Opcode::add, {reg(1), reg(1), special(Special::wavelet)});
  rx.emit(Opcode::st, {sym_op(acc), imm(0), reg(1)});
  rx.emit(Opcode::ld, {reg(2), sym_op(count), imm(0)});
  rx.emit(Opcode::add, {reg(2), reg(2), imm(1)});
  rx.emit(Opcode::st, {sym_op(count), imm(0), reg(2)});
  rx.emit(Opcode::ret, {});
  rx.begin_task(5);
  rx.emit(Opcode::ld, {reg(1), sym_op(ctl), imm(0)});
  rx.emit(Opcode::add, {reg(1), reg(1), imm(1)});
  rx.emit(Opcode::st, {sym_op(ctl), imm(0), reg(1)});
  rx.emit(Opcode::ret, {});
  ir::Program p;
  p.width = 2;
  p.height = 2;
  place(p, tx.finish(), {0, 0, 1, 1});
  const ir::Code receiver = rx.finish();
  place(p, receiver, {1, 0, 1, 1});
  p.placements.push_back({{0, 1, 1, 1}, int(p.codes.size()) - 1, {}});
  ir::Route sw;
  sw.rect = {0, 0, 1, 1};
  sw.color = 3;
  sw.positions = {{R, E}, {R, S}};
  p.routes.push_back(sw);
  add_route(p, {1, 0, 1, 1}, 3, W, R);
  add_route(p, {0, 1, 1, 1}, 3, N, R);
  auto s = make(preset("wse2"), p);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->launch("main", {0, 0, 1, 1}));
  auto r = s->run();
  ASSERT_TRUE(r.has_value()) << r.message();
  const ir::Rect east{1, 0, 1, 1}, south{0, 1, 1, 1};
  // The first control wavelet travels east (the position it was forwarded in), the second
  // south; each activates task 5 on the PE it reaches.
  EXPECT_EQ(read(*s, "acc", east), std::vector<double>{106});
  EXPECT_EQ(read(*s, "count", east), std::vector<double>{4});
  EXPECT_EQ(read(*s, "ctl", east), std::vector<double>{1});
  EXPECT_EQ(read(*s, "acc", south), std::vector<double>{30});
  EXPECT_EQ(read(*s, "count", south), std::vector<double>{2});
  EXPECT_EQ(read(*s, "ctl", south), std::vector<double>{1});
}

// ---------------------------------------------------------------- deadlock and max-cycles

TEST(EngineDeadlock, WaitingOnAColorNobodySends) {
  CodeBuilder b("waiter");
  const int buf = b.symbol("buf", DType::f32, 4);
  b.task("main", 1, ir::TaskKind::local);
  b.begin_task(1);
  b.emit(Opcode::fdsd, {dsd(0), ir::color_op(7), imm(4), ir::dtype_op(DType::f32)});
  b.emit(Opcode::mdsd, {dsd(1), sym_op(buf), imm(0), imm(4), imm(1)});
  b.emit(Opcode::vmov, {dsd(1), dsd(0)});
  b.emit(Opcode::ret, {});
  ir::Program p;
  p.width = 3;
  p.height = 2;
  place(p, b.finish(), {2, 1, 1, 1});
  add_route(p, {1, 1, 1, 1}, 7, R, E);  // routed, but (1,1) never sends
  add_route(p, {2, 1, 1, 1}, 7, W, R);
  auto s = make(preset("wse3"), p);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->launch("main", {2, 1, 1, 1}));
  auto r = s->run();
  ASSERT_FALSE(r.has_value());
  const std::string e = r.message();
  EXPECT_TRUE(contains(e, "deadlock")) << e;
  EXPECT_TRUE(contains(e, "PE (2,1)")) << e;
  EXPECT_TRUE(contains(e, "color 7")) << e;
  EXPECT_TRUE(contains(e, "'vmov'")) << e;
  EXPECT_TRUE(contains(e, "done 0/4")) << e;
}

TEST(EngineDeadlock, SenderBlockedByAReceiverThatNeverReads) {
  // (0,0) sends 100 wavelets to (1,0), whose core has no task for the color: the queues
  // fill and the sender can never finish.
  CodeBuilder tx("sender");
  const int src = tx.symbol("src", DType::f32, 100);
  tx.task("main", 1, ir::TaskKind::local);
  tx.begin_task(1);
  tx.emit(Opcode::fdsd, {dsd(0), ir::color_op(1), imm(100), ir::dtype_op(DType::f32)});
  tx.emit(Opcode::mdsd, {dsd(1), sym_op(src), imm(0), imm(100), imm(1)});
  tx.emit(Opcode::vmov, {dsd(0), dsd(1)});
  tx.emit(Opcode::ret, {});
  CodeBuilder rx("deaf");
  rx.task("main", 1, ir::TaskKind::local);
  rx.begin_task(1);
  rx.emit(Opcode::ret, {});
  ir::Program p;
  p.width = 2;
  p.height = 1;
  place(p, tx.finish(), {0, 0, 1, 1});
  place(p, rx.finish(), {1, 0, 1, 1});
  add_route(p, {0, 0, 1, 1}, 1, R, E);
  add_route(p, {1, 0, 1, 1}, 1, W, R);
  Options o = opts();
  o.max_cycles = 100000;
  auto s = make(preset("wse2"), p, o);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->launch("main", {0, 0, 2, 1}));
  auto r = s->run();
  ASSERT_FALSE(r.has_value());
  const std::string e = r.message();
  EXPECT_TRUE(contains(e, "deadlock")) << e;
  EXPECT_TRUE(contains(e, "PE (0,0)")) << e;
  EXPECT_TRUE(contains(e, "color 1")) << e;
  EXPECT_FALSE(contains(e, "max-cycles")) << e;
  EXPECT_LT(s->now(), 1000u);  // found within a short window, not at max_cycles
}

// Task "main" counting in r1 forever, on every PE of a w x h program.
ir::Program spinner(int w, int h) {
  CodeBuilder b("spinner");
  b.task("main", 1, ir::TaskKind::local);
  b.begin_task(1);
  const int loop = b.new_label();
  b.place(loop);
  b.emit(Opcode::add, {reg(1), reg(1), imm(1)});
  b.emit(Opcode::jmp, {b.label(loop)});
  b.emit(Opcode::ret, {});
  return one_code(w, h, b.finish());
}

TEST(EngineDeadlock, MaxCyclesBoundsAnInfiniteLoop) {
  Options o = opts();
  o.max_cycles = 1000;
  auto s = make(preset("wse3"), spinner(2, 2), o);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->launch("main", {0, 0, 2, 2}));
  auto r = s->run();
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(contains(r.message(), "max-cycles")) << r.message();
  EXPECT_TRUE(contains(r.message(), "1000")) << r.message();
  EXPECT_EQ(s->now(), 1000u);
}

// --max-cycles counts from the run's first cycle in 64 bits, also across 2^32.
TEST(EngineDeadlock, MaxCyclesAcrossTheClocksBoundaries) {
  const ir::Program p = spinner(1, 1);
  Options o = opts();
  o.first_cycle = (1ull << 32) - 500;
  o.max_cycles = 1000;
  auto s = make(preset("wse3"), p, o);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->launch("main", {0, 0, 1, 1}));
  auto r = s->run();
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(contains(r.message(), "--max-cycles 1000 at cycle 4294967796")) << r.message();
  EXPECT_EQ(s->now(), (1ull << 32) + 500);
}

// ---------------------------------------------------------------- determinism

struct Snapshot {
  uint64_t cycles = 0;
  int threads = 0;
  std::vector<double> output;
  std::vector<uint64_t> busy, stall;
  std::vector<std::array<uint64_t, 5>> links;
  uint64_t wavelets = 0, instructions = 0, elements = 0;
};

Options engine(int threads, uint32_t superstep) {
  Options o = opts(threads);
  o.superstep = superstep;
  return o;
}

kernels::KernelParams kernel_params(const std::string& kernel, int w, int h, int64_t n) {
  kernels::KernelParams kp;
  kp.kernel = kernel;
  kp.grid_w = w;
  kp.grid_h = h;
  kp.n = n;
  return kp;
}

Snapshot run_params_with(const arch::Arch& a, const kernels::KernelParams& kp, const Options& o) {
  const std::string& kernel = kp.kernel;
  std::unique_ptr<Simulator> sim;
  Snapshot snap;
  auto r = kernels::run_kernel(a, kp, o, &sim);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.message());
  if (!r) return snap;
  EXPECT_TRUE(r->verified) << kernel << " error " << r->max_rel_error;
  snap.cycles = r->cycles;
  snap.threads = r->threads;
  snap.output = r->output;
  const Stats& st = sim->stats();
  snap.busy = st.busy;
  snap.stall = st.stall;
  snap.links = st.link_out;
  snap.wavelets = st.wavelets_moved;
  snap.instructions = st.instructions;
  snap.elements = st.vector_elements;
  return snap;
}

Snapshot run_kernel_with(const arch::Arch& a, const std::string& kernel, int w, int h, int64_t n,
                         const Options& o) {
  return run_params_with(a, kernel_params(kernel, w, h, n), o);
}

// Every output and counter of `got` equals `want`'s (`run` names the run in messages).
void expect_same(const Snapshot& got, const Snapshot& want, const std::string& run) {
  EXPECT_EQ(got.cycles, want.cycles) << run;
  EXPECT_EQ(got.output, want.output) << run;
  EXPECT_EQ(got.busy, want.busy) << run;
  EXPECT_EQ(got.stall, want.stall) << run;
  EXPECT_EQ(got.links, want.links) << run;
  EXPECT_EQ(got.wavelets, want.wavelets) << run;
  EXPECT_EQ(got.instructions, want.instructions) << run;
  EXPECT_EQ(got.elements, want.elements) << run;
}

// The reference is the plain sweep: one thread, one cycle per sweep. Every other thread count
// and superstep length (0: the engine's choice) must give the same outputs and counters.
void expect_same_for_params(const kernels::KernelParams& kp, int max_threads, const arch::Arch& a = preset("wse3")) {
  const std::string& kernel = kp.kernel;
  const Snapshot one = run_params_with(a, kp, engine(1, 1));
  ASSERT_GT(one.cycles, 0u);
  ASSERT_FALSE(one.output.empty());
  uint64_t busy = 0;
  for (uint64_t v : one.busy) busy += v;
  EXPECT_GT(busy, 0u);
  for (int threads : {1, 2, 3}) {
    for (uint32_t superstep : {0u, 1u, 2u, 3u, kMaxSuperstep}) {
      if (threads == 1 && superstep == 1) continue;
      const Snapshot t = run_params_with(a, kp, engine(threads, superstep));
      const std::string run = fmt::format("{} threads {} superstep {}", kernel, threads, superstep);
      EXPECT_EQ(t.threads, std::min(threads, max_threads)) << run;
      expect_same(t, one, run);
    }
  }
}

void expect_same_for_threads(const std::string& kernel, int w, int h, int64_t n, int max_threads,
                             const arch::Arch& a = preset("wse3")) {
  expect_same_for_params(kernel_params(kernel, w, h, n), max_threads, a);
}

// The engine uses at most one thread per 2 words of 64 PEs, so 8 x 8 PEs (one word) run on
// one thread whatever is asked and 16 x 16 (four) on at most two; the results must match.
TEST(EngineDeterminism, SmallGridsAnyThreadCount) {
  expect_same_for_threads("gemv", 8, 8, 0, 1);
  expect_same_for_threads("allreduce", 16, 16, 32, 2);
  expect_same_for_threads("stream-fma", 16, 16, 128, 2);
}

// 32 x 24 = 768 PEs = 12 words: two and three threads really run.
TEST(EngineDeterminism, ThreadsOneTwoThree) {
  expect_same_for_threads("gemv", 32, 24, 0, 3);
  expect_same_for_threads("allreduce", 32, 24, 16, 3);
  expect_same_for_threads("stream-fma", 32, 24, 64, 3);
}

// Summa's PEs have 8 color slots, at least kTrackedSlots: their routers step only the slots
// a push has marked, and clear a mark while PEs of other threads may push (step.hpp).
TEST(EngineDeterminism, RoutersThatTrackTheirSlots) {
  kernels::KernelParams kp = kernel_params("gemm", 32, 24, 64);
  kp.algo = "summa";
  kp.m = 48;
  kp.k = 96;  // lcm(32, 24) panels
  expect_same_for_params(kp, 3);
}

// One-row chunks, 2 * kMaxSuperstep per thread: three threads' ranges are long enough for the
// longest supersteps and the wedges between them (engine.cpp).
constexpr int kLongRows = 3 * 2 * int(kMaxSuperstep);

TEST(EngineDeterminism, LongSuperstepsOverThreads) {
  expect_same_for_threads("allreduce", 64, kLongRows, 16, 3);
  expect_same_for_threads("stream-fma", 64, kLongRows, 64, 3);
}

// The clock started 100 cycles before 2^31, before 2^32 and before an epoch step far out:
// wavelets in flight, channel stamps and sleeping cores cross the boundary (machine.hpp), and
// outputs and counters match a run from cycle 0 for every thread count and superstep.
TEST(EngineDeterminism, ClockCrossesCounterBoundaries) {
  const arch::Arch a = preset("wse3");
  for (const char* kernel : {"allreduce", "stream-fma"}) {
    const Snapshot zero = run_kernel_with(a, kernel, 32, 24, 16, engine(1, 1));
    for (uint64_t t0 : {(1ull << 31) - 100, (1ull << 32) - 100, (7ull << 31) - 100}) {
      for (auto [threads, superstep] : {std::pair{1, 1u}, {2, 0u}, {3, kMaxSuperstep}}) {
        Options o = engine(threads, superstep);
        o.first_cycle = t0;
        const Snapshot s = run_kernel_with(a, kernel, 32, 24, 16, o);
        const std::string run = fmt::format("{} from {} threads {} superstep {}", kernel, t0,
                                             threads, superstep);
        expect_same(s, zero, run);
      }
    }
  }
}

// The thread tuner (engine.cpp) switching between three threads and one after almost every
// superstep changes nothing but the speed.
TEST(EngineDeterminism, ThreadCountChangingMidRun) {
  const arch::Arch a = preset("wse3");
  for (auto [kernel, n] : {std::pair{"allreduce", 16}, {"stream-fma", 64}, {"gemv", 0}}) {
    const Snapshot one = run_kernel_with(a, kernel, 64, kLongRows, n, engine(1, 1));
    for (uint32_t superstep : {0u, 1u}) {
      Options o = engine(3, superstep);
      o.thread_probe_seconds = 1e-9;
      const Snapshot s = run_kernel_with(a, kernel, 64, kLongRows, n, o);
      const std::string run = fmt::format("{} superstep {}", kernel, superstep);
      EXPECT_EQ(s.threads, 3) << run;
      expect_same(s, one, run);
    }
  }
}

// The inlined streaming step (stream.hpp) and the general step (core.cpp) decide identically:
// every kernel of the library gives the same outputs, cycles and counters with the fast path
// turned off (Options::general_path), on a plain sweep and on long supersteps over threads.
// The whole-program kernels of the first library run on 32 x 24 PEs; the composable ones
// (GEMM, norms, CNN, attention: seconds each under the sanitizers at that size) on 8 x 6.
TEST(EngineDeterminism, FastPathMatchesTheGeneralPath) {
  const arch::Arch a = preset("wse3");
  for (const kernels::KernelInfo& k : kernels::kernel_list()) {
    const bool small = k.any_origin && std::string(k.name) != "gemv";
    const int w = small ? 8 : 32, h = small ? 6 : 24;
    for (auto [threads, superstep] : {std::pair{1, 1u}, {3, kMaxSuperstep}}) {
      Options fast = engine(threads, superstep);
      Options general = fast;
      general.general_path = true;
      const Snapshot f = run_kernel_with(a, k.name, w, h, 0, fast);
      const Snapshot g = run_kernel_with(a, k.name, w, h, 0, general);
      const std::string run = fmt::format("{} threads {} superstep {}", k.name, threads, superstep);
      ASSERT_GT(f.cycles, 0u) << run;
      expect_same(g, f, run);
    }
  }
}

// Queues deeper than 8 wavelets: the sweep reads the ring size at run time (step.hpp).
TEST(EngineDeterminism, DeepQueues) {
  arch::Arch a = preset("wse3");
  a.router_queue_depth = 12;
  a.core_input_queue_depth = 16;
  expect_same_for_threads("stream-fma", 64, kLongRows, 64, 3, a);
}

}  // namespace
}  // namespace wafer::sim
