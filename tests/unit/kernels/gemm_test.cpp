// GEMM (Cannon on interleaved rings, SUMMA) and C = A·Bᵀ (gemm-bt), the ring it shifts on,
// the resource pools, and two GEMMs composed into one program: on the same PEs one after the
// other, and side by side.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "wafer/kernels/gemm_emit.hpp"
#include "../../../src/kernels/ring.hpp"
#include "kernel_params.hpp"
#include "wafer/kernels/compose.hpp"

namespace wafer::kernels {
namespace {

arch::Arch wse2() { return *arch::load_arch("wse2"); }

KernelResult run(KernelParams p) {
  auto r = run_kernel(wse2(), p, sim::Options{});
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.message());
  return r ? *r : KernelResult{};
}

TEST(Ring, InterleavedNeighboursAreAtMostTwoApart) {
  EXPECT_EQ(interleaved_ring(6), (std::vector<int>{0, 2, 4, 5, 3, 1}));
  EXPECT_EQ(interleaved_ring(5), (std::vector<int>{0, 2, 4, 3, 1}));
  for (int n = 2; n <= 9; ++n) {
    const auto ring = interleaved_ring(n);
    for (int l = 0; l < n; ++l) EXPECT_LE(std::abs(ring[size_t(l)] - ring[size_t((l + 1) % n)]), 2) << n;
  }
}

TEST(Ring, ShiftUsesFourColorsAndOneCasePerPe) {
  Pool colors("colors", 24);
  auto s = plan_ring_shift(8, colors, "test");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->colors.size(), 4u);  // two per direction, alternating
  EXPECT_EQ(s->flows.size(), 8u);
  EXPECT_EQ(s->case_of.size(), 8u);
  for (const RingFlow& f : s->flows) EXPECT_LE(std::abs(f.to - f.from), 2);
  Pool two("colors", 2);
  auto none = plan_ring_shift(8, two, "gemm0");
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.message(), "gemm0: no free colors left (all 2 taken by gemm0)");
}

TEST(Pools, TakeReserveReleaseAndErrorsNameTheHolders) {
  Pool p("registers", 3);
  EXPECT_EQ(*p.take("a"), 0);
  ASSERT_TRUE(p.reserve(2, "b").ok());
  EXPECT_EQ(p.reserve(2, "c").message(), "c: registers 2 is already taken by b");
  EXPECT_FALSE(p.take(2, "c").has_value());
  EXPECT_EQ(p.in_use(), 2);  // a failed take(n) takes nothing
  p.release(0);
  EXPECT_EQ(*p.take("d"), 0);
  EXPECT_EQ(*p.take("e"), 1);
  EXPECT_EQ(p.take("f").message(), "f: no free registers left (all 3 taken by d, e, b)");
}

TEST(DistTensor, BlocksMapToGlobalRowsAndColumns) {
  DistTensor t{"A", DType::f16, 8, 6, {10, 20, 3, 2}};
  EXPECT_EQ(t.block_rows(), 4);
  EXPECT_EQ(t.block_cols(), 2);
  EXPECT_EQ(t.row_of(1, 5), 4 + 1);  // column-major: element 5 = (row 1, col 1) of block
  EXPECT_EQ(t.col_of(2, 5), 4 + 1);
  EXPECT_TRUE(check_layout(t, 13, 22).ok());
  t.rows = 9;
  EXPECT_EQ(check_layout(t, 13, 22).message(),
            "tensor 'A' (9x6 f16, rows split over 2, columns split over 3) on 3x2 PEs at (10,20): "
            "9 rows do not divide evenly over 2 PE rows");
}

// Ideal cycles of the block products alone: M·N·K / (PEs x lanes); wse2 fp16 FMA has 4 lanes.
TEST(Gemm, CannonReachesEightyPercentOfPeakInFp16) {
  KernelParams p = params("gemm", 4, 4, 0, 0, DType::f16);  // 128 x 128 x 128
  const KernelResult r = run(p);
  EXPECT_TRUE(r.verified) << r.max_rel_error;
  EXPECT_DOUBLE_EQ(r.flops, 2.0 * 128 * 128 * 128);
  // 128^3 / (16 x 4) = 32,768 cycles of FMAs; the A and B receives take the one SRAM write
  // port for 2 x 1,024 cycles in each of 3 shifts, and the entry and tail add the rest.
  EXPECT_EQ(r.cycles, 40003u);
  EXPECT_NEAR(r.peak_fraction, 32768.0 / 40003.0, 1e-9);
}

