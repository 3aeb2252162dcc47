// Tests of the vmath routines run on the simulator: each function on a few hundred inputs
// per type against the correctly rounded value, with the bounds docs/vmath.md states (the
// exhaustive and 10^7-sample measurements are `wafer ulp`); special values exactly,
// including the sign of zero; the API's errors; and the resources a routine gives back.
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "wafer/arch/arch.hpp"
#include "wafer/kernels/compose.hpp"
#include "wafer/kernels/vmath.hpp"

namespace wafer::kernels::vmath {
namespace {

arch::Arch wse3() { return *arch::preset("wse3"); }

// The largest error in ULPs docs/vmath.md states for fp32, fp16 and bf16.
struct Bound {
  uint64_t f32, f16, bf16;
  uint64_t of(DType t) const { return t == DType::f32 ? f32 : t == DType::f16 ? f16 : bf16; }
};

const std::map<Func, Bound>& bounds() {
  static const std::map<Func, Bound> b = {
      {Func::exp, {1, 1, 0}},       {Func::reciprocal, {0, 0, 0}}, {Func::sqrt, {0, 0, 0}},
      {Func::rsqrt, {1, 0, 0}},     {Func::tanh, {2, 0, 0}},       {Func::erf, {2, 1, 0}},
      {Func::sigmoid, {2, 1, 0}},   {Func::gelu_erf, {6, 1, 0}},   {Func::gelu_tanh, {205, 1, 0}},
      {Func::silu, {3, 1, 0}},      {Func::relu, {0, 0, 0}},       {Func::add, {0, 0, 0}},
      {Func::sub, {0, 0, 0}},       {Func::mul, {0, 0, 0}},        {Func::div, {0, 0, 0}},
      {Func::max, {0, 0, 0}},       {Func::min, {0, 0, 0}},       {Func::log, {1, 1, 0}},
  };
  return b;
}

// A few hundred inputs: the sampled ones for fp32 and two-source functions, every 150th
// finite value for fp16 and bf16 (the tool runs them all).
UlpInputs few_inputs(Func f, DType t) {
  UlpInputs all = ulp_inputs(f, t, 400, 7);
  if (!all.exhaustive) return all;
  UlpInputs some;
  for (size_t i = 0; i < all.a.size(); i += 150) some.a.push_back(all.a[i]);
  return some;
}

class VmathUlp : public ::testing::TestWithParam<Func> {};

TEST_P(VmathUlp, WithinTheDocumentedBound) {
  const Func f = GetParam();
  for (DType t : {DType::f32, DType::f16, DType::bf16}) {
    const UlpInputs in = few_inputs(f, t);
    auto r = measure_ulp(wse3(), f, t, in, 128, 1);
    ASSERT_TRUE(r.has_value()) << r.message();
    EXPECT_EQ(r->count, in.a.size());
    EXPECT_LE(r->max_ulp, bounds().at(f).of(t))
        << func_info(f).name << " " << dtype_name(t) << " at " << r->max_a << ": got " << r->max_got
        << ", want " << r->max_want;
    EXPECT_EQ(r->nan_mismatch, 0u) << func_info(f).name << " " << dtype_name(t) << " at " << r->nan_at;
  }
}

std::string func_name(const ::testing::TestParamInfo<Func>& info) { return func_info(info.param).name; }

std::vector<Func> all_funcs() {
  std::vector<Func> v;
  for (size_t i = 0; i < size_t(Func::count_); ++i) v.push_back(Func(i));
  return v;
}

INSTANTIATE_TEST_SUITE_P(All, VmathUlp, ::testing::ValuesIn(all_funcs()), func_name);

const double kInf = INFINITY, kNan = NAN;

std::vector<double> outputs(Func f, DType t, const std::vector<double>& a) {
  auto r = run_routine(wse3(), f, t, a, {}, uint32_t(a.size()), 1);
  EXPECT_TRUE(r.has_value()) << r.message();
  return r ? r->out : std::vector<double>{};
}

// Each special input gives the correctly rounded value exactly, with its sign (rsqrt(-0) is
// +inf, docs/vmath.md; relu's zero may have either sign).
TEST(VmathSpecial, ExactWithSignOfZero) {
  const std::vector<double> in = {0, -0.0, kInf, -kInf, kNan, 1e-30, -1e-30, 1e30, -1e30, 1, -1, 100, -100};
  for (Func f : all_funcs()) {
    if (func_info(f).arity != 1) continue;
    for (DType t : {DType::f32, DType::f16, DType::bf16}) {
      const std::vector<double> got = outputs(f, t, in);
      ASSERT_EQ(got.size(), in.size());
      for (size_t i = 0; i < in.size(); ++i) {
        const double x = decode_value(t, encode_value(t, in[i]));
        const double want = decode_value(t, encode_value(t, double(reference(f, x))));
        const std::string what = fmt::format("{} {}({})", dtype_name(t), func_info(f).name, x);
        if (f == Func::rsqrt && x == 0) {
          EXPECT_EQ(got[i], kInf) << what;
        } else if (std::isnan(want)) {
          EXPECT_TRUE(std::isnan(got[i])) << what << " gave " << got[i];
        } else if (std::isinf(want) || want == 0 || std::fabs(x) >= 100 || x == 0) {
          EXPECT_EQ(got[i], want) << what;
          if (f != Func::relu) EXPECT_EQ(std::signbit(got[i]), std::signbit(want)) << what << " sign";
        } else {
          EXPECT_LE(ulp_distance(t, got[i], want), bounds().at(f).of(t)) << what << " gave " << got[i];
        }
      }
    }
  }
}

TEST(VmathSpecial, NamedCases) {
  const std::vector<double> s = outputs(Func::sqrt, DType::f32, {-0.0, -4, 0x1p-149, 4});
  EXPECT_TRUE(s[0] == 0 && std::signbit(s[0]));  // sqrt(-0) = -0
  EXPECT_TRUE(std::isnan(s[1]));
  EXPECT_EQ(s[2], double(std::sqrt(0x1p-149f)));  // a subnormal input
  EXPECT_EQ(s[3], 2);
  EXPECT_EQ(outputs(Func::exp, DType::f32, {88.72283935546875})[0], kInf);  // just above ln FLT_MAX
  EXPECT_TRUE(std::isnan(outputs(Func::relu, DType::f16, {kNan})[0]));  // vclamp keeps NaN
  const std::vector<double> g = outputs(Func::gelu_erf, DType::f32, {-kInf, kInf, -14});
  EXPECT_TRUE(g[0] == 0 && std::signbit(g[0]));
  EXPECT_EQ(g[1], kInf);
  EXPECT_LT(g[2], 0);  // -14·Φ(-14) = -1.1e-43: a subnormal, not flushed to zero
}

// Resources: the DSD registers come back; scratch symbols are named by the scope.
TEST(VmathApi, ReleasesRegistersAndNamesScratch) {
  ir::CodeBuilder b("c");
  const Vec x{b.symbol("x", DType::f16, 32), 0, 32, DType::f16};
  const Vec y{b.symbol("y", DType::f16, 32), 0, 32, DType::f16};
  Pools pools = Pools::for_arch(wse3());
  Target t{b, pools, "act"};
  b.task("main", 1, ir::TaskKind::local);
  b.begin_task(1);
  ASSERT_TRUE(emit(t, Func::gelu_erf, y, x));
  EXPECT_EQ(pools.dsds.in_use(), 0);
  b.emit(ir::Opcode::ret, {});
  const ir::Code code = b.finish();
  EXPECT_EQ(code.find_symbol("act.t0"), 2);
  EXPECT_EQ(int(code.symbols.size()), 2 + scratch_vectors(Func::gelu_erf, DType::f16, DType::f16));
}

TEST(VmathApi, Errors) {
  ir::CodeBuilder b("c");
  const Vec x{b.symbol("x", DType::f32, 8), 0, 8, DType::f32};
  const Vec n{b.symbol("n", DType::i32, 8), 0, 8, DType::i32};
  const Vec s{b.symbol("s", DType::f32, 4), 0, 4, DType::f32};
  Pools pools = Pools::for_arch(wse3());
  Target t{b, pools, "v"};
  EXPECT_EQ(emit(t, Func::add, x, x).message(), "vmath add: takes 2 sources");
  EXPECT_EQ(emit(t, Func::exp, n, x).message(), "vmath exp: i32 is not a float type");
  EXPECT_EQ(emit(t, Func::exp, x, s).message(), "vmath exp: vectors of lengths 4 and 8 differ");
  Pools tiny = Pools::for_arch(wse3());
  ASSERT_TRUE(tiny.dsds.take(tiny.dsds.size() - 2, "caller"));
  Target t2{b, tiny, "v2"};
  const Status st = emit(t2, Func::tanh, x, x);
  EXPECT_FALSE(st);
  EXPECT_NE(st.message().find("vmath tanh"), std::string::npos) << st.message();
  EXPECT_EQ(tiny.dsds.in_use(), tiny.dsds.size() - 2);  // what it took is given back
}

TEST(VmathApi, NamesAndParsing) {
  EXPECT_EQ(parse_func("gelu"), Func::gelu_erf);
  EXPECT_FALSE(parse_func("gelu_erf").has_value());
  EXPECT_EQ(func_names().size(), size_t(Func::count_));
  EXPECT_EQ(ulp_distance(DType::f16, 1.0, 1.0 + 0x1p-10), 1u);
  EXPECT_EQ(ulp_distance(DType::f32, -0.0, 0.0), 0u);
  EXPECT_EQ(ulp_distance(DType::bf16, 0x1.fep127, kInf), 1u);
  EXPECT_EQ(ulp_distance(DType::f32, -0x1p-149, 0x1p-149), 2u);
}

}  // namespace
}  // namespace wafer::kernels::vmath
