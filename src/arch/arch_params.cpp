// The self-description of every machine parameter, and access to parameters by key.
//
// arch_params() is a ParamTable (support/param_table.hpp) with one row per numeric field of
// Arch: key, member, unit, meaning, the inclusive valid range, and where each preset's value
// comes from. set_param() (the table's set_number) is the single place a value is checked
// against its range (and for integers, integrality) before it is stored; the file readers go
// through it and validate() applies the same check (check_ranges). Every range is finite and
// keeps what the simulator derives from a value in range: the lanes (kMinLanes..kMaxLanes)
// keep a vector op's per-cycle element credit a small positive int, and the clock and host
// bandwidth bounds keep a host copy's ceil(bytes / (GB/s / GHz)) cycles at least 1 and, for
// the largest copy (2048 x 2048 PEs of 16 MiB), below 2^57.
#include <algorithm>

#include "wafer/arch/arch.hpp"

namespace wafer::arch {

namespace {

// One element every 64 cycles up to 8x WSE-3's widest SIMD (8 fp16 lanes).
constexpr double kMinLanes = 1.0 / 64;
constexpr double kMaxLanes = 64;

// A row whose sources are WSE-2's and WSE-3's, in preset_names() order.
template <typename Field>
ParamInfo row(const char* key, Field Arch::*field, const char* unit, const char* meaning,
              const char* wse2, const char* wse3, double lo, double hi) {
  return {key, field, unit, meaning, {lo, hi}, {wse2, wse3}};
}

ParamTable<Arch> make_params() {
  using A = Arch;
  const char* kLanes = "elements/cycle";
  return {
      row("fabric_width", &A::fabric_width, "PEs", "PEs in x (columns) visible to programs",
          "SDK --fabric-dims=757,996", "WaferLLM CS-3 runs: 762 x 1172", 1, 2048),
      row("fabric_height", &A::fabric_height, "PEs", "PEs in y (rows) visible to programs",
          "SDK --fabric-dims=757,996", "WaferLLM CS-3 runs: 762 x 1172", 1, 2048),
      row("clock_ghz", &A::clock_ghz, "GHz", "core and fabric clock",
          "Hot Chips 34: 1.1 GHz (SDK scripts use 0.85)",
          "assumption: unpublished, 1.1 GHz as WSE-2", 0.01, 100),
      row("sram_bytes", &A::sram_bytes, "bytes", "SRAM per PE (a multiple of 4)",
          "SDK appendix: 48 KiB", "SDK appendix: 48 KiB", 1024, 16 << 20),
      row("sram_banks", &A::sram_banks, "banks",
          "SRAM banks per PE; successive 16-bit words in successive banks",
          "SDK appendix: 8 banks of 6 KiB", "SDK appendix: 8 banks of 6 KiB", 1, 64),
      row("mem_read_ports", &A::mem_read_ports, "ports", "SRAM reads per cycle",
          "SDK: 2 reads + 1 write per cycle", "SDK: 2 reads + 1 write per cycle", 1, 8),
      row("mem_write_ports", &A::mem_write_ports, "ports", "SRAM writes per cycle",
          "SDK: 2 reads + 1 write per cycle", "SDK: 2 reads + 1 write per cycle", 1, 8),
      row("mem_port_bits", &A::mem_port_bits, "bits",
          "width of one SRAM port access (16, 32, 64 or 128)",
          "Hot Chips 34: 64 (SDK says 32; 20 PB/s aggregate favours 64)",
          "as WSE-2: 64 (SDK says 32; 21 PB/s aggregate favours 64)", 16, 128),
      row("lanes_f16_fma", &A::lanes_f16_fma, kLanes, "fp16 FMA elements per cycle of a vector op",
          "SDK appendix: 4", "SDK appendix: 8", kMinLanes, kMaxLanes),
      row("lanes_f16_arith", &A::lanes_f16_arith, kLanes,
          "fp16/int16 add, sub, mul, mov, max, neg, abs elements per cycle", "SDK appendix: 4",
          "SDK appendix: 8", kMinLanes, kMaxLanes),
      row("lanes_f32_arith", &A::lanes_f32_arith, kLanes,
          "fp32/int32 add, sub, mul, mov, max, neg, abs elements per cycle", "SDK appendix: 2",
          "SDK appendix: 4", kMinLanes, kMaxLanes),
      row("lanes_f32_fma", &A::lanes_f32_fma, kLanes, "fp32 FMA elements per cycle",
          "SDK: fp32 FMA not SIMD", "SDK: fp32 FMA not SIMD (third-party WSE-3 measurement: 0.5)",
          kMinLanes, kMaxLanes),
      row("lanes_mixed_fma", &A::lanes_mixed_fma, kLanes,
          "fp16 multiply, fp32 accumulate elements per cycle", "SDK appendix: 2", "SDK appendix: 4",
          kMinLanes, kMaxLanes),
      row("colors", &A::colors, "colors", "routable colors (virtual channels); 5-bit color tag",
          "SDK: 24 routable colors", "SDK: 24 routable colors", 1, 32),
      row("switch_positions", &A::switch_positions, "positions", "route positions per color",
          "SDK: 1 + 3 extra switch positions", "SDK: 1 + 3 extra switch positions", 1, 8),
      row("router_queue_depth", &A::router_queue_depth, "wavelets",
          "wavelets buffered per color per router input port (>= hop_latency + 1)",
          "assumption: not published; covers hop latency + 2 for full link rate",
          "assumption: not published; covers hop latency + 2 for full link rate", 1, 64),
      row("core_input_queue_depth", &A::core_input_queue_depth, "wavelets",
          "wavelets buffered per color from router to core",
          "SDK DSD docs: largest WSE-2 input queue (6,6,4,4,2,2,2,2)",
          "SDK DSD docs: largest WSE-3 input queue (8,8,4,4,4,4,4,4)", 1, 64),
      row("core_output_queue_depth", &A::core_output_queue_depth, "wavelets",
          "wavelets buffered per color from core to router",
          "SDK DSD docs: largest WSE-2 output queue (2,2,6,6,2,2)",
          "SDK DSD docs: WSE-3 output queues 8 each", 1, 64),
      row("hop_latency", &A::hop_latency, "cycles", "cycles for a wavelet to cross one link",
          "HPDC'24 collectives model (arXiv 2404.15888)", "third-party WSE-3 measurement", 1, 64),
      row("ramp_latency", &A::ramp_latency, "cycles", "cycles between router and core",
          "HPDC'24 collectives model (arXiv 2404.15888)", "assumption: as WSE-2", 1, 64),
      row("vector_setup_cycles", &A::vector_setup_cycles, "cycles",
          "fixed cost to start a vector (DSD) op; 0 models an ideal core",
          "third-party WSE-3 measurement (15-17), assumed for WSE-2",
          "third-party WSE-3 measurement: 15-17 cycles", 0, 1024),
      row("microthreads", &A::microthreads, "threads", "asynchronous vector ops in flight per PE",
          "SDK: up to 8 microthreads", "SDK: up to 8 microthreads", 0, 16),
      row("task_ids", &A::task_ids, "ids", "task identifiers per PE (>= colors)",
          "assumption: follows the SDK task id space", "assumption: follows the SDK task id space",
          1, 64),
      row("registers", &A::registers, "registers", "scalar registers per PE", "Wafer ISA choice",
          "Wafer ISA choice", 1, 64),
      row("dsd_registers", &A::dsd_registers, "registers", "descriptor registers per PE",
          "Wafer ISA choice", "Wafer ISA choice", 1, 64),
      row("host_io_gbytes_per_s", &A::host_io_gbytes_per_s, "GB/s",
          "host <-> wafer bandwidth of one system", "12 x 100 GbE = 1.2 Tb/s per CS-2",
          "12 x 100 GbE = 1.2 Tb/s per CS-3", 0.1, 1e6),
      row("io_channels_per_edge", &A::io_channels_per_edge, "channels",
          "on-wafer I/O channels on each of the east and west edges",
          "Cerebras: 60 per edge on WSE-2", "Cerebras: 62 per edge on WSE-3", 1, 4096),
  };
}

}  // namespace

const ParamTable<Arch>& arch_params() {
  static const ParamTable<Arch> params = make_params();
  return params;
}

double get_param(const Arch& arch, const ParamInfo& p) { return get_number(arch, p); }

Status set_param(Arch& arch, const ParamInfo& p, double value) {
  return set_number(arch, p, value);
}

const ParamInfo* find_param(const std::string& key) { return param_named(arch_params(), key); }

const std::string& param_source(const ParamInfo& p, const std::string& preset) {
  const std::vector<std::string> names = preset_names();
  const size_t i = size_t(std::find(names.begin(), names.end(), preset) - names.begin());
  return p.sources.at(std::min(i, p.sources.size() - 1));
}

}  // namespace wafer::arch
