// `wafer kernel NAME --sweep KEY=V1,V2,...`: one kernel over a cross product of parameter
// values, as one table.
//
// Each --sweep is an axis: one or more keys of the kernel parameter table
// (kernels::kernel_params()) and the values they take together ("m,n,k=256,512" sets all three
// to 256, then to 512); several axes multiply. Every combination starts from the flags'
// parameters, is built and simulated alone, and gives one row: the swept keys as the library
// reads them back, then cycles, seconds, flops, flops_per_cycle, peak_fraction,
// max_rel_error, verified, sim_wall_seconds and the error of a combination that could not
// run. The table goes to stdout in the --format asked for; a row that did not verify or run
// makes the exit code 1, after the whole table.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "table.hpp"
#include "wafer/arch/arch.hpp"
#include "wafer/kernels/kernels.hpp"
#include "wafer/sim/simulator.hpp"

namespace wafer::cli {

// Sets a kernel parameter as the command line spells it: the library's setter, and 'full' for
// the grid (the arch's whole fabric; with no arch it is only accepted).
Status set_cli_kernel_param(kernels::KernelParams& p, const std::string& key, const std::string& text,
                            const arch::Arch* a);

struct SweepAxis {
  std::vector<std::string> keys;
  std::vector<std::string> values;
};

// "KEY[,KEY...]=V1,V2,...": unknown keys are named with the nearest one, bad values with the
// key and the value.
Expected<SweepAxis> parse_sweep(const std::string& text);
CLI::Validator sweep_validator();

// Runs every combination of the axes on top of `base`; returns the exit code.
int run_sweep(const arch::Arch& a, const kernels::KernelParams& base, const std::vector<std::string>& sweeps,
              const sim::Options& options, TableFormat format);

}  // namespace wafer::cli
