// The kernel library: mesh algorithms emitted as programs, each run on the simulator with
// seeded random data and checked against a CPU reference.
//
// A kernel generator builds an ir::Program for a grid of PEs (one code that branches on the
// PE's coordinates, routes per rectangle), the host data and the reference result. run_kernel
// simulates it and reports cycles, error and speed. Before generating any data, build_kernel
// compares the run's host-memory estimate with the available memory (kernels/memory.cpp).
// Kernels: bcast-row, bcast-col, reduce-chain, reduce-tree, allreduce, gemv, stream-fma (the
// dense benchmark workload).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "wafer/arch/arch.hpp"
#include "wafer/ir/program.hpp"
#include "wafer/sim/simulator.hpp"
#include "wafer/support/error.hpp"
#include "wafer/support/param_table.hpp"

namespace wafer::kernels {

struct KernelParams {
  std::string kernel;
  int grid_w = 4, grid_h = 4;    // PEs: columns x rows
  int origin_x = 0, origin_y = 0;  // the grid's top-left PE on the fabric
  int64_t m = 0, n = 0, k = 0;   // sizes (0: the kernel's default)
  DType dtype = DType::f32;
  std::optional<DType> acc;      // accumulation type (kernels that accumulate; default dtype)
  std::string algo;              // algorithm ("" : the kernel's default)
  uint64_t seed = 1;
  // The kernel's rectangle on the fabric.
  ir::Rect rect() const { return {origin_x, origin_y, grid_w, grid_h}; }
};

// A host copy: values for a symbol on a rectangle, either all at once (row-major over PEs,
// count per PE) or generated one PE's block at a time by `block(px, py)` (coordinates
// relative to rect), so that a run never holds more than one block of an input.
struct HostCopy {
  std::string symbol;
  ir::Rect rect;
  std::vector<double> values;
  std::function<std::vector<double>(int px, int py)> block;
};

// Everything a kernel run needs: the program, data to copy in, the task to launch, where
// the answer is read from, and the reference answer.
struct KernelCase {
  ir::Program program;
  std::vector<HostCopy> inputs;
  std::string launch_task = "main";
  std::string result_symbol;
  ir::Rect result_rect;
  std::vector<double> reference;
  double tolerance = 1e-6;  // max normwise relative error accepted
  ir::Rect rect;            // where the kernel runs (launch_task is launched here)
  double flops = 0;         // floating-point operations (an FMA is 2), 0 when not counted
  double peak_flops_per_cycle = 0;  // the rectangle's peak for the kernel's main op
};

struct KernelResult {
  std::string kernel;
  std::string arch;
  int grid_w = 0, grid_h = 0;
  uint64_t cycles = 0;         // fabric cycles from launch to completion
  uint64_t io_cycles = 0;      // host copies, at the arch's I/O bandwidth
  // cycles = compute_cycles + comm_cycles. compute_cycles: the most compute cycles of any PE
  // (sim::Stats::compute: its core busy with work other than moving data between the fabric
  // and memory), a bound no overlap can beat without less work on that PE; comm_cycles: the
  // rest, communication and waiting not hidden behind that PE's compute.
  uint64_t compute_cycles = 0;
  uint64_t comm_cycles = 0;
  double seconds = 0;          // cycles at the arch clock
  double max_rel_error = 0;    // max |out - ref| / max |ref|
  bool verified = false;
  double sim_wall_seconds = 0;
  double pe_cycles_per_s = 0;  // grid PEs x cycles / wall seconds
  double active_pe_cycles_per_s = 0;
  uint64_t active_pe_cycles = 0;
  int threads = 1;
  double flops = 0;            // floating-point operations of the kernel (0: not counted)
  double flops_per_cycle = 0;  // flops / cycles
  double peak_fraction = 0;    // flops_per_cycle / the rectangle's peak for the dtype
  std::vector<double> output;
};

// How far a builder goes: the program alone (cheap, for memory estimates), or the host data
// and reference too.
enum class Stage { program, all };

// Host memory of a kernel's data: the most its builder holds at once while generating the
// inputs and the reference, and what a run keeps while it simulates (the case's inputs and
// reference, and the output read back).
struct HostBytes {
  uint64_t peak = 0;
  uint64_t kept = 0;
};

struct KernelInfo {
  const char* name;
  const char* summary;
  const char* sizes;  // which of --m/--n apply
  std::function<Expected<KernelCase>(const arch::Arch&, const KernelParams&, Stage)> build;
  // The host bytes `build` allocates for these params, computed from the sizes alone.
  HostBytes (*host_bytes)(const KernelParams&);
  // The params with their sizes scaled by f in (0, 1], rounded to sizes `build` accepts.
  KernelParams (*scale_sizes)(const KernelParams&, double f);
  // Whether the kernel runs at any origin of the fabric (composable), or only at (0,0).
  bool any_origin = false;
};

const std::vector<KernelInfo>& kernel_list();
const KernelInfo* find_kernel(const std::string& name);

// KernelParams as a self-describing table (kernel_params.cpp): keys grid, origin, m, n, k,
// dtype, acc, algo, seed, each with its unit, meaning and range.
const ParamTable<KernelParams>& kernel_params();
// Sets the parameter `key` from text ("16x16", "3,4", "512", "fp16"): numbers within their
// range, choices among their names; the error names the key and the value.
Status set_kernel_param(KernelParams& p, const std::string& key, const std::string& text);
// Whether kernel `k` takes the parameter: m, n and k as its `sizes` says, the origin when it
// runs at any origin, the others always.
bool kernel_param_applies(const KernelInfo& k, const std::string& key);
// The library's default of a parameter as text ("4x4", "fp32", "the kernel's").
std::string kernel_param_default(const Param<KernelParams>& p);
// The description rows of the parameters `k` takes (all of them for nullptr), the source
// column saying the default.
std::vector<ParamDoc> describe_kernel_params(const KernelInfo* k);

// Host bytes a run of the kernel needs at its peak: the builder's peak, or what the run keeps
// plus the simulator's estimate (sim::estimate_memory) for the options, whichever is larger.
Expected<uint64_t> estimate_kernel_memory(const arch::Arch& arch, const KernelParams& params,
                                          const sim::Options& options);
// Builds the kernel's case for the arch and params (errors name bad sizes). Before generating
// any data it refuses a run whose estimate exceeds the available memory (support/memory.hpp),
// naming smaller sizes or a smaller grid that would fit.
Expected<KernelCase> build_kernel(const arch::Arch& arch, const KernelParams& params,
                                  const sim::Options& options = {});
// Runs a built case on a fresh simulator; `sim_out` (optional) receives the simulator for
// stats, traces and heatmaps, also when the run fails (a deadlock, --max-cycles).
// Writes one host copy into the simulator's SRAM (all at once, or block by block).
Status write_host_copy(sim::Simulator& s, const HostCopy& c);
Expected<KernelResult> run_case(const arch::Arch& arch, const KernelParams& params,
                                const KernelCase& kc, const sim::Options& options,
                                std::unique_ptr<sim::Simulator>* sim_out = nullptr);
Expected<KernelResult> run_kernel(const arch::Arch& arch, const KernelParams& params,
                                  const sim::Options& options,
                                  std::unique_ptr<sim::Simulator>* sim_out = nullptr);

// FMA elements per cycle of one PE for inputs of type t accumulating in acc (the arch's
// fp16, mixed or fp32 FMA lanes): the peak a kernel's peak_fraction is measured against.
double fma_lanes(const arch::Arch& a, DType t, DType acc);
// Normwise relative error max|a-b| / max|b| (0 when both are all zero).
double max_rel_error(const std::vector<double>& out, const std::vector<double>& ref);
// Seeded uniform values in [lo, hi), identical on every platform.
std::vector<double> random_values(uint64_t seed, size_t n, double lo = -1, double hi = 1);
// Element i of random_values(seed, i + 1, lo, hi), computed alone (SplitMix64 is counter-based).
double random_value(uint64_t seed, uint64_t i, double lo = -1, double hi = 1);
// Rounds every value to dtype (the data the machine actually holds).
std::vector<double> round_to(DType t, std::vector<double> v);
double round_to(DType t, double v);

}  // namespace wafer::kernels