TEST(Gemm, SummaOnAnyRectangleAndEveryDtype) {
  for (DType t : {DType::f32, DType::f16, DType::bf16}) {
    KernelParams p = params("gemm", 6, 4, 0, 0, t);
    p.algo = "summa";
    const KernelResult r = run(p);
    EXPECT_TRUE(r.verified) << dtype_name(t) << " " << r.max_rel_error;
  }
  KernelParams mixed = params("gemm", 3, 3, 96, 96, DType::f16);
  mixed.k = 96;
  mixed.acc = DType::f32;
  const KernelResult m = run(mixed);
  EXPECT_TRUE(m.verified);
  EXPECT_LT(m.max_rel_error, 1e-6);  // fp32 accumulation of exact fp16 products
}

TEST(Gemm, AtAnOriginGivesTheSameNumbersAndCycles) {
  for (const char* algo : {"cannon", "summa"}) {
    KernelParams p = params("gemm", 4, 4, 64, 64, DType::f16);
    p.k = 64;
    p.algo = algo;
    const KernelResult here = run(p);
    p.origin_x = 100;
    p.origin_y = 37;
    const KernelResult there = run(p);
    EXPECT_TRUE(here.verified && there.verified) << algo;
    EXPECT_EQ(here.output, there.output) << algo;
    EXPECT_EQ(here.cycles, there.cycles) << algo;
  }
}

TEST(Gemm, ShapeErrorsNameTheNumber) {
  KernelParams p = params("gemm", 4, 4, 102, 0, DType::f16);
  auto r = build_kernel(wse2(), p);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.message(), "gemm: M = 102 does not divide evenly over 4 rows of PEs");
  p = params("gemm", 6, 4);
  p.algo = "cannon";
  r = build_kernel(wse2(), p);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.message(), "gemm: cannon needs a square rectangle of PEs, got 6x4");
  p.algo = "strassen";
  EXPECT_EQ(build_kernel(wse2(), p).message(), "gemm: unknown algorithm 'strassen' (algorithms: cannon, summa)");
}

// ---------------------------------------------------------------- C = A·Bᵀ

KernelResult run_on(const char* arch, KernelParams p) {
  auto r = run_kernel(*arch::load_arch(arch), p, sim::Options{});
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.message());
  return r ? *r : KernelResult{};
}

TEST(GemmBt, EveryAlgoDtypeArchAndOrigin) {
  struct Case {
    int w, h;
    const char* algo;
  };
  for (const Case c : {Case{4, 4, "cannon"}, Case{4, 4, "summa"}, Case{6, 4, "summa"}, Case{3, 5, "summa"}}) {
    for (DType t : {DType::f32, DType::f16, DType::bf16}) {
      for (const char* arch : {"wse2", "wse3"}) {
        KernelParams p = params("gemm-bt", c.w, c.h, 8 * c.h, 8 * c.w, t);  // 8 x 8 blocks of C
        p.k = 4 * std::lcm(c.w, c.h);
        p.algo = c.algo;
        p.origin_x = 100;
        p.origin_y = 37;
        const KernelResult r = run_on(arch, p);
        EXPECT_TRUE(r.verified) << c.w << "x" << c.h << " " << c.algo << " " << dtype_name(t) << " " << arch
                                << ": " << r.max_rel_error;
      }
    }
  }
  KernelParams mixed = params("gemm-bt", 3, 3, 96, 48, DType::bf16);
  mixed.k = 96;
  mixed.acc = DType::f32;
  const KernelResult m = run(mixed);
  EXPECT_TRUE(m.verified);
  EXPECT_LT(m.max_rel_error, 1e-6);  // fp32 accumulation of exact bf16 products
}

