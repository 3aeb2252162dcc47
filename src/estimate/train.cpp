// Training estimates: the workload, the exhaustive parallelism search for GPU clusters, the
// memory check with its advice, and the finishing of an estimate (named parts, limiter,
// rates, energy, cost). The limiter is found by sensitivity: the estimate (search included)
// runs again with 10% more of each resource (with_more), and the resource that shortens the
// step most is the one that binds; a breakdown can mislead (a wafer whose step is all
// weight streaming may owe its small micro-batch to the SRAM, but only more I/O bandwidth
// shortens it at the margin). The per-configuration models are in train_gpu.cpp and
// train_wafer.cpp.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include <fmt/format.h>

#include "train_internal.hpp"

namespace wafer::estimate {

namespace {

struct PartInfo {
  const char* name;
  Limiter resource;
};

constexpr PartInfo kParts[kPartCount] = {
    {"matmul", Limiter::compute},
    {"attention", Limiter::compute},
    {"elementwise", Limiter::memory_bandwidth},
    {"kernel_overhead", Limiter::compute},
    {"optimizer", Limiter::memory_bandwidth},
    {"tensor_parallel_comm", Limiter::network},
    {"pipeline_comm", Limiter::network},
    {"data_parallel_comm", Limiter::network},
    {"pipeline_bubble", Limiter::pipeline_bubble},
    {"io", Limiter::io},
    {"short_vectors", Limiter::memory_capacity},
};

// The power of two of sequences nearest max(4M tokens, 1,024 tokens per device): GPT-3's
// 4M-token batch (Brown et al. 2020) for clusters up to ~4,096 devices, and the 16M tokens of
// Llama 3 405B on 16,384 H100 (1,024 per GPU, Llama 3 paper table 4) beyond, so a large
// cluster gets enough micro-batches per pipeline to keep its bubble small.
int64_t default_global_batch(int64_t seq, int64_t count) {
  const double tokens = std::max(4.0 * 1024 * 1024, double(count) * kDefaultTokensPerDevice);
  const double sequences = tokens / double(seq);
  return std::max<int64_t>(1, int64_t(std::exp2(std::round(std::log2(sequences)))));
}

SearchResult search_gpu(const Workload& w, const TrainOptions& o) {
  const Model& m = *w.model;
  SearchResult r;
  const int64_t n = w.count;
  auto tps = fixed_or(o.tp, divisors(n, std::min(w.system->scale_up_size, m.heads)));
  for (int64_t tp : tps) {
    if (n % tp != 0) continue;
    for (int64_t pp : fixed_or(o.pp, divisors(n / tp, m.layers))) {
      if ((n / tp) % pp != 0) continue;
      int64_t dp = n / (tp * pp);
      if (o.dp && *o.dp != dp) continue;
      if (w.global_batch % dp != 0) continue;
      auto mbs = fixed_or(o.micro_batch, divisors(w.global_batch / dp, 16));
      auto ils = fixed_or(o.interleave, pp > 1 ? divisors((m.layers + pp - 1) / pp, 8)
                                               : std::vector<int64_t>{1});
      auto rcs = fixed_or(o.recompute, {Recompute::none, Recompute::selective, Recompute::full});
      for (int64_t mb : mbs)
        for (int64_t il : ils)
          for (Recompute rc : rcs) {
            Parallelism p{tp, pp, dp, mb, il, rc, o.zero};
            Status ok = check_gpu_parallelism(w, p);
            if (!ok) {
              r.last_error = ok;
              continue;
            }
            consider(r, gpu_candidate(w, p));
          }
    }
  }
  return r;
}

std::string describe(const Parallelism& p) {
  return fmt::format("tp {} pp {} dp {} micro-batch {} interleave {} recompute {} zero {}", p.tp,
                     p.pp, p.dp, p.micro_batch, p.interleave, to_string(p.recompute), p.zero);
}

// What would fit: the same choices with ZeRO-3 on this count, else the smallest power-of-two
// multiple of the count (free tp, pp, dp) that holds it.
std::string what_fits(const Workload& w, const TrainOptions& o) {
  if (o.zero < 3) {
    TrainOptions z = o;
    z.zero = 3;
    SearchResult r = search_gpu(w, z);
    if (r.best) return fmt::format("--zero 3 fits ({})", describe(r.best->par));
  }
  for (int64_t n = w.count * 2; n <= w.system->max_count; n *= 2) {
    Workload more = w;
    more.count = n;
    TrainOptions free = o;
    free.count = n;
    free.tp = free.pp = free.dp = std::nullopt;
    SearchResult r = search_gpu(more, free);
    if (r.best) return fmt::format("--count {} fits ({})", n, describe(r.best->par));
  }
  return fmt::format("no count up to {} holds it", w.system->max_count);
}

Status no_fit(const Workload& w, const TrainOptions& o, const SearchResult& r) {
  const Candidate& c = *r.smallest;
  double need = c.memory.total();
  return make_error(
      "{} does not fit on {} x {}: the smallest configuration ({}) needs {} per device, "
      "{} usable ({} over: weights {}, gradients {}, optimizer {}, activations {}); {}",
      w.model->name, w.count, w.system->name, describe(c.par), format_bytes(need),
      format_bytes(c.capacity), format_bytes(need - c.capacity), format_bytes(c.memory.weights),
      format_bytes(c.memory.gradients), format_bytes(c.memory.optimizer),
      format_bytes(c.memory.activations), what_fits(w, o));
}

}  // namespace

std::vector<int64_t> divisors(int64_t n, int64_t limit) {
  std::vector<int64_t> out;
  for (int64_t d = 1; d <= std::min(n, limit); ++d)
    if (n % d == 0) out.push_back(d);
  return out;
}

void consider(SearchResult& r, const Candidate& c) {
  ++r.searched;
  double t = c.step();
  if (!r.unconstrained || t < r.unconstrained->step()) r.unconstrained = c;
  if (!r.smallest || c.memory.total() < r.smallest->memory.total()) r.smallest = c;
  if (c.fits() && (!r.best || t < r.best->step())) r.best = c;
}

void name_limiter(TrainEstimate& e,
                  const std::function<std::optional<double>(Limiter)>& step_with_more) {
  const Limiter resources[] = {Limiter::compute, Limiter::memory_bandwidth,
                               Limiter::memory_capacity, Limiter::network, Limiter::io};
  std::optional<Limiter> best;
  double best_gain = kSensitivityFloor;
  std::string gains;
  for (Limiter r : resources) {
    const std::optional<double> step = step_with_more(r);
    const double gain = step ? 1 - *step / e.step_seconds : 0;
    e.sensitivity.push_back({r, gain});
    gains += fmt::format("{}{} {:.1f}%", gains.empty() ? "" : ", ", to_string(r), 100 * gain);
    if (gain > best_gain) {
      best = r;
      best_gain = gain;
    }
  }
  if (best) e.limiter = *best;
  e.notes.push_back(fmt::format(
      "limiter {}: the resource whose {:.0f}% increase shortens the step most ({}){}",
      to_string(e.limiter), 100 * (kSensitivityFactor - 1), gains,
      best ? "" : fmt::format("; none moves it by {:.1f}%, so the limiter is the largest part "
                              "of the breakdown", 100 * kSensitivityFloor)));
}

Limiter largest_resource(const std::vector<Part>& parts) {
  double by_resource[6] = {};
  for (const Part& p : parts) by_resource[int(p.resource)] += p.seconds;
  return Limiter(std::max_element(std::begin(by_resource), std::end(by_resource)) -
                 std::begin(by_resource));
}

std::string format_bytes(double bytes) {
  if (std::fabs(bytes) >= 1e12) return fmt::format("{:.2f} TB", bytes / 1e12);
  if (std::fabs(bytes) >= 1e9) return fmt::format("{:.2f} GB", bytes / 1e9);
  return fmt::format("{:.1f} MB", bytes / 1e6);
}

const char* to_string(Limiter l) {
  switch (l) {
    case Limiter::compute: return "compute";
    case Limiter::memory_bandwidth: return "memory_bandwidth";
    case Limiter::memory_capacity: return "memory_capacity";
    case Limiter::network: return "network";
    case Limiter::io: return "io";
    case Limiter::pipeline_bubble: return "pipeline_bubble";
  }
  return "?";
}

Workload make_workload(const Model& m, const System& s, const TrainOptions& o) {
  Workload w;
  w.model = &m;
  w.system = &s;
  w.count = o.count;
  w.seq = m.seq;
  w.global_batch = o.global_batch > 0 ? o.global_batch : default_global_batch(m.seq, o.count);
  w.precision = o.precision;
  w.peak = peak_flops(s, o.precision);
  return w;
}

TrainEstimate finish_estimate(const Workload& w, const TrainOptions& o, const Candidate& c,
                              const std::string& mode) {
  const Model& m = *w.model;
  const System& s = *w.system;
  TrainEstimate e;
  e.model = m.name;
  e.system = s.name;
  e.mode = mode;
  e.count = w.count;
  e.global_batch = w.global_batch;
  e.seq = w.seq;
  e.par = c.par;
  e.step_seconds = c.step();
  const double tokens = double(w.global_batch) * double(w.seq);
  e.tokens_per_second = tokens / e.step_seconds;
  const FlopCounts f = flops_per_token(m);
  e.tflops_per_device =
      double(f.training(c.par.recompute)) * tokens / e.step_seconds / double(w.count) / 1e12;
  e.mfu = double(f.training(Recompute::none)) * tokens / e.step_seconds / double(w.count) /
          w.peak;
  e.memory = c.memory;
  e.memory_capacity_bytes = c.capacity;
  for (int i = 0; i < kPartCount; ++i)
    if (c.parts[i] > 0) e.breakdown.push_back({kParts[i].name, c.parts[i], kParts[i].resource});
  e.limiter = largest_resource(e.breakdown);
  if (o.global_batch == 0)
    e.notes.push_back(fmt::format(
        "global batch {} sequences of {} tokens: the power of two nearest max(4M tokens, {:.0f} "
        "tokens per device), the default (--global-batch sets it)",
        w.global_batch, w.seq, kDefaultTokensPerDevice));
  if (c.parts[kBubble] > kBubbleNoteShare * e.step_seconds)
    e.notes.push_back(fmt::format(
        "the pipeline bubble is {:.0f}% of the step: a larger --global-batch (more micro-batches "
        "per pipeline) or more interleaving shortens it",
        100 * c.parts[kBubble] / e.step_seconds));
  if (o.tokens) e.time_to_train_seconds = *o.tokens / e.tokens_per_second;
  const double seconds = e.time_to_train_seconds.value_or(e.step_seconds);
  const double devices = double(w.count);
  e.energy_joules = s.power_kw * 1e3 * devices * seconds;
  e.cost_dollars = o.dollars_per_hour.value_or(s.dollars_per_hour) * devices * seconds / 3600;
  return e;
}

Expected<TrainEstimate> estimate_gpu_training(const Model& m, const System& s,
                                              const TrainOptions& o, const Parallelism& p) {
  Workload w = make_workload(m, s, o);
  WAFER_TRY(check_gpu_parallelism(w, p));
  Candidate c = gpu_candidate(w, p);
  SearchResult r;
  consider(r, c);
  if (!c.fits()) return no_fit(w, o, r);
  return finish_estimate(w, o, c, "3d-parallel");
}

namespace {

// One estimate: the search and its winner, with the limiter its breakdown suggests.
Expected<TrainEstimate> estimate_once(const Model& m, const System& s, const TrainOptions& o) {
  if (o.count < 1 || o.count > s.max_count)
    return make_error("--count {} is out of range for {} (1 to {})", o.count, s.name,
                      s.max_count);
  if (o.tokens && !(*o.tokens > 0)) return make_error("--tokens must be positive");
  if (o.global_batch < 0) return make_error("--global-batch must be positive");
  if (o.tp && o.pp && o.dp && *o.tp * *o.pp * *o.dp != o.count)
    return make_error("tp x pp x dp = {} x {} x {} = {} must equal --count {}", *o.tp, *o.pp,
                      *o.dp, *o.tp * *o.pp * *o.dp, o.count);
  Workload w = make_workload(m, s, o);
  WAFER_TRY(check_precision(s, o.precision));
  if (s.kind == DeviceKind::wafer) return estimate_wafer_training(w, o);
  if (s.kind == DeviceKind::lpu)
    return make_error("{} is an inference chip: it has no training model (use a gpu or wafer "
                      "system, or `wafer estimate infer`)", s.name);
  SearchResult r = search_gpu(w, o);
  if (r.searched == 0) {
    if (!r.last_error) return r.last_error;
    return make_error("no parallel configuration of {} devices matches the given choices and "
                      "the global batch of {} sequences", o.count, w.global_batch);
  }
  if (!r.best) return no_fit(w, o, r);
  TrainEstimate e = finish_estimate(w, o, *r.best, "3d-parallel");
  e.configs_searched = r.searched;
  if (r.unconstrained->step() * kCapacityMargin < r.best->step()) {
    e.limiter = Limiter::memory_capacity;
    e.notes.push_back(fmt::format(
        "memory capacity forces {}: with unlimited memory {} would take {:.3g} s per step "
        "instead of {:.3g} s",
        describe(r.best->par), describe(r.unconstrained->par), r.unconstrained->step(),
        r.best->step()));
  }
  e.notes.push_back(fmt::format("searched {} configurations; chose {}", r.searched,
                                describe(r.best->par)));
  return e;
}

}  // namespace

System with_more(const System& s, Limiter resource, double factor) {
  System more = s;
  switch (resource) {
    case Limiter::compute:
      more.peak_tflops_bf16 *= factor;
      more.peak_tflops_fp8 *= factor;
      break;
    case Limiter::memory_bandwidth: more.memory_tb_per_s *= factor; break;
    case Limiter::memory_capacity: more.memory_gb *= factor; break;
    case Limiter::network:
      more.scale_up_gb_per_s *= factor;
      more.scale_out_gb_per_s *= factor;
      more.link_latency_us /= factor;
      break;
    case Limiter::io: more.io_gb_per_s *= factor; break;
    case Limiter::pipeline_bubble: break;
  }
  return more;
}

Expected<TrainEstimate> estimate_training(const Model& m, const System& s,
                                          const TrainOptions& o) {
  Expected<TrainEstimate> e = estimate_once(m, s, o);
  if (!e) return e;
  name_limiter(*e, [&](Limiter resource) -> std::optional<double> {
    Expected<TrainEstimate> more = estimate_once(m, with_more(s, resource, kSensitivityFactor), o);
    if (!more) return std::nullopt;
    return more->step_seconds;
  });
  return e;
}

}  // namespace wafer::estimate
