// Element-wise kernels with broadcasting (kernels/eltwise.hpp): exact values, a pinned cycle
// count, every broadcast form, the transcendental functions at an origin on both chips,
// chunked passes, the errors, two element-wise kernels chained on the same PEs, and a GEMM's
// output activated and scaled where it lies.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "wafer/kernels/eltwise.hpp"
#include "wafer/kernels/gemm_emit.hpp"
#include "kernel_params.hpp"
#include "wafer/kernels/vmath.hpp"

namespace wafer::kernels {
namespace {

arch::Arch preset(const std::string& name) { return *arch::load_arch(name); }

KernelResult run(const KernelParams& p, const std::string& arch = "wse2") {
  auto r = run_kernel(preset(arch), p, sim::Options{});
  EXPECT_TRUE(r.has_value()) << p.kernel << ": " << (r ? "" : r.message());
  return r ? *r : KernelResult{};
}

std::string error_of(const KernelParams& p) {
  auto kc = build_kernel(preset("wse2"), p);
  return kc ? "no error" : kc.message();
}

// One code on `rect` that the test emits kernels into, inputs from element functions, run on
// the simulator; output() reads a tensor back in block_values' order (PE rows, then columns).
struct Composed {
  arch::Arch arch = preset("wse2");
  ir::Rect rect;
  KernelCase kc;
  Pools pools = Pools::for_arch(arch);
  ir::CodeBuilder code{"eltwise_test"};