// The same ops as A·B: the block product's scalar loads of B read other addresses (cannon:
// B[k, j] at j + k·nb, not k + j·kb; summa: the same bytes), so the cycles are A·B's.
TEST(GemmBt, TakesTheCyclesOfAB) {
  KernelParams p = params("gemm-bt", 4, 4, 0, 0, DType::f16);  // 128 x 128 x 128
  const KernelResult bt = run(p);
  EXPECT_TRUE(bt.verified) << bt.max_rel_error;
  EXPECT_EQ(bt.cycles, 40003u);  // Gemm.CannonReachesEightyPercentOfPeakInFp16
  p.kernel = "gemm";
  EXPECT_EQ(run(p).cycles, bt.cycles);
  p = params("gemm-bt", 6, 4, 0, 0, DType::f16);
  const KernelResult summa = run(p);
  p.kernel = "gemm";
  EXPECT_EQ(run(p).cycles, summa.cycles);
}

// Bᵀ as a producer leaves it: the relay along the rows reaches every PE of the row (the line
// broadcast's routes deliver to each), so each phase receives three panels instead of two
// through the one SRAM write port, and the pipeline is a phase longer: 52,736 cycles against
// summa's 44,803 (128 x 128 x 128 fp16 on 4 x 4). Before a sender forwarded its own toward
// copy on the away color instead of storing it, its write port took each panel twice: 55,016
// and 47,318.
TEST(GemmBt, SummaDiagTakesBtAsProduced) {
  KernelParams p = params("gemm-bt", 4, 4, 0, 0, DType::f16);
  p.algo = "summa-diag";
  const KernelResult r = run(p);
  EXPECT_TRUE(r.verified) << r.max_rel_error;
  EXPECT_EQ(r.cycles, 52736u);
  EXPECT_EQ(r.compute_cycles + r.comm_cycles, r.cycles);
  p.algo = "summa";
  EXPECT_EQ(run(p).cycles, 44803u);
  p.kernel = "gemm";
  p.algo = "summa-diag";
  EXPECT_EQ(build_kernel(wse2(), p).message(), "gemm: unknown algorithm 'summa-diag' (algorithms: cannon, summa)");
  p = params("gemm-bt", 4, 2);
  p.algo = "summa-diag";
  EXPECT_EQ(build_kernel(wse2(), p).message(),
            "gemm-bt: gemm: Bᵀ as produced (block (y, x) on PE (x, y)) needs a square rectangle of PEs, got 4x2");
}

// Runs one emitter's GEMM of shape s on `rect` of a 4 x 5 fabric of wse2, with A and B
// seeded fp16 values (B handed over as Bᵀ when s.b_transposed) and bias(j) = j mod 3, and
// returns C as the kernel leaves it.
std::vector<double> simulate_gemm(bool cannon, const GemmShape& s, const ir::Rect& rect) {
  ir::Program program;
  program.width = 4;
  program.height = 5;
  const arch::Arch a = wse2();
  Pools pools = Pools::for_arch(a);
  ir::CodeBuilder code("g");
  Emit e{code, program, pools, a, "g"};
  auto g = cannon ? emit_cannon_gemm(e, Site{rect, -1, -1}, s) : emit_summa_gemm(e, Site{rect, -1, -1}, s);
  EXPECT_TRUE(g.has_value()) << g.message();
  if (!g) return {};
  program.codes.push_back(code.finish());
  program.placements.push_back(ir::Placement{{0, 0, 4, 5}, 0, {}});
  const int64_t n = s.N, k_extent = s.K;
  const MatrixFn b = [n](int64_t k, int64_t j) { return round_to(DType::f16, random_value(2, uint64_t(k * n + j))); };
  const MatrixFn given = s.b_transposed ? MatrixFn([b](int64_t j, int64_t k) { return b(k, j); }) : b;
  const MatrixFn a16 = [k_extent](int64_t i, int64_t k) {
    return round_to(DType::f16, random_value(1, uint64_t(i * k_extent + k)));
  };
  auto sim = sim::Simulator::create(a, program, sim::Options{});
  EXPECT_TRUE(sim.has_value());
  if (!sim) return {};
  for (const HostCopy& h : g->inputs(a16, given, [](int64_t, int64_t j) { return double(j % 3); })) {
    for (int py = 0; py < h.rect.h; ++py)
      for (int px = 0; px < h.rect.w; ++px)
        EXPECT_TRUE((*sim)->write_symbol(h.symbol, {h.rect.x + px, h.rect.y + py, 1, 1}, h.block(px, py)).ok());
  }
  EXPECT_TRUE((*sim)->launch("g.entry", rect).ok());
  EXPECT_TRUE((*sim)->run().has_value());
  auto c = (*sim)->read_symbol("g.C", rect);
  return c ? *c : std::vector<double>{};
}

