// Inference estimates: time to first token, time per output token, throughput, the devices
// that hold the weights and KV cache, the limiting resource, energy and cost per token.
//
// estimate_inference() prices one request: a batch of sequences, each with a prompt that is
// prefilled and a number of tokens generated one decode step at a time. GPU clusters run
// tensor parallelism inside the NVLink domain and pipeline stages across domains, with the
// weights and KV cache in HBM; wafer systems and LPU chips keep the weights and KV cache in
// on-chip SRAM and pipeline the layers across devices. src/estimate/infer.cpp states every
// formula.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "wafer/estimate/model.hpp"
#include "wafer/estimate/system.hpp"
#include "wafer/estimate/train.hpp"

namespace wafer::estimate {

struct InferOptions {
  int64_t count = 0;        // devices; 0 = the fewest that hold weights + KV cache
  int64_t batch = 1;        // concurrent sequences (users)
  int64_t prompt = 2048;    // prompt tokens per sequence
  int64_t output = 256;     // generated tokens per sequence
  Precision precision = Precision::bf16;   // weights/KV bytes: fp8 = 1, else 2
  std::optional<double> dollars_per_hour;  // overrides the system's
};

struct InferEstimate {
  std::string model, system;
  int64_t count = 0, batch = 0, prompt = 0, output = 0;
  double ttft_seconds = 0;                   // prefill of the whole batch + first token
  double time_per_output_token_seconds = 0;  // one decode step
  double tokens_per_second_per_user = 0;     // 1 / time_per_output_token
  double aggregate_tokens_per_second = 0;    // batch / time_per_output_token
  int64_t devices_for_weights = 0;           // fewest devices holding weights + KV cache
  double weight_bytes = 0, kv_cache_bytes = 0;  // totals over the batch at prompt+output
  double memory_per_device_bytes = 0, memory_capacity_bytes = 0;
  Limiter limiter = Limiter::compute;        // of the whole request (prefill + decode)
  std::vector<Part> breakdown;  // seconds for one request: sums to ttft + (output-1) x tpot
  double energy_joules_per_token = 0;  // device power x count x time / generated tokens
  double dollars_per_million_tokens = 0;
  std::vector<std::string> notes;      // assumptions, e.g. pipeline layout, rate model
};

Expected<InferEstimate> estimate_inference(const Model& m, const System& s,
                                           const InferOptions& o);

}  // namespace wafer::estimate
