// The estimator's wafer matmul rate against the simulator: one PE runs the inner loop of a
// weight-streaming matmul, y[0:n] += a[0:n] * w (fp16, a and y in SRAM, the weight a scalar
// as if just taken off the fabric), and the simulated cycles must match the estimator's
// setup + n / fma_per_cycle on both presets (wse2: 4 lanes, ports allow 4; wse3: 8 lanes,
// ports allow 4).
#include <gtest/gtest.h>

#include "wafer/arch/arch.hpp"
#include "wafer/estimate/system.hpp"
#include "wafer/ir/builder.hpp"
#include "wafer/sim/simulator.hpp"

namespace wafer::estimate {
namespace {

using ir::dsd;
using ir::imm;
using ir::Opcode;

// Cycles of one PE running `vfma y, a, 0.5, y` over n fp16 elements, `ops` times.
uint64_t simulated_fma_cycles(const arch::Arch& arch, uint32_t n, int ops) {
  ir::CodeBuilder b("fma");
  const int a = b.symbol("a", DType::f16, n), y = b.symbol("y", DType::f16, n);
  b.task("main", 1, ir::TaskKind::local);
  b.begin_task(1);
  b.emit(Opcode::mdsd, {dsd(0), ir::sym_op(a), imm(0), imm(int32_t(n)), imm(1)});
  b.emit(Opcode::mdsd, {dsd(1), ir::sym_op(y), imm(0), imm(int32_t(n)), imm(1)});
  for (int i = 0; i < ops; ++i) b.emit(Opcode::vfma, {dsd(1), dsd(0), ir::fimm(0.5f), dsd(1)});
  b.emit(Opcode::ret, {});
  ir::Program p;
  p.width = p.height = 1;
  p.codes.push_back(b.finish());
  p.placements.push_back({{0, 0, 1, 1}, 0, {}});
  auto sim = sim::Simulator::create(arch, p, {});
  EXPECT_TRUE(sim.has_value()) << sim.message();
  EXPECT_TRUE((*sim)->launch("main", {0, 0, 1, 1}));
  auto r = (*sim)->run();
  EXPECT_TRUE(r.has_value()) << r.message();
  return r->cycles;
}

TEST(WaferRate, MatchesTheSimulatedVectorFma) {
  for (const char* name : {"cs2", "cs3"}) {
    const System s = *zoo_system(name);
    const WaferRate rate = wafer_rate(s);
    EXPECT_DOUBLE_EQ(rate.fma_per_cycle, 4) << name;
    const uint32_t n = 4096;
    const int ops = 8;
    // The difference between 8 ops and 1 op removes launch and return costs.
    const double per_op =
        double(simulated_fma_cycles(s.wafer, n, ops) - simulated_fma_cycles(s.wafer, n, 1)) /
        (ops - 1);
    const double model = rate.setup + n / rate.fma_per_cycle;
    EXPECT_NEAR(per_op / model, 1.0, 0.03) << name << ": simulated " << per_op
                                           << " cycles per op, model " << model;
  }
}

}  // namespace
}  // namespace wafer::estimate
