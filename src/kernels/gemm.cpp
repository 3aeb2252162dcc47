// The `gemm` kernel: C = A·B + bias on a P x Q rectangle, by Cannon on interleaved rings
// (gemm_cannon.cpp; square rectangles; the default there, as it is the faster) or by SUMMA
// (gemm_summa.cpp; any rectangle; the default on the others), and `gemm-bt`: C = A·Bᵀ + bias
// with B given as Bᵀ (N x K, GemmShape::b_transposed), the same builder; its --algo
// summa-diag takes Bᵀ as a producer leaves it (GemmShape::b_as_produced). This file checks the shape,
// runs the chosen emitter into a one-kernel program, and makes the case: inputs generated
// one PE block at a time from counter-based random values rounded to the dtype, and the
// reference in double precision from the same values, in the order C is read back.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "wafer/kernels/gemm_emit.hpp"
#include "kernel_util.hpp"

namespace wafer::kernels {

namespace {

struct Dims {
  int64_t M, N, K;
};

Dims gemm_dims(const KernelParams& p) {
  // K by default: a multiple of lcm(W, H) giving about 32 columns of A per PE on the
  // narrower side (32 per PE on square grids), so that thin grids fit too.
  const int64_t step = std::lcm(int64_t(p.grid_w), int64_t(p.grid_h));
  const int64_t narrow = std::min(p.grid_w, p.grid_h);
  return {p.m ? p.m : 32 * int64_t(p.grid_h), p.n ? p.n : 32 * int64_t(p.grid_w),
          p.k ? p.k : step * std::max<int64_t>(1, 32 / std::max<int64_t>(1, step / narrow))};
}

std::string gemm_algo(const KernelParams& p) {
  if (!p.algo.empty()) return p.algo;
  return p.grid_w == p.grid_h ? "cannon" : "summa";
}

Expected<GemmShape> gemm_shape(const arch::Arch& arch, const KernelParams& p, bool b_transposed) {
  WAFER_TRY(check_grid(arch, p));
  const Dims d = gemm_dims(p);
  GemmShape s{p.grid_w, p.grid_h, d.M, d.N, d.K, p.dtype, p.acc.value_or(p.dtype)};
  s.b_transposed = b_transposed;
  if (!dtype_is_float(s.t) || !dtype_is_float(s.acc))
    return make_error("takes fp32, fp16 or bf16 (got {} with {} accumulation)", dtype_name(s.t), dtype_name(s.acc));
  WAFER_TRY(check_gemm_divides(s));
  const int64_t mb = s.M / s.h, nb = s.N / s.w, ka = s.K / s.w, kb = s.K / s.h, t = dtype_bytes(s.t);
  const bool cannon = gemm_algo(p) == "cannon";
  const int64_t kp = cannon ? ka : s.K / std::lcm(s.w, s.h);
  const int64_t relay = gemm_algo(p) == "summa-diag" ? 2 * kp * nb : 0;  // the diagonal's relay buffer
  // C, and the row-major accumulator of a block product in rows (B's rows contiguous: summa's
  // row-major panels, or cannon's Bᵀ).
  const bool rows = cannon ? cannon_product_in_rows(arch, s) : summa_product_in_rows(arch, s);
  const int64_t bytes = (cannon ? 2 * (mb * ka + kb * nb) : mb * ka + kb * nb + 2 * kp * (mb + nb) + relay) * t +
                        nb * t + (rows ? 2 : 1) * mb * nb * dtype_bytes(s.acc);
  if (bytes > arch.sram_bytes - 4096) {
    return make_error("a {}x{} block of C with its A and B blocks needs {} bytes per PE, more than the {} "
                      "bytes of SRAM less 4096 for code; use more PEs or smaller matrices",
                      mb, nb, bytes, arch.sram_bytes);
  }
  return s;
}

// C = A·B + bias in double, C row-major.
std::vector<double> reference_product(const GemmShape& s, const MatrixFn& a, const MatrixFn& b, const MatrixFn& bias) {
  std::vector<double> A(size_t(s.M * s.K)), B(size_t(s.K * s.N)), C(size_t(s.M * s.N));
  for (int64_t i = 0; i < s.M; ++i)
    for (int64_t k = 0; k < s.K; ++k) A[size_t(i * s.K + k)] = a(i, k);
  for (int64_t k = 0; k < s.K; ++k)
    for (int64_t j = 0; j < s.N; ++j) B[size_t(k * s.N + j)] = b(k, j);
  for (int64_t i = 0; i < s.M; ++i) {
    double* c = &C[size_t(i * s.N)];
    for (int64_t j = 0; j < s.N; ++j) c[j] = bias(0, j);
    for (int64_t k = 0; k < s.K; ++k) {
      const double x = A[size_t(i * s.K + k)];
      const double* row = &B[size_t(k * s.N)];
      for (int64_t j = 0; j < s.N; ++j) c[j] += x * row[j];
    }
  }
  return C;
}

}  // namespace

HostBytes gemm_host_bytes(const KernelParams& p) {
  const Dims d = gemm_dims(p);
  const uint64_t M = uint64_t(d.M), N = uint64_t(d.N), K = uint64_t(d.K);
  const uint64_t kept = (M * K + K * N + 2 * M * N) * sizeof(double);
  return {kept, kept};
}

KernelParams scale_gemm_sizes(const KernelParams& p, double f) {
  const Dims d = gemm_dims(p);
  const int64_t step = std::lcm(int64_t(p.grid_w), int64_t(p.grid_h));
  auto scaled = [&](int64_t v, int64_t unit) {
    return std::max<int64_t>(1, int64_t(double(v / unit) * std::cbrt(f))) * unit;
  };
  KernelParams q = p;
  q.m = scaled(d.M, p.grid_h);
  q.n = scaled(d.N, p.grid_w);
  q.k = scaled(d.K, step);
  return q;
}

namespace {

Expected<KernelCase> build_gemm_case(const arch::Arch& arch, const KernelParams& p, Stage stage, bool b_transposed) {
  auto shape = gemm_shape(arch, p, b_transposed);
  if (!shape) return shape.status();
  GemmShape s = *shape;
  const std::string algo = gemm_algo(p);
  if (algo != "cannon" && algo != "summa" && (algo != "summa-diag" || !b_transposed))
    return make_error("unknown algorithm '{}' (algorithms: cannon, summa{})", algo, b_transposed ? ", summa-diag" : "");
  s.b_as_produced = algo == "summa-diag";
  const ir::Rect rect = p.rect();
  KernelCase kc;
  kc.program.width = rect.x + rect.w;
  kc.program.height = rect.y + rect.h;
  Pools pools = Pools::for_arch(arch);
  ir::CodeBuilder code("gemm");
  Emit e{code, kc.program, pools, arch, ""};
  const Site site{rect, -1, -1};
  auto g = algo == "cannon" ? emit_cannon_gemm(e, site, s) : emit_summa_gemm(e, site, s);
  if (!g) return g.status();
  kc.program.codes.push_back(code.finish());
  kc.program.placements.push_back(ir::Placement{{0, 0, kc.program.width, kc.program.height}, 0, {}});
  kc.rect = rect;
  kc.launch_task = "entry";
  kc.result_symbol = "C";
  kc.result_rect = rect;
  kc.flops = 2.0 * double(s.M) * double(s.N) * double(s.K);
  kc.peak_flops_per_cycle = 2.0 * double(rect.area()) * fma_lanes(arch, s.t, s.acc);
  kc.tolerance = sum_tolerance(s.acc, uint64_t(s.K));
  if (stage == Stage::program) return kc;

  const MatrixFn a = [s, seed = p.seed](int64_t i, int64_t k) { return round_to(s.t, random_value(seed, uint64_t(i * s.K + k))); };
  // B's elements as the kernel is given them: B (K x N), or Bᵀ (N x K) row by row.
  const MatrixFn given = [s, seed = p.seed + 1](int64_t r, int64_t c) {
    return round_to(s.t, random_value(seed, uint64_t(r * (s.b_transposed ? s.K : s.N) + c)));
  };
  const MatrixFn b = s.b_transposed ? MatrixFn([given](int64_t k, int64_t j) { return given(j, k); }) : given;
  const MatrixFn bias = [s, seed = p.seed + 2](int64_t, int64_t j) { return round_to(s.t, random_value(seed, uint64_t(j))); };
  kc.inputs = g->inputs(a, given, bias);
  const std::vector<double> C = reference_product(s, a, b, bias);
  const int64_t mb = s.M / s.h, nb = s.N / s.w;
  const MatrixFn c = [&C, s](int64_t i, int64_t j) { return C[size_t(i * s.N + j)]; };
  kc.reference.reserve(C.size());
  for (int py = 0; py < s.h; ++py) {
    for (int px = 0; px < s.w; ++px) {
      const auto [bi, bj] = g->c_block(px, py);
      const auto v = matrix_block(mb, nb, bi, bj, true, c);
      kc.reference.insert(kc.reference.end(), v.begin(), v.end());
    }
  }
  return kc;
}

}  // namespace

Expected<KernelCase> build_gemm(const arch::Arch& arch, const KernelParams& p, Stage stage) {
  return build_gemm_case(arch, p, stage, false);
}

Expected<KernelCase> build_gemm_bt(const arch::Arch& arch, const KernelParams& p, Stage stage) {
  return build_gemm_case(arch, p, stage, true);
}

}  // namespace wafer::kernels
