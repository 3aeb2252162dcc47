// Machine parameters of a wafer-scale engine: presets and user files.
//
// Arch is a plain struct of every parameter of the machine model (DESIGN.md). Each parameter
// also describes itself (name, unit, meaning, valid range, and the source of each preset's
// value) in arch_params(), a ParamTable (support/param_table.hpp), so `wafer info` can list
// them and files can set them by name. A user file (TOML or JSON) names a preset in `base` and
// overrides any parameter by key; unknown keys, wrong types and impossible values are errors
// that name the key.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wafer/support/error.hpp"
#include "wafer/support/param_table.hpp"

namespace wafer::arch {

struct Arch {
  std::string name;             // preset or file name, echoed in every report
  int fabric_width = 0;         // PEs in x (columns)
  int fabric_height = 0;        // PEs in y (rows)
  double clock_ghz = 0;         // core clock
  int sram_bytes = 0;           // SRAM per PE
  int sram_banks = 0;
  int mem_read_ports = 0;       // reads per cycle
  int mem_write_ports = 0;      // writes per cycle
  int mem_port_bits = 0;        // width of one port access
  double lanes_f16_fma = 0;     // elements per cycle of a vector op, per type and op
  double lanes_f16_arith = 0;   // fp16 add/sub/mul/mov/max/neg/abs, int16 too
  double lanes_f32_arith = 0;   // fp32 add/sub/mul/mov/max/neg/abs, int32 too
  double lanes_f32_fma = 0;
  double lanes_mixed_fma = 0;   // fp16 multiply, fp32 accumulate
  int colors = 0;               // routable colors (virtual channels)
  int switch_positions = 0;     // route positions per color (1 + extra)
  int router_queue_depth = 0;   // wavelets buffered per color per router input port
  int core_input_queue_depth = 0;   // wavelets buffered per color from router to core
  int core_output_queue_depth = 0;  // wavelets buffered per color from core to router
  int hop_latency = 0;          // cycles for a wavelet to cross one link
  int ramp_latency = 0;         // cycles between router and core
  int vector_setup_cycles = 0;  // fixed cost to start a vector (DSD) op
  int microthreads = 0;         // asynchronous vector ops in flight per PE
  int task_ids = 0;             // task identifiers per PE
  int registers = 0;            // scalar registers per PE
  int dsd_registers = 0;        // descriptor registers per PE
  double host_io_gbytes_per_s = 0;  // host <-> wafer bandwidth of one system
  int io_channels_per_edge = 0;

  double seconds(uint64_t cycles) const { return double(cycles) / (clock_ghz * 1e9); }
  int64_t pe_count() const { return int64_t(fabric_width) * fabric_height; }
  // Host bytes moved per fabric cycle at the arch's I/O bandwidth.
  double host_bytes_per_cycle() const { return host_io_gbytes_per_s / clock_ghz; }
};

// One row per numeric field of Arch; its sources are one per preset, in preset_names() order.
using ParamInfo = Param<Arch>;

const ParamTable<Arch>& arch_params();
double get_param(const Arch& arch, const ParamInfo& p);
// Sets one parameter; an error names the key when the value is out of range.
Status set_param(Arch& arch, const ParamInfo& p, double value);
const ParamInfo* find_param(const std::string& key);
// Where the value `preset` gives the parameter comes from.
const std::string& param_source(const ParamInfo& p, const std::string& preset);

std::vector<std::string> preset_names();
Expected<Arch> preset(const std::string& name);
// Checks cross-parameter invariants (fabric addressable, queues deep enough, ...).
Status validate(const Arch& arch);
// Loads a preset name ("wse3") or a file path (.toml / .json).
Expected<Arch> load_arch(const std::string& name_or_path);
Expected<Arch> parse_arch_toml(const std::string& text, const std::string& origin);
Expected<Arch> parse_arch_json(const std::string& text, const std::string& origin);

}  // namespace wafer::arch
