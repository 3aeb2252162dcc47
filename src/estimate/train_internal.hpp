// Internal pieces of the training estimate shared by the GPU and wafer models: the step's
// fixed inputs (Workload), one evaluated configuration (Candidate: time parts and memory, no
// strings, so the search can evaluate millions), and turning the winner into a
// TrainEstimate (limiter, breakdown, energy, cost).
#pragma once

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "wafer/estimate/train.hpp"

namespace wafer::estimate {

// What every configuration of one estimate shares.
struct Workload {
  const Model* model = nullptr;
  const System* system = nullptr;
  int64_t count = 1;
  int64_t global_batch = 0;  // sequences per step
  int64_t seq = 0;
  Precision precision = Precision::bf16;
  double peak = 0;  // FLOP/s of one device at the precision
};

// The step-time parts of one configuration, in seconds per step.
enum PartId {
  kMatmul,         // compute: weight matmuls (and the logits)
  kAttention,      // compute: attention scores and values
  kElementwise,    // memory bandwidth: norms, activations, softmax, dropout, loss
  kOverhead,       // compute: fixed per-layer cost (kernel launches, synchronisation)
  kOptimizer,      // memory bandwidth: the optimizer update
  kTensorComm,     // network: tensor-parallel collectives not hidden
  kPipelineComm,   // network: activations between pipeline stages
  kDataComm,       // network: gradient reduction not hidden
  kBubble,         // pipeline bubble
  kIo,             // wafer: weights in / gradients out through the system I/O (not hidden)
  kCapacityLoss,   // wafer: time lost to short vectors forced by the SRAM capacity
  kPartCount
};

struct Candidate {
  Parallelism par;
  std::array<double, kPartCount> parts{};
  Memory memory;
  double capacity = 0;  // usable bytes per device
  double step() const {
    double t = 0;
    for (double p : parts) t += p;
    return t;
  }
  bool fits() const { return memory.total() <= capacity; }
};

// What a search keeps of the configurations it evaluated.
struct SearchResult {
  std::optional<Candidate> best;           // fastest that fits
  std::optional<Candidate> unconstrained;  // fastest ignoring memory
  std::optional<Candidate> smallest;       // least memory
  int64_t searched = 0;
  Status last_error = Status::ok();
};
void consider(SearchResult& r, const Candidate& c);

// The divisors of n up to limit, ascending.
std::vector<int64_t> divisors(int64_t n, int64_t limit);
// The user's fixed choice, or every candidate.
template <typename T>
std::vector<T> fixed_or(const std::optional<T>& fixed, std::vector<T> all) {
  if (fixed) return {*fixed};
  return all;
}

Workload make_workload(const Model& m, const System& s, const TrainOptions& o);

// GPU 3D-parallel step for one configuration (no checks of divisibility; callers do them).
Candidate gpu_candidate(const Workload& w, const Parallelism& p);
// Whether p is a legal GPU configuration for the workload (divisibility, domain size);
// the message says why not.
Status check_gpu_parallelism(const Workload& w, const Parallelism& p);

// Turns an evaluated candidate into the reported estimate (parts with names and resources,
// limiter, throughput, FLOP rates, energy and cost).
TrainEstimate finish_estimate(const Workload& w, const TrainOptions& o, const Candidate& c,
                              const std::string& mode);

// Wafer systems: weight streaming or layer pipelining, the better of the two that fits.
Expected<TrainEstimate> estimate_wafer_training(const Workload& w, const TrainOptions& o);

// A limit on memory is the limiter when lifting it would make the step at least this much
// faster.
constexpr double kCapacityMargin = 1.05;

// Adam in mixed precision: bf16 weights (2) and gradients (2), fp32 master weights, first
// and second moments (12): 16 bytes per parameter before sharding.
constexpr double kWeightBytes = 2, kGradBytes = 2, kOptimizerBytes = 12;

// The limiter is the resource whose kSensitivityFactor-fold increase shortens the step
// most, if any shortens it by at least kSensitivityFloor; else the breakdown's largest.
constexpr double kSensitivityFactor = 1.1;
constexpr double kSensitivityFloor = 0.001;
// Names e.limiter from the step times with more of each resource (nullopt: no estimate) and
// records them in e.sensitivity and a note.
void name_limiter(TrainEstimate& e,
                  const std::function<std::optional<double>(Limiter)>& step_with_more);

// The default global batch is at least this many tokens per device (Llama 3 405B on 16,384
// H100: 16M tokens).
constexpr double kDefaultTokensPerDevice = 1024;
// A bubble above this share of the step gets a note.
constexpr double kBubbleNoteShare = 0.2;

std::string format_bytes(double bytes);
// The resource whose parts add up to the most time.
Limiter largest_resource(const std::vector<Part>& parts);

}  // namespace wafer::estimate
