// The split of a kernel's cycles into compute and communication (KernelResult::compute_cycles,
// comm_cycles; sim::Stats::compute): cases whose split follows from their code.
#include <gtest/gtest.h>

#include "kernel_params.hpp"
#include "wafer/kernels/kernels.hpp"

namespace wafer::kernels {
namespace {

KernelResult run(const KernelParams& p, const sim::Options& o = {}) {
  auto r = run_kernel(*arch::load_arch("wse2"), p, o);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.message());
  return r ? *r : KernelResult{};
}

// A broadcast moves data and computes nothing: column 0 runs mdsd, bne, fdsd, the vmov to the
// fabric, jmp and ret; fdsd and the vmov are communication, so its compute is the other 4
// instructions (a receiver's is 3: mdsd, bne, ret). Everything else is communication.
TEST(KernelSplit, ABroadcastIsCommunicationButItsFourInstructions) {
  const KernelResult r = run(params("bcast-row", 4, 1, 0, 64));
  EXPECT_TRUE(r.verified);
  EXPECT_EQ(r.compute_cycles, 4u);
  EXPECT_EQ(r.comm_cycles, r.cycles - 4);
  EXPECT_GT(r.comm_cycles, 64u);  // at least one cycle per wavelet
}

// One PE multiplies alone: every cycle computes but the run's last, in which the core has
// retired its final ret and the machine goes quiet.
TEST(KernelSplit, ASinglePeGemmIsAllCompute) {
  const KernelResult r = run(params("gemm", 1, 1, 32, 32));
  EXPECT_TRUE(r.verified);
  EXPECT_EQ(r.comm_cycles, 1u);
  EXPECT_EQ(r.compute_cycles + r.comm_cycles, r.cycles);
}

// Arithmetic fed by the fabric is compute while it progresses: stream-fma's vfma reads x from
// the fabric, one element per cycle. The streaming fast path, the general path and a run with
// all the counters count the same.
TEST(KernelSplit, FabricFedArithmeticIsComputeOnEveryPath) {
  const KernelParams p = params("stream-fma", 2, 2, 0, 256);
  const KernelResult fast = run(p);
  EXPECT_TRUE(fast.verified);
  EXPECT_GE(fast.compute_cycles, 256u);
  sim::Options general;
  general.general_path = true;
  EXPECT_EQ(run(p, general).compute_cycles, fast.compute_cycles);
  sim::Options counted;
  counted.collect_stats = true;
  EXPECT_EQ(run(p, counted).compute_cycles, fast.compute_cycles);
  sim::Options plain;
  plain.collect_stats = false;
  plain.count_compute = false;  // run_case counts compute whatever the caller's options
  EXPECT_EQ(run(p, plain).compute_cycles, fast.compute_cycles);
}

// On a 4 x 4 Cannon GEMM most of the time is the block products: the shifts overlap them.
TEST(KernelSplit, CannonHidesMostOfItsShifts) {
  const KernelResult r = run(params("gemm", 4, 4, 0, 0, DType::f16));
  EXPECT_TRUE(r.verified);
  EXPECT_EQ(r.compute_cycles + r.comm_cycles, r.cycles);
  EXPECT_GT(r.compute_cycles, 32768u);  // at least the FMAs of 128^3 / (16 PEs x 4 lanes)
  EXPECT_LT(r.comm_cycles, r.cycles / 5);
}

}  // namespace
}  // namespace wafer::kernels
