// The kernel registry and runner: builds a kernel's case (after the memory check of
// memory.cpp), simulates it, checks the answer. Each row names the builder and, beside it,
// its host-memory estimate and how its sizes scale down.
#include <algorithm>
#include <cmath>

#include "wafer/kernels/eltwise.hpp"
#include "wafer/kernels/gather.hpp"
#include "kernel_util.hpp"
#include "wafer/kernels/movement.hpp"
#include "wafer/kernels/norms.hpp"

namespace wafer::kernels {

const std::vector<KernelInfo>& kernel_list() {
  static const std::vector<KernelInfo> kKernels = {
      {"bcast-row", "broadcast each row's column-0 vector along the row", "--n", build_bcast_row,
       every_pe_result_host_bytes, scale_collective_sizes},
      {"bcast-col", "broadcast each column's row-0 vector down the column", "--n", build_bcast_col,
       every_pe_result_host_bytes, scale_collective_sizes},
      {"reduce-chain", "sum each row's vectors into column 0 along a chain", "--n", build_reduce_chain,
       row_reduce_host_bytes, scale_collective_sizes},
      {"reduce-tree", "sum each row's vectors into column 0 along a binary tree", "--n", build_reduce_tree,
       row_reduce_host_bytes, scale_collective_sizes},
      {"allreduce", "sum every PE's vector and give the total to every PE", "--n", build_allreduce_case,
       every_pe_result_host_bytes, scale_collective_sizes},
      {"gemv", "y = A·x + b, A tiled, a K-tree reduction into the middle column", "--m --n", build_gemv,
       gemv_host_bytes, scale_gemv_sizes, true},
      {"gemm", "C = A·B + bias (--algo cannon: square grids, the default there; summa)", "--m --n --k", build_gemm,
       gemm_host_bytes, scale_gemm_sizes, true},
      {"gemm-bt", "C = A·Bᵀ + bias, B given as Bᵀ (N x K; ONNX Gemm transB=1; --algo cannon|summa as gemm, "
                  "summa-diag: Bᵀ as a producer leaves it, square grids)",
       "--m --n --k", build_gemm_bt, gemm_host_bytes, scale_gemm_sizes, true},
      {"attention",
       "causal softmax(Q·Kᵀ/sqrt(d))·V per head; --m seq, --n heads, --k head dim, --algo kv=N (GQA), full (no mask)",
       "--m --n --k", build_attention, attention_host_bytes, scale_attention_sizes, true},
      {"rope", "rotary position embedding, rotate-half form; --m tokens, --n heads, --k head dim", "--m --n --k",
       build_rope, rope_host_bytes, scale_attention_sizes, true},
      {"stream-fma", "every PE streams x from the fabric into y = A*x + y", "--n", build_stream_fma,
       stream_fma_host_bytes, scale_stream_fma_sizes},
      {"conv2d", "2-D convolution with bias (--m image side, --n C_out, --k C_in, --algo k3s1p1)", "--m --n --k",
       build_conv2d, cnn_host_bytes, scale_cnn_sizes, true},
      {"maxpool", "max pooling (--m image side, --n channels, --algo k2s2p0)", "--m --n", build_maxpool,
       cnn_host_bytes, scale_cnn_sizes, true},
      {"avgpool", "average pooling, padding counted (--m image side, --n channels, --algo k2s2p0)", "--m --n",
       build_avgpool, cnn_host_bytes, scale_cnn_sizes, true},
      {"globalavgpool", "mean over the image of each channel (--m image side, --n channels)", "--m --n",
       build_globalavgpool, cnn_host_bytes, scale_cnn_sizes, true},
      {"batchnorm", "inference batch norm, folded into scale and shift (--m image side, --n channels)", "--m --n",
       build_batchnorm, cnn_host_bytes, scale_cnn_sizes, true},
      {"softmax", "softmax along each row (hidden split over x, rows over y; GEMM C's layout)", "--m --n",
       [](const arch::Arch& a, const KernelParams& p, Stage s) { return build_norm_kernel(NormKind::softmax, a, p, s); },
       norm_host_bytes, scale_norm_sizes, true},
      {"layernorm", "LayerNorm along each row, two-pass, gamma and beta split over x", "--m --n",
       [](const arch::Arch& a, const KernelParams& p, Stage s) { return build_norm_kernel(NormKind::layernorm, a, p, s); },
       norm_host_bytes, scale_norm_sizes, true},
      {"rmsnorm", "RMSNorm along each row, gamma split over x", "--m --n",
       [](const arch::Arch& a, const KernelParams& p, Stage s) { return build_norm_kernel(NormKind::rmsnorm, a, p, s); },
       norm_host_bytes, scale_norm_sizes, true},
      {"rowsum", "sum of each row, on every PE of the PE row", "--m --n",
       [](const arch::Arch& a, const KernelParams& p, Stage s) { return build_norm_kernel(NormKind::rowsum, a, p, s); },
       norm_host_bytes, scale_norm_sizes, true},
      {"rowmean", "mean of each row, on every PE of the PE row", "--m --n",
       [](const arch::Arch& a, const KernelParams& p, Stage s) { return build_norm_kernel(NormKind::rowmean, a, p, s); },
       norm_host_bytes, scale_norm_sizes, true},
      // Data movement (movement.hpp): exact copies between layouts and rectangles.
      {"transpose", "Y = X^T on the same PEs in the same layout (rows over y, columns over x)", "--m --n",
       build_transpose, movement_host_bytes, scale_movement_sizes, true},
      {"relayout", "change one axis between split, replicate and first (--algo rows=replicate, cols=first-split, "
       "...) or move to a translated rectangle (--algo shift=DX,DY)", "--m --n",
       build_relayout, movement_host_bytes, scale_movement_sizes, true},
      {"slice", "rows or columns [OFF, OFF+LEN) of X (--algo cols=OFF+LEN); aligned ranges are views", "--m --n",
       build_slice, movement_host_bytes, scale_movement_sizes, true},
      {"concat", "[A | B] along columns (--algo cols) or rows; --m, --n the result, --k A's share", "--m --n --k",
       build_concat, movement_host_bytes, scale_movement_sizes, true},
      {"gather", "embedding lookup out[t, :] = table[ids[t], :]; --m tokens, --n hidden, --k vocabulary", "--m --n --k",
       build_gather, gather_host_bytes, scale_gather_sizes, true},
      // Element-wise (eltwise.cpp): binary ops with broadcasting, then the unary functions.
      eltwise_kernel_info(EltwiseOp::add), eltwise_kernel_info(EltwiseOp::sub), eltwise_kernel_info(EltwiseOp::mul),
      eltwise_kernel_info(EltwiseOp::div), eltwise_kernel_info(EltwiseOp::max), eltwise_kernel_info(EltwiseOp::min),
      eltwise_kernel_info(EltwiseOp::exp),
      eltwise_kernel_info(EltwiseOp::reciprocal), eltwise_kernel_info(EltwiseOp::sqrt),
      eltwise_kernel_info(EltwiseOp::rsqrt), eltwise_kernel_info(EltwiseOp::tanh), eltwise_kernel_info(EltwiseOp::erf),
      eltwise_kernel_info(EltwiseOp::sigmoid), eltwise_kernel_info(EltwiseOp::gelu),
      eltwise_kernel_info(EltwiseOp::gelu_tanh), eltwise_kernel_info(EltwiseOp::silu),
      eltwise_kernel_info(EltwiseOp::relu), eltwise_kernel_info(EltwiseOp::neg), eltwise_kernel_info(EltwiseOp::log),
  };
  return kKernels;
}

const KernelInfo* find_kernel(const std::string& name) {
  for (const KernelInfo& k : kernel_list()) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

Status check_grid(const arch::Arch& arch, const KernelParams& p) {
  if (p.grid_w < 1 || p.grid_h < 1) return make_error("--grid {}x{}: both sides must be at least 1", p.grid_w, p.grid_h);
  if (p.origin_x < 0 || p.origin_y < 0)
    return make_error("origin ({},{}) must not be negative", p.origin_x, p.origin_y);
  if (int64_t(p.origin_x) + p.grid_w > arch.fabric_width || int64_t(p.origin_y) + p.grid_h > arch.fabric_height) {
    if (p.origin_x == 0 && p.origin_y == 0)
      return make_error("--grid {}x{} does not fit on the {}x{} fabric of arch '{}'", p.grid_w,
                        p.grid_h, arch.fabric_width, arch.fabric_height, arch.name);
    return make_error("{}x{} PEs at ({},{}) do not fit on the {}x{} fabric of arch '{}'", p.grid_w, p.grid_h,
                      p.origin_x, p.origin_y, arch.fabric_width, arch.fabric_height, arch.name);
  }
  return Status::ok();
}

Status check_size(const char* flag, int64_t value, int64_t lo, int64_t hi) {
  if (value < lo || value > hi) return make_error("{} {} is out of range (must be {}..{})", flag, value, lo, hi);
  return Status::ok();
}

int64_t max_elements(const arch::Arch& arch, DType t, int64_t other_bytes) {
  return std::max<int64_t>(0, (arch.sram_bytes - 4096 - other_bytes) / dtype_bytes(t));
}

double unit_roundoff(DType t) {
  switch (t) {
    case DType::f32: return std::ldexp(1.0, -24);
    case DType::f16: return std::ldexp(1.0, -11);
    case DType::bf16: return std::ldexp(1.0, -8);
    default: return 0;
  }
}

double fma_lanes(const arch::Arch& a, DType t, DType acc) {
  if (dtype_bytes(acc) == 4) return dtype_bytes(t) == 2 ? a.lanes_mixed_fma : a.lanes_f32_fma;
  return a.lanes_f16_fma;
}

double sum_tolerance(DType t, uint64_t k) {
  return 8 * unit_roundoff(t) * std::sqrt(double(k) + 1);
}

std::vector<double> random_values(uint64_t seed, size_t n, double lo, double hi) {
  ir::HostData d;
  d.kind = ir::HostData::Kind::random;
  d.seed = seed;
  d.a = lo;
  d.b = hi;
  return ir::expand_host_data(d, n);
}

double random_value(uint64_t seed, uint64_t i, double lo, double hi) {
  uint64_t z = seed + (i + 1) * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return lo + (hi - lo) * double(z >> 11) * 0x1.0p-53;
}

double round_to(DType t, double v) { return decode_value(t, encode_value(t, v)); }

std::vector<double> round_to(DType t, std::vector<double> v) {
  for (double& x : v) x = round_to(t, x);
  return v;
}

double max_rel_error(const std::vector<double>& out, const std::vector<double>& ref) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double o = i < out.size() ? out[i] : NAN;
    diff = std::isnan(o) ? INFINITY : std::max(diff, std::fabs(o - ref[i]));
    scale = std::max(scale, std::fabs(ref[i]));
  }
  if (out.size() != ref.size()) return INFINITY;
  if (scale == 0) return diff;
  return diff / scale;
}

