// The job-by-system matrix of a hybrid cluster: what every job type achieves on every pool.
//
// build_matrix() asks the estimator (estimate_training, estimate_inference) about each job
// type on each pool of a fleet at two device counts: one group (the unit a job is placed on)
// and the whole pool (when it is larger). A training cell gives the estimator's tokens/s and
// time to train; an inference cell gives the TTFT and time per output token at the job's
// batch and the highest request rate that meets the job's SLO:
//
//   rate(b) = b / (TTFT(b) + (output - 1) x TPOT(b))      requests/s at batch b
//   max_rate = max over b in {1, 2, 4, ..., batch} with TTFT(b) <= SLO_ttft and
//              TPOT(b) <= SLO_tpot (0 when no batch meets it)
//
// (b sequences in flight, each in the system for its TTFT and the rest of its decode steps:
// Little's law at a full batch, with no queueing). $/hour and kW are the system's per-device
// figures times the count, and not known (nullopt) where the system has none. A cell that
// does not fit says why in the estimator's words; the limiter is the estimator's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "wafer/cluster/fleet.hpp"

namespace wafer::cluster {

struct Cell {
  std::string job, pool, system;
  JobKind kind = JobKind::train;
  estimate::DeviceKind family = estimate::DeviceKind::gpu;
  int64_t count = 0;
  bool fits = false;
  std::string why;      // the estimator's reason when the job does not fit, else its mode
  std::string limiter;  // the estimator's limiting resource; empty when it does not fit
  // Training.
  std::optional<double> tokens_per_second, time_to_train_seconds;
  // Inference, at the job's batch; max_rate at the batch rate_batch that gives it.
  std::optional<double> ttft_seconds, tpot_seconds, max_rate_per_second;
  int64_t rate_batch = 0;
  // The count's devices; nullopt: the system has no figure.
  std::optional<double> dollars_per_hour, kilowatts;
};

// The device counts a pool is priced at: one group, then the whole pool if larger.
std::vector<int64_t> matrix_counts(const Pool& pool);
// The batches the rate search tries: powers of two below `batch`, then `batch`.
std::vector<int64_t> rate_batches(int64_t batch);

Cell matrix_cell(const Job& job, const Pool& pool, int64_t count);
// Jobs in order, then pools in order, then counts.
std::vector<Cell> build_matrix(const Fleet& fleet, const std::vector<Job>& jobs);

}  // namespace wafer::cluster
