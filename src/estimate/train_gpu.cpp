// The GPU cluster training model: Megatron-style tensor, pipeline, data and sequence
// parallelism, priced per step from compute, memory traffic and communication.
//
// Per micro-batch and layer on one GPU: the weight matmuls run at gemm_efficiency x peak,
// scaled down for narrow per-GPU matmuls (width h/tp against gemm_half_width); attention
// runs fused at attention_efficiency x peak, or unfused (the score matrix goes through HBM);
// elementwise work (norms, activations, dropout, residuals) moves a multiple of the stored
// activation bytes through HBM. Backward is twice the forward; recompute adds the forward
// (full) or the attention (selective). Tensor-parallel collectives ride NVLink (ring), the
// part not hidden by overlap adds to the step. The slowest (last) pipeline stage sets the
// pace, the 1F1B bubble adds (pp-1)/interleave micro-batch times, the data-parallel
// gradient reduction is hierarchical (NVLink inside a node, the NIC across nodes), and the
// Adam update is memory bound. docs/estimator.md gives every formula and the fit.
#include <algorithm>
#include <cmath>

#include "train_internal.hpp"

namespace wafer::estimate {

namespace {

// Elementwise HBM traffic per layer as a multiple of the layer's stored activation bytes
// (each stored tensor is written once and read again at least once), forward pass.
constexpr double kElementwiseTraffic = 2.0;
// Unfused attention: bytes moved through HBM per score element in the forward pass (the
// GEMM writes the scores, softmax reads them and writes probabilities, dropout reads those
// and writes its output and a one-byte mask, the value GEMM reads them).
constexpr double kScoreBytes = 13.0;
// Adam update traffic per parameter held: fp32 master, moments read and written, the
// gradient read, the bf16 weight written.
constexpr double kAdamBytes = 30.0;
// Cross-entropy traffic per logit: fp32 logits written, read for the max and the sum,
// read again for the gradient, which is written and read by the backward matmul.
constexpr double kLossBytes = 20.0;

double ring_factor(int64_t n) { return n > 1 ? 2.0 * double(n - 1) / double(n) : 0.0; }

bool flash(const System& s) { return s.attention_efficiency > 0; }

double gemm_efficiency(const System& s, double width) {
  if (s.gemm_half_width <= 0) return s.gemm_efficiency;
  return s.gemm_efficiency * width / (width + s.gemm_half_width);
}

// All-reduce of `bytes` per device over the tensor-parallel group: NVLink while the group
// fits in a node, the scale-out network otherwise. No group (tp = 1), no traffic: a system
// with one GPU per node may have no NVLink (scale_up_gb_per_s = 0).
double tp_allreduce(const Workload& w, int64_t tp, double bytes) {
  if (tp <= 1) return 0;
  const System& s = *w.system;
  double bw = tp <= s.scale_up_size ? s.scale_up_gb_per_s : s.scale_out_gb_per_s;
  return ring_factor(tp) * bytes / (bw * 1e9 * s.comm_efficiency);
}

// Gradient all-reduce over dp ranks spaced tp apart: reduce inside the node over NVLink,
// across nodes over each GPU's NIC with 1/local of the bytes, then gather in the node.
double dp_allreduce(const Workload& w, const Parallelism& p, double bytes) {
  const System& s = *w.system;
  int64_t local = std::min<int64_t>(p.dp, std::max<int64_t>(1, s.scale_up_size / p.tp));
  int64_t nodes = p.dp / local;
  double eff = s.comm_efficiency;
  double t = local > 1 ? ring_factor(local) * bytes / (s.scale_up_gb_per_s * 1e9 * eff) : 0;
  if (nodes > 1)
    t += ring_factor(nodes) * bytes / double(local) / (s.scale_out_gb_per_s * 1e9 * eff) +
         2.0 * double(nodes - 1) * s.link_latency_us * 1e-6;
  return t;
}

// Parameters held by the busiest stage (tensor-parallel shard): its layers plus an
// embedding-sized table (the first stage's embedding or the last stage's head).
double stage_params(const Model& m, const Parallelism& p) {
  ParamCounts c = count_params(m);
  int64_t layers = (m.layers + p.pp - 1) / p.pp;
  double edge = p.pp == 1 ? double(c.embedding + c.lm_head + c.embedding_norm + c.final_norm +
                                   c.pooler)
                          : double(std::max(c.embedding, m.vocab * m.hidden));
  return (double(layers) * double(c.layer.total()) + edge) / double(p.tp);
}

Memory gpu_memory(const Workload& w, const Parallelism& p, int64_t micro_batches) {
  const Model& m = *w.model;
  const System& s = *w.system;
  double params = stage_params(m, p);
  double dp = double(p.dp);
  Memory mem;
  mem.weights = params * kWeightBytes / (p.zero >= 3 ? dp : 1);
  mem.gradients = params * kGradBytes / (p.zero >= 2 ? dp : 1);
  mem.optimizer = params * kOptimizerBytes / (p.zero >= 1 ? dp : 1);
  int64_t layers = (m.layers + p.pp - 1) / p.pp;
  double in_flight = double(std::min(p.pp, micro_batches));
  if (p.interleave > 1) in_flight *= 1 + double(p.pp - 1) / double(p.pp * p.interleave);
  double per_layer = layer_activation_bytes(m, p.micro_batch, p.tp, p.recompute,
                                            s.sequence_parallel, flash(s));
  mem.activations = in_flight * double(layers) * per_layer;
  // The layer being recomputed holds its full activations for a moment.
  if (p.recompute != Recompute::none)
    mem.activations += layer_activation_bytes(m, p.micro_batch, p.tp, Recompute::none,
                                              s.sequence_parallel, flash(s));
  double tokens = double(p.micro_batch * w.seq);
  if (p.pp == 1) mem.other = tokens * double(m.vocab) / double(p.tp) * 4;  // fp32 logits
  return mem;
}

struct LayerTimes {
  double matmul = 0, attention = 0, elementwise = 0, tp_comm = 0;
};

// One layer, one micro-batch, forward pass only.
LayerTimes layer_forward(const Workload& w, const Parallelism& p) {
  const Model& m = *w.model;
  const System& s = *w.system;
  const double tokens = double(p.micro_batch * w.seq);
  const double tp = double(p.tp);
  const double eff = gemm_efficiency(s, double(m.hidden) / tp);
  LayerTimes t;
  t.matmul = 2 * tokens * double(layer_matmul_params(m)) / tp / (w.peak * eff);
  double attention_flops = 2 * 2 * tokens * double(w.seq) * double(m.hidden) / tp;
  if (flash(s)) {
    t.attention = attention_flops / (w.peak * s.attention_efficiency);
  } else {
    double scores = tokens * double(w.seq) * double(m.heads) / tp;
    // Batched score and value matmuls whose inner size is the head size.
    double score_eff = gemm_efficiency(s, double(m.head_dim()));
    t.attention = attention_flops / (w.peak * score_eff) +
                  scores * kScoreBytes / (s.memory_tb_per_s * 1e12);
  }
  double stored = layer_activation_bytes(m, p.micro_batch, p.tp, Recompute::none,
                                         s.sequence_parallel, true);
  t.elementwise = kElementwiseTraffic * stored / (s.memory_tb_per_s * 1e12);
  double activation = tokens * double(m.hidden) * precision_bytes(w.precision);
  t.tp_comm = 2 * tp_allreduce(w, p.tp, activation) * (1 - s.tp_overlap);
  return t;
}

}  // namespace

double layer_activation_bytes(const Model& m, int64_t micro_batch, int64_t tp,
                              Recompute recompute, bool sequence_parallel,
                              bool flash_attention) {
  const double sb = double(m.seq) * double(micro_batch);
  const double h = double(m.hidden), t = double(tp);
  const double replicated_divisor = sequence_parallel ? t : 1.0;
  if (recompute == Recompute::full) return 2 * sb * h / replicated_divisor;
  // Norm inputs (4), QKV input (2), attention dropout mask (1), MLP input (2), MLP dropout
  // mask (1): replicated across tensor-parallel ranks unless sequence parallel.
  const double replicated = 10 * h;
  // Q (2h), K and V (2 kv each), projection input (2h); MLP: 2 bytes per inner value that
  // is kept (gelu: its input and output; swiglu: gate, up and their product).
  const double kv = double(m.kv_dim());
  const double mlp_kept = (m.mlp == MlpKind::swiglu ? 6.0 : 4.0) * double(m.ffn);
  const double sharded = 4 * h + 4 * kv + mlp_kept;
  // Softmax output (2), its dropout mask (1) and output (2) per score, per head.
  const bool scores_kept = recompute == Recompute::none && !flash_attention;
  const double scores = scores_kept ? 5.0 * double(m.heads) * double(m.seq) : 0.0;
  return sb * (replicated / replicated_divisor + (sharded + scores) / t);
}

Status check_gpu_parallelism(const Workload& w, const Parallelism& p) {
  const Model& m = *w.model;
  if (p.tp < 1 || p.pp < 1 || p.dp < 1 || p.micro_batch < 1 || p.interleave < 1)
    return make_error("tp, pp, dp, micro-batch and interleave must be at least 1");
  if (p.tp * p.pp * p.dp != w.count)
    return make_error("tp x pp x dp = {} x {} x {} = {} must equal the device count {}", p.tp,
                      p.pp, p.dp, p.tp * p.pp * p.dp, w.count);
  if (m.heads % p.tp != 0 || m.kv_heads % std::min(p.tp, m.kv_heads) != 0)
    return make_error("tp ({}) must divide the attention heads ({})", p.tp, m.heads);
  if (p.pp > m.layers)
    return make_error("pp ({}) exceeds the layers ({})", p.pp, m.layers);
  if (w.global_batch % (p.dp * p.micro_batch) != 0)
    return make_error("dp x micro-batch = {} must divide the global batch ({} sequences)",
                      p.dp * p.micro_batch, w.global_batch);
  if (p.interleave > 1) {
    int64_t micro_batches = w.global_batch / (p.dp * p.micro_batch);
    int64_t stage_layers = (m.layers + p.pp - 1) / p.pp;
    if (p.pp == 1 || stage_layers % p.interleave != 0 || micro_batches % p.pp != 0)
      return make_error("interleave {} needs pp > 1, the layers per stage ({}) divisible by "
                        "it and the micro-batches per step ({}) divisible by pp", p.interleave,
                        stage_layers, micro_batches);
  }
  return Status::ok();
}

Candidate gpu_candidate(const Workload& w, const Parallelism& p) {
  const Model& m = *w.model;
  const System& s = *w.system;
  Candidate c;
  c.par = p;
  c.capacity = memory_bytes(s);
  const int64_t micro_batches = w.global_batch / (p.dp * p.micro_batch);
  c.memory = gpu_memory(w, p, micro_batches);

  const LayerTimes f = layer_forward(w, p);
  const double gemm_passes = p.recompute == Recompute::full ? 4 : 3;
  const double attention_passes = p.recompute == Recompute::none ? 3 : 4;
  const double comm_passes = p.recompute == Recompute::full ? 3 : 2;
  const double layers = double((m.layers + p.pp - 1) / p.pp);

  // The last stage also computes the logits and the loss.
  const double tokens = double(p.micro_batch * w.seq);
  const double head = double(head_matmul_params(m)) / double(p.tp);
  const double eff = gemm_efficiency(s, double(m.hidden) / double(p.tp));
  const double head_matmul = gemm_passes * 2 * tokens * head / (w.peak * eff);
  const double loss = tokens * double(m.vocab) / double(p.tp) * kLossBytes /
                      (s.memory_tb_per_s * 1e12);

  const double mb = double(micro_batches);
  double per_mb[kPartCount] = {};
  per_mb[kMatmul] = layers * gemm_passes * f.matmul + head_matmul;
  per_mb[kAttention] = layers * attention_passes * f.attention;
  per_mb[kElementwise] = layers * gemm_passes * f.elementwise + loss;
  per_mb[kTensorComm] = layers * comm_passes * f.tp_comm;
  per_mb[kOverhead] = layers * gemm_passes * s.layer_overhead_us * 1e-6;
  double stage = 0;
  for (double t : per_mb) stage += t;
  for (int i = 0; i < kPartCount; ++i) c.parts[i] = per_mb[i] * mb;

  if (p.pp > 1) {
    double activation = tokens * double(m.hidden) * precision_bytes(w.precision) /
                        (s.sequence_parallel ? double(p.tp) : 1.0);
    double hop = activation / (s.scale_out_gb_per_s * 1e9 * s.comm_efficiency) +
                 s.link_latency_us * 1e-6;
    c.parts[kPipelineComm] = 2 * double(p.interleave) * hop * mb;
    c.parts[kBubble] = double(p.pp - 1) / double(p.interleave) * stage;
  }
  const double params = stage_params(m, p);
  c.parts[kDataComm] = dp_allreduce(w, p, params * kGradBytes) * (1 - s.dp_overlap);
  const double shard = p.zero >= 1 ? double(p.dp) : 1.0;
  c.parts[kOptimizer] = params / shard * kAdamBytes / (s.memory_tb_per_s * 1e12);
  return c;
}

}  // namespace wafer::estimate
