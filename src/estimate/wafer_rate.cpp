// The sustained matmul rate of a wafer system, shared by the training and inference models:
// a vector FMA reads two operands (4 bytes) and writes one (2 bytes) through the PE's memory
// ports, so a PE sustains min(fp16 FMA lanes, read bytes per cycle / 4, write bytes per
// cycle / 2) FMAs per cycle. The lanes and the read bytes come from the system's peak and
// SRAM bandwidth (which wafer_system() derives from the arch: PEs x lanes x 2 x clock, PEs x
// read ports x port width x clock), the writes scale with the reads as the arch's ports do;
// so a system file that changes peak_tflops_bf16 or memory_tb_per_s changes the rate, and
// the limiter's sensitivity test can perturb each resource alone.
#include <algorithm>

#include "train_internal.hpp"

namespace wafer::estimate {

WaferRate wafer_rate(const System& s) {
  const arch::Arch& a = s.wafer;
  WaferRate r;
  r.setup = a.vector_setup_cycles;
  r.hz = a.clock_ghz * 1e9;
  r.pes = double(a.pe_count());
  const double per_pe_cycle = r.pes * r.hz;
  const double lanes = s.peak_tflops_bf16 * 1e12 / 2 / per_pe_cycle;
  const double read_bytes = s.memory_tb_per_s * 1e12 / per_pe_cycle;
  const double write_bytes = read_bytes * double(a.mem_write_ports) / double(a.mem_read_ports);
  r.fma_per_cycle = std::min({lanes, read_bytes / 4, write_bytes / 2});
  return r;
}

}  // namespace wafer::estimate
