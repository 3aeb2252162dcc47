// Causal attention (multi-head, grouped-query) and RoPE: verified against the double
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
            "attention: --algo 'gqa': expected kv=N, N key-value heads");
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
