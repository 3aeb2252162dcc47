// Flags and outputs shared by the verbs that run the simulator (`kernel`, `sim`, `bench`, `run`).
//
// RunFlags holds the engine and observability flags (--threads, --superstep, --max-cycles,
// --json, --stats, --trace and its filters, --heatmap); add_run_flags registers them on a
// verb, sim_options turns them into sim::Options, and write_observations prints the stats
// summary and writes the trace and heatmap files after a run. The validators make bad values (a non-numeric count,
// a grid like "3y4", an unknown dtype, a malformed region or window) usage errors that name
// the flag. speed_line formats the speed report every run ends with.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "wafer/arch/arch.hpp"
#include "wafer/ir/program.hpp"
#include "wafer/sim/simulator.hpp"
#include "wafer/support/error.hpp"

namespace wafer::cli {

struct RunFlags {
  int threads = 0;
  uint32_t superstep = 0;       // 0: the engine's choice
  bool general_path = false;    // --general-path
  uint64_t max_cycles = 100'000'000;
  bool json = false;
  bool stats = false;
  std::string trace;            // output file, empty: no trace
  std::string trace_region;     // "x,y,w,h"
  std::string trace_window;     // "from,to" in cycles
  uint64_t trace_max_events = 1'000'000;
  std::string heatmap;          // output file, empty: no heatmap
  std::string heatmap_scale;    // busy fraction at the colour scale's top, or "fixed"; empty: the busiest PE's

  // Whether the caller must keep the Simulator after the run for write_observations.
  bool wants_simulator() const { return stats || !trace.empty() || !heatmap.empty(); }
};

void add_run_flags(CLI::App& cmd, RunFlags& flags);
// --superstep (also on `bench`): cycles per engine sweep, 0 to sim::kMaxSuperstep; and
// --general-path, which turns off the inlined streaming step.
void add_engine_flags(CLI::App& cmd, uint32_t& superstep, bool& general_path);
// Before the run, on a grid of width x height PEs: the output paths (--trace, --heatmap) can
// be written (an error if not), and warnings for flags that have no effect (--trace-region or
// --trace-window without --trace, a --trace-region reaching outside the grid, a heatmap not
// named .png).
Status check_run_flags(const RunFlags& flags, int64_t width, int64_t height);
// The engine options for these flags; progress is shown only when stderr is a terminal.
Expected<sim::Options> sim_options(const RunFlags& flags);
// Prints the stats summary (on stdout, or on stderr in --json mode so that stdout holds only
// the JSON object), then writes the trace and heatmap files, saying where on stderr. `what`
// (the kernel or program) heads the heatmap's title. Also called after a failed run.
Status write_observations(const sim::Simulator& sim, const RunFlags& flags, const std::string& what);
// The parts of write_observations, for a run of several simulators (a model's layers) that
// observes their counters added up: the stats summary (with --stats), the note that a trace
// was written, and the heatmap of `stats` headed by `title`.
void print_stats_summary(const sim::Stats& stats, const arch::Arch& arch, const RunFlags& flags);
void note_trace_written(const std::string& path, size_t events, uint64_t dropped);
Status write_heatmap(const sim::Stats& stats, const RunFlags& flags, const std::string& title);
// A run that failed (a deadlock, --max-cycles): writes what it observed when `sim` survived
// it, then reports `error`; returns exit code 1.
int report_failed_run(const Status& error, const sim::Simulator* sim, const RunFlags& flags,
                      const std::string& what);

// "speed: 6094 cycles, 4096 PEs, 0.902 s wall, 2.77e+07 PE-cycles/s, ..., 2 threads".
std::string speed_line(uint64_t cycles, int64_t pes, const sim::RunResult& run);
// Threads a run with `requested` threads (0: all cores) asks for.
int resolved_threads(int requested);
// "wse3 (762x1172 PEs, 1.1 GHz)".
std::string describe_arch(const arch::Arch& a);

// Grid "WxH" (columns x rows) or "full" (the arch's whole fabric).
Expected<std::pair<int, int>> parse_grid(const std::string& text, const arch::Arch& a);
Expected<ir::Rect> parse_region(const std::string& text);
Expected<std::pair<uint64_t, uint64_t>> parse_window(const std::string& text);

// Validators for CLI11 options: each failure message names what was expected.
CLI::Validator count_validator(uint64_t min = 0, uint64_t max = UINT64_MAX);  // an integer in [min, max]
CLI::Validator grid_validator();   // WxH or full
CLI::Validator float_dtype_validator();
CLI::Validator choice_validator(std::vector<std::string> choices);
// A finite number of at least `min` ("--dollars-per-hour: expected a finite number of at least 0").
CLI::Validator number_validator(double min);
// A validator from any check of the text; the Status's message is the error.
CLI::Validator check_validator(const char* description, std::function<Status(const std::string&)> check);
// A comma-separated list of thread counts, each at least 1 ("1,2,4").
Expected<std::vector<int>> parse_thread_list(const std::string& text);
CLI::Validator thread_list_validator();

}  // namespace wafer::cli
