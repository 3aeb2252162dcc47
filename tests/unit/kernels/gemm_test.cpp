// GEMM (Cannon on interleaved rings, SUMMA), the ring it shifts on, the resource pools, and
// two GEMMs composed into one program: on the same PEs one after the other, and side by side.
#include <gtest/gtest.h>

#include <algorithm>

#include "../../../src/kernels/gemm_emit.hpp"
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
  EXPECT_EQ(r.message(), "gemm: gemm: cannon needs a square rectangle of PEs, got 6x4");
  p.algo = "strassen";
  EXPECT_EQ(build_kernel(wse2(), p).message(), "gemm: unknown algorithm 'strassen' (algorithms: cannon, summa)");
}

}  // namespace
}  // namespace wafer::kernels
