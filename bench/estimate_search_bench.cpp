// Speed of the estimator's parallelism search: candidate configurations evaluated per second
// on one core. Each iteration is one full `wafer estimate train` search (every tp, pp, dp,
// micro-batch, interleave and recompute choice the device count allows); the counter
// configs_per_second divides the configurations it evaluated by the time. Target: >= 1e5.
#include <benchmark/benchmark.h>

#include "wafer/estimate/train.hpp"

namespace {

using namespace wafer::estimate;
using wafer::Expected;

void search(benchmark::State& state, const char* model, const char* system, int64_t count) {
  const Model m = *zoo_model(model);
  const System s = *zoo_system(system);
  TrainOptions o;
  o.count = count;
  int64_t configs = 0;
  for (auto _ : state) {
    Expected<TrainEstimate> e = estimate_training(m, s, o);
    benchmark::DoNotOptimize(e);
    configs += e ? e->configs_searched : 0;
  }
  state.counters["configs_per_second"] =
      benchmark::Counter(double(configs), benchmark::Counter::kIsRate);
  state.counters["configs_per_search"] = double(configs) / double(state.iterations());
}

void BM_SearchGpt3_175bH100x1024(benchmark::State& st) { search(st, "gpt3-175b", "h100", 1024); }
void BM_SearchLlama3_70bH100x4096(benchmark::State& st) { search(st, "llama3-70b", "h100", 4096); }
void BM_SearchGpt3_13bA100x2048(benchmark::State& st) { search(st, "gpt3-13b", "a100", 2048); }
void BM_WaferGpt3_13bCs3x1(benchmark::State& st) { search(st, "gpt3-13b", "cs3", 1); }

BENCHMARK(BM_SearchGpt3_175bH100x1024)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SearchLlama3_70bH100x4096)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SearchGpt3_13bA100x2048)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WaferGpt3_13bCs3x1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
