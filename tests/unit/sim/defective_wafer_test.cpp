// A repaired defective wafer: logical links that became physically longer cost hop_latency
// per extra hop, and nothing else changes (the values arrive intact).
#include <gtest/gtest.h>

#include "wafer/arch/arch.hpp"
#include "wafer/ir/builder.hpp"
#include "wafer/sim/simulator.hpp"

namespace wafer::sim {
namespace {

using ir::Opcode;

// PE (0,0) sends 16 values east on color 2; PE (1,0) stores them.
ir::Program transfer() {
  ir::CodeBuilder b("transfer");
  const int v = b.symbol("v", DType::f32, 16);
  b.task("main", 1, ir::TaskKind::local);
  b.begin_task(1);
  const int receive = b.new_label();
  b.emit(Opcode::mdsd, {ir::dsd(0), ir::sym_op(v), ir::imm(0), ir::imm(16), ir::imm(1)});
  b.emit(Opcode::fdsd, {ir::dsd(1), ir::color_op(2), ir::imm(16), ir::dtype_op(DType::f32)});
  b.emit(Opcode::bne, {ir::special(ir::Special::x), ir::imm(0), b.label(receive)});
  b.emit(Opcode::vmov, {ir::dsd(1), ir::dsd(0)});
  b.emit(Opcode::ret, {});
  b.place(receive);
  b.emit(Opcode::vmov, {ir::dsd(0), ir::dsd(1)});
  b.emit(Opcode::ret, {});
  ir::Program p;
  p.width = 2;
  p.height = 1;
  p.codes.push_back(b.finish());
  p.placements.push_back({{0, 0, 2, 1}, 0, {}});
  const ir::PortMask R = ir::port_bit(ir::Dir::ramp);
  ir::add_route(p, {0, 0, 1, 1}, 2, R, ir::port_bit(ir::Dir::east));
  ir::add_route(p, {1, 0, 1, 1}, 2, ir::port_bit(ir::Dir::west), R);
  return p;
}

struct Outcome {
  uint64_t cycles;
  std::vector<double> received;
};

Outcome run(const arch::Arch& a, int extra_hops) {
  Options o;
  o.threads = 1;
  if (extra_hops > 0) {
    auto h = std::make_shared<fabric::LinkExtraHops>();
    h->width = 2;
    h->height = 1;
    h->east = {uint16_t(extra_hops), 0};
    h->south = {0, 0};
    o.link_extra_hops = h;
  }
  auto sim = Simulator::create(a, transfer(), o);
  EXPECT_TRUE(sim.has_value()) << sim.message();
  std::vector<double> values(16);
  for (int i = 0; i < 16; ++i) values[size_t(i)] = 0.5 * i;
  EXPECT_TRUE((*sim)->write_symbol("v", {0, 0, 1, 1}, values));
  EXPECT_TRUE((*sim)->launch("main", {0, 0, 2, 1}));
  auto r = (*sim)->run();
  EXPECT_TRUE(r.has_value()) << r.message();
  auto got = (*sim)->read_symbol("v", {1, 0, 1, 1});
  EXPECT_TRUE(got.has_value());
  return {r->cycles, *got};
}

TEST(DefectiveWafer, ExtraHopsCostHopLatencyEach) {
  for (const char* name : {"wse2", "wse3"}) {
    auto a = arch::preset(name);
    ASSERT_TRUE(a.has_value());
    const Outcome perfect = run(*a, 0);
    for (int extra : {1, 2, 5}) {
      const Outcome longer = run(*a, extra);
      EXPECT_EQ(longer.cycles, perfect.cycles + uint64_t(extra * a->hop_latency)) << name << " +" << extra;
      EXPECT_EQ(longer.received, perfect.received);
    }
    EXPECT_DOUBLE_EQ(perfect.received[15], 7.5);
  }
}

TEST(DefectiveWafer, ALinkMapSmallerThanTheProgramIsAnError) {
  Options o;
  auto h = std::make_shared<fabric::LinkExtraHops>();
  h->width = 1;
  h->height = 1;
  h->east = {0};
  h->south = {0};
  o.link_extra_hops = h;
  auto sim = Simulator::create(*arch::preset("wse3"), transfer(), o);
  ASSERT_FALSE(sim.has_value());
  EXPECT_EQ(sim.message(), "the link map of the repaired wafer covers 1x1 PEs, less than the 2x1 program");
}

}  // namespace
}  // namespace wafer::sim
