// Registration of the `wafer` subcommands; each lives in its own cmd_*.cpp file.
//
// A subcommand adds itself to the CLI11 app and sets `run` to the function that executes it
// once parsing succeeded; that function returns the process exit code. Errors go to stderr
// as `wafer: error: ...` through report_error() (exit 1) or report_usage_error() (exit 2).
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "wafer/support/error.hpp"

namespace wafer::cli {

using Runner = std::function<int()>;

void add_info(CLI::App& app, Runner& run);
void add_sim(CLI::App& app, Runner& run);
void add_kernel(CLI::App& app, Runner& run);
void add_bench(CLI::App& app, Runner& run);
void add_yield(CLI::App& app, Runner& run);
void add_ulp(CLI::App& app, Runner& run);
void add_estimate(CLI::App& app, Runner& run);
// Hybrid clusters: `wafer cluster matrix` (cmd_cluster.cpp).
void add_cluster(CLI::App& app, Runner& run);
// The graph compiler's verbs (cmd_model.cpp).
void add_compile(CLI::App& app, Runner& run);
void add_run(CLI::App& app, Runner& run);
// train, infer and compare under `wafer estimate` (cmd_estimate_run.cpp).
void add_estimate_runs(CLI::App& estimate, Runner& run);

// Prints `wafer: error: <message>` to stderr and returns exit code 1.
int report_error(const Status& status);
int report_error(const std::string& message);
// A usage error (a flag's value out of its range, an unknown choice, flags that do not go
// together): `wafer: error: <message>`, a hint to run --help, and exit code 2.
int report_usage_error(const Status& status);
int report_usage_error(const std::string& message);
// `wafer: warning: <message>` on stderr, for a flag that has no effect; the run goes on.
void warn(const std::string& message);

}  // namespace wafer::cli
