// Inference estimates: one request of `batch` sequences, each prefilling `prompt` tokens and
// then generating `output` tokens, priced on `count` devices.
//
// Memory: weights = parameters x b bytes (b = 1 for fp8, else 2); the KV cache holds K and V
// of every layer: 2 x layers x kv_dim x b bytes per token, batch x (prompt + output) tokens
// in all. The fewest devices holding both is ceil((weights + KV) / usable bytes per device);
// GPUs round that up to a power of two inside the NVLink domain, then to whole domains.
//
// Layout: the model is cut into `stages` pipeline stages of equal work, each held by `tp`
// devices. GPUs: tp = min(count, NVLink domain), stages = count / tp. Wafers and LPU chips:
// tp = 1, stages = count (each holds 1/count of the weights).
//
// One stage working on n tokens that attend c positions on average and touch the KV cache
// of k tokens (a "pass"), on a device with sustained rate F and memory bandwidth B (the
// datasheet bandwidth x memory_efficiency: on GPUs an assumed 0.8, on SRAM 1):
//   compute = n x (2 x matmul_params + 4 x c x hidden x layers) / (stages x tp) / F
//   memory  = (weights + k x KV per token) / (stages x tp) / B
//   busy    = max(compute, memory) + comm
// comm is the tensor-parallel all-reduce on GPUs (2 per layer of n x hidden x b bytes, ring
// over NVLink plus a fixed latency) and the fabric latency on wafers: a GEMV spread over the
// whole wafer broadcasts its input along one axis and reduces its output along the other,
// (fabric_width + fabric_height) x hop_latency cycles per GEMV. Matrices that read the same
// input run as one GEMV (q, k and v; an MLP's gate and up, as serving kernels fuse them), so
// a layer is 4 GEMVs in a row: qkv, output projection, up (and gate), down. A hop between stages
// carries n x hidden x b bytes over the scale-out link (wafers: the system I/O) plus the link
// latency.
//
// Prefill: the batch x prompt tokens flow through the stages in q chunks (whole sequences or
// pieces of prompts, as chunked prefill does; q a power of two, the fastest), n = batch x
// prompt / q, c = prompt / 2 (causal attention sees half the square), k = n (KV written):
//   ttft = (q + stages - 1) x busy + (stages - 1) x hop
// and the last prompt position yields the first token. Decode: the batch runs as micro-
// batches of mb = ceil(batch / stages) sequences so every stage has one in flight; n = mb,
// c = prompt + output / 2 (the mean context over the decode steps), k = mb x c (KV read). A
// sequence's next token needs its previous one, so a step is a round trip through every
// stage:
//   tpot = stages x busy + (stages - 1) x hop + (the sampled token back to stage 1: latency)
// The request takes ttft + (output - 1) x tpot; energy and cost are count devices for that
// long, per generated token (batch x output).
#include "wafer/estimate/infer.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "train_internal.hpp"

