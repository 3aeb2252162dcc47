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
  EXPECT_EQ(names, (std::vector<std::string>{"bcast-row", "bcast-col", "reduce-chain", "reduce-tree",
                                             "allreduce", "gemv", "gemm", "stream-fma"}));
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
    // Small sizes keep the suite fast; gemv uses its default (32 x 32 per PE).
    const int64_t n = kernel == "gemv" ? 0 : kernel == "stream-fma" ? 48 : 24;
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

TEST(GemvCycles, Pinned4x4OnWse3) {
  // M = N = 64 on a 4 x 4 grid: each PE holds a 16 x 16 block of A (fp32) and x[16]. wse3:
  // vector setup 15, hop 2, ramp 2, 1 fp32 fma lane, 2 fp32 elements per 64-bit port access.
  // The critical path runs through row 3 (the farthest from the x broadcast) and column 0:
  //   0-3      mdsd x, mdsd y, bne, fdsd
  //   4-45     vmov x <- fabric: issued at 4, setup to 19; row 0 sends x[j] at 20 + j and
  //            row 3 takes it 10 cycles later (ramp 2, three hops of 2, ramp 2): 30..45
  //   46-69    vmov y = 0: 1 + 15 + 16/2 (one write port, 2 fp32 per write)
  //   70-71    movi, movi
  //   72-663   16 iterations of mdsd, ld, vfma (1 + 15 + 16), add, add, blt = 37 cycles
  //   664-668  and, bne, beq, beq, fdsd: column 3 starts its chain send
  //   669-700  column 3: vmov y -> fabric issued at 669, sends y[j] at 685 + j
  //   703-718  each column stage adds ramp 2 + hop 2 + ramp 2 = 6: column 0 receives and
  //            adds y[j] at 685 + 3 * 6 + j
  //   719-721  jmp, bne, mdsd b
  //   722-745  vadd y += b: 1 + 15 + 16/2 (two reads and one write of 2 elements)
  //   746      ret; 747 the idle cycle that ends the run
  EXPECT_EQ(cycles("wse3", params("gemv", 4, 4, 64, 64)), 748u);
  // One PE: no broadcast and no reduction: 2 + 24 + 2 + 592 + bne + mdsd + 24 + ret + idle.
  EXPECT_EQ(cycles("wse3", params("gemv", 1, 1, 16, 16)), 648u);
}

TEST(GemvCycles, GrowWithTheGridAtFixedWorkPerPe) {
  // 16 x 16 per PE on g x g grids: the local work is the same; each extra row adds one hop
  // to the x broadcast (hop_latency) and each extra column one chain stage (ramp + hop +
  // ramp), so from g = 2 on each PE of side costs 2 * (ramp_latency + hop_latency):
  // 8 cycles on wse3, 6 on wse2.
  for (const char* name : {"wse2", "wse3"}) {
    const arch::Arch a = preset(name);
    const uint64_t per_side = 2 * uint64_t(a.ramp_latency + a.hop_latency);
    std::vector<uint64_t> c;
    for (int g : {1, 2, 4, 8, 16}) c.push_back(cycles(name, params("gemv", g, g, 16 * g, 16 * g)));
    for (size_t i = 1; i < c.size(); ++i) EXPECT_GT(c[i], c[i - 1]) << name << " " << i;
    EXPECT_EQ(c[0], 648u) << name;
    EXPECT_EQ(c[2] - c[1], 2 * per_side) << name;
    EXPECT_EQ(c[3] - c[1], 6 * per_side) << name;
    EXPECT_EQ(c[4] - c[1], 14 * per_side) << name;
  }
  EXPECT_EQ(cycles("wse3", params("gemv", 2, 2, 32, 32)), 732u);
  EXPECT_EQ(cycles("wse2", params("gemv", 2, 2, 32, 32)), 730u);
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
