// conv2d, maxpool, avgpool, globalavgpool and batchnorm: each verified against its double
// reference on wse2 and wse3, in fp32, fp16 and bf16, at the origin and elsewhere, on shapes
// that do not divide the grid; the window spec and the errors; one pinned cycle count.
#include <gtest/gtest.h>

#include "wafer/kernels/conv.hpp"
#include "kernel_params.hpp"

namespace wafer::kernels {
namespace {

arch::Arch load(const char* name) { return *arch::load_arch(name); }

struct Case {
  const char* kernel;
  int w, h;
  int64_t m, n, k;
  const char* algo;
  DType t;
  const char* arch;
  int ox = 0, oy = 0;
};

KernelResult run(const Case& c) {
  KernelParams p = params(c.kernel, c.w, c.h, c.m, c.n, c.t);
  p.k = c.k;
  p.algo = c.algo;
  p.origin_x = c.ox;
  p.origin_y = c.oy;
  auto r = run_kernel(load(c.arch), p, sim::Options{});
  EXPECT_TRUE(r.has_value()) << c.kernel << " " << c.algo << ": " << (r ? "" : r.message());
  return r ? *r : KernelResult{};
}

void expect_verified(const Case& c) {
  const KernelResult r = run(c);
  EXPECT_TRUE(r.verified) << c.kernel << " " << c.algo << " " << dtype_name(c.t) << " on " << c.arch
                          << ": error " << r.max_rel_error;
  EXPECT_GT(r.cycles, 0u);
}

std::string error_of(const Case& c) {
  KernelParams p = params(c.kernel, c.w, c.h, c.m, c.n, c.t);
  p.k = c.k;
  p.algo = c.algo;
  auto r = build_kernel(load(c.arch), p);
  return r ? "" : r.message();
}

TEST(Window, SpecParsesAndNamesTheBadNumber) {
  auto w = parse_window("k5s2", Window{3, 1, 1});
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(window_name(*w), "k5s2p1");
  EXPECT_EQ(parse_window("k9", {}).message(), "window spec 'k9': size k = 9 is out of range (must be 1..7)");
  EXPECT_EQ(parse_window("k3p3", {}).message(), "window spec 'k3p3': padding p = 3 must be below the size 3");
  EXPECT_EQ(parse_window("3x3", {}).message(), "window spec '3x3': expected k<size>s<stride>p<padding>, e.g. k3s1p1");
}

TEST(Conv2d, OneByOne) {
  expect_verified({"conv2d", 4, 4, 8, 16, 12, "k1s1p0", DType::f32, "wse2"});
  expect_verified({"conv2d", 3, 2, 7, 10, 5, "k1s1p0", DType::bf16, "wse3", 100, 37});
}

TEST(Conv2d, ThreeByThreeStrideOnePadOne) {
  expect_verified({"conv2d", 4, 4, 16, 16, 8, "k3s1p1", DType::f16, "wse2"});
  expect_verified({"conv2d", 4, 4, 16, 16, 8, "k3s1p1", DType::f16, "wse3", 100, 37});
  expect_verified({"conv2d", 3, 5, 13, 7, 3, "k3s1p1", DType::f32, "wse2", 100, 37});  // nothing divides
}

TEST(Conv2d, FiveByFiveStrideTwo) {
  expect_verified({"conv2d", 2, 3, 15, 6, 4, "k5s2p0", DType::f32, "wse3"});
  expect_verified({"conv2d", 4, 2, 12, 8, 3, "k5s2p2", DType::bf16, "wse2", 100, 37});
}

TEST(Conv2d, SevenBySevenStrideTwoPadThree) {
  expect_verified({"conv2d", 4, 4, 32, 8, 3, "k7s2p3", DType::f16, "wse2", 100, 37});
  expect_verified({"conv2d", 2, 3, 11, 5, 2, "k7s2p3", DType::f32, "wse3"});
}

TEST(Conv2d, Fp32AccumulationOfFp16) {
  KernelParams p = params("conv2d", 2, 2, 10, 4, DType::f16);
  p.k = 16;
  p.acc = DType::f32;
  auto r = run_kernel(load("wse2"), p, sim::Options{});
  ASSERT_TRUE(r.has_value()) << r.message();
  EXPECT_TRUE(r->verified) << r->max_rel_error;
}

TEST(Pool, MaxIsExact) {
  for (const char* arch : {"wse2", "wse3"}) {
    const KernelResult r = run({"maxpool", 3, 2, 13, 7, 0, "k3s2p1", DType::f16, arch, 100, 37});
    EXPECT_TRUE(r.verified);
    EXPECT_EQ(r.max_rel_error, 0.0) << arch;
  }
  expect_verified({"maxpool", 4, 4, 16, 8, 0, "k2s2p0", DType::bf16, "wse2"});
  expect_verified({"maxpool", 2, 2, 9, 4, 0, "k3s1p1", DType::f32, "wse3"});
}

TEST(Pool, Average) {
  expect_verified({"avgpool", 4, 4, 16, 8, 0, "k2s2p0", DType::f16, "wse2"});
  expect_verified({"avgpool", 3, 2, 13, 7, 0, "k3s2p1", DType::f32, "wse3", 100, 37});
  expect_verified({"avgpool", 2, 3, 11, 5, 0, "k3s1p1", DType::bf16, "wse2", 100, 37});
}

TEST(Pool, GlobalAverage) {
  expect_verified({"globalavgpool", 4, 4, 8, 16, 0, "", DType::f16, "wse2"});
  expect_verified({"globalavgpool", 3, 5, 7, 10, 0, "", DType::f32, "wse3", 100, 37});
  expect_verified({"globalavgpool", 2, 1, 5, 3, 0, "", DType::bf16, "wse2"});
}

TEST(BatchNorm, FoldedScaleAndShift) {
  expect_verified({"batchnorm", 4, 4, 16, 16, 0, "", DType::f32, "wse2"});
  expect_verified({"batchnorm", 3, 5, 13, 7, 0, "", DType::f16, "wse3", 100, 37});
  expect_verified({"batchnorm", 2, 2, 6, 4, 0, "", DType::bf16, "wse2"});
}

TEST(Conv2d, ErrorsNameTheNumber) {
  EXPECT_EQ(error_of({"conv2d", 4, 4, 2, 4, 4, "k5s1p0", DType::f16, "wse2"}),
            "conv2d: the 5x5 window is larger than the 2x2 image with padding 0");
  EXPECT_EQ(error_of({"maxpool", 4, 4, 8, 4, 0, "k3s1p2", DType::f16, "wse2"}),
            "maxpool: padding p = 2 must be at most half the window k = 3");
  EXPECT_EQ(error_of({"maxpool", 4, 4, 8, 4, 3, "", DType::f16, "wse2"}),
            "maxpool: --k 3 is not used (the channels are --n)");
  const std::string big = error_of({"conv2d", 8, 8, 56, 64, 64, "k3s1p1", DType::f16, "wse2"});
  EXPECT_EQ(big, "conv2d: on 8x8 PEs a PE's input band (64 channels x 1x1 planes of 9 rows x 58), weights and "
                 "output (8 channels x 7 rows x 56) need 88816 bytes, more than the 49152 bytes of SRAM less 4096 for code; use more "
                 "PEs (columns split the 64 output channels, rows the 56 output rows)");
}

// conv2d composed: its continuation task copies `out` into `copy` (one synchronous vmov);
// were it activated before the last op completed, the copy would miss the last taps. The
// kernel sits at (3,2) of a larger program and takes its resources from shared pools.
KernelResult run_with_continuation(const std::string& algo) {
  const arch::Arch a = load("wse3");
  KernelParams p = params("conv2d", 3, 2, 13, 7, DType::f16);
  p.k = 3;
  p.algo = algo;
  p.origin_x = 3;
  p.origin_y = 2;
  auto standalone = build_kernel(a, p);
  auto shape = window_shape(a, WindowShape{TapOp::conv, 3, 2, 13, 13, 3, 7, *parse_window(algo, {}), DType::f16,
                                           DType::f16});
  if (!standalone || !shape) return {};
  Standalone one(a, p.rect(), "composed");
  Emit& e = one.emit();
  const int done = *e.pools.tasks.take("test");
  auto g = emit_window(e, Site{p.rect(), -1, done}, *shape);
  if (!g) return {};
  const uint32_t n = uint32_t(shape->out_elements());
  const int copy = e.code.symbol("copy", DType::f16, n), d0 = *e.pools.dsds.take("test"), d1 = *e.pools.dsds.take("test");
  e.code.task("copy_out", done, ir::TaskKind::local);
  e.code.begin_task(done);
  e.code.emit(ir::Opcode::mdsd, {ir::dsd(d0), ir::sym_op(copy), ir::imm(0), ir::imm(int32_t(n)), ir::imm(1)});
  e.code.emit(ir::Opcode::mdsd, {ir::dsd(d1), ir::sym_op(g->out_symbol), ir::imm(0), ir::imm(int32_t(n)), ir::imm(1)});
  e.code.emit(ir::Opcode::vmov, {ir::dsd(d0), ir::dsd(d1)});
  e.code.emit(ir::Opcode::ret, {});
  KernelCase kc = one.finish(g->entry, "copy", p.rect());
  kc.inputs = standalone->inputs;
  kc.reference = standalone->reference;
  kc.tolerance = standalone->tolerance;
  auto r = run_case(a, p, kc, sim::Options{});
  EXPECT_TRUE(r.has_value()) << r.message();
  return r ? *r : KernelResult{};
}

TEST(Conv2d, ContinuationRunsAfterTheLastOp) {
  for (const char* algo : {"k3s1p1", "k5s2p2", "k1s1p0"}) {
    const KernelResult r = run_with_continuation(algo);
    EXPECT_TRUE(r.verified) << algo << ": " << r.max_rel_error;
  }
}

// 1x1 conv of an 8x8 image, C_in = 4 -> C_out = 4 on one PE, fp16 on wse2. One op covers
// the 8 output rows (8 x 8 = 64 elements; Wq = OW = 8, so it writes `out` directly and
// nothing is compacted); per output channel one bias init and 4 taps: 20 ops of 64 elements
// at 4 elements a cycle (one 64-bit read of the input, one of the accumulator and one write
// per 4 fp16 elements) = 16 cycles each, back to back on the memory ports: the entry's 8
// scalar instructions up to the first op's issue, its 15 setup cycles, 20 x 16 = 320
// cycles of elements and the last completion: 8 + 15 + 320 + 1 = 344.
TEST(Conv2d, PinnedCycles) {
  const KernelResult r = run({"conv2d", 1, 1, 8, 4, 4, "k1s1p0", DType::f16, "wse2"});
  EXPECT_TRUE(r.verified);
  EXPECT_EQ(r.cycles, 344u);
}

}  // namespace
}  // namespace wafer::kernels