namespace wafer::estimate {

namespace {

constexpr int64_t kMaxBatch = int64_t(1) << 20;
constexpr int64_t kMaxTokens = int64_t(1) << 24;
// Fixed cost of one small all-reduce inside an NVLink domain (launch and the ring's
// synchronisation steps): an assumption of a few microseconds, the order NCCL reaches.
constexpr double kAllReduceLatencySeconds = 5e-6;

// The layout and rates of one request.
struct Plan {
  const Model* model = nullptr;
  const System* system = nullptr;
  int64_t batch = 0, prompt = 0, output = 0;
  double element_bytes = 0;  // per weight or KV element
  double weights = 0;        // bytes, whole model
  double kv_per_token = 0;   // bytes per token of one sequence, all layers
  int64_t devices_needed = 0;  // fewest devices holding weights + KV cache
  int64_t count = 0;
  int64_t tp = 1;            // devices sharing one stage (GPU tensor parallelism)
  int64_t stages = 1;        // pipeline stages
  int64_t micro_batch = 1;   // decode: sequences per micro-batch
  int64_t micro_batches = 1;
  double flops = 0;          // sustained FLOP/s of one device
  double bandwidth = 0;      // memory bytes/s of one device
  bool is(DeviceKind k) const { return system->kind == k; }
  double kv_total() const { return double(batch) * double(prompt + output) * kv_per_token; }
};

// One stage on one decode micro-batch or prefill chunk, in seconds.
struct Pass {
  double compute = 0;       // FLOPs at the sustained rate
  double weight_reads = 0;  // the stage's weights from memory
  double kv_traffic = 0;    // KV cache written (prefill) or read (decode)
  double comm = 0;          // tensor-parallel all-reduces (GPU) or fabric latency (wafer)
  double memory() const { return weight_reads + kv_traffic; }
  double busy() const { return std::max(compute, memory()) + comm; }
};

Status check_options(const Model& m, const System& s, const InferOptions& o) {
  if (m.encoder_only)
    return make_error("{} is encoder-only: it generates no tokens", m.name);
  if (o.batch < 1 || o.batch > kMaxBatch)
    return make_error("--batch must be between 1 and {}, got {}", kMaxBatch, o.batch);
  if (o.prompt < 1) return make_error("--prompt must be at least 1 token, got {}", o.prompt);
  if (o.output < 1) return make_error("--output must be at least 1 token, got {}", o.output);
  if (o.prompt > kMaxTokens || o.output > kMaxTokens - o.prompt)
    return make_error("--prompt + --output must be at most {} tokens, got {} + {}", kMaxTokens,
                      o.prompt, o.output);
  if (o.count < 0 || o.count > s.max_count)
    return make_error("--count {} is out of range for {} (0 for the fewest that fit, or 1 to "
                      "{})", o.count, s.name, s.max_count);
  return Status::ok();
}

// Powers of two up to the NVLink domain, whole domains beyond it.
int64_t round_gpu_count(int64_t n, int64_t domain) {
  if (n > domain) return (n + domain - 1) / domain * domain;
  int64_t p = 1;
  while (p < n) p *= 2;
  return std::min(p, domain);
}

// The fewest devices holding weights + KV cache, capped at kManyDevices: far beyond any
// max_count (at most 1e15), and a ratio like 1e27 bytes over 1 usable byte would not
// convert to int64.
constexpr double kManyDevices = 1e18;

int64_t devices_holding(const Plan& p) {
  const double n = std::ceil((p.weights + p.kv_total()) / memory_bytes(*p.system));
  if (!(n < kManyDevices)) return int64_t(kManyDevices);
  return std::max<int64_t>(1, int64_t(n));
}

Expected<int64_t> choose_count(const Plan& p, int64_t requested, int64_t needed) {
  const System& s = *p.system;
  const int64_t fitting = p.is(DeviceKind::gpu) ? round_gpu_count(needed, s.scale_up_size)
                                                : needed;
  const double bytes = p.weights + p.kv_total();
  if (requested == 0 && fitting > s.max_count)
    return make_error("{} needs {} for weights and KV cache: {} devices of {}, more than its "
                      "largest cluster ({})", p.model->name, format_bytes(bytes), fitting,
                      s.name, s.max_count);
  if (requested == 0) return fitting;
  if (requested < needed)
    return make_error("{} needs {} ({} of weights + {} of KV cache for {} sequences of {} "
                      "tokens); --count {} x {} holds {}; --count {} would fit",
                      p.model->name, format_bytes(bytes), format_bytes(p.weights),
                      format_bytes(p.kv_total()), p.batch, p.prompt + p.output, requested,
                      s.name, format_bytes(double(requested) * memory_bytes(s)), fitting);
  return requested;
}

// Tensor parallel inside the NVLink domain, pipeline stages across domains.
Status set_gpu_layout(Plan& p) {
  const Model& m = *p.model;
  const int64_t domain = p.system->scale_up_size;
  p.tp = std::min(p.count, domain);
  p.stages = p.count / p.tp;
  if (p.count > domain && p.count % domain != 0)
    return make_error("--count {}: above one NVLink domain ({} GPUs) the count must be a "
                      "multiple of {}", p.count, domain, domain);
  if (m.heads % p.tp != 0)
    return make_error("--count {}: tensor parallelism over {} GPUs must divide the {} "
                      "attention heads", p.count, p.tp, m.heads);
  if (p.stages > m.layers)
    return make_error("--count {}: {} pipeline stages of {} GPUs exceed the {} layers",
                      p.count, p.stages, p.tp, m.layers);
  return Status::ok();
}

Status set_layout(Plan& p, const InferOptions& o) {
  const System& s = *p.system;
  if (p.is(DeviceKind::gpu)) {
    WAFER_TRY(set_gpu_layout(p));
  } else {
    p.tp = 1;
    p.stages = p.count;
  }
  p.micro_batch = (p.batch + p.stages - 1) / p.stages;
  p.micro_batches = (p.batch + p.micro_batch - 1) / p.micro_batch;
  p.flops = p.is(DeviceKind::wafer) ? wafer_rate(s).flops()
                                    : peak_flops(s, o.precision) * s.gemm_efficiency;
  p.bandwidth = s.memory_tb_per_s * 1e12 * s.memory_efficiency;
  return Status::ok();
}

// Ring all-reduce of `bytes` per GPU over the tensor-parallel group, plus its fixed latency.
double tp_allreduce(const Plan& p, double bytes) {
  const System& s = *p.system;
  const double ring = 2.0 * double(p.tp - 1) / double(p.tp);
  return kAllReduceLatencySeconds + ring * bytes / (s.scale_up_gb_per_s * 1e9 * s.comm_efficiency);
}

// Cycles for one GEMV's broadcast and reduction to cross the fabric, per GEMV in a row: the
// layer's fused qkv, output projection, up (with gate) and down, and the LM head;
// attention's own reductions are taken to overlap these.
constexpr double kGemvsPerLayer = 4;

double fabric_latency(const Plan& p) {
  const Model& m = *p.model;
  const arch::Arch& a = p.system->wafer;
  const double per_layer = kGemvsPerLayer;
  const double matrices = double(m.layers) * per_layer + (head_matmul_params(m) > 0 ? 1 : 0);
  const double crossing = double(a.fabric_width + a.fabric_height) * a.hop_latency;
  return matrices * crossing / (a.clock_ghz * 1e9);
}

double stage_comm(const Plan& p, double tokens) {
  const Model& m = *p.model;
  const double stages = double(p.stages);
  if (p.is(DeviceKind::wafer)) return fabric_latency(p) / stages;
  if (p.tp == 1) return 0;
  double activation = tokens * double(m.hidden) * p.element_bytes;
  return 2 * double(m.layers) / stages * tp_allreduce(p, activation);
}

// One stage on `tokens` tokens (all sequences of a micro-batch or chunk) attending `context`
// positions on average, touching the KV cache of `kv_tokens` tokens.
Pass stage_pass(const Plan& p, double tokens, double context, double kv_tokens) {
  const Model& m = *p.model;
  const double share = 1.0 / double(p.stages * p.tp);
  const double per_token = 2 * double(matmul_params(m)) +
                           4 * context * double(m.hidden) * double(m.layers);
  Pass pass;
  pass.compute = tokens * per_token * share / p.flops;
  pass.weight_reads = p.weights * share / p.bandwidth;
  pass.kv_traffic = kv_tokens * p.kv_per_token * share / p.bandwidth;
  pass.comm = stage_comm(p, tokens);
  return pass;
}

// The link between pipeline stages: the scale-out network, or a wafer system's I/O.
Limiter hop_resource(const Plan& p) {
  return p.is(DeviceKind::wafer) ? Limiter::io : Limiter::network;
}

// The activations of `tokens` tokens from one stage to the next.
double hop(const Plan& p, double tokens) {
  const System& s = *p.system;
  const double bytes = tokens * double(p.model->hidden) * p.element_bytes;
  const double rate = p.is(DeviceKind::wafer) ? s.io_gb_per_s * 1e9
                                              : s.scale_out_gb_per_s * 1e9 * s.comm_efficiency;
  return bytes / rate + s.link_latency_us * 1e-6;
}

// The prefill of the whole batch in a number of equal chunks flowing through the stages.
struct Prefill {
  double chunks = 1, chunk_tokens = 0;
  Pass pass;          // one stage on one chunk
  double passes = 0;  // chunks + stages - 1: the pipeline fills, streams and drains
  double hops = 0;    // the last chunk's hops between stages
  double seconds() const { return passes * pass.busy() + hops; }
};

Prefill prefill_in(const Plan& p, double chunks) {
  Prefill f;
  f.chunks = chunks;
  f.chunk_tokens = double(p.batch) * double(p.prompt) / chunks;
  f.pass = stage_pass(p, f.chunk_tokens, double(p.prompt) / 2, f.chunk_tokens);
  f.passes = chunks + double(p.stages) - 1;
  f.hops = double(p.stages - 1) * hop(p, f.chunk_tokens);
  return f;
}

// Few chunks leave pipeline stages idle; many read the weights and pay the fixed latencies
// once per chunk: the fastest power of two, down to one token per chunk.
Prefill fastest_prefill(const Plan& p) {
  const double tokens = double(p.batch) * double(p.prompt);
  Prefill best = prefill_in(p, 1);
  for (double chunks = 2; chunks <= tokens; chunks *= 2) {
    Prefill f = prefill_in(p, chunks);
    if (f.seconds() < best.seconds()) best = f;
  }
  return best;
}

void add(std::vector<Part>& parts, const std::string& name, double seconds, Limiter resource) {
  if (seconds > 0) parts.push_back({name, seconds, resource});
}

// A pass repeated `times`: compute or the memory traffic, whichever binds, and the comm.
void add_pass(std::vector<Part>& parts, const Plan& p, const std::string& phase,
              const Pass& pass, double times) {
  if (pass.compute >= pass.memory()) {
    add(parts, phase + "_compute", pass.compute * times, Limiter::compute);
  } else {
    add(parts, phase + "_weight_reads", pass.weight_reads * times, Limiter::memory_bandwidth);
    add(parts, phase + "_kv_cache", pass.kv_traffic * times, Limiter::memory_bandwidth);
  }
  const char* comm = p.is(DeviceKind::wafer) ? "_fabric_latency" : "_tensor_parallel_comm";
  add(parts, phase + comm, pass.comm * times, Limiter::network);
}

std::string layout_note(const Plan& p) {
  if (p.is(DeviceKind::gpu))
    return fmt::format("tensor parallel over {} GPUs inside the NVLink domain, {} pipeline "
                       "stage(s) across domains; weights and KV cache in HBM", p.tp, p.stages);
  return fmt::format("weights and KV cache in on-chip SRAM, layers pipelined across {} {}(s), "
                     "each holding 1/{} of the weights{}", p.count, to_string(p.system->kind),
                     p.count,
                     p.is(DeviceKind::wafer) ? "; each layer's matrices spread over the whole "
                                               "wafer"
                                             : "");
}

std::string batch_note(const Plan& p) {
  return fmt::format("decode runs the batch of {} as {} micro-batch(es) of {} over {} stages: a "
                     "sequence's next token needs its previous one, so a decode step is a round "
                     "trip through every stage and the stages serve different micro-batches at "
                     "once",
                     p.batch, p.micro_batches, p.micro_batch, p.stages);
}

std::string prefill_note(const Plan& p, const Prefill& f) {
  return fmt::format("prefill streams the batch's {} prompt tokens through {} stage(s) in {} "
                     "chunk(s) of {:.4g} tokens (the fastest power of two: fewer leave stages "
                     "idle, more re-read the weights)",
                     p.batch * p.prompt, p.stages, f.chunks, f.chunk_tokens);
}

std::string rate_note(const Plan& p) {
  const System& s = *p.system;
  if (p.is(DeviceKind::wafer)) {
    const arch::Arch& a = s.wafer;
    return fmt::format("wafer rate (arch {}): {:.2f} PFLOP/s sustained (PEs x FMA/cycle x 2 x "
                       "clock), SRAM {:.2f} PB/s; fabric latency ({} + {}) x {} cycles = "
                       "{:.2f} us per GEMV, {} GEMVs per layer (qkv, output, up+gate, down)",
                       a.name, p.flops / 1e15, p.bandwidth / 1e15, a.fabric_width,
                       a.fabric_height, a.hop_latency,
                       double(a.fabric_width + a.fabric_height) * a.hop_latency /
                           (a.clock_ghz * 1e3),
                       kGemvsPerLayer);
  }
  std::string note = fmt::format(
      "rates per device: {:.0f} TFLOP/s (peak x gemm_efficiency {}), memory {:.2f} TB/s "
      "({:.2f} TB/s datasheet x memory_efficiency {}, an assumption for decode's streaming "
      "reads); no per-kernel overhead (graph-captured decode)",
      p.flops / 1e12, s.gemm_efficiency, p.bandwidth / 1e12, s.memory_tb_per_s,
      s.memory_efficiency);
  if (p.is(DeviceKind::gpu) && p.tp > 1)
    note += fmt::format("; all-reduce: ring over NVLink + {:.0f} us each, not overlapped",
                        kAllReduceLatencySeconds * 1e6);
  return note;
}

void add_notes(InferEstimate& e, const Plan& p, const InferOptions& o, const Prefill& f) {
  if (o.count == 0 && !p.is(DeviceKind::gpu) && p.count > 1)
    e.notes.push_back(fmt::format("{} {}s needed: weights and KV cache ({}) exceed one "
                                  "device's usable memory ({})",
                                  p.count, to_string(p.system->kind),
                                  format_bytes(p.weights + p.kv_total()),
                                  format_bytes(memory_bytes(*p.system))));
  e.notes.push_back(layout_note(p));
  if (p.stages > 1) e.notes.push_back(batch_note(p));
  if (f.chunks > 1) e.notes.push_back(prefill_note(p, f));
  e.notes.push_back(rate_note(p));
  e.notes.push_back(fmt::format(
      "ttft is the prefill of the whole batch (causal attention: half the square), whose last "
      "position gives the first token; decode attends the mean context of {} tokens",
      p.prompt + p.output / 2));
  if (p.prompt + p.output > p.model->seq)
    e.notes.push_back(fmt::format("prompt + output ({}) exceeds {}'s context of {} tokens",
                                  p.prompt + p.output, p.model->name, p.model->seq));
}

Expected<Plan> make_plan(const Model& m, const System& s, const InferOptions& o) {
  Plan p;
  p.model = &m;
  p.system = &s;
  p.batch = o.batch;
  p.prompt = o.prompt;
  p.output = o.output;
  p.element_bytes = precision_bytes(o.precision);
  p.weights = double(count_params(m).total()) * p.element_bytes;
  p.kv_per_token = 2 * double(m.layers) * double(m.kv_dim()) * p.element_bytes;
  p.devices_needed = devices_holding(p);
  Expected<int64_t> count = choose_count(p, o.count, p.devices_needed);
  if (!count) return count.status();
  p.count = *count;
  WAFER_TRY(set_layout(p, o));
  return p;
}

}  // namespace

Expected<InferEstimate> estimate_inference(const Model& m, const System& s,
                                           const InferOptions& o) {
  WAFER_TRY(check_options(m, s, o));
  WAFER_TRY(check_precision(s, o.precision));
  Expected<Plan> plan = make_plan(m, s, o);
  if (!plan) return plan.status();
  const Plan& p = *plan;

  const Prefill prefill = fastest_prefill(p);
  const double mb = double(p.micro_batch);
  const double context = double(p.prompt) + double(p.output) / 2;
  const Pass decode = stage_pass(p, mb, context, mb * context);
  const double stages = double(p.stages), steps = double(p.output - 1);
  const double decode_hops =
      (stages - 1) * hop(p, mb) + (p.stages > 1 ? s.link_latency_us * 1e-6 : 0);

  InferEstimate e;
  e.model = m.name;
  e.system = s.name;
  e.count = p.count;
  e.batch = p.batch;
  e.prompt = p.prompt;
  e.output = p.output;
  e.ttft_seconds = prefill.seconds();
  e.time_per_output_token_seconds = stages * decode.busy() + decode_hops;
  e.tokens_per_second_per_user = 1 / e.time_per_output_token_seconds;
  e.aggregate_tokens_per_second = double(p.batch) / e.time_per_output_token_seconds;
  e.devices_for_weights = p.devices_needed;
  e.weight_bytes = p.weights;
  e.kv_cache_bytes = p.kv_total();
  e.memory_per_device_bytes = (p.weights + p.kv_total()) / double(p.count);
  e.memory_capacity_bytes = memory_bytes(s);

  add_pass(e.breakdown, p, "prefill", prefill.pass, prefill.passes);
  add(e.breakdown, "prefill_pipeline_hops", prefill.hops, hop_resource(p));
  add_pass(e.breakdown, p, "decode", decode, stages * steps);
  add(e.breakdown, "decode_pipeline_hops", decode_hops * steps, hop_resource(p));
  e.limiter = largest_resource(e.breakdown);

  const double request = e.ttft_seconds + steps * e.time_per_output_token_seconds;
  const double tokens = double(p.batch) * double(p.output);
  const double devices = double(p.count);
  e.energy_joules_per_token = s.power_kw * 1e3 * devices * request / tokens;
  e.dollars_per_million_tokens =
      o.dollars_per_hour.value_or(s.dollars_per_hour) * devices * request / 3600 / tokens * 1e6;
  add_notes(e, p, o, prefill);
  return e;
}

}  // namespace wafer::estimate