// Given B's transpose, each emitter computes exactly what it computes given B: the same
// products in the same order, bit for bit; summa also with Bᵀ as a producer leaves it (the
// diagonal relay).
TEST(GemmBt, GivenBTransposedMatchesAGivenBBitForBit) {
  const ir::Rect rect{1, 2, 3, 3};
  const int64_t side = 48;
  enum Form { given_b, given_bt, bt_as_produced };
  for (bool cannon : {true, false}) {
    std::vector<double> out[3];
    for (Form form : {given_b, given_bt, bt_as_produced}) {
      if (cannon && form == bt_as_produced) continue;
      GemmShape s{3, 3, side, side, side, DType::f16, DType::f32};
      s.b_transposed = form != given_b;
      s.b_as_produced = form == bt_as_produced;
      out[form] = simulate_gemm(cannon, s, rect);
    }
    ASSERT_EQ(out[given_b].size(), size_t(side * side)) << cannon;
    EXPECT_EQ(out[given_b], out[given_bt]) << (cannon ? "cannon" : "summa");
    if (!cannon) {
      EXPECT_EQ(out[given_b], out[bt_as_produced]);
    }
  }
}

// A block of few rows and many columns runs its product in rows: an FMA per row of C's block
// into a row-major accumulator, copied into C's columns at the end. The cost per step of k,
// for a 4 x 192 fp16 block on wse3 (4 elements a cycle: the 64-bit ports): in rows 4 ops of
// 48 cycles, but the one write port also takes those 192 cycles and the 4 + 192 panel
// elements received at 1.6 cycles each (a line advances only when all its PEs have room),
// 505.6 in all; in columns 192 ops of 6 issue cycles, 1,152.
TEST(Gemm, AFlatBlockRunsItsProductInRowsWithTheSameSums) {
  const arch::Arch a3 = *arch::load_arch("wse3");
  const ProductCost rows = block_product_cost(a3, 4, 192, DType::f16, DType::f16, true);
  EXPECT_TRUE(rows.rows);
  EXPECT_DOUBLE_EQ(rows.cycles_per_k, 192 + 1.6 * 196);
  const ProductCost columns = block_product_cost(a3, 4, 192, DType::f16, DType::f16, false);
  EXPECT_FALSE(columns.rows);
  EXPECT_DOUBLE_EQ(columns.cycles_per_k, 1152);

  // Cannon given B (column-major blocks: columns) and given Bᵀ (rows): the same sums, bit for bit.
  GemmShape s{2, 2, 8, 128, 32, DType::f16, DType::f16};
  EXPECT_FALSE(cannon_product_in_rows(wse2(), s));
  const std::vector<double> in_columns = simulate_gemm(true, s, {0, 0, 2, 2});
  s.b_transposed = true;
  EXPECT_TRUE(cannon_product_in_rows(wse2(), s));
  const std::vector<double> in_rows = simulate_gemm(true, s, {0, 0, 2, 2});
  ASSERT_EQ(in_columns.size(), size_t(8 * 128));
  EXPECT_EQ(in_columns, in_rows);

  // Summa on 4 x 2 PEs, 8 x 64 x 256 fp16 (4 x 64 blocks): 64 steps of k at 172.8 cycles
  // (4 ops of 16 cycles; the write port's 64 + 1.6 x 68) and the rounds' broadcasts, 11,203
  // estimated; 11,753 simulated, where the product in columns took 35,350.
  KernelParams p = params("gemm", 4, 2, 8, 256, DType::f16);
  p.k = 64;
  p.algo = "summa";
  const KernelResult r = run(p);
  EXPECT_TRUE(r.verified) << r.max_rel_error;
  EXPECT_EQ(r.cycles, 11753u);
}