KernelParams scale_n(const KernelParams& p, int64_t n, double f) {
  KernelParams q = p;
  q.n = std::max<int64_t>(1, int64_t(double(n) * f));
  return q;
}

Status named_by_kernel(const Status& st, const std::string& kernel) {
  return st.message().starts_with(kernel + ": ") ? st : st.with_context(kernel);
}

Expected<const KernelInfo*> known_kernel(const std::string& name) {
  if (const KernelInfo* k = find_kernel(name)) return k;
  std::string names;
  for (const KernelInfo& i : kernel_list()) names += std::string(names.empty() ? "" : ", ") + i.name;
  return make_error("unknown kernel '{}' (kernels: {})", name, names);
}

Expected<KernelCase> build_kernel(const arch::Arch& arch, const KernelParams& params,
                                  const sim::Options& options) {
  auto k = known_kernel(params.kernel);
  if (!k) return k.status();
  if (!(*k)->any_origin && (params.origin_x != 0 || params.origin_y != 0))
    return make_error("kernel '{}' runs only at the fabric's origin (0,0), not at ({},{})", params.kernel,
                      params.origin_x, params.origin_y);
  WAFER_TRY(check_kernel_memory(arch, params, options));
  auto kc = (*k)->build(arch, params, Stage::all);
  if (!kc) return named_by_kernel(kc.status(), params.kernel);
  return kc;
}

