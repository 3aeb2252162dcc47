// Tests of the kernel library: every kernel verifies against its CPU reference on both
// presets, odd and degenerate grids, fp32 and fp16; pinned cycle counts for gemv; how gemv
// scales with the grid; when a tree reduction beats a chain and when it does not; and the
// errors for bad sizes, each naming its flag.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "wafer/arch/arch.hpp"
#include "wafer/kernels/kernels.hpp"
#include "wafer/sim/simulator.hpp"
#include "kernel_params.hpp"

namespace wafer::kernels {
namespace {

arch::Arch preset(const std::string& name) {
  auto a = arch::preset(name);
  EXPECT_TRUE(a.has_value());
  return *a;
}

sim::Options opts() {
  sim::Options o;
  o.threads = 1;
  return o;
}


Expected<KernelResult> run(const std::string& arch, const KernelParams& p) {
  return run_kernel(preset(arch), p, opts());
}

uint64_t cycles(const std::string& arch, const KernelParams& p) {
  auto r = run(arch, p);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.message());
  if (!r) return 0;
  EXPECT_TRUE(r->verified) << p.kernel << " error " << r->max_rel_error;
  return r->cycles;
}

std::string error_of(const std::string& arch, const KernelParams& p) {
  auto r = run(arch, p);
  return r ? "no error" : r.message();
}

TEST(KernelList, NamesAndLookup) {
  std::vector<std::string> names;
  for (const KernelInfo& k : kernel_list()) names.push_back(k.name);
  EXPECT_EQ(names, (std::vector<std::string>{"bcast-row", "bcast-col", "reduce-chain", "reduce-tree", "allreduce",
                                             "gemv", "gemm", "gemm-bt", "attention", "rope", "stream-fma", "conv2d", "maxpool",
                                             "avgpool", "globalavgpool", "batchnorm", "softmax", "layernorm",
                                             "rmsnorm", "rowsum", "rowmean", "transpose", "relayout", "slice", "concat", "gather", "add", "sub", "mul", "div", "max", "min", "exp",
                                             "reciprocal", "sqrt", "rsqrt", "tanh", "erf", "sigmoid", "gelu",
                                             "gelu-tanh", "silu", "relu", "neg", "log"}));
  ASSERT_NE(find_kernel("gemv"), nullptr);
  EXPECT_EQ(std::string(find_kernel("gemv")->sizes), "--m --n");
  EXPECT_EQ(find_kernel("nope"), nullptr);
  const std::string e = error_of("wse3", params("nope", 2, 2));
  EXPECT_NE(e.find("unknown kernel 'nope'"), std::string::npos) << e;
  EXPECT_NE(e.find("stream-fma"), std::string::npos) << e;
}

// ---------------------------------------------------------------- every kernel verifies

struct Case {
  std::string arch;
  int w, h;
  DType t;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  return c.arch + "_" + std::to_string(c.w) + "x" + std::to_string(c.h) + "_" +
         std::string(dtype_name(c.t));
}

class EveryKernel : public ::testing::TestWithParam<Case> {};

TEST_P(EveryKernel, Verifies) {
  const Case& c = GetParam();
  for (const KernelInfo& k : kernel_list()) {
    const std::string kernel = k.name;
    // Small sizes keep the suite fast for the whole-program kernels; the composable ones
    // (any origin) take their defaults, which divide over every grid.
    const int64_t n = k.any_origin ? 0 : kernel == "stream-fma" ? 48 : 24;
    KernelParams p = params(kernel, c.w, c.h, 0, n, c.t);
    p.seed = 11;
    auto r = run(c.arch, p);
    if (kernel == "stream-fma" && c.w < 2) {
      ASSERT_FALSE(r.has_value()) << kernel;
      EXPECT_NE(r.message().find("at least 2 PEs wide"), std::string::npos) << r.message();
      continue;
    }
    ASSERT_TRUE(r.has_value()) << kernel << ": " << r.message();
    EXPECT_TRUE(r->verified) << kernel << " max rel error " << r->max_rel_error;
    EXPECT_GT(r->cycles, 0u) << kernel;
    EXPECT_EQ(r->grid_w, c.w);
    EXPECT_EQ(r->grid_h, c.h);
    EXPECT_EQ(r->arch, c.arch);
    EXPECT_FALSE(r->output.empty()) << kernel;
    // Broadcasts copy bits, so they are exact.
    if (kernel == "bcast-row" || kernel == "bcast-col") {
      EXPECT_EQ(r->max_rel_error, 0.0) << kernel;
    }
  }
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const char* arch : {"wse2", "wse3"}) {
    for (DType t : {DType::f32, DType::f16}) {
      out.push_back({arch, 6, 5, t});
      out.push_back({arch, 1, 1, t});
      out.push_back({arch, 1, 5, t});
      out.push_back({arch, 7, 1, t});
    }
    out.push_back({arch, 6, 5, DType::bf16});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Grids, EveryKernel, ::testing::ValuesIn(cases()), case_name);

// ---------------------------------------------------------------- gemv cycles

TEST(GemvCycles, PinnedOnOnePe) {
  // M = N = 16 fp32 on one PE (wse3 and wse2 alike: 1 fp32 FMA lane on both):
  //   0        mdsd y
  //   1-24     vmov y = 0: 1 + setup 15 + 16 / 2 (one write port, 2 fp32 per write)
  //   25-27    movi, movi, bge
  //   28-...   15 asynchronous vfma issued 6 cycles apart; each reads A and y and writes y
  //            every cycle, which takes both read ports and the write port, so the ops run
  //            one after another, oldest first: setup 15 of the first, then 16 x 16 cycles
  //   ...      the last vfma activates `reduce`: ld role, bne, mdsd b, vadd y += b
  //            (1 + 15 + 8), ret, and the idle cycle that ends the run
  EXPECT_EQ(cycles("wse3", params("gemv", 1, 1, 16, 16)), 331u);
  EXPECT_EQ(cycles("wse2", params("gemv", 1, 1, 16, 16)), 331u);
}

TEST(GemvCycles, TheKTreeKeepsGrowthWithTheGridSmall) {
  // 16 x 16 per PE on g x g grids: the local work is the same, and the K-tree reduction into
  // the middle column adds about D + 6 sqrt(D) + 5 sqrt(D) cycles for D = g / 2 PEs per side
  // (a chain would add 6 D): 16 x 16 PEs cost 129 cycles more than one PE.
  std::vector<uint64_t> c;
  for (int g : {1, 2, 4, 8, 16}) c.push_back(cycles("wse2", params("gemv", g, g, 16 * g, 16 * g)));
  EXPECT_EQ(c, (std::vector<uint64_t>{331, 370, 410, 454, 460}));
  EXPECT_EQ(cycles("wse3", params("gemv", 4, 4, 64, 64)), 413u);  // wse3: hop latency 2
}

TEST(GemvCycles, Fp16UsesAllLanesAndTheXBroadcastCostsTheColumn) {
  // 32 x 32 fp16 per PE: 32 ops of 32 / 4 lanes = 8 cycles, port-bound, one after another.
  KernelParams p = params("gemv", 64, 2, 64, 2048, DType::f16);
  const uint64_t replicated = cycles("wse2", p);
  EXPECT_EQ(replicated, 558u);
  p.algo = "ktree-bcast";
  p.grid_h = 16;
  p.m = 512;
  EXPECT_GT(cycles("wse2", p), replicated);
}

// ---------------------------------------------------------------- tree versus chain

// Cycle counts of the row reductions on a W x 1 grid with n elements per PE, from the code
// the kernels emit (S = vector_setup_cycles, r = ramp_latency, h = hop_latency):
// chain: the last PE's send is issued after 6 instructions, its first element leaves after
//   S more cycles, every stage adds r + h + r, the n elements pipeline, then jmp, ret and
//   the idle cycle: 7 + S + (W - 1)(2r + h) + n + 3.
// tree (W = 2^L): level 0 completes at 5 + S + 2r + h + n - 1; each later level s adds the
//   sender's jmp, and, beq, fdsd, issue and setup (6 + S), the flight 2r + h * 2^s over
//   2^s hops, and the whole vector again (n - 1): the levels do not overlap.
uint64_t chain_model(const arch::Arch& a, int W, int n) {
  return uint64_t(7 + a.vector_setup_cycles + (W - 1) * (2 * a.ramp_latency + a.hop_latency) + n + 3);
}

uint64_t tree_model(const arch::Arch& a, int W, int n) {
  const int S = a.vector_setup_cycles, r = a.ramp_latency, h = a.hop_latency;
  int t = 5 + S + 2 * r + h + n - 1;
  for (int s = 1; (1 << s) < W; ++s) t += 6 + S + 2 * r + h * (1 << s) + n - 1;
  return uint64_t(t + 4);
}

TEST(ReduceCycles, MatchTheLatencyModel) {
  for (const char* name : {"wse2", "wse3"}) {
    const arch::Arch a = preset(name);
    for (int W : {2, 4, 16}) {
      for (int n : {1, 7, 100}) {
        EXPECT_EQ(cycles(name, params("reduce-chain", W, 1, 0, n)), chain_model(a, W, n))
            << name << " W=" << W << " n=" << n;
        EXPECT_EQ(cycles(name, params("reduce-tree", W, 1, 0, n)), tree_model(a, W, n))
            << name << " W=" << W << " n=" << n;
      }
    }
  }
}

TEST(ReduceCycles, TreeBeatsChainForShortVectorsOnAWideRow) {
  // One element over 64 PEs on wse3: the chain pays 63 stages of 6 cycles (378) in series;
  // the tree pays 6 levels of setup and branches (6 x ~22) plus 2 x 63 cycles of flight.
  const arch::Arch a = preset("wse3");
  const uint64_t chain = cycles("wse3", params("reduce-chain", 64, 1, 0, 1));
  const uint64_t tree = cycles("wse3", params("reduce-tree", 64, 1, 0, 1));
  EXPECT_LT(tree, chain);
  EXPECT_EQ(chain, 404u);
  EXPECT_EQ(tree, 279u);
  EXPECT_EQ(chain, chain_model(a, 64, 1));
  EXPECT_EQ(tree, tree_model(a, 64, 1));
  // On 16 PEs the chain still wins for one element: 15 x 6 = 90 < 4 levels of overhead.
  EXPECT_LT(cycles("wse3", params("reduce-chain", 16, 1, 0, 1)),
            cycles("wse3", params("reduce-tree", 16, 1, 0, 1)));
}

TEST(ReduceCycles, ChainBeatsTreeForLongVectors) {
  // 512 elements over 8 PEs on wse3: the chain pipelines the vector through every stage
  // (512 + 7 x 6 + overhead), while each of the tree's 3 levels must receive the whole
  // vector before sending it on (3 x 512 + overhead).
  const arch::Arch a = preset("wse3");
  const uint64_t chain = cycles("wse3", params("reduce-chain", 8, 1, 0, 512));
  const uint64_t tree = cycles("wse3", params("reduce-tree", 8, 1, 0, 512));
  EXPECT_LT(chain, tree);
  EXPECT_EQ(chain, 579u);
  EXPECT_EQ(tree, 1625u);
  EXPECT_EQ(chain, chain_model(a, 8, 512));
  EXPECT_EQ(tree, tree_model(a, 8, 512));
}

// ---------------------------------------------------------------- errors

TEST(KernelErrors, GemvSizesMustDivideTheGrid) {
  const std::string m = error_of("wse3", params("gemv", 4, 3, 64, 64));
  EXPECT_NE(m.find("--m 64"), std::string::npos) << m;
  EXPECT_NE(m.find("grid height 3"), std::string::npos) << m;
  const std::string n = error_of("wse3", params("gemv", 3, 4, 64, 64));
  EXPECT_NE(n.find("--n 64"), std::string::npos) << n;
  EXPECT_NE(n.find("grid width 3"), std::string::npos) << n;
}

TEST(KernelErrors, GridLargerThanTheFabric) {
  for (const char* kernel : {"gemv", "allreduce", "stream-fma", "bcast-row"}) {
    const std::string e = error_of("wse3", params(kernel, 763, 2, 0, 4));
    EXPECT_NE(e.find("--grid 763x2"), std::string::npos) << kernel << ": " << e;
    EXPECT_NE(e.find("762x1172"), std::string::npos) << kernel << ": " << e;
  }
  const std::string tall = error_of("wse2", params("reduce-tree", 2, 997, 0, 4));
  EXPECT_NE(tall.find("--grid 2x997"), std::string::npos) << tall;
  EXPECT_NE(tall.find("'wse2'"), std::string::npos) << tall;
  const std::string empty = error_of("wse2", params("gemv", 0, 2));
  EXPECT_NE(empty.find("--grid"), std::string::npos) << empty;
}

TEST(KernelErrors, TooLargeForSram) {
  // gemv: a 64 x 1000 fp32 block is 256 kB, more than 48 KiB.
  const std::string g = error_of("wse3", params("gemv", 1, 1, 64, 1000));
  EXPECT_NE(g.find("--m/--n"), std::string::npos) << g;
  EXPECT_NE(g.find("bytes of SRAM"), std::string::npos) << g;
  for (const char* kernel : {"allreduce", "reduce-chain", "bcast-col"}) {
    const std::string e = error_of("wse3", params(kernel, 2, 2, 0, 20000));
    EXPECT_NE(e.find("--n 20000"), std::string::npos) << kernel << ": " << e;
    EXPECT_NE(e.find("out of range"), std::string::npos) << kernel << ": " << e;
  }
  const std::string s = error_of("wse3", params("stream-fma", 2, 2, 0, 5000));
  EXPECT_NE(s.find("--n 5000"), std::string::npos) << s;
  // The largest sizes that fit are accepted (just not run here).
  arch::Arch a = preset("wse3");
  EXPECT_TRUE(build_kernel(a, params("allreduce", 2, 2, 0, (a.sram_bytes - 4096 - 1) / 4)).has_value());
  EXPECT_FALSE(build_kernel(a, params("allreduce", 2, 2, 0, (a.sram_bytes - 4096 - 1) / 4 + 1)).has_value());
}

}  // namespace
}  // namespace wafer::kernels