TEST(GemmBt, BtAsProducedNeedsASquareRectangle) {
  ir::Program program;
  const arch::Arch a = wse2();
  Pools pools = Pools::for_arch(a);
  ir::CodeBuilder code("g");
  Emit e{code, program, pools, a, "g"};
  GemmShape s{4, 2, 16, 16, 16, DType::f32, DType::f32};
  s.b_transposed = s.b_as_produced = true;
  auto g = emit_summa_gemm(e, Site{{0, 0, 4, 2}, -1, -1}, s);
  ASSERT_FALSE(g.has_value());
  EXPECT_EQ(g.message(), "g.gemm: Bᵀ as produced (block (y, x) on PE (x, y)) needs a square rectangle of PEs, got 4x2");
}

// ---------------------------------------------------------------- composition

MatrixFn seeded(uint64_t seed, int64_t cols) {
  return [=](int64_t i, int64_t j) { return random_value(seed, uint64_t(i * cols + j)); };
}

struct Composed {
  ir::Program program;
  std::vector<HostCopy> inputs;
  std::vector<std::pair<std::string, ir::Rect>> launches;
};

std::vector<double> run_composed(const Composed& c, const std::string& symbol, const ir::Rect& rect) {
  auto sim = sim::Simulator::create(wse2(), c.program, sim::Options{});
  EXPECT_TRUE(sim.has_value()) << (sim ? "" : sim.message());
  if (!sim) return {};
  for (const HostCopy& h : c.inputs) {
    for (int py = 0; py < h.rect.h; ++py)
      for (int px = 0; px < h.rect.w; ++px)
        EXPECT_TRUE((*sim)->write_symbol(h.symbol, {h.rect.x + px, h.rect.y + py, 1, 1}, h.block(px, py)).ok());
  }
  for (const auto& [task, r] : c.launches) EXPECT_TRUE((*sim)->launch(task, r).ok());
  auto run = (*sim)->run();
  EXPECT_TRUE(run.has_value()) << (run ? "" : run.message());
  auto out = (*sim)->read_symbol(symbol, rect);
  return out ? *out : std::vector<double>{};
}

// One program of one code; `emit` adds kernels to it.
template <typename F>
Composed compose(int w, int h, F emit) {
  Composed c;
  c.program.width = w;
  c.program.height = h;
  const arch::Arch a = wse2();
  Pools pools = Pools::for_arch(a);
  ir::CodeBuilder code("composed");
  emit(code, c, pools, a);
  c.program.codes.push_back(code.finish());
  c.program.placements.push_back(ir::Placement{{0, 0, w, h}, 0, {}});
  return c;
}

constexpr int64_t kSide = 48;  // 16 per PE on 3 x 3 PEs
const GemmShape kShape{3, 3, kSide, kSide, kSide, DType::f32, DType::f32};

