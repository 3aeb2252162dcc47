// Workloads for the cluster simulator: training jobs that arrive over time and inference
// requests from a trace.
//
// A workload file is TOML (support/flat_config's parse_toml_tables, like the fleet file):
// top-level keys name the training arrivals (generated or a CSV), the inference trace and
// the inference model, the checkpoint cost, the scheduling round and the KV-cache link; one
// `[[serve]]` table per pool that serves inference says how many of its groups are replicas
// and whether they prefill, decode or both (disaggregated serving). docs/cluster.md lists the
// keys.
//
// Training arrivals are generated as in Gavel's evaluation (Narayanan et al., OSDI 2020):
// Poisson arrivals at `train_rate_per_hour` (exponential gaps), the job type drawn uniformly
// from the eligible types, and the duration on the type's reference pool 10^x minutes with x
// uniform in [1.5, 3] with probability 0.8 and in [3, 4] otherwise. The simulator turns the
// duration into tokens at the reference pool's rate. Everything is drawn from one SplitMix64
// stream of the seed, so a seed gives the same jobs on every platform. Or they are read from a
// CSV (`arrival_seconds,job,tokens[,deadline_seconds]`). The trace is the Azure LLM inference
// 2023 format (`TIMESTAMP,ContextTokens,GeneratedTokens`); arrivals are seconds after its
// first request. CSV errors name the file, line and column.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "wafer/cluster/fleet.hpp"
#include "wafer/support/error.hpp"

namespace wafer::cluster {

constexpr double kNoDeadline = std::numeric_limits<double>::infinity();

struct TrainArrival {
  int64_t id = 0;
  int type = 0;                  // index into Workload::job_types
  double arrival_seconds = 0;
  double tokens = 0;             // 0: duration_seconds at the type's reference pool's rate
  double duration_seconds = 0;   // generated jobs: the run time on the reference pool
  double deadline_seconds = kNoDeadline;  // absolute simulated time
};

struct Request {
  int64_t id = 0;
  double arrival_seconds = 0;
  int64_t prompt = 0, output = 0;
};

enum class ServeRole { both, prefill, decode };
const char* to_string(ServeRole r);

struct Serve {
  std::string pool;
  int64_t replicas = 1;  // groups of the pool that serve inference
  ServeRole role = ServeRole::both;
};

// The workload file's top-level keys as written (paths resolved against the file).
struct WorkloadSpec {
  std::string name;
  std::string jobs;          // jobs file; empty: the zoo's training jobs
  std::string train_csv;     // training arrivals from a CSV; else generated
  int64_t train_jobs = 0;    // generated jobs
  double train_rate_per_hour = 0;
  double deadline_factor = 0;  // deadline = arrival + factor x duration; 0: none
  std::string trace;         // Azure-format CSV; empty: no inference
  int64_t trace_requests = 0;  // first N requests; 0: all
  double trace_speedup = 1;    // arrivals divided by this
  std::string model = "llama3-70b";
  double slo_ttft_ms = kDefaultSloTtftMs, slo_tpot_ms = kDefaultSloTpotMs;
  double checkpoint_seconds = 60;
  double round_seconds = 360;
  double kv_link_gbps = 400;  // gigabits per second between prefill and decode pools
  int64_t seed = 1;
  std::vector<Serve> serve;
  std::string origin;  // the file, for errors
};

const ParamTable<WorkloadSpec>& workload_params();
const ParamTable<Serve>& serve_params();

Expected<WorkloadSpec> parse_workload_toml(const std::string& text, const std::string& origin,
                                           const std::string& dir = ".");
Expected<WorkloadSpec> load_workload_spec(const std::string& path);

// The job types (training only) the spec names, and the inference job (its model, bf16, the
// spec's SLO; prompt and output are set from the requests' means by read_requests' caller).
Expected<std::vector<Job>> training_types(const WorkloadSpec& spec);
Expected<Job> inference_job(const WorkloadSpec& spec);

// Gavel-style arrivals of `spec.train_jobs` jobs drawn from `eligible` type indices.
std::vector<TrainArrival> generate_training(const WorkloadSpec& spec,
                                            const std::vector<int>& eligible, uint64_t seed);
// `arrival_seconds,job,tokens[,deadline_seconds]` with a header; job names a type.
Expected<std::vector<TrainArrival>> parse_training_csv(const std::string& text,
                                                       const std::string& origin,
                                                       const std::vector<Job>& types);
// The Azure LLM inference 2023 format; `limit` 0 reads every request.
Expected<std::vector<Request>> parse_trace_csv(const std::string& text, const std::string& origin,
                                               int64_t limit = 0, double speedup = 1);

// A deterministic stream: SplitMix64 (Steele, Lea and Flood, 2014).
class SplitMix {
 public:
  explicit SplitMix(uint64_t seed) : state_(seed) {}
  uint64_t next();
  double uniform();  // [0, 1)
  double exponential(double mean);

 private:
  uint64_t state_;
};

}  // namespace wafer::cluster
