// The sustained matmul rate of a wafer system, shared by the training and inference models.
//
// First principles: a vector FMA reads two operands (4 bytes) and writes one (2 bytes)
// through the PE's memory ports, so a PE sustains min(fp16 FMA lanes, read bytes per cycle /
// 4, write bytes per cycle / 2) FMAs per cycle. The lanes and the read bytes come from the
// system's peak and SRAM bandwidth (which wafer_system() derives from the arch: PEs x lanes x
// 2 x clock, PEs x read ports x port width x clock), the writes scale with the reads as the
// arch's ports do; so a system file that changes peak_tflops_bf16 or memory_tb_per_s changes
// the rate, and the limiter's sensitivity test can perturb each resource alone.
//
// Measured: where the simulated GEMM table (gemm_efficiency.hpp, data/gemm_efficiency.csv)
// has the arch (or a preset with the same cycles), the rate is the first-principles rate times
// the simulated fp16 GEMM's steady-state efficiency relative to that rate: the efficiency of
// the largest C block per PE measured, where the kernel hides its vector-op setup on the
// microthreads and what it loses is communication and phase synchronisation. The table gives
// efficiency against the FMA lanes; dividing by the arch's own first-principles fraction
// (port-bound rate / lanes) keeps the SRAM-port limit counted once: on the WSE-3 preset, whose
// 8 fp16 lanes the 64-bit ports feed at 4 FMAs per cycle, the simulated 0.449 of the lanes is
// 0.897 of the port-bound rate, the same kernel loss as the WSE-2's 0.897 of its 4 lanes. The
// factor multiplies whatever rate the system's peak and SRAM bandwidth give, so the limiter's
// sensitivity test still sees both resources. Short vectors keep their first-principles setup
// loss (train_wafer.cpp): the weight-streaming loop issues one vector op per streamed weight
// row, a loop whose short-vector cost the unit test WaferRate.MatchesTheSimulatedVectorFma
// measures; the table's small blocks measure Cannon's column-length ops instead.
#include <algorithm>

#include "train_internal.hpp"

namespace wafer::estimate {

namespace {

// FMAs per cycle per PE that the arch's ports and lanes allow (the first-principles rate of
// the preset the table was measured on).
double arch_port_fma(const arch::Arch& a) {
  const double port_bytes = a.mem_port_bits / 8.0;
  return std::min({a.lanes_f16_fma, a.mem_read_ports * port_bytes / 4, a.mem_write_ports * port_bytes / 2});
}

}  // namespace

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
  r.port_fma = std::min({lanes, read_bytes / 4, write_bytes / 2});
  r.measured = simulated_gemm_efficiency(a, "fp16", "fp16");
  const double arch_fraction = arch_port_fma(a) / a.lanes_f16_fma;
  for (auto& point : r.measured.points) point.second /= arch_fraction;
  r.efficiency = r.measured.empty() ? 1.0 : std::min(1.0, r.measured.points.back().second);
  r.fma_per_cycle = r.port_fma * r.efficiency;
  return r;
}

}  // namespace wafer::estimate