TEST(Compose, GemmFeedingAGemmOnTheSamePesMatchesEachAlone) {
  const ir::Rect rect{2, 1, 3, 3};
  const Composed chained = compose(5, 4, [&](ir::CodeBuilder& code, Composed& c, Pools& pools, const arch::Arch& a) {
    Emit e0{code, c.program, pools, a, "g0"}, e1{code, c.program, pools, a, "g1"};
    const int second = *pools.tasks.take("g1");
    auto g0 = emit_summa_gemm(e0, Site{rect, -1, second}, kShape);
    ASSERT_TRUE(g0.has_value()) << g0.message();
    g0->held.release(pools);  // g1 runs after g0: it may have g0's registers
    GemmShape s1 = kShape;
    s1.a_symbol = g0->c_symbol;
    auto g1 = emit_summa_gemm(e1, Site{rect, second, -1}, s1);
    ASSERT_TRUE(g1.has_value()) << g1.message();
    c.inputs = g0->inputs(seeded(1, kSide), seeded(2, kSide), seeded(3, kSide));
    for (HostCopy& h : g1->inputs(nullptr, seeded(4, kSide), seeded(5, kSide))) c.inputs.push_back(h);
    c.launches.push_back({"g0.entry", rect});
  });
  const std::vector<double> both = run_composed(chained, "g1.C", rect);

  // Each alone: the first GEMM, then the second with the first one's C as its A.
  const Composed first = compose(5, 4, [&](ir::CodeBuilder& code, Composed& c, Pools& pools, const arch::Arch& a) {
    Emit e{code, c.program, pools, a, "g0"};
    auto g = emit_summa_gemm(e, Site{rect, -1, -1}, kShape);
    ASSERT_TRUE(g.has_value()) << g.message();
    c.inputs = g->inputs(seeded(1, kSide), seeded(2, kSide), seeded(3, kSide));
    c.launches.push_back({"g0.entry", rect});
  });
  const std::vector<double> c0 = run_composed(first, "g0.C", rect);
  ASSERT_EQ(c0.size(), size_t(kSide * kSide));
  // c0 is read back PE by PE (row-major), each 16 x 16 block column-major: element (i, j).
  const MatrixFn c0_at = [&](int64_t i, int64_t j) {
    const int64_t pe = (i / 16) * 3 + j / 16;
    return c0[size_t(pe * 256 + (j % 16) * 16 + i % 16)];
  };
  const Composed second = compose(5, 4, [&](ir::CodeBuilder& code, Composed& c, Pools& pools, const arch::Arch& a) {
    Emit e{code, c.program, pools, a, "g1"};
    auto g = emit_summa_gemm(e, Site{rect, -1, -1}, kShape);
    ASSERT_TRUE(g.has_value()) << g.message();
    c.inputs = g->inputs(c0_at, seeded(4, kSide), seeded(5, kSide));
    c.launches.push_back({"g1.entry", rect});
  });
  const std::vector<double> alone = run_composed(second, "g1.C", rect);
  ASSERT_EQ(both.size(), size_t(kSide * kSide));
  EXPECT_EQ(both, alone);
}

