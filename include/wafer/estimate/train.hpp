// Training estimates: step time, throughput, memory per device and the limiting resource.
//
// estimate_training() prices one optimizer step of a model on `count` devices of a system.
// GPU clusters run Megatron-style 3D parallelism: tensor parallel (tp, inside the NVLink
// domain), pipeline parallel (pp, 1F1B with optional interleaving and its bubble), data
// parallel (dp, with ZeRO sharding of optimizer/gradients/weights) and sequence parallel;
// every parallelism choice left unset is searched (search_training) and the fastest
// configuration that fits in memory wins. The limiter is the resource (compute, memory
// bandwidth or capacity, network, wafer I/O) whose 10% increase shortens the step most: the
// estimate is run again with each. Wafer systems run weight streaming (one layer at
// a time on the whole wafer, weights in and gradients out through the system I/O, SwarmX
// data parallelism across systems) or layer pipelining (all weights on the wafer) for
// models small enough; the estimate says which and why. docs/estimator.md has every formula.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "wafer/estimate/model.hpp"
#include "wafer/estimate/system.hpp"

namespace wafer::estimate {

enum class Limiter { compute, memory_bandwidth, memory_capacity, network, io, pipeline_bubble };
const char* to_string(Limiter l);

// One part of a step's time, with the resource it waits on.
struct Part {
  std::string name;
  double seconds = 0;
  Limiter resource = Limiter::compute;
};

struct Parallelism {
  int64_t tp = 1, pp = 1, dp = 1;
  int64_t micro_batch = 1;   // sequences per micro-batch
  int64_t interleave = 1;    // virtual pipeline stages per device
  Recompute recompute = Recompute::none;
  int zero = 1;              // 0: none; 1: optimizer; 2: + gradients; 3: + weights sharded
};

// Bytes per device.
struct Memory {
  double weights = 0, gradients = 0, optimizer = 0, activations = 0, other = 0;
  double total() const { return weights + gradients + optimizer + activations + other; }
};

struct TrainOptions {
  int64_t count = 1;               // devices (GPUs, wafer systems)
  std::optional<double> tokens;    // tokens to train on, for time_to_train
  int64_t global_batch = 0;        // sequences per step; 0: ~4M tokens (GPT-3 style)
  std::optional<int64_t> tp, pp, dp, micro_batch, interleave;
  std::optional<Recompute> recompute;
  int zero = 1;
  Precision precision = Precision::bf16;
  std::optional<double> dollars_per_hour;  // overrides the system's
};

struct TrainEstimate {
  std::string model, system, mode;  // mode: "3d-parallel", "weight-streaming", "layer-pipelined"
  int64_t count = 0;
  int64_t global_batch = 0, seq = 0;
  Parallelism par;
  double step_seconds = 0;
  double tokens_per_second = 0;
  std::optional<double> time_to_train_seconds;
  double tflops_per_device = 0;  // FLOPs executed (recompute included) per second per device
  double mfu = 0;                // model FLOPs (no recompute) / (time x peak)
  Memory memory;                 // per device (wafer: on-wafer SRAM)
  double memory_capacity_bytes = 0;
  Limiter limiter = Limiter::compute;
  std::vector<Part> breakdown;   // sums to step_seconds
  double energy_joules = 0;      // of time_to_train (or one step)
  double cost_dollars = 0;
  std::vector<std::string> notes;  // assumptions and the reasons for choices
  int64_t configs_searched = 0;
  // Per resource, the fraction by which 10% more of it shortens the step (the limiter is the
  // largest): compute, memory_bandwidth, memory_capacity, network, io.
  std::vector<std::pair<Limiter, double>> sensitivity;
};

// The number of candidate configurations evaluated per second is a benchmark figure
// (bench/estimate_search); the search is exhaustive over the unset choices.
Expected<TrainEstimate> estimate_training(const Model& m, const System& s,
                                          const TrainOptions& o);

// A copy of s with `factor` times more of one resource: compute (the peaks), memory
// bandwidth, memory capacity, network (link bandwidths; latency divided) or the wafer I/O.
// The limiter of an estimate is the resource whose increase shortens the step most.
System with_more(const System& s, Limiter resource, double factor);

// One fixed GPU configuration (no search); an error when it does not fit, saying by how much.
Expected<TrainEstimate> estimate_gpu_training(const Model& m, const System& s,
                                              const TrainOptions& o, const Parallelism& p);

// Activation bytes of one layer for one micro-batch (Korthikanti et al. 2022, generalised to
// any MLP width, GQA and flash attention), per tensor-parallel rank.
double layer_activation_bytes(const Model& m, int64_t micro_batch, int64_t tp,
                              Recompute recompute, bool sequence_parallel, bool flash_attention);

}  // namespace wafer::estimate
