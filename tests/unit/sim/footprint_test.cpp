// Tests of the simulator's memory estimate (sim::estimate_memory): its exact value for a
// small hand-counted program, what stats, a trace and a repaired wafer's longer queues add,
// and Simulator::create's refusal through WAFER_MEMORY_LIMIT.
#include <cstdlib>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "wafer/arch/arch.hpp"
#include "wafer/fabric/fabric_map.hpp"
#include "wafer/ir/builder.hpp"
#include "wafer/ir/program.hpp"
#include "wafer/sim/simulator.hpp"
#include "wafer/support/memory.hpp"

namespace wafer::sim {
namespace {

using ir::Dir;

constexpr ir::PortMask N = ir::port_bit(Dir::north), E = ir::port_bit(Dir::east),
                       W = ir::port_bit(Dir::west), R = ir::port_bit(Dir::ramp);

arch::Arch wse3() { return *arch::preset("wse3"); }

ir::Code code_with(const char* name, const char* symbol, DType type, uint32_t count) {
  ir::CodeBuilder b(name);
  b.symbol(symbol, type, count);
  b.task("main", 1, ir::TaskKind::local);
  b.begin_task(1);
  b.emit(ir::Opcode::ret, {});
  return b.finish();
}

// 8x2 PEs: code "a" (one instruction, 300 fp32) on the whole first row, code "b" (one
// instruction, 1000 fp16) on 3 PEs of the second row from x = 2; color 0 sent from PE (0,0)'s
// ramp east to PE (1,0), whose route has two positions.
ir::Program hand_counted() {
  ir::Program p;
  p.width = 8;
  p.height = 2;
  p.codes = {code_with("a", "v", DType::f32, 300), code_with("b", "w", DType::f16, 1000)};
  p.placements = {{{0, 0, 8, 1}, 0, {}}, {{2, 1, 3, 1}, 1, {}}};
  ir::add_route(p, {0, 0, 1, 1}, 0, R, E);
  p.routes.push_back(ir::Route{{1, 0, 1, 1}, 0, {{W, R}, {W | N, R}}, {}});
  return p;
}

Options plain() {
  Options o;
  o.collect_stats = false;
  o.count_compute = false;
  return o;
}

TEST(MemoryEstimate, HandCountedProgram) {
  const ir::Program p = hand_counted();
  // Routes: (0,0) receives from the ramp, sends east: 1 slot, 1 channel (core out). (1,0)
  // receives from W and N and delivers to the ramp: 1 slot, 3 channels; 3 positions in all.
  // The deepest queue is a core queue of 8 wavelets: rings of 8.
  const uint64_t map = 17 * 4 + 2 * sizeof(fabric::ColorSlot) + 3 * sizeof(ir::RoutePosition) +
                       2 * 4 * 8;  // slot_begin, slots, positions, 8 bytes per channel grown
  const uint64_t channels = 4 * (32 + 8 * 8);  // Channel (32) and its ring of 8-byte wavelets
  const uint64_t slot_routes = 2 * 32;          // SlotRoute
  // Core (256), the router's slot_input word (4), 16 registers of 4 bytes, 16 DSD registers
  // of 16 bytes; 32 active sets of one word.
  const uint64_t per_pe = 16 * (256 + 4 + 16 * 4 + 16 * 16) + 32 * 8;
  // Symbols start after one instruction (4 bytes): "a" spans bytes [4, 1204), "b" [4, 2004):
  // SRAM blocks 0 and 1 of each PE. Block b of PE p lives at KiB b * 16 + p: the first row
  // (PEs 0..7) spans pages {0, 1} of block 0 and {4, 5} of block 1; PEs 10..12 span pages
  // {2, 3} and {6, 7}. 8 pages of 4 KiB.
  const uint64_t sram = 8 * 4096;
  // The machine's copy of the program: 2 instructions, 2 symbols, 2 routes with 3 positions.
  const uint64_t program = 2 * sizeof(ir::Instr) + 2 * sizeof(ir::Symbol) + 2 * sizeof(ir::Route) +
                           3 * sizeof(ir::RoutePosition);
  EXPECT_EQ(estimate_memory(wse3(), p, plain()), map + channels + slot_routes + per_pe + sram + program);
}

TEST(MemoryEstimate, StatsTraceAndLongerLinksAdd) {
  const ir::Program p = hand_counted();
  const uint64_t base = estimate_memory(wse3(), p, plain());
  Options stats = plain();
  stats.collect_stats = true;
  const uint64_t per_pe_stats =
      sizeof(Stats::busy[0]) + sizeof(Stats::stall[0]) + sizeof(Stats::link_out[0]) + sizeof(Stats::compute[0]);
  EXPECT_EQ(estimate_memory(wse3(), p, stats) - base, 16 * per_pe_stats);
  Options trace = plain();
  trace.trace.enabled = true;
  trace.trace.max_events = 1000;
  EXPECT_EQ(estimate_memory(wse3(), p, trace) - base, 2 * 1000 * sizeof(TraceEvent));
  // 5 extra hops of 2 cycles make a link queue of 4 + 10 wavelets: rings of 16 for all 4 channels.
  Options repaired = plain();
  auto hops = std::make_shared<fabric::LinkExtraHops>();
  hops->width = 8;
  hops->height = 2;
  hops->east.assign(16, 0);
  hops->south.assign(16, 0);
  hops->east[3] = 5;
  repaired.link_extra_hops = hops;
  EXPECT_EQ(estimate_memory(wse3(), p, repaired) - base, 4 * 8 * 8);
}

TEST(MemoryEstimate, CreateRefusesAProgramThatDoesNotFit) {
  setenv(kMemoryLimitVariable, "10K", 1);
  auto s = Simulator::create(wse3(), hand_counted(), plain());
  unsetenv(kMemoryLimitVariable);
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.message().find("simulating a 8x2 program needs about 43."), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("but 10.0 kB is available (WAFER_MEMORY_LIMIT); a program of at most about 3 PEs would fit"),
            std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace wafer::sim
