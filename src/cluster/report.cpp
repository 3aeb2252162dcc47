// Summaries of a simulated run (the definitions are in report.hpp): sorts for the percentiles,
// one pass over each pool's busy intervals for utilisation, dollars and energy, and the same
// intervals cut at bucket edges for the utilisation over time.
#include "wafer/cluster/report.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace wafer::cluster {

namespace {

double mean(const std::vector<double>& v) {
  return v.empty() ? 0 : std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
}

// Adds `devices` busy over [a, b) to the buckets it overlaps.
void add_to_buckets(std::vector<double>& buckets, double start, double width, double a, double b,
                    double devices) {
  if (width <= 0 || b <= a) return;
  const int n = int(buckets.size());
  int first = std::clamp(int((a - start) / width), 0, n - 1);
  for (int i = first; i < n; ++i) {
    const double lo = start + i * width, hi = lo + width;
    if (lo >= b) break;
    buckets[i] += devices * std::max(0.0, std::min(b, hi) - std::max(a, lo));
  }
}

void summarise_pools(Summary& s, const Observations& o, int buckets) {
  const double horizon = o.horizon_end - o.horizon_start;
  s.series_start = o.horizon_start;
  s.series_width = horizon > 0 ? horizon / buckets : 0;
  std::map<std::string, double> busy, devices;
  for (const PoolUsage& p : o.pools) {
    devices[p.family] += double(p.devices);
    std::vector<double>& series = s.series[p.family];
    series.resize(buckets, 0.0);
    for (const BusyInterval& b : p.busy) {
      const double device_seconds = double(p.group) * (b.end - b.start);
      busy[p.family] += device_seconds;
      s.dollars += device_seconds / 3600 * p.dollars_per_device_hour;
      s.energy_kwh += device_seconds / 3600 * p.kilowatts_per_device;
      add_to_buckets(series, s.series_start, s.series_width, b.start, b.end, double(p.group));
    }
  }
  for (auto& [family, d] : devices) {
    s.utilisation[family] = horizon > 0 ? busy[family] / (d * horizon) : 0;
    for (double& v : s.series[family]) v = s.series_width > 0 ? v / (d * s.series_width) : 0;
  }
}

}  // namespace

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t rank = size_t(std::ceil(p * double(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

Summary summarise(const std::string& policy, const Observations& o, int buckets) {
  Summary s;
  s.policy = policy;
  s.jobs_done = int64_t(o.job_completion_seconds.size());
  s.jobs_rejected = o.jobs_rejected;
  s.deadlines_missed = o.deadlines_missed;
  s.preemptions = o.preemptions;
  s.avg_jct = mean(o.job_completion_seconds);
  s.p99_jct = percentile(o.job_completion_seconds, 0.99);
  if (o.first_job_arrival >= 0) s.makespan = o.last_job_finish - o.first_job_arrival;
  s.requests = int64_t(o.ttft_seconds.size());
  s.requests_in_slo = o.requests_in_slo;
  s.ttft_p50 = percentile(o.ttft_seconds, 0.5);
  s.ttft_p99 = percentile(o.ttft_seconds, 0.99);
  s.tpot_p50 = percentile(o.tpot_seconds, 0.5);
  s.tpot_p99 = percentile(o.tpot_seconds, 0.99);
  const double span = o.last_request_finish - o.first_request_arrival;
  if (o.first_request_arrival >= 0 && span > 0) s.goodput = double(o.requests_in_slo) / span;
  s.events = o.events;
  summarise_pools(s, o, buckets);
  return s;
}

}  // namespace wafer::cluster
