// The wafer training model: weight streaming and layer pipelining on CS-2/CS-3-style
// systems, priced from the arch (PEs, lanes, SRAM ports, vector setup, fabric, I/O).
//
// Matmul rate, first principles: a PE's vector FMA takes one weight element from the fabric
// and reads two operands (activation, accumulator) and writes one through its memory ports,
// so it sustains r = min(fp16 FMA lanes, read bytes per cycle / 4, write bytes per cycle / 2)
// FMAs per cycle. A matmul of tok x K by K x N spread over P PEs runs one vector op per
// streamed weight row (K of them), each over the PE's tok x N / P outputs and paying the
// vector setup cycles: cycles = K x (setup + tok x N / (P x r)). Short vectors (small
// micro-batches, which the SRAM capacity forces) waste the setup cycles; the estimate
// reports that loss. Weight streaming runs one layer at a time on the whole wafer: weights
// stream in through the system I/O for the forward, the recomputed forward and the backward
// pass, gradients stream out once per micro-batch, overlapped with compute (double
// buffering); systems beyond one add SwarmX data parallelism (broadcast/reduce tree).
// Layer pipelining keeps all weights and optimizer state in SRAM and gives each layer a
// share of the PEs proportional to its work; a step pays the pipeline fill and drain.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "train_internal.hpp"