Status write_host_copy(sim::Simulator& s, const HostCopy& c) {
  if (!c.block) return s.write_symbol(c.symbol, c.rect, c.values);
  for (int py = 0; py < c.rect.h; ++py) {
    for (int px = 0; px < c.rect.w; ++px)
      WAFER_TRY(s.write_symbol(c.symbol, {c.rect.x + px, c.rect.y + py, 1, 1}, c.block(px, py)));
  }
  return Status::ok();
}

Expected<KernelResult> run_case(const arch::Arch& arch, const KernelParams& params,
                                const KernelCase& kc, const sim::Options& options,
                                std::unique_ptr<sim::Simulator>* sim_out) {
  sim::Options counted = options;
  counted.count_compute = true;
  auto sim = sim::Simulator::create(arch, kc.program, counted);
  if (!sim) return sim.status().with_context(params.kernel);
  sim::Simulator& s = **sim;
  if (sim_out) *sim_out = std::move(*sim);  // also after a failed run: its trace and counters
  for (const HostCopy& c : kc.inputs) WAFER_TRY(write_host_copy(s, c));
  WAFER_TRY(s.launch(kc.launch_task, kc.rect));
  auto run = s.run();
  if (!run) return run.status().with_context(params.kernel);
  auto out = s.read_symbol(kc.result_symbol, kc.result_rect);
  if (!out) return out.status();
  KernelResult r;
  r.kernel = params.kernel;
  r.arch = arch.name;
  r.grid_w = kc.program.width;
  r.grid_h = kc.program.height;
  r.cycles = run->cycles;
  r.io_cycles = s.io_cycles();
  const std::vector<uint64_t>& compute = s.stats().compute;
  r.compute_cycles = compute.empty() ? 0 : std::min(run->cycles, *std::max_element(compute.begin(), compute.end()));
  r.comm_cycles = run->cycles - r.compute_cycles;
  r.seconds = arch.seconds(run->cycles);
  r.max_rel_error = max_rel_error(*out, kc.reference);
  r.verified = r.max_rel_error <= kc.tolerance;
  r.sim_wall_seconds = run->wall_seconds;
  const double wall = std::max(run->wall_seconds, 1e-9);
  r.pe_cycles_per_s = double(r.grid_w) * double(r.grid_h) * double(run->cycles) / wall;
  r.active_pe_cycles = run->active_pe_cycles;
  r.active_pe_cycles_per_s = double(run->active_pe_cycles) / wall;
  r.threads = run->threads;
  r.flops = kc.flops;
  r.flops_per_cycle = kc.flops / double(std::max<uint64_t>(1, run->cycles));
  if (kc.peak_flops_per_cycle > 0) r.peak_fraction = r.flops_per_cycle / kc.peak_flops_per_cycle;
  r.output = std::move(*out);
  return r;
}

Expected<KernelResult> run_kernel(const arch::Arch& arch, const KernelParams& params,
                                  const sim::Options& options,
                                  std::unique_ptr<sim::Simulator>* sim_out) {
  auto kc = build_kernel(arch, params, options);
  if (!kc) return kc.status();
  return run_case(arch, params, *kc, options, sim_out);
}

}  // namespace wafer::kernels
