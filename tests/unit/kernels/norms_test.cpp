// softmax, LayerNorm, RMSNorm, row sum and mean along the hidden dimension (kernels/norms.hpp)
// and the row all-reduce they share (kernels/row_allreduce.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "wafer/kernels/gemm_emit.hpp"
#include "wafer/kernels/norms.hpp"
#include "../../../src/kernels/row_allreduce.hpp"
#include "kernel_params.hpp"

namespace wafer::kernels {
namespace {

arch::Arch wse2() { return *arch::load_arch("wse2"); }

KernelResult run(const KernelParams& p, const arch::Arch& a = wse2()) {
  auto r = run_kernel(a, p, sim::Options{});
  EXPECT_TRUE(r.has_value()) << p.kernel << ": " << (r ? "" : r.message());
  return r ? *r : KernelResult{};
}

void expect_verified(const KernelParams& p) {
  const KernelResult r = run(p);
  EXPECT_TRUE(r.verified) << p.kernel << " " << p.grid_w << "x" << p.grid_h << " m=" << p.m << " n=" << p.n << " "
                          << dtype_name(p.dtype) << ": error " << r.max_rel_error;
  EXPECT_GT(r.cycles, 0u);
}

const char* const kKernels[] = {"softmax", "layernorm", "rmsnorm", "rowsum", "rowmean"};

TEST(RowAllReduce, EveryPeButTheRootSendsOnceAndTheRootHearsBothSides) {
  const std::vector<int> colors{0, 1, 2, 3, 4, 5, 6, 7};
  for (int w = 2; w <= 17; ++w) {
    const int root = w / 2;
    const auto roles = row_reduce_roles(w, root, colors);
    for (int c = 0; c < w; ++c) {
      const RowReduceRole& r = roles[size_t(c)];
      if (c == root) {
        EXPECT_TRUE(r.out1 < 0 && r.out2 < 0) << w;
        EXPECT_EQ(r.in_w >= 0, root > 0) << w;
        EXPECT_EQ(r.in_e >= 0, root < w - 1) << w;
      } else {
        EXPECT_EQ((r.out1 >= 0) + (r.out2 >= 0), 1) << w << " " << c;
        // West of the root only west-side colors, east of it only east-side ones.
        for (int col : {r.in1, r.out1, r.in2, r.out2}) {
          if (col < 0) continue;
          EXPECT_EQ(col < 4, c < root) << w << " " << c;
        }
      }
    }
  }
}

TEST(Norms, EveryKernelOnSeveralShapesAndTypes) {
  struct Shape {
    int w, h;
    int64_t m, n;
    DType t;
  };
  const Shape shapes[] = {
      {4, 2, 8, 32, DType::f32},   // nb = 8: halving to one column
      {3, 2, 6, 15, DType::f16},   // odd width, nb = 5: the middle column carried over
      {1, 3, 6, 7, DType::bf16},   // one PE column: no all-reduce
      {6, 1, 5, 12, DType::f16},   // nb = 2, mb = 5 (odd)
      {2, 2, 4, 2, DType::f32},    // nb = 1
  };
  for (const char* k : kKernels) {
    for (const Shape& s : shapes) expect_verified(params(k, s.w, s.h, s.m, s.n, s.t));
  }
}

TEST(Norms, WiderRowsUseTheTwoLevelTree) {
  // 11 columns: 5 PEs on one side of the root (groups of 2), 5 on the other.
  for (const char* k : {"softmax", "layernorm"}) expect_verified(params(k, 11, 2, 4, 11 * 6, DType::f16));
}

TEST(Norms, RunAtAnOriginAndGiveTheSameCycles) {
  for (const char* k : kKernels) {
    KernelParams p = params(k, 4, 3, 6, 40, DType::f16);
    const KernelResult at0 = run(p);
    p.origin_x = 5;
    p.origin_y = 3;
    const KernelResult moved = run(p);
    EXPECT_TRUE(moved.verified) << k << ": error " << moved.max_rel_error;
    EXPECT_EQ(moved.cycles, at0.cycles) << k;
  }
}

TEST(Norms, RowsumOnOnePeTakesTheDerivedCycles) {
  // rowsum of a 4 x 8 fp32 block on one PE (wse2: a vector op takes 1 cycle to issue, 15 of
  // setup, then len / 2 cycles at 2 fp32 lanes; every scalar instruction 1 cycle):
  //   2 subs (relative coordinates)                                          2
  //   halving 8 -> 4 columns: 3 mdsd + vadd of 16 elements (1 + 15 + 8)     27
  //   4 -> 2: 2 mdsd + vadd of 8 (1 + 15 + 4)                               22
  //   2 -> 1: 2 mdsd + vadd of 4 (1 + 15 + 2)                               20
  //   no all-reduce on one column; the copy into y: 2 mdsd + vmov of 4      20
  //   ret                                                                    1
  // = 92 cycles of the entry task, and the idle cycle that ends the run: 93.
  const KernelResult r = run(params("rowsum", 1, 1, 4, 8, DType::f32));
  EXPECT_TRUE(r.verified);
  EXPECT_EQ(r.cycles, 93u);
}

TEST(Norms, ShapesThatDoNotDivideAreRefused) {
  auto a = wse2();
  auto m = build_kernel(a, params("softmax", 4, 3, 10, 16, DType::f16));
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.message(), "softmax: --m 10 (rows) does not divide evenly over the grid's 3 PE rows");
  auto n = build_kernel(a, params("layernorm", 4, 3, 12, 18, DType::f16));
  ASSERT_FALSE(n.has_value());
  EXPECT_EQ(n.message(), "layernorm: --n 18 (hidden) does not divide evenly over the grid's 4 PE columns");
  auto big = build_kernel(a, params("softmax", 2, 2, 256, 256, DType::f16));
  ASSERT_FALSE(big.has_value());
  EXPECT_NE(big.message().find("a 128x128 block per PE needs"), std::string::npos) << big.message();
  auto i = build_kernel(a, params("rmsnorm", 2, 2, 4, 4, DType::i32));
  ASSERT_FALSE(i.has_value());
  EXPECT_EQ(i.message(), "rmsnorm: takes fp32, fp16 or bf16 (got i32)");
}

TEST(Norms, TwoKernelsChainOnTheSamePes) {
  // rmsnorm writes its result in place of x, then softmax reads that symbol: the first one's
  // done task is the second one's entry, colors and tasks from one set of pools, one code.
  // Simulated end to end against softmax(round_fp16(rmsnorm(x))) in double.
  const auto a = wse2();
  const ir::Rect rect{1, 2, 3, 2};
  const int64_t R = 4, D = 12;
  KernelCase kc;
  kc.program.width = rect.x + rect.w;
  kc.program.height = rect.y + rect.h;
  Pools pools = Pools::for_arch(a);
  ir::CodeBuilder code("chain");
  Emit e1{code, kc.program, pools, a, "n1"};
  const int second = *pools.tasks.take("test");
  NormSpec s1;
  s1.kind = NormKind::rmsnorm;
  s1.x = DistTensor{"x", DType::f16, R, D, rect};
  s1.y = "x";
  auto r1 = emit_norm(e1, Site{rect, -1, second}, s1);
  ASSERT_TRUE(r1.has_value()) << r1.message();
  r1->held.release(pools);  // softmax runs after rmsnorm: it may have its registers
  Emit e2{code, kc.program, pools, a, "n2"};
  NormSpec s2;
  s2.kind = NormKind::softmax;
  s2.x = r1->y;
  s2.x_symbol = 0;  // x, the first symbol declared
  auto r2 = emit_norm(e2, Site{rect, second, -1}, s2);
  ASSERT_TRUE(r2.has_value()) << r2.message();
  EXPECT_EQ(r1->y.name, "x");
  EXPECT_EQ(r2->y.name, "n2.y");
  EXPECT_EQ(r2->entry, second);
  kc.program.codes.push_back(code.finish());
  kc.program.placements.push_back(ir::Placement{{0, 0, kc.program.width, kc.program.height}, 0, {}});

  const ElementFn X = [](int64_t i, int64_t j) { return round_to(DType::f16, random_value(5, uint64_t(i * D + j), -2, 2)); };
  const ElementFn G = [](int64_t, int64_t j) { return round_to(DType::f16, random_value(6, uint64_t(j), 0.5, 1.5)); };
  const DistTensor xt = s1.x, gt = r1->gamma;
  kc.inputs.push_back(HostCopy{"x", rect, {}, [xt, X](int px, int py) { return block_values(xt, px, py, X); }});
  kc.inputs.push_back(HostCopy{gt.name, rect, {}, [gt, G](int px, int py) { return block_values(gt, px, py, G); }});
  std::vector<double> z(size_t(R * D)), ref(size_t(R * D));
  for (int64_t i = 0; i < R; ++i) {
    double ss = 0;
    for (int64_t j = 0; j < D; ++j) ss += X(i, j) * X(i, j);
    const double rs = 1 / std::sqrt(ss / double(D) + s1.eps);
    double m = -INFINITY, sum = 0;
    for (int64_t j = 0; j < D; ++j) {
      z[size_t(i * D + j)] = round_to(DType::f16, X(i, j) * rs * G(0, j));
      m = std::max(m, z[size_t(i * D + j)]);
    }
    for (int64_t j = 0; j < D; ++j) sum += std::exp(z[size_t(i * D + j)] - m);
    for (int64_t j = 0; j < D; ++j) ref[size_t(i * D + j)] = std::exp(z[size_t(i * D + j)] - m) / sum;
  }
  const DistTensor yt = r2->y;
  for (int py = 0; py < rect.h; ++py) {
    for (int px = 0; px < rect.w; ++px) {
      const auto v = block_values(yt, px, py, [&](int64_t i, int64_t j) { return ref[size_t(i * D + j)]; });
      kc.reference.insert(kc.reference.end(), v.begin(), v.end());
    }
  }
  kc.rect = rect;
  kc.launch_task = "n1.entry";
  kc.result_symbol = yt.name;
  kc.result_rect = rect;
  // The intermediate is rounded to fp16 by the machine and by the reference alike, but the
  // two may round a value 1 ulp apart (2^-11 relative), which moves the softmax by as much
  // times the input's size (up to ~3): 4e-3.
  kc.tolerance = 4e-3;
  KernelParams p = params("rmsnorm+softmax", rect.w, rect.h, R, D, DType::f16);
  p.origin_x = rect.x;
  p.origin_y = rect.y;
  auto r = run_case(a, p, kc, sim::Options{});
  ASSERT_TRUE(r.has_value()) << r.message();
  EXPECT_TRUE(r->verified) << r->max_rel_error;
  EXPECT_LT(r->max_rel_error, 2e-3);
}

TEST(Norms, SoftmaxReadsAGemmsOutputOnTheSamePes) {
  // C = A·B + bias by SUMMA (fp16 inputs, fp32 accumulation) on 2 x 2 PEs at (1, 1); its done
  // task starts softmax over C's rows, reading C's symbol where it lies: the PE at (x, y)
  // holds block (y, x) of C, column-major, which is the layout the norms take.
  const auto a = wse2();
  const ir::Rect rect{1, 1, 2, 2};
  const GemmShape gs{2, 2, 8, 16, 8, DType::f16, DType::f32};
  KernelCase kc;
  kc.program.width = rect.x + rect.w;
  kc.program.height = rect.y + rect.h;
  Pools pools = Pools::for_arch(a);
  ir::CodeBuilder code("gemm_softmax");
  Emit eg{code, kc.program, pools, a, "g"};
  const int second = *pools.tasks.take("test");
  auto g = emit_summa_gemm(eg, Site{rect, -1, second}, gs);
  ASSERT_TRUE(g.has_value()) << g.message();
  for (int py = 0; py < 2; ++py) {
    for (int px = 0; px < 2; ++px) EXPECT_EQ(g->c_block(px, py), std::make_pair(py, px));
  }
  g->held.release(pools);
  Emit es{code, kc.program, pools, a, "s"};
  NormSpec ss;
  ss.kind = NormKind::softmax;
  ss.x = DistTensor{"g.C", DType::f32, gs.M, gs.N, rect};
  ss.x_symbol = g->c_symbol;
  auto sm = emit_norm(es, Site{rect, second, -1}, ss);
  ASSERT_TRUE(sm.has_value()) << sm.message();
  kc.program.codes.push_back(code.finish());
  kc.program.placements.push_back(ir::Placement{{0, 0, kc.program.width, kc.program.height}, 0, {}});

  auto seeded = [](uint64_t seed, int64_t cols) {
    return MatrixFn([seed, cols](int64_t i, int64_t j) {
      return round_to(DType::f16, random_value(seed, uint64_t(i * cols + j), -1, 1));
    });
  };
  const MatrixFn A = seeded(1, gs.K), B = seeded(2, gs.N), bias = seeded(3, gs.N);
  kc.inputs = g->inputs(A, B, bias);
  std::vector<double> ref(size_t(gs.M * gs.N));
  for (int64_t i = 0; i < gs.M; ++i) {
    std::vector<double> c(size_t(gs.N));
    for (int64_t j = 0; j < gs.N; ++j) {
      c[size_t(j)] = bias(0, j);
      for (int64_t k = 0; k < gs.K; ++k) c[size_t(j)] += A(i, k) * B(k, j);
    }
    const double m = *std::max_element(c.begin(), c.end());
    double sum = 0;
    for (double v : c) sum += std::exp(v - m);
    for (int64_t j = 0; j < gs.N; ++j) ref[size_t(i * gs.N + j)] = std::exp(c[size_t(j)] - m) / sum;
  }
  const DistTensor yt = sm->y;
  for (int py = 0; py < rect.h; ++py) {
    for (int px = 0; px < rect.w; ++px) {
      const auto v = block_values(yt, px, py, [&](int64_t i, int64_t j) { return ref[size_t(i * gs.N + j)]; });
      kc.reference.insert(kc.reference.end(), v.begin(), v.end());
    }
  }
  kc.rect = rect;
  kc.launch_task = "g.entry";
  kc.result_symbol = yt.name;
  kc.result_rect = rect;
  kc.tolerance = 1e-5;  // fp32 C (K = 8 rounded additions) and fp32 softmax, against double
  KernelParams p = params("gemm+softmax", rect.w, rect.h, gs.M, gs.N, DType::f32);
  p.origin_x = rect.x;
  p.origin_y = rect.y;
  auto r = run_case(a, p, kc, sim::Options{});
  ASSERT_TRUE(r.has_value()) << r.message();
  EXPECT_TRUE(r->verified) << r->max_rel_error;
}

}  // namespace
}  // namespace wafer::kernels
