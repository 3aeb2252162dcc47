// What one simulated run measured, and the summaries `wafer cluster simulate` prints.
//
// The simulator records raw observations (Observations: each finished job's completion time,
// each request's TTFT and TPOT and whether it met the SLO, each pool's busy intervals) and
// summarise() turns them into one row: mean and p99 job completion time, makespan,
// utilisation per family, TTFT and TPOT p50/p99, goodput, dollars and energy, and the
// utilisation of each family over time in equal buckets for the plot. Percentiles are nearest
// rank: the ceil(p n)-th smallest. Utilisation of a family is its busy device-seconds over its
// devices times the horizon (first arrival to last event). Dollars and energy count busy
// device-seconds only (an idle device is not charged and draws nothing: a stated choice).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace wafer::cluster {

struct BusyInterval {
  double start = 0, end = 0;
};

struct PoolUsage {
  std::string family;
  int64_t devices = 0;      // the pool's devices
  int64_t group = 0;        // devices per interval (one group)
  double dollars_per_device_hour = 0, kilowatts_per_device = 0;
  std::vector<BusyInterval> busy;  // one group busy over each
};

struct Observations {
  std::vector<double> job_completion_seconds;
  double first_job_arrival = -1, last_job_finish = 0;
  int64_t jobs_rejected = 0, deadlines_missed = 0, preemptions = 0;
  std::vector<double> ttft_seconds, tpot_seconds;
  int64_t requests_in_slo = 0, requests_rejected = 0;  // rejected: no pool serves
  double first_request_arrival = -1, last_request_finish = 0;
  std::vector<PoolUsage> pools;
  double horizon_start = 0, horizon_end = 0;
  int64_t events = 0;
};

struct Summary {
  std::string policy;
  int64_t jobs_done = 0, jobs_rejected = 0, deadlines_missed = 0, preemptions = 0;
  double avg_jct = 0, p99_jct = 0, makespan = 0;
  std::map<std::string, double> utilisation;  // by family
  int64_t requests = 0, requests_in_slo = 0;
  double ttft_p50 = 0, ttft_p99 = 0, tpot_p50 = 0, tpot_p99 = 0;
  double goodput = 0;  // requests within the SLO per second of the inference span
  double dollars = 0, energy_kwh = 0;
  int64_t events = 0;
  // Utilisation by family over time: bucket i covers [start + i w, start + (i + 1) w).
  double series_start = 0, series_width = 0;
  std::map<std::string, std::vector<double>> series;
};

double percentile(std::vector<double> values, double p);
Summary summarise(const std::string& policy, const Observations& o, int buckets = 60);

}  // namespace wafer::cluster
