// The built-in presets (wse2, wse3) and the cross-parameter checks of an Arch.
//
// wse3 is written as the differences from wse2, so every value that the two machines share
// is stated once; the source of each value is in arch_params(). validate() first re-checks
// every parameter against its range in arch_params() (an Arch built in code skips the file
// readers), then the invariants that tie parameters together.
#include <algorithm>

#include <fmt/ranges.h>

#include "wafer/arch/arch.hpp"

namespace wafer::arch {

namespace {

Arch wse2() {
  Arch a;
  a.name = "wse2";
  a.fabric_width = 757;
  a.fabric_height = 996;
  a.clock_ghz = 1.1;
  a.sram_bytes = 48 * 1024;
  a.sram_banks = 8;
  a.mem_read_ports = 2;
  a.mem_write_ports = 1;
  a.mem_port_bits = 64;
  a.lanes_f16_fma = 4;
  a.lanes_f16_arith = 4;
  a.lanes_f32_arith = 2;
  a.lanes_f32_fma = 1;
  a.lanes_mixed_fma = 2;
  a.colors = 24;
  a.switch_positions = 4;
  a.router_queue_depth = 4;
  a.core_input_queue_depth = 6;
  a.core_output_queue_depth = 6;
  a.hop_latency = 1;
  a.ramp_latency = 2;
  a.vector_setup_cycles = 15;
  a.microthreads = 8;
  a.task_ids = 64;
  a.registers = 16;
  a.dsd_registers = 16;
  a.host_io_gbytes_per_s = 150;
  a.io_channels_per_edge = 60;
  return a;
}

Arch wse3() {
  Arch a = wse2();
  a.name = "wse3";
  a.fabric_width = 762;
  a.fabric_height = 1172;
  a.lanes_f16_fma = 8;
  a.lanes_f16_arith = 8;
  a.lanes_f32_arith = 4;
  a.lanes_mixed_fma = 4;
  a.core_input_queue_depth = 8;
  a.core_output_queue_depth = 8;
  a.hop_latency = 2;
  a.io_channels_per_edge = 62;
  return a;
}

Status check_memory(const Arch& a) {
  if (a.sram_bytes % 4 != 0)
    return make_error("key 'sram_bytes': value {} is not a multiple of 4", a.sram_bytes);
  const int widths[] = {16, 32, 64, 128};
  if (std::find(std::begin(widths), std::end(widths), a.mem_port_bits) == std::end(widths))
    return make_error("key 'mem_port_bits': value {} must be one of 16, 32, 64, 128",
                      a.mem_port_bits);
  if (a.sram_bytes % (2 * a.sram_banks) != 0)
    return make_error(
        "key 'sram_bytes': value {} does not split into sram_banks ({}) banks of whole 16-bit "
        "words",
        a.sram_bytes, a.sram_banks);
  return Status::ok();
}

Status check_fabric(const Arch& a) {
  if (a.router_queue_depth < a.hop_latency + 1)
    return make_error(
        "key 'router_queue_depth': value {} is less than hop_latency + 1 ({}); links cannot run "
        "at full rate",
        a.router_queue_depth, a.hop_latency + 1);
  if (a.task_ids < a.colors)
    return make_error(
        "key 'task_ids': value {} is less than colors ({}); every color needs a data task id",
        a.task_ids, a.colors);
  return Status::ok();
}

}  // namespace

std::vector<std::string> preset_names() { return {"wse2", "wse3"}; }

Expected<Arch> preset(const std::string& name) {
  if (name == "wse2") return wse2();
  if (name == "wse3") return wse3();
  return make_error("unknown arch preset '{}' (valid: {})", name, fmt::join(preset_names(), ", "));
}

Status validate(const Arch& arch) {
  WAFER_TRY(check_ranges(arch, arch_params()));
  WAFER_TRY(check_memory(arch));
  return check_fabric(arch);
}

}  // namespace wafer::arch
