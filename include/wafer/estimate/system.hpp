// Systems for the estimator: GPUs, wafer-scale systems and LPU-style inference chips.
//
// A System describes one device (a GPU, one CS-2/CS-3 wafer, one LPU chip) and how devices
// of its kind connect: peak rate per precision, memory capacity and bandwidth, the scale-up
// domain (NVLink) and scale-out network, power and a $/device-hour, and the efficiencies the
// estimator uses (achieved fraction of peak for wide matmuls, of link bandwidth in
// collectives, and which software overlaps communication). Wafer systems are built from an
// arch (wafer_system()): peak, SRAM and its bandwidth come from the fabric, lanes and clock,
// the I/O from the arch's host bandwidth. Systems come from the zoo (system_zoo(), every
// value with its source in docs/estimator.md) or from a TOML/JSON file whose keys are the
// field names below, starting from a zoo system named by `base`.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "wafer/arch/arch.hpp"
#include "wafer/estimate/gemm_efficiency.hpp"
#include "wafer/estimate/model.hpp"
#include "wafer/support/error.hpp"

namespace wafer::estimate {

enum class DeviceKind { gpu, wafer, lpu };
enum class Precision { bf16, fp16, fp8 };

struct System {
  std::string name;
  DeviceKind kind = DeviceKind::gpu;
  std::string source;

  // One device.
  double peak_tflops_bf16 = 0;   // dense; fp16 is the same rate
  double peak_tflops_fp8 = 0;    // dense; 0 = no fp8 (runs at the bf16 rate)
  double memory_gb = 0;          // HBM, or on-chip SRAM (wafer, lpu)
  double memory_tb_per_s = 0;    // HBM or SRAM bandwidth
  double power_kw = 0;           // device power (wafer: the whole system)
  double dollars_per_hour = 0;   // per device

  // How devices connect.
  int64_t scale_up_size = 1;      // devices per NVLink domain (node)
  double scale_up_gb_per_s = 0;   // per device, per direction
  double scale_out_gb_per_s = 0;  // per device, per direction (NIC, chip-to-chip link)
  double link_latency_us = 0;     // per message on the scale-out network
  int64_t max_count = 0;          // largest cluster of this system

  // Efficiencies (fractions), documented with their source.
  double gemm_efficiency = 0;       // of peak, for matmuls wide enough to fill the device
  double gemm_half_width = 0;       // per-device matmul width at which efficiency halves
  double attention_efficiency = 0;  // fused (flash) attention, of peak; 0 = unfused softmax
  double comm_efficiency = 0;       // of link bandwidth, achieved by collectives
  double layer_overhead_us = 0;     // fixed time per layer and pass (launches, syncs)
  double tp_overlap = 0;            // fraction of tensor-parallel communication hidden
  double dp_overlap = 0;            // fraction of data-parallel communication hidden
  bool sequence_parallel = false;   // norms/dropout sharded across tensor-parallel ranks
  double memory_usable = 0.9;       // fraction of memory_gb the framework can use
  double memory_efficiency = 1;     // of memory_tb_per_s, achieved by inference's streaming
                                    // reads of weights and KV cache (GPUs: an assumption)

  // Wafer systems (kind == wafer): the arch, MemoryX and SwarmX.
  std::string arch;                 // preset name or arch file the wafer values come from
  double io_gb_per_s = 0;           // system I/O (weights in, gradients out)
  double external_memory_tb = 0;    // MemoryX capacity
  arch::Arch wafer;                 // the arch itself (lanes, ports, setup, fabric size)
};

double peak_flops(const System& s, Precision p);  // FLOP/s of one device
// An error naming the system and the precisions it has a peak for, when it has none for p
// (fp8 on a system whose peak_tflops_fp8 is 0).
Status check_precision(const System& s, Precision p);
double memory_bytes(const System& s);              // usable bytes of one device
double precision_bytes(Precision p);               // bytes per weight or activation element

// A wafer system built from an arch: peak = PEs x fp16 FMA lanes x 2 x clock, SRAM = PEs x
// SRAM per PE, SRAM bandwidth = PEs x read ports x port width x clock, I/O from the arch.
System wafer_system(const arch::Arch& arch, const std::string& name, const std::string& source);

// The sustained matmul rate of a wafer system's arch (derived at the top of
// src/estimate/train_wafer.cpp). First principles: a vector FMA reads two fp16 operands and
// writes one through the PE's memory ports, so a PE sustains min(fp16 FMA lanes, read bytes
// per cycle / 4, write bytes per cycle / 2) FMAs per cycle after `setup` cycles per vector op
// (`port_fma`; the unit test WaferRate.MatchesTheSimulatedVectorFma checks it against the
// simulator). Measured: where data/gemm_efficiency.csv has the arch, `fma_per_cycle` is
// port_fma x the simulated fp16 GEMM's steady-state efficiency relative to the arch's own
// first-principles rate (the largest C block measured; so the port limit counts once);
// `measured` keeps the whole curve for the notes (src/estimate/wafer_rate.cpp says why the
// small blocks do not price short vectors).
struct WaferRate {
  double fma_per_cycle = 0;  // per PE, for long vectors: port_fma x efficiency
  double port_fma = 0;       // the first-principles rate, per PE
  double efficiency = 1;     // the simulated GEMM's, relative to port_fma (1: not measured)
  double setup = 0;          // cycles per vector op
  double hz = 0;
  double pes = 0;
  GemmEfficiencyCurve measured;  // of port_fma, by C block side; empty: first principles only
  double flops() const { return pes * fma_per_cycle * 2 * hz; }  // FLOP/s of the wafer
};
WaferRate wafer_rate(const System& s);

// What a system's figures count and where they differ from the vendor's: for a wafer, how
// the dense fp16 peak is built from its arch and what the advertised "AI" peak is (from
// ../shared/facts/wse.md); for a GPU, the assumed inference memory efficiency.
std::vector<std::string> system_notes(const System& s);

const std::vector<System>& system_zoo();
std::vector<std::string> system_names();
// A zoo system by name as users type it: case, dashes, underscores and spaces do not matter
// (`H100`, `cs-3`), and a few aliases name zoo systems (`wse3`, `h100-sxm`, `groq`); an
// unknown name is an error suggesting the nearest and listing the valid ones.
Expected<System> zoo_system(const std::string& name);
// The zoo name `name` means (see zoo_system), if any.
std::optional<std::string> zoo_system_name(const std::string& name);
Expected<System> parse_system_toml(const std::string& text, const std::string& origin);
Expected<System> parse_system_json(const std::string& text, const std::string& origin);
// A zoo name, or a .toml/.json file.
Expected<System> load_system(const std::string& name_or_path);
// Rebuilds a wafer system's arch-derived values from another arch (--arch FILE).
Expected<System> with_arch(const System& s, const std::string& arch_name_or_path);
// The keys of a system file: what each sets, its unit, meaning and valid range.
const ParamTable<System>& system_params();
// Rates and sizes within [1e-6, 1e9] of their unit; prices, latencies and overheads 0 or
// at most 1e9; fractions within [0, 1], those that divide a rate (efficiencies, usable
// memory) at least 0.001; a wafer system needs a valid arch; then every value within its
// range in system_params(). The bounds keep every estimate finite (no inf or nan reaches a
// result); messages name the field.
Status validate(const System& s);

const char* to_string(DeviceKind k);
const char* to_string(Precision p);
Expected<Precision> parse_precision(const std::string& text);

}  // namespace wafer::estimate
