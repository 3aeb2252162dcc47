// Fleets and job types for the cluster tools: what a hybrid cluster holds and what it runs.
//
// A Fleet is a list of pools, each a number of devices of one estimator system (a zoo name
// such as cs3, h100 or lpu, or a system file) split into groups: the unit a job is placed on
// (an NVLink domain, the wafers under one SwarmX tree, an LPU rack). A Job is a job type: a
// model (a zoo name or a model file) and a precision, and either a training run (optionally
// its tokens) or an inference request shape (prompt and output tokens per sequence, the
// largest batch of concurrent sequences) with its TTFT/TPOT service-level objective.
//
// Both come from TOML files of arrays of tables, `[[pool]]` and `[[job]]`, read through
// support/flat_config's parse_toml_tables and set through parameter tables (pool_params(),
// job_params()) like the estimator's model and system files, so every error names the file,
// line and key. Relative system and model file paths are read from the file's directory.
// docs/cluster.md describes the keys with examples.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "wafer/estimate/model.hpp"
#include "wafer/estimate/system.hpp"
#include "wafer/support/error.hpp"
#include "wafer/support/param_table.hpp"

namespace wafer::cluster {

// One `[[pool]]` table as written.
struct PoolSpec {
  std::string name;    // default: the system's name
  std::string system;  // zoo system name or system file
  int64_t count = 0;   // devices in the pool
  int64_t group = 0;   // devices per group; 0: the system's scale-up size (1 for a wafer)
};

struct Pool {
  std::string name;
  estimate::System system;
  int64_t count = 0;
  int64_t group = 0;
};

struct Fleet {
  std::string name;
  std::vector<Pool> pools;
};

enum class JobKind { train, infer };
const char* to_string(JobKind k);

// One `[[job]]` table as written; top-level slo_ttft_ms / slo_tpot_ms are the defaults.
struct JobSpec {
  std::string name;   // default: "<model> <kind>"
  JobKind kind = JobKind::train;
  std::string model;  // zoo model name or model file
  estimate::Precision precision = estimate::Precision::bf16;
  double tokens = 0;  // training tokens; 0: not given (the matrix gives throughput only)
  int64_t prompt = 2048, output = 256, batch = 1;  // inference: estimate's defaults
  double slo_ttft_ms = 0, slo_tpot_ms = 0;         // inference; 0: the file's default
};

struct Job {
  std::string name;
  JobKind kind = JobKind::train;
  estimate::Model model;
  estimate::Precision precision = estimate::Precision::bf16;
  std::optional<double> tokens;
  int64_t prompt = 2048, output = 256, batch = 1;
  double slo_ttft_seconds = 0, slo_tpot_seconds = 0;
};

// The SLO of jobs whose file sets none (and of the zoo's default jobs): 1 s to the first token,
// 50 ms per output token (20 tokens/s per user). A choice, stated in docs/cluster.md.
constexpr double kDefaultSloTtftMs = 1000;
constexpr double kDefaultSloTpotMs = 50;

const ParamTable<PoolSpec>& pool_params();
const ParamTable<JobSpec>& job_params();

// `origin` names the text in errors; `dir` is where relative file paths are read from.
Expected<Fleet> parse_fleet_toml(const std::string& text, const std::string& origin,
                                 const std::string& dir = ".");
Expected<Fleet> load_fleet(const std::string& path);
Expected<std::vector<Job>> parse_jobs_toml(const std::string& text, const std::string& origin,
                                           const std::string& dir = ".");
Expected<std::vector<Job>> load_jobs(const std::string& path);
// Without a jobs file: every zoo model once as a training job and once as an inference job
// (the estimator's default request: prompt 2048, output 256, batch 1), bf16, the default SLO.
std::vector<Job> zoo_jobs();

}  // namespace wafer::cluster