namespace wafer::estimate {

namespace {

// Seconds for tok x K by K x N on `pes` PEs: {at the port-limited rate, setup overhead}.
std::pair<double, double> matmul_seconds(const WaferRate& r, double tok, double k, double n,
                                         double pes) {
  double outputs = std::max(1.0, tok * n / pes);
  return {k * outputs / r.fma_per_cycle / r.hz, k * r.setup / r.hz};
}

// One layer's weight matrices as (K, N) pairs: q, k, v, output projection, MLP.
std::vector<std::pair<double, double>> layer_matrices(const Model& m) {
  double h = double(m.hidden), kv = double(m.kv_dim()), f = double(m.ffn);
  std::vector<std::pair<double, double>> mats = {{h, h}, {h, kv}, {h, kv}, {h, h}, {h, f}, {f, h}};
  if (m.mlp == MlpKind::swiglu) mats.push_back({h, f});
  return mats;
}

struct WaferPass {
  double matmul = 0, setup = 0, attention = 0;  // seconds, forward, one micro-batch
};

// One forward pass of all layers (and the logits) for a micro-batch of `tokens` tokens,
// each layer spread over `pes` PEs.
WaferPass forward_pass(const Workload& w, const WaferRate& r, double tokens, double pes) {
  const Model& m = *w.model;
  WaferPass p;
  for (auto [k, n] : layer_matrices(m)) {
    auto [compute, setup] = matmul_seconds(r, tokens, k, n, pes);
    p.matmul += compute;
    p.setup += setup;
  }
  p.matmul *= double(m.layers);
  p.setup *= double(m.layers);
  // Attention scores and values: long vectors along the sequence, no setup loss counted.
  p.attention = double(m.layers) * 2 * tokens * double(w.seq) * double(m.hidden) /
                (pes * r.fma_per_cycle * r.hz);
  if (head_matmul_params(m) > 0) {
    auto [compute, setup] = matmul_seconds(r, tokens, double(m.hidden), double(m.vocab), pes);
    p.matmul += compute;
    p.setup += setup;
  }
  return p;
}

double pass_count(Recompute rc) { return rc == Recompute::full ? 4 : 3; }

Memory streaming_memory(const Workload& w, int64_t micro_batch, Recompute rc) {
  const Model& m = *w.model;
  Memory mem;
  double layer = double(count_params(m).layer.total());
  mem.weights = 2 * layer * kWeightBytes;  // the layer computing and the next one arriving
  mem.gradients = layer * kGradBytes;
  mem.activations = double(m.layers) *
                    layer_activation_bytes(m, micro_batch, 1, rc, false, true);
  if (rc != Recompute::none)
    mem.activations += layer_activation_bytes(m, micro_batch, 1, Recompute::none, false, true);
  mem.other = double(micro_batch * w.seq) * double(m.vocab) * 2;  // logits
  return mem;
}

Candidate streaming_candidate(const Workload& w, const WaferRate& r, int64_t micro_batch,
                              Recompute rc) {
  const Model& m = *w.model;
  const System& s = *w.system;
  Candidate c;
  c.par = {1, 1, w.count, micro_batch, 1, rc, 1};
  c.capacity = memory_bytes(s);
  c.memory = streaming_memory(w, micro_batch, rc);
  const double tokens = double(micro_batch * w.seq);
  const double micro_batches = double(w.global_batch / (w.count * micro_batch));
  const WaferPass f = forward_pass(w, r, tokens, r.pes);
  const double passes = pass_count(rc);
  const double attention_passes = rc == Recompute::none ? 3 : 4;
  double compute = passes * (f.matmul + f.setup) + attention_passes * f.attention;
  double params = double(matmul_params(m));
  double io_bytes = params * (kWeightBytes * (passes - 1) + kGradBytes);
  double io = io_bytes / (s.io_gb_per_s * 1e9);
  c.parts[kMatmul] = passes * f.matmul * micro_batches;
  c.parts[kAttention] = attention_passes * f.attention * micro_batches;
  c.parts[kCapacityLoss] = passes * f.setup * micro_batches;
  c.parts[kIo] = std::max(0.0, io - compute) * micro_batches;
  if (w.count > 1)  // SwarmX reduce tree: one tree latency per layer per micro-batch
    c.parts[kDataComm] = std::ceil(std::log2(double(w.count))) * s.link_latency_us * 1e-6 *
                         double(m.layers) * micro_batches;
  return c;
}

Memory pipelined_memory(const Workload& w, int64_t micro_batch, Recompute rc) {
  const Model& m = *w.model;
  Memory mem;
  double params = double(count_params(m).total());
  mem.weights = params * kWeightBytes;
  mem.gradients = params * kGradBytes;
  mem.optimizer = params * kOptimizerBytes;
  // Layer i holds the activations of the micro-batches between its forward and backward:
  // about layers / 2 on average in a 1F1B pipeline.
  mem.activations = double(m.layers) * double(m.layers) / 2 *
                    layer_activation_bytes(m, micro_batch, 1, rc, false, true);
  mem.other = double(micro_batch * w.seq) * double(m.vocab) * 2;
  return mem;
}

Candidate pipelined_candidate(const Workload& w, const WaferRate& r, int64_t micro_batch,
                              Recompute rc) {
  const Model& m = *w.model;
  Candidate c;
  c.par = {1, m.layers, w.count, micro_batch, 1, rc, 0};
  c.capacity = memory_bytes(*w.system);
  c.memory = pipelined_memory(w, micro_batch, rc);
  const double tokens = double(micro_batch * w.seq);
  const double micro_batches = double(w.global_batch / (w.count * micro_batch));
  // Each layer on pes / layers PEs; all layers work at once, so a micro-batch leaves the
  // pipeline every (one layer on its share) = (all layers on their shares) / layers.
  const WaferPass f = forward_pass(w, r, tokens, r.pes / double(m.layers));
  const double passes = pass_count(rc);
  const double attention_passes = rc == Recompute::none ? 3 : 4;
  const double per_layer = 1.0 / double(m.layers);
  c.parts[kMatmul] = passes * f.matmul * per_layer * micro_batches;
  c.parts[kAttention] = attention_passes * f.attention * per_layer * micro_batches;
  c.parts[kCapacityLoss] = passes * f.setup * per_layer * micro_batches;
  double stage = (passes * (f.matmul + f.setup) + attention_passes * f.attention) * per_layer;
  c.parts[kBubble] = double(m.layers - 1) * stage;
  return c;
}

// The breakdown's limiter, which estimate_training() replaces by the resource whose increase
// shortens the step most when one does: the SRAM when it forced a smaller micro-batch that
// costs time; else the I/O when streaming the weights takes longer than computing with them
// (the breakdown shows only the I/O time not hidden behind compute); else the largest part.
// Short vectors that the batch (not the SRAM) forces count as compute.
void set_wafer_limiter(TrainEstimate& e, const Candidate& c, bool capped) {
  if (!capped)
    for (Part& p : e.breakdown)
      if (p.name == "short_vectors") p.resource = Limiter::compute;
  if (capped)
    e.limiter = Limiter::memory_capacity;
  else if (c.parts[kIo] > 0)
    e.limiter = Limiter::io;
  else
    e.limiter = largest_resource(e.breakdown);
}

// Every micro-batch dividing the per-system batch and every recompute, unless fixed.
template <typename Make>
SearchResult search_mode(const Workload& w, const TrainOptions& o, Make make) {
  SearchResult r;
  const int64_t per_system = w.global_batch / w.count;
  for (int64_t mb : fixed_or(o.micro_batch, divisors(per_system, per_system))) {
    if (per_system % mb != 0) continue;
    for (Recompute rc :
         fixed_or(o.recompute, {Recompute::none, Recompute::selective, Recompute::full}))
      consider(r, make(mb, rc));
  }
  return r;
}

std::string rate_note(const System& s, const WaferRate& r) {
  const arch::Arch& a = s.wafer;
  const std::string measured =
      r.measured.empty()
          ? std::string()
          : fmt::format(" x {:.3g}, the simulated fp16 GEMM's efficiency relative to that rate ({}: {}, "
                        "Cannon on {} PEs, {:g} x {:g} C elements per PE)",
                        r.efficiency, kGemmEfficiencyFile, r.measured.preset, r.measured.grid,
                        r.measured.points.back().first, r.measured.points.back().first);
  return fmt::format(
      "wafer matmul rate (arch {}): {} PEs x min({} fp16 FMA lanes, {} read ports x {} bits / "
      "32, {} write ports x {} bits / 16) = {} FMA/cycle/PE (first principles){} at {} GHz = "
      "{:.1f} PFLOP/s sustained ({:.1f} peak); one vector op per streamed weight row, {} "
      "setup cycles each; I/O {} GB/s per system",
      a.name, a.pe_count(), a.lanes_f16_fma, a.mem_read_ports, a.mem_port_bits, a.mem_write_ports,
      a.mem_port_bits, r.port_fma, measured, a.clock_ghz, r.flops() / 1e15, s.peak_tflops_bf16 / 1e3,
      a.vector_setup_cycles, s.io_gb_per_s);
}

}  // namespace

Expected<TrainEstimate> estimate_wafer_training(const Workload& w, const TrainOptions& o) {
  const Model& m = *w.model;
  const System& s = *w.system;
  if ((o.tp && *o.tp != 1) || (o.pp && *o.pp != 1) || (o.dp && *o.dp != w.count) ||
      o.interleave)
    return make_error("wafer systems take no --tp/--pp/--interleave, and --dp equals --count "
                      "(SwarmX data parallelism across systems)");
  if (w.global_batch % w.count != 0)
    return make_error("the global batch ({} sequences) must be divisible by --count {}",
                      w.global_batch, w.count);
  double store = double(count_params(m).total()) * (kWeightBytes + kOptimizerBytes);
  if (store > s.external_memory_tb * 1e12)
    return make_error("{} needs {} of weights and optimizer state, more than MemoryX holds "
                      "({} TB); set external_memory_tb in a system file",
                      m.name, format_bytes(store), s.external_memory_tb);
  const WaferRate r = wafer_rate(s);
  SearchResult streaming = search_mode(w, o, [&](int64_t mb, Recompute rc) {
    return streaming_candidate(w, r, mb, rc);
  });
  SearchResult pipelined = search_mode(w, o, [&](int64_t mb, Recompute rc) {
    return pipelined_candidate(w, r, mb, rc);
  });
  if (!streaming.best && !pipelined.best)
    return make_error("{} does not fit on the wafer even streaming weights: one micro-batch of "
                      "{} sequences needs {} of activations, {} usable; try --recompute full "
                      "or a smaller --micro-batch",
                      m.name, streaming.unconstrained->par.micro_batch,
                      format_bytes(streaming.unconstrained->memory.total()),
                      format_bytes(streaming.unconstrained->capacity));
  bool pipeline = pipelined.best && (!streaming.best ||
                                     pipelined.best->step() < streaming.best->step());
  const Candidate& best = pipeline ? *pipelined.best : *streaming.best;
  const SearchResult& mode = pipeline ? pipelined : streaming;
  TrainEstimate e = finish_estimate(w, o, best, pipeline ? "layer-pipelined" : "weight-streaming");
  e.configs_searched = streaming.searched + pipelined.searched;
  double all_on_wafer = double(count_params(m).total()) * (kWeightBytes + kGradBytes +
                                                           kOptimizerBytes);
  if (pipeline)
    e.notes.push_back(fmt::format(
        "layer-pipelined: weights, gradients and optimizer state ({}) fit in SRAM ({}) and "
        "pipelining beats weight streaming ({})",
        format_bytes(all_on_wafer), format_bytes(best.capacity),
        streaming.best ? fmt::format("{:.3g} s per step", streaming.best->step())
                       : std::string("which does not fit")));
  else
    e.notes.push_back(fmt::format(
        "weight-streaming: {}",
        pipelined.best ? fmt::format("it beats layer pipelining ({:.3g} s per step)",
                                     pipelined.best->step())
                       : fmt::format("weights, gradients and optimizer state ({}) do not fit "
                                     "in SRAM ({}) with activations, so layers stream in one "
                                     "at a time from MemoryX",
                                     format_bytes(all_on_wafer), format_bytes(best.capacity))));
  const bool capped = mode.unconstrained->par.micro_batch > best.par.micro_batch &&
                      mode.unconstrained->step() * kCapacityMargin < best.step();
  set_wafer_limiter(e, best, capped);
  if (capped)
    e.notes.push_back(fmt::format(
        "SRAM capacity caps the micro-batch at {} sequences ({} of activations); {} would "
        "run {:.3g} s per step instead of {:.3g} s (weights streamed fewer times, longer "
        "vectors)",
        best.par.micro_batch, format_bytes(best.memory.activations),
        mode.unconstrained->par.micro_batch, mode.unconstrained->step(), best.step()));
  e.notes.push_back(rate_note(s, r));
  return e;
}

}  // namespace wafer::estimate
