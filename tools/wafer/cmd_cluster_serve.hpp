// `wafer cluster serve` (cmd_cluster_serve.cpp), registered under `wafer cluster` by
// cmd_cluster.cpp.
#pragma once

#include "commands.hpp"

namespace wafer::cli {

void add_cluster_serve(CLI::App& cluster, Runner& run);

}  // namespace wafer::cli
