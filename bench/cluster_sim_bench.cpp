// Speed of the cluster simulator (src/cluster/simulator.cpp) on one core.
//
// Training: 2,000 Gavel-style jobs (examples/jobs/mixed.toml's types, 60 arrivals an hour)
// on the hybrid fleet (examples/fleets/hybrid.toml), one full simulation per iteration under
// a policy; the counter events_per_second divides the events handled (arrivals, finishes,
// rounds) by the time. Target: >= 1e4 with the greedy policies (fifo, makespan, cost).
// Inference: the whole Azure LLM inference 2023 conversation trace (19,366 requests,
// examples/workloads/hybrid-conv.toml without its training jobs), one simulation per
// iteration. Target: < 2 s. The matrix (the estimator's calls) is built once, outside the
// timed loop; BM_AzureConvTraceLoad times that part alone (reading the trace and building
// the rates and replica profiles), which `wafer cluster simulate` pays once per command.
// Figures, with the command and machine: docs/cluster.md, "Speed".
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "wafer/cluster/scenario.hpp"

namespace {

using namespace wafer::cluster;

const std::string kSource = WAFER_SOURCE_DIR;

Scenario load(const char* workload, int64_t train_jobs, bool trace) {
  wafer::Expected<Fleet> fleet = load_fleet(kSource + "/examples/fleets/hybrid.toml");
  wafer::Expected<WorkloadSpec> spec = load_workload_spec(kSource + workload);
  if (!fleet || !spec) std::abort();
  spec->train_jobs = train_jobs;
  spec->train_rate_per_hour = 60;
  if (!trace) spec->trace.clear();
  wafer::Expected<Scenario> s = load_scenario(*fleet, *spec, 1);
  if (!s) std::abort();
  return *s;
}

void run(benchmark::State& state, const Scenario& scenario, const char* policy_name) {
  const Policy policy = *parse_policy(policy_name);
  int64_t events = 0;
  for (auto _ : state) {
    Summary s = simulate(scenario, policy);
    benchmark::DoNotOptimize(s);
    events += s.events;
  }
  state.counters["events_per_second"] =
      benchmark::Counter(double(events), benchmark::Counter::kIsRate);
  state.counters["events_per_run"] = double(events) / double(state.iterations());
}

const Scenario& training() {
  static const Scenario s = load("/examples/workloads/small.toml", 2000, false);
  return s;
}

const Scenario& conv_trace() {
  static const Scenario s = load("/examples/workloads/hybrid-conv.toml", 0, true);
  return s;
}

void BM_AzureConvTraceLoad(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(load("/examples/workloads/hybrid-conv.toml", 0, true));
}

void BM_TrainingFifo(benchmark::State& st) { run(st, training(), "fifo"); }
void BM_TrainingMakespan(benchmark::State& st) { run(st, training(), "makespan"); }
void BM_TrainingCost(benchmark::State& st) { run(st, training(), "cost"); }
void BM_TrainingLas(benchmark::State& st) { run(st, training(), "las"); }
void BM_AzureConvTraceSlo(benchmark::State& st) { run(st, conv_trace(), "slo"); }
void BM_AzureConvTraceRoundRobin(benchmark::State& st) { run(st, conv_trace(), "round-robin"); }

BENCHMARK(BM_TrainingFifo)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TrainingMakespan)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TrainingCost)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TrainingLas)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AzureConvTraceSlo)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AzureConvTraceRoundRobin)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AzureConvTraceLoad)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
