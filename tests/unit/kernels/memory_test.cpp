// Tests of the kernels' memory estimates: the host bytes beside each builder, the program of
// Stage::program against the full build's, the estimate against the peak RSS measured on the
// release build, and the refusal (with sizes or a grid that fit) through WAFER_MEMORY_LIMIT.
#include <cstdlib>
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "wafer/arch/arch.hpp"
#include "wafer/ir/text.hpp"
#include "wafer/kernels/kernels.hpp"
#include "wafer/support/memory.hpp"
#include "kernel_params.hpp"

namespace wafer::kernels {
namespace {

arch::Arch wse3() { return *arch::preset("wse3"); }

// The options `wafer kernel` uses without --stats, --trace or --heatmap.
sim::Options cli_options() {
  sim::Options o;
  o.collect_stats = false;
  return o;
}

uint64_t estimate(const KernelParams& p) {
  auto e = estimate_kernel_memory(wse3(), p, cli_options());
  EXPECT_TRUE(e.has_value()) << (e ? "" : e.message());
  return e ? *e : 0;
}

TEST(KernelMemory, HostBytesOfGemv) {
  // M = N = 8192 doubles: A is generated one PE block (64 x 64) at a time and never held; x,
  // b, the reference and y read back are kept; the peak adds one block.
  const HostBytes h = find_kernel("gemv")->host_bytes(params("gemv", 128, 128, 8192, 8192));
  EXPECT_EQ(h.kept, (8192ull + 3 * 8192) * 8);
  EXPECT_EQ(h.peak, h.kept + 64 * 64 * 8);
  // Default sizes are 32 per PE: M = 32 * 4, N = 32 * 2.
  const HostBytes d = find_kernel("gemv")->host_bytes(params("gemv", 2, 4, 0, 0));
  EXPECT_EQ(d.kept, (64ull + 3 * 128) * 8);
}

TEST(KernelMemory, HostBytesOfStreamFmaAndCollectives) {
  // stream-fma: x per row, A, y and the reference per PE; kept with the output.
  const HostBytes s = find_kernel("stream-fma")->host_bytes(params("stream-fma", 4, 3, 0, 100));
  EXPECT_EQ(s.peak, (100 * 3 + 3 * 100 * 12) * 8u);
  EXPECT_EQ(s.kept, (100 * 3 + 4 * 100 * 12) * 8u);
  const HostBytes r = find_kernel("reduce-chain")->host_bytes(params("reduce-chain", 4, 3, 0, 0));
  EXPECT_EQ(r.peak, (64 * 12 + 64 * 3) * 8u);  // default n = 64
  EXPECT_EQ(r.kept, (64 * 12 + 2 * 64 * 3) * 8u);
  const HostBytes a = find_kernel("allreduce")->host_bytes(params("allreduce", 4, 3, 0, 10));
  EXPECT_EQ(a.kept, 3 * 10 * 12 * 8u);
}

TEST(KernelMemory, ProgramStageBuildsTheSameProgram) {
  for (const KernelInfo& k : kernel_list()) {
    const KernelParams p = params(k.name, 6, 4, 0, 0);
    auto planned = k.build(wse3(), p, Stage::program);
    auto full = k.build(wse3(), p, Stage::all);
    ASSERT_TRUE(planned.has_value() && full.has_value()) << k.name;
    EXPECT_EQ(ir::print_program(planned->program), ir::print_program(full->program)) << k.name;
    EXPECT_TRUE(planned->inputs.empty() && planned->reference.empty()) << k.name;
  }
}

// Peak RSS ("Maximum resident set size" of /usr/bin/time -v) of the release build, one
// thread, measured once: `/usr/bin/time -v build/wafer kernel allreduce --grid full --n 1
// --threads 1` gave 2108732 KiB; `gemv --grid 128x128 --m 8192 --n 8192` 342188 KiB (with A generated one block at a time);
// `stream-fma --grid 256x256 --n 2048` 5446548 KiB. They include the process itself (about
// 10 MB). The estimate must lie within 25% of each.
TEST(KernelMemory, EstimateWithinAQuarterOfMeasuredPeak) {
  struct Case {
    KernelParams p;
    uint64_t measured_kib;
  };
  const Case cases[] = {{params("allreduce", 762, 1172, 0, 1), 2108732},
                        {params("gemv", 128, 128, 8192, 8192), 342188},
                        {params("stream-fma", 256, 256, 0, 2048), 5446548}};
  for (const Case& c : cases) {
    const double measured = double(c.measured_kib) * 1024;
    const double e = double(estimate(c.p));
    EXPECT_GT(e, 0.75 * measured) << c.p.kernel;
    EXPECT_LT(e, 1.25 * measured) << c.p.kernel;
  }
}

TEST(KernelMemory, RefusesBeforeGeneratingAndSaysWhatFits) {
  setenv(kMemoryLimitVariable, "2G", 1);
  auto kc = build_kernel(wse3(), params("stream-fma", 762, 1172, 0, 2048), cli_options());
  unsetenv(kMemoryLimitVariable);
  ASSERT_FALSE(kc.has_value());
  const std::string& m = kc.message();
  EXPECT_NE(m.find("simulating a 762x1172 grid of 'stream-fma' needs about "), std::string::npos) << m;
  EXPECT_NE(m.find("of host memory but 2.0 GB is available (WAFER_MEMORY_LIMIT); --n "), std::string::npos) << m;
  std::smatch fit;
  ASSERT_TRUE(std::regex_search(m, fit, std::regex("--n (\\d+) or a (\\d+)x(\\d+) grid would fit"))) << m;
  // The advice is the largest that fits: n in steps of 2048/1024, the grid in steps of one row.
  const int64_t n = std::stoll(fit[1]);
  EXPECT_LE(estimate(params("stream-fma", 762, 1172, 0, n)), 2'000'000'000u);
  EXPECT_GT(estimate(params("stream-fma", 762, 1172, 0, n + 2)), 2'000'000'000u);
  const int w = std::stoi(fit[2]), h = std::stoi(fit[3]);
  EXPECT_LE(estimate(params("stream-fma", w, h, 0, 2048)), 2'000'000'000u);
  EXPECT_GT(estimate(params("stream-fma", 762 * (h + 1) / 1172, h + 1, 0, 2048)), 2'000'000'000u);
}

TEST(KernelMemory, BadSizesStillNameTheFlag) {
  setenv(kMemoryLimitVariable, "1", 1);
  auto kc = build_kernel(wse3(), params("gemv", 4, 4, 30, 32));
  unsetenv(kMemoryLimitVariable);
  ASSERT_FALSE(kc.has_value());
  EXPECT_EQ(kc.message(), "gemv: --m 30 must be a multiple of the grid height 4");
}

}  // namespace
}  // namespace wafer::kernels