// Q·Kᵀ as attention needs it: one GEMM leaves K (48 x 48) in its C; the next reads it in
// place as Bᵀ (b_symbol, b_as_produced) and computes A·Kᵀ. Equal to the second alone, given
// the first one's C from the host.
TEST(Compose, GemmFeedingATransposedBMatchesEachAlone) {
  const ir::Rect rect{2, 1, 3, 3};
  GemmShape bt_shape = kShape;
  bt_shape.b_transposed = bt_shape.b_as_produced = true;
  const Composed chained = compose(5, 4, [&](ir::CodeBuilder& code, Composed& c, Pools& pools, const arch::Arch& a) {
    Emit e0{code, c.program, pools, a, "g0"}, e1{code, c.program, pools, a, "g1"};
    const int second = *pools.tasks.take("g1");
    auto g0 = emit_summa_gemm(e0, Site{rect, -1, second}, kShape);
    ASSERT_TRUE(g0.has_value()) << g0.message();
    g0->held.release(pools);
    GemmShape s1 = bt_shape;
    s1.b_symbol = g0->c_symbol;
    auto g1 = emit_summa_gemm(e1, Site{rect, second, -1}, s1);
    ASSERT_TRUE(g1.has_value()) << g1.message();
    c.inputs = g0->inputs(seeded(1, kSide), seeded(2, kSide), seeded(3, kSide));
    for (HostCopy& h : g1->inputs(seeded(4, kSide), nullptr, seeded(5, kSide))) c.inputs.push_back(h);
    c.launches.push_back({"g0.entry", rect});
  });
  const std::vector<double> both = run_composed(chained, "g1.C", rect);

  const Composed first = compose(5, 4, [&](ir::CodeBuilder& code, Composed& c, Pools& pools, const arch::Arch& a) {
    Emit e{code, c.program, pools, a, "g0"};
    auto g = emit_summa_gemm(e, Site{rect, -1, -1}, kShape);
    ASSERT_TRUE(g.has_value()) << g.message();
    c.inputs = g->inputs(seeded(1, kSide), seeded(2, kSide), seeded(3, kSide));
    c.launches.push_back({"g0.entry", rect});
  });
  const std::vector<double> c0 = run_composed(first, "g0.C", rect);
  ASSERT_EQ(c0.size(), size_t(kSide * kSide));
  const MatrixFn c0_at = [&](int64_t i, int64_t j) {  // as in GemmFeedingAGemmOnTheSamePesMatchesEachAlone
    const int64_t pe = (i / 16) * 3 + j / 16;
    return c0[size_t(pe * 256 + (j % 16) * 16 + i % 16)];
  };
  const Composed second = compose(5, 4, [&](ir::CodeBuilder& code, Composed& c, Pools& pools, const arch::Arch& a) {
    Emit e{code, c.program, pools, a, "g1"};
    auto g = emit_summa_gemm(e, Site{rect, -1, -1}, bt_shape);
    ASSERT_TRUE(g.has_value()) << g.message();
    c.inputs = g->inputs(seeded(4, kSide), c0_at, seeded(5, kSide));
    c.launches.push_back({"g1.entry", rect});
  });
  const std::vector<double> alone = run_composed(second, "g1.C", rect);
  ASSERT_EQ(both.size(), size_t(kSide * kSide));
  EXPECT_EQ(both, alone);
  // And it is A·Kᵀ: C[0, 1] = sum_k A[0, k] K[1, k] + bias[1].
  double c01 = seeded(5, kSide)(0, 1);
  for (int64_t k = 0; k < kSide; ++k) c01 += seeded(4, kSide)(0, k) * c0_at(1, k);
  EXPECT_NEAR(alone[size_t(16)], c01, 1e-4);  // PE (0, 0)'s block, column 1, row 0
}

TEST(Compose, TwoGemmsSideBySideMatchEachAlone) {
  // Disjoint rectangles: a code (and a Pools) each, one program.
  const ir::Rect left{0, 0, 3, 3}, right{3, 0, 3, 3};
  struct Part {
    ir::Rect rect;
    std::string scope;
    bool cannon;
  };
  auto build = [&](const std::vector<Part>& parts) {
    Composed c;
    c.program.width = 6;
    c.program.height = 3;
    const arch::Arch a = wse2();
    for (const Part& part : parts) {
      Pools pools = Pools::for_arch(a);
      ir::CodeBuilder code(part.scope);
      Emit e{code, c.program, pools, a, part.scope};
      auto g = part.cannon ? emit_cannon_gemm(e, Site{part.rect, -1, -1}, kShape)
                           : emit_summa_gemm(e, Site{part.rect, -1, -1}, kShape);
      EXPECT_TRUE(g.has_value()) << g.message();
      if (!g) return c;
      for (HostCopy& h : g->inputs(seeded(1, kSide), seeded(2, kSide), seeded(3, kSide))) c.inputs.push_back(h);
      c.launches.push_back({part.scope + ".entry", part.rect});
      c.program.placements.push_back(ir::Placement{part.rect, int(c.program.codes.size()), {}});
      c.program.codes.push_back(code.finish());
    }
    return c;
  };
  const Part l{left, "l", true}, r{right, "r", false};
  const Composed both = build({l, r});
  const std::vector<double> alone_l = run_composed(build({l}), "l.C", left);
  EXPECT_EQ(alone_l.size(), size_t(kSide * kSide));
  EXPECT_EQ(run_composed(both, "l.C", left), alone_l);
  EXPECT_EQ(run_composed(both, "r.C", right), run_composed(build({r}), "r.C", right));
}

