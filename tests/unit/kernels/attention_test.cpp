// Attention (multi-head, grouped-query; causal or full) and RoPE: verified against the double
// references on several shapes and dtypes, at an origin, and their shape errors.
#include <gtest/gtest.h>

#include "kernel_params.hpp"

namespace wafer::kernels {
namespace {

KernelResult run(const char* arch, KernelParams p) {
  auto r = run_kernel(*arch::load_arch(arch), p, sim::Options{});
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.message());
  return r ? *r : KernelResult{};
}

KernelParams attention(int w, int h, int64_t seq, int64_t heads, int64_t dim, DType t, const char* algo = "") {
  KernelParams p = params("attention", w, h, seq, heads, t);
  p.k = dim;
  p.algo = algo;
  return p;
}

TEST(Attention, MultiHeadAndGroupedQueryVerify) {
  const struct {
    KernelParams p;
    const char* arch;
  } cases[] = {{attention(2, 2, 16, 2, 8, DType::f32), "wse2"},
               {attention(2, 2, 16, 4, 16, DType::f16, "kv=2"), "wse3"},
               {attention(1, 4, 32, 4, 8, DType::bf16, "kv=1"), "wse2"},
               {attention(4, 1, 12, 8, 4, DType::f16, "kv=4"), "wse3"}};
  for (const auto& c : cases) {
    const KernelResult r = run(c.arch, c.p);
    EXPECT_TRUE(r.verified) << c.p.grid_w << "x" << c.p.grid_h << " " << c.p.algo << " " << r.max_rel_error;
  }
}

TEST(Attention, WithoutTheMaskEveryQuerySeesEveryKey) {
  const KernelResult causal = run("wse3", attention(2, 2, 8, 2, 4, DType::f32));
  const KernelResult full = run("wse3", attention(2, 2, 8, 2, 4, DType::f32, "full"));
  EXPECT_TRUE(full.verified) << full.max_rel_error;
  // The same inputs: only the last query of each head (row 7, on PE row 1) sees the same keys.
  ASSERT_EQ(full.output.size(), causal.output.size());
  size_t same = 0;
  for (size_t i = 0; i < full.output.size(); ++i) same += full.output[i] == causal.output[i];
  // Each PE's block is 4 rows x 4 columns of one head, column-major; its last row is element
  // 3, 7, 11, 15, and only PE row 1 holds query 7: 2 PEs x 4 columns.
  EXPECT_EQ(same, 8u);
  // Every query's P·V loop runs over all 8 keys instead of i + 1: on PE row 1, the slower one
  // under the mask (queries 4..7), 3 + 2 + 1 + 0 = 6 more vector FMAs of d elements.
  EXPECT_GT(full.cycles, causal.cycles);
}

TEST(Attention, AtAnOriginTheSameNumbersAndCycles) {
  KernelParams p = attention(2, 2, 16, 2, 8, DType::f16);
  const KernelResult here = run("wse2", p);
  p.origin_x = 100;
  p.origin_y = 37;
  const KernelResult there = run("wse2", p);
  EXPECT_EQ(here.output, there.output);
  EXPECT_EQ(here.cycles, there.cycles);
  // Deterministic; pinned so that a model change shows. V's rows and O's rows are strided in
  // the column-major blocks (stride S and S/H), and a strided vector op moves one element a
  // cycle instead of the 4 fp16 lanes: 448 cycles more than row-major V and O took (9,608).
  EXPECT_EQ(here.cycles, 10056u);
}

TEST(Attention, ShapeErrorsNameTheNumbers) {
  auto a = arch::load_arch("wse2");
  EXPECT_EQ(build_kernel(*a, attention(3, 2, 16, 4, 8, DType::f32)).message(),
            "attention: 4 heads do not divide evenly over 3 columns of PEs");
  EXPECT_EQ(build_kernel(*a, attention(2, 2, 16, 4, 8, DType::f32, "kv=3")).message(),
            "attention: 4 heads do not divide into 3 key-value heads");
  EXPECT_EQ(build_kernel(*a, attention(2, 2, 16, 4, 8, DType::f32, "gqa")).message(),
            "attention: --algo 'gqa': expected kv=N (N key-value heads) or full (no causal mask), comma-separated");
  // 4 heads on 4 columns of PEs, 2 per key-value head: a group would span two PE columns.
  EXPECT_EQ(build_kernel(*a, attention(4, 1, 16, 4, 8, DType::f32, "kv=2")).message(),
            "attention: a group of 2 heads sharing a key-value head spans PE columns: 1 heads per column of PEs "
            "must hold whole groups");
}

TEST(Rope, RotatesPairsInEveryDtype) {
  for (DType t : {DType::f32, DType::f16, DType::bf16}) {
    KernelParams p = params("rope", 2, 4, 32, 4, t);
    p.k = 64;
    const KernelResult r = run("wse3", p);
    EXPECT_TRUE(r.verified) << dtype_name(t) << " " << r.max_rel_error;
  }
  KernelParams odd = params("rope", 1, 1, 4, 1);
  odd.k = 7;
  EXPECT_EQ(build_kernel(*arch::load_arch("wse3"), odd).message(), "rope: head dimension 7 is odd; RoPE rotates pairs");
}

}  // namespace
}  // namespace wafer::kernels
