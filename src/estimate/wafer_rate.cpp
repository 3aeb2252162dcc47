// The sustained matmul rate of a wafer system, shared by the training and inference models:
// a vector FMA reads two operands (4 bytes) and writes one (2 bytes) through the PE's memory
// ports, so a PE sustains min(fp16 FMA lanes, read bytes per cycle / 4, write bytes per
// cycle / 2) FMAs per cycle.
#include <algorithm>

#include "train_internal.hpp"

namespace wafer::estimate {

WaferRate wafer_rate(const System& s) {
  const arch::Arch& a = s.wafer;
  WaferRate r;
  double read_bytes = double(a.mem_read_ports) * a.mem_port_bits / 8;
  double write_bytes = double(a.mem_write_ports) * a.mem_port_bits / 8;
  r.fma_per_cycle = std::min({a.lanes_f16_fma, read_bytes / 4, write_bytes / 2});
  r.setup = a.vector_setup_cycles;
  r.hz = a.clock_ghz * 1e9;
  r.pes = double(a.pe_count());
  return r;
}

}  // namespace wafer::estimate