  explicit Composed(ir::Rect r) : rect(r) {
    kc.program.width = r.x + r.w;
    kc.program.height = r.y + r.h;
  }
  Emit emit(const std::string& scope) { return Emit{code, kc.program, pools, arch, scope}; }
  void input(const DistTensor& t, const ElementFn& f) {
    kc.inputs.push_back(HostCopy{t.name, t.rect, {}, [t, f](int px, int py) { return block_values(t, px, py, f); }});
  }
  std::vector<double> output(const std::string& launch, const DistTensor& y) {
    kc.program.codes.push_back(code.finish());
    kc.program.placements.push_back(ir::Placement{{0, 0, kc.program.width, kc.program.height}, 0, {}});
    kc.rect = rect;
    kc.launch_task = launch;
    kc.result_symbol = y.name;
    kc.result_rect = rect;
    KernelParams p = params("eltwise-test", rect.w, rect.h);
    p.origin_x = rect.x;
    p.origin_y = rect.y;
    auto r = run_case(arch, p, kc, sim::Options{});
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.message());
    return r ? r->output : std::vector<double>{};
  }
};

// Values of `f` over y's blocks in the order output() reads them.
std::vector<double> expected(const DistTensor& y, const ElementFn& f) {
  std::vector<double> v;
  for (int py = 0; py < y.rect.h; ++py) {
    for (int px = 0; px < y.rect.w; ++px) {
      const auto b = block_values(y, px, py, f);
      v.insert(v.end(), b.begin(), b.end());
    }
  }
  return v;
}

const ElementFn kIota = [](int64_t i, int64_t j) { return double(10 * i + j); };

// A (R x D, fp32, on 3 x 2 PEs at (1,1)) op B in the given form, B(i, j) = 0.5 + i - j/4 over
// B's own shape; returns the output.
std::vector<double> binary_on_iota(EltwiseOp op, Broadcast form, DistTensor* y_out = nullptr, int64_t R = 4,
                                   int64_t D = 6) {
  Composed c({1, 1, 3, 2});
  Emit e = c.emit("k");
  EltwiseSpec s;
  s.op = op;
  s.a = DistTensor{"a", DType::f32, R, D, c.rect};
  s.b = broadcast_operand(s.a, form, "b", DType::f32);
  auto em = emit_eltwise(e, Site{c.rect, -1, -1}, s);
  EXPECT_TRUE(em.has_value()) << em.message();
  if (!em) return {};
  EXPECT_EQ(em->form, form);
  c.input(s.a, kIota);
  c.input(s.b, [](int64_t i, int64_t j) { return 0.5 + double(i) - double(j) / 4; });
  if (y_out) *y_out = em->y;
  return c.output("k.entry", em->y);
}

TEST(Eltwise, BinaryOpsGiveExactValuesInEveryBroadcastForm) {
  // a(i, j) = 10i + j; b(i, j) = 0.5 + i - j/4 on B's own indices (0 along a broadcast axis).
  struct Want {
    Broadcast form;
    ElementFn b;
  };
  const Want forms[] = {
      {Broadcast::full, [](int64_t i, int64_t j) { return 0.5 + double(i) - double(j) / 4; }},
      {Broadcast::row, [](int64_t, int64_t j) { return 0.5 - double(j) / 4; }},
      {Broadcast::col, [](int64_t i, int64_t) { return 0.5 + double(i); }},
      {Broadcast::scalar, [](int64_t, int64_t) { return 0.5; }},
  };
  // 4 x 6: blocks of 2 x 2, one op per block column; 2 x 48: blocks of 1 x 16 and 4 x 24:
  // blocks of 2 x 8, one op per block row (B's vector along it, or B[i] in a register).
  for (const auto& [R, D] : {std::pair<int64_t, int64_t>{4, 6}, {2, 48}, {4, 24}}) {
    for (const Want& w : forms) {
      const std::string what = std::string(broadcast_name(w.form)) + " " + std::to_string(R) + "x" + std::to_string(D);
      DistTensor y;
      const auto add = binary_on_iota(EltwiseOp::add, w.form, &y, R, D);
      EXPECT_EQ(add, expected(y, [&](int64_t i, int64_t j) { return kIota(i, j) + w.b(i, j); })) << what;
      const auto sub = binary_on_iota(EltwiseOp::sub, w.form, nullptr, R, D);
      EXPECT_EQ(sub, expected(y, [&](int64_t i, int64_t j) { return kIota(i, j) - w.b(i, j); })) << what;
      const auto mx = binary_on_iota(EltwiseOp::max, w.form, nullptr, R, D);
      EXPECT_EQ(mx, expected(y, [&](int64_t i, int64_t j) { return std::max(kIota(i, j), w.b(i, j)); })) << what;
      const auto mn = binary_on_iota(EltwiseOp::min, w.form, nullptr, R, D);
      EXPECT_EQ(mn, expected(y, [&](int64_t i, int64_t j) { return std::min(kIota(i, j), w.b(i, j)); })) << what;
    }
  }
  // Spot values: row 3, column 5 of A is 35; B's row vector there is 0.5 - 5/4 = -0.75.
  DistTensor y;
  const auto mul = binary_on_iota(EltwiseOp::mul, Broadcast::row, &y);
  const auto want = expected(y, [](int64_t i, int64_t j) { return i == 3 && j == 5 ? 1.0 : 0.0; });
  for (size_t k = 0; k < want.size(); ++k) {
    if (want[k] == 1.0) {
      EXPECT_EQ(mul[k], 35 * -0.75);
    }
  }
  const auto div = binary_on_iota(EltwiseOp::div, Broadcast::scalar);
  EXPECT_EQ(div, expected(y, [](int64_t i, int64_t j) { return double(20 * i + 2 * j); }));
}

TEST(Eltwise, BMayHaveAnotherTypeAndTheOpRoundsOnceToA) {
  // A bf16, B an fp32 scalar 0.1 (not a bf16 value): Y = round_bf16(a · 0.1f), one rounding of
  // the exact product, not a product of 0.1 rounded to bf16.
  Composed c({0, 0, 2, 1});
  Emit e = c.emit("k");
  EltwiseSpec s;
  s.op = EltwiseOp::mul;
  s.a = DistTensor{"a", DType::bf16, 2, 8, c.rect};
  s.b = broadcast_operand(s.a, Broadcast::scalar, "b", DType::f32);
  auto em = emit_eltwise(e, Site{c.rect, -1, -1}, s);
  ASSERT_TRUE(em.has_value()) << em.message();
  const ElementFn A = [](int64_t i, int64_t j) { return round_to(DType::bf16, 1.5 + double(i) - double(j) / 3); };
  const double b = round_to(DType::f32, 0.1);
  c.input(s.a, A);
  c.input(s.b, [b](int64_t, int64_t) { return b; });
  const auto y = c.output("k.entry", em->y);
  EXPECT_EQ(y, expected(em->y, [&](int64_t i, int64_t j) { return round_to(DType::bf16, A(i, j) * b); }));
  const double b16 = round_to(DType::bf16, 0.1);
  EXPECT_NE(y, expected(em->y, [&](int64_t i, int64_t j) { return round_to(DType::bf16, A(i, j) * b16); }));
}

TEST(Eltwise, ExactOpsHaveNoErrorAndTheOthersStayWithinTheirUlps) {
  // Correctly rounded ops against the unrounded double reference: within half an ulp of the
  // type; neg, ReLU, max and min copy a value, so they are exact.
  for (const char* k : {"neg", "relu", "max", "min"}) {
    const KernelResult r = run(params(k, 3, 2, 0, 0, DType::bf16));
    EXPECT_TRUE(r.verified) << k;
    EXPECT_EQ(r.max_rel_error, 0.0) << k;
  }
  const KernelResult add = run(params("add", 3, 2, 0, 0, DType::f16));
  EXPECT_TRUE(add.verified);
  EXPECT_LE(add.max_rel_error, std::ldexp(1.0, -11));
}

TEST(Eltwise, ScalarAddOnOnePeTakesTheDerivedCycles) {
  // add, B a scalar, on a 4 x 8 fp32 block on one PE (wse2: a vector op takes 1 cycle to
  // issue, 15 of setup, then 32 elements at 2 fp32 a cycle through the one write port):
  //   mdsd y, mdsd a, ld b[0]                                   3
  //   vadd y, a, r (1 + 15 + 16)                               32
  //   ret                                                       1
  // = 36 cycles of the entry task, and the idle cycle that ends the run: 37.
  KernelParams p = params("add", 1, 1, 4, 8, DType::f32);
  p.algo = "bcast=scalar";
  const KernelResult r = run(p);
  EXPECT_TRUE(r.verified);
  EXPECT_EQ(r.cycles, 37u);
}

TEST(Eltwise, EveryBroadcastFormVerifiesAtAnOriginOnBothChips) {
  for (const char* arch : {"wse2", "wse3"}) {
    for (const char* op : {"add", "sub", "mul", "div", "max", "min"}) {
      for (const char* form : {"full", "row", "col", "scalar"}) {
        KernelParams p = params(op, 3, 2, 6, 12, DType::f16);
        p.algo = std::string("bcast=") + form;
        p.origin_x = 100;
        p.origin_y = 37;
        const KernelResult r = run(p, arch);
        EXPECT_TRUE(r.verified) << arch << " " << op << " " << form << ": " << r.max_rel_error;
      }
    }
  }
}

TEST(Eltwise, EveryFunctionVerifiesAtAnOrigin) {
  // Each unary op once at (100, 37), the types and chips taking turns (kernels_test's
  // EveryKernel runs every op in every type at the origin).
  const DType types[] = {DType::f32, DType::f16, DType::bf16};
  for (size_t i = 0; i < size_t(EltwiseOp::count_); ++i) {
    const EltwiseOp op = EltwiseOp(i);
    if (eltwise_is_binary(op)) continue;
    const DType t = types[i % 3];
    KernelParams p = params(eltwise_name(op), 2, 2, 4, 8, t);
    p.origin_x = 100;
    p.origin_y = 37;
    const KernelResult r = run(p, i % 2 ? "wse2" : "wse3");
    EXPECT_TRUE(r.verified) << eltwise_name(op) << " " << dtype_name(t) << ": " << r.max_rel_error;
  }
}

TEST(Eltwise, AChunkedPassGivesTheSameBits) {
  // GELU over a 4 x 6 fp16 block per PE in one vmath pass, and in 4 passes of 6 elements
  // through the fp32 staging vector: the same operations on the same values.
  auto gelu = [](int64_t chunk) {
    Composed c({0, 0, 2, 2});
    Emit e = c.emit("g");
    EltwiseSpec s;
    s.op = EltwiseOp::gelu;
    s.a = DistTensor{"a", DType::f16, 8, 12, c.rect};
    s.chunk = chunk;
    auto em = emit_eltwise(e, Site{c.rect, -1, -1}, s);
    EXPECT_TRUE(em.has_value()) << em.message();
    c.input(s.a, [](int64_t i, int64_t j) { return round_to(DType::f16, random_value(3, uint64_t(i * 12 + j), -5, 5)); });
    return std::make_pair(c.output("g.entry", em->y), em->data_bytes);
  };
  const auto whole = gelu(0), chunked = gelu(6);
  ASSERT_EQ(whole.first.size(), 96u);
  EXPECT_EQ(chunked.first, whole.first);
  // Scratch: 8 fp32 vectors of 24 elements (7 + the conversion) against 1 + 7 of 6.
  EXPECT_EQ(whole.second, 24 * 2 * 2 + 8 * 4 * 24);
  EXPECT_EQ(chunked.second, 24 * 2 * 2 + 8 * 4 * 6);
}

TEST(Eltwise, ABlockTooLargeForScratchRunsInChunks) {
  // 64 x 64 fp32 per PE on wse2's 48 KiB: A and Y take 32 KiB, so GELU's 32 bytes of scratch
  // per element cannot cover the block at once; the kernel runs it in chunks and verifies.
  const KernelResult r = run(params("gelu", 1, 1, 64, 64, DType::f32));
  EXPECT_TRUE(r.verified) << r.max_rel_error;
}

TEST(Eltwise, ErrorsNameTheTensorsAndTheDimensions) {
  const arch::Arch a = preset("wse2");
  const ir::Rect rect{0, 0, 2, 2};
  const DistTensor at{"a", DType::f16, 8, 16, rect};
  const DistTensor wrong_rows{"b", DType::f16, 3, 16, rect};
  auto f = broadcast_form("add", at, wrong_rows);
  ASSERT_FALSE(f.has_value());
  EXPECT_EQ(f.message(), "add: tensor 'b' (3x16) does not broadcast to tensor 'a' (8x16): its rows must be 8 or 1");
  const DistTensor wrong_cols{"b", DType::f16, 8, 5, rect};
  EXPECT_EQ(broadcast_form("add", at, wrong_cols).message(),
            "add: tensor 'b' (8x5) does not broadcast to tensor 'a' (8x16): its columns must be 16 or 1");

  // A row vector whose row is split over y instead of replicated.
  KernelCase kc;
  kc.program.width = 2;
  kc.program.height = 2;
  Pools pools = Pools::for_arch(a);
  ir::CodeBuilder code("errors");
  Emit e{code, kc.program, pools, a, "k"};
  EltwiseSpec s;
  s.op = EltwiseOp::mul;
  s.a = at;
  s.b = DistTensor{"gamma", DType::f16, 1, 16, rect, Spread::split, Spread::split};
  auto em = emit_eltwise(e, Site{rect, -1, -1}, s);
  ASSERT_FALSE(em.has_value());
  EXPECT_EQ(em.message(),
            "k.mul: tensor 'gamma' (1x16 f16, rows split over 2, columns split over 2) on 2x2 PEs at (0,0) must "
            "have rows replicated over y, columns split over x");

  KernelParams p = params("add", 2, 2);
  p.algo = "bcast=diagonal";
  EXPECT_EQ(error_of(p), "add: --algo 'bcast=diagonal': expected bcast=full, bcast=row, bcast=col or bcast=scalar");
  p = params("gelu", 2, 2);
  p.algo = "bcast=row";
  EXPECT_EQ(error_of(p), "gelu: --algo 'bcast=row': gelu has no algorithms");
  EXPECT_EQ(error_of(params("exp", 4, 3, 10, 8)), "exp: --m 10 (rows) does not divide evenly over the grid's 3 PE rows");
  EXPECT_EQ(error_of(params("relu", 2, 2, 4, 4, DType::i32)), "relu: takes fp32, fp16 or bf16 (got i32)");
}

TEST(Eltwise, TwoKernelsChainOnTheSamePesWithTheNumbersOfEachAlone) {
  // Y1 = A + bias (a row vector), in place in A; then Y2 = GELU(Y1) reading A's symbol, its
  // entry the first one's done task, one code and one set of pools, at (2, 1). The chained
  // output equals GELU run alone on the add's output, bit for bit.
  const ir::Rect rect{2, 1, 3, 2};
  const DistTensor at{"a", DType::bf16, 4, 12, rect};
  const ElementFn A = [](int64_t i, int64_t j) { return round_to(DType::bf16, random_value(7, uint64_t(i * 12 + j), -3, 3)); };
  const ElementFn Bias = [](int64_t, int64_t j) { return round_to(DType::bf16, random_value(8, uint64_t(j), -1, 1)); };

  Composed chain(rect);
  Emit e1 = chain.emit("add");
  const int second = *chain.pools.tasks.take("test");
  EltwiseSpec s1;
  s1.op = EltwiseOp::add;
  s1.a = at;
  s1.b = broadcast_operand(at, Broadcast::row, "bias", DType::bf16);
  s1.y = "a";
  auto r1 = emit_eltwise(e1, Site{rect, -1, second}, s1);
  ASSERT_TRUE(r1.has_value()) << r1.message();
  r1->held.release(chain.pools);
  Emit e2 = chain.emit("act");
  EltwiseSpec s2;
  s2.op = EltwiseOp::gelu;
  s2.a = r1->y;
  s2.a_symbol = r1->y_symbol;
  auto r2 = emit_eltwise(e2, Site{rect, second, -1}, s2);
  ASSERT_TRUE(r2.has_value()) << r2.message();
  EXPECT_EQ(r1->y.name, "a");
  EXPECT_EQ(r1->y_symbol, r1->a_symbol);
  EXPECT_EQ(r2->entry, second);
  chain.input(s1.a, A);
  chain.input(s1.b, Bias);
  const auto chained = chain.output("add.entry", r2->y);

  Composed add_alone(rect);
  Emit ea = add_alone.emit("add");
  auto ra = emit_eltwise(ea, Site{rect, -1, -1}, s1);
  ASSERT_TRUE(ra.has_value());
  add_alone.input(s1.a, A);
  add_alone.input(s1.b, Bias);
  const auto sum = add_alone.output("add.entry", ra->y);
  ASSERT_EQ(sum.size(), size_t(48));
  // The sum as block values, by (row, col): PE rows of 2 rows, PE columns of 4 columns.
  std::vector<double> by_index(48);
  for (size_t k = 0; k < sum.size(); ++k) {
    const int p = int(k / 8), px = p % 3, py = p / 3;
    by_index[size_t(at.row_of(py, int64_t(k % 8)) * 12 + at.col_of(px, int64_t(k % 8)))] = sum[k];
  }
  for (int64_t i = 0; i < 4; ++i) {  // the add is correctly rounded to bf16
    for (int64_t j = 0; j < 12; ++j)
      EXPECT_EQ(by_index[size_t(i * 12 + j)], round_to(DType::bf16, A(i, j) + Bias(0, j))) << i << " " << j;
  }
  Composed gelu_alone(rect);
  Emit eg = gelu_alone.emit("act");
  EltwiseSpec sg;
  sg.op = EltwiseOp::gelu;
  sg.a = at;
  auto rg = emit_eltwise(eg, Site{rect, -1, -1}, sg);
  ASSERT_TRUE(rg.has_value());
  gelu_alone.input(at, [&](int64_t i, int64_t j) { return by_index[size_t(i * 12 + j)]; });
  const auto alone = gelu_alone.output("act.entry", rg->y);
  EXPECT_EQ(chained, alone);
}

TEST(Eltwise, AGemmsOutputIsActivatedAndScaledWhereItLies) {
  // C = A·B + bias by SUMMA (fp16 inputs, fp32 accumulation) on 2 x 2 PEs at (1, 1); its done
  // task starts GELU in place on C's symbol, whose done task starts Y = C · s with s a
  // per-row scale (R x 1, a column vector): three kernels, one code, one set of pools.
  const ir::Rect rect{1, 1, 2, 2};
  const GemmShape gs{2, 2, 8, 16, 8, DType::f16, DType::f32};
  Composed c(rect);
  Emit eg = c.emit("g");
  const int act = *c.pools.tasks.take("test"), scale = *c.pools.tasks.take("test");
  auto g = emit_summa_gemm(eg, Site{rect, -1, act}, gs);
  ASSERT_TRUE(g.has_value()) << g.message();
  g->held.release(c.pools);
  Emit ea = c.emit("act");
  EltwiseSpec sa;
  sa.op = EltwiseOp::gelu;
  sa.a = DistTensor{"g.C", DType::f32, gs.M, gs.N, rect};
  sa.a_symbol = g->c_symbol;
  sa.y = "g.C";
  auto ra = emit_eltwise(ea, Site{rect, act, scale}, sa);
  ASSERT_TRUE(ra.has_value()) << ra.message();
  ra->held.release(c.pools);
  Emit es = c.emit("scale");
  EltwiseSpec ss;
  ss.op = EltwiseOp::mul;
  ss.a = ra->y;
  ss.a_symbol = ra->y_symbol;
  ss.b = broadcast_operand(ss.a, Broadcast::col, "s", DType::f32);
  auto rs = emit_eltwise(es, Site{rect, scale, -1}, ss);
  ASSERT_TRUE(rs.has_value()) << rs.message();
  EXPECT_EQ(rs->form, Broadcast::col);

  auto seeded = [](uint64_t seed, int64_t cols) {
    return MatrixFn([seed, cols](int64_t i, int64_t j) {
      return round_to(DType::f16, random_value(seed, uint64_t(i * cols + j), -1, 1));
    });
  };
  const MatrixFn A = seeded(1, gs.K), B = seeded(2, gs.N), bias = seeded(3, gs.N);
  const ElementFn S = [](int64_t i, int64_t) { return 0.5 + double(i) / 8; };
  c.kc.inputs = g->inputs(A, B, bias);
  c.input(ss.b, S);
  const auto y = c.output("g.entry", rs->y);
  const auto want = expected(rs->y, [&](int64_t i, int64_t j) {
    double v = bias(0, j);
    for (int64_t k = 0; k < gs.K; ++k) v += A(i, k) * B(k, j);
    return double(vmath::reference(vmath::Func::gelu_erf, v)) * S(i, 0);
  });
  ASSERT_EQ(y.size(), want.size());
  // fp32 C (8 rounded additions), GELU within 6 fp32 ulps, one rounding of the product.
  EXPECT_LT(max_rel_error(y, want), 2e-6);
}

}  // namespace
}  // namespace wafer::kernels