// The regression for SUMMA's reuse of a line's colors two rounds later (docs/validation.md):
// a stream of 8,000 wavelets from PE (7, 0) to PE (0, 0) on a color of its own shares every
// westward link with the GEMM's toward-0 broadcasts, so those drain at half speed or less
// while the eastward ones run at full speed. With nb = 1 a phase's product (16 x 64 fp16 FMAs
// in 4 lanes: 256 cycles) is short beside a panel (1,024 wavelets), so round p + 2's sender
// (PE p + 2) is ready to send towards 0 while round p's sender still is: on the same color at
// PE p's router the two rounds would interleave. C must equal the C of the GEMM alone, bit
// for bit, and the stream must arrive whole.
TEST(Summa, ASlowWestwardLinkDoesNotMixTwoRoundsOfOneColor) {
  const GemmShape shape{8, 1, 16, 8, 512, DType::f16, DType::f16};
  const ir::Rect rect{0, 0, 8, 1};
  constexpr int32_t kStream = 8000;
  std::vector<double> ramp(kStream);
  for (int32_t i = 0; i < kStream; ++i) ramp[size_t(i)] = i;
  auto build = [&](bool stream) {
    return compose(8, 1, [&](ir::CodeBuilder& code, Composed& c, Pools& pools, const arch::Arch& a) {
      Emit e{code, c.program, pools, a, "g"};
      auto g = emit_summa_gemm(e, Site{rect, -1, -1}, shape);
      ASSERT_TRUE(g.has_value()) << g.message();
      c.inputs = g->inputs(seeded(1, 16), seeded(2, 512), seeded(3, 8));
      c.launches.push_back({"g.entry", rect});
      if (!stream) return;
      const int color = *pools.colors.take("stream"), task = *pools.tasks.take("stream");
      const std::vector<int> d = *pools.dsds.take(2, "stream");
      const int buffer = code.symbol("stream", DType::f32, kStream);
      c.inputs.push_back({"stream", {7, 0, 1, 1}, {}, [&ramp](int, int) { return ramp; }});
      const ir::PortMask R = ir::port_bit(ir::Dir::ramp), E = ir::port_bit(ir::Dir::east), W = ir::port_bit(ir::Dir::west);
      ir::add_route(c.program, {7, 0, 1, 1}, color, R, W);
      ir::add_route(c.program, {1, 0, 6, 1}, color, E, W);
      ir::add_route(c.program, {0, 0, 1, 1}, color, E, R);
      code.task("stream", task, ir::TaskKind::local);
      code.begin_task(task);
      const int receiver = code.new_label();
      code.emit(ir::Opcode::fdsd, {ir::dsd(d[0]), ir::color_op(color), ir::imm(kStream), ir::dtype_op(DType::f32)});
      code.emit(ir::Opcode::bne, {ir::special(ir::Special::x), ir::imm(7), code.label(receiver)});
      code.emit(ir::Opcode::mdsd, {ir::dsd(d[1]), ir::sym_op(buffer), ir::imm(0), ir::imm(kStream), ir::imm(1)});
      code.emit_async(ir::Opcode::vmov, {ir::dsd(d[0]), ir::dsd(d[1])}, ir::OnDone::none, -1);
      code.emit(ir::Opcode::ret, {});
      code.place(receiver);
      code.emit(ir::Opcode::mdsd, {ir::dsd(d[1]), ir::sym_op(buffer), ir::imm(0), ir::imm(kStream), ir::imm(1)});
      code.emit_async(ir::Opcode::vmov, {ir::dsd(d[1]), ir::dsd(d[0])}, ir::OnDone::none, -1);
      code.emit(ir::Opcode::ret, {});
      c.launches.push_back({"stream", {7, 0, 1, 1}});
      c.launches.push_back({"stream", {0, 0, 1, 1}});
    });
  };
  const std::vector<double> alone = run_composed(build(false), "g.C", rect);
  ASSERT_EQ(alone.size(), size_t(16 * 8));
  EXPECT_EQ(run_composed(build(true), "g.C", rect), alone);
  EXPECT_EQ(run_composed(build(true), "stream", {0, 0, 1, 1}), ramp);
}

}  // namespace
}  // namespace wafer::kernels
