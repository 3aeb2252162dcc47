// Tests of build_fabric_map: color slots, channel allocation (kinds, capacities, owners),
// transmit-port resolution including multicast and switch positions, and the routing errors
// (off the program edge, into a neighbour that does not receive, two routes for one color).
#include <string>

#include <gtest/gtest.h>

#include "wafer/arch/arch.hpp"
#include "wafer/fabric/fabric_map.hpp"
#include "wafer/ir/builder.hpp"
#include "wafer/ir/program.hpp"

namespace wafer::fabric {
namespace {

using ir::add_route;

using ir::Dir;
using ir::port_bit;

constexpr ir::PortMask N = port_bit(Dir::north), E = port_bit(Dir::east), S = port_bit(Dir::south),
                       W = port_bit(Dir::west), R = port_bit(Dir::ramp);
constexpr int kN = int(Dir::north), kE = int(Dir::east), kS = int(Dir::south),
              kW = int(Dir::west), kR = int(Dir::ramp);

arch::Arch wse2() {
  auto a = arch::preset("wse2");
  EXPECT_TRUE(a.has_value());
  return *a;
}

ir::Program program(int w, int h) {
  ir::Program p;
  p.width = w;
  p.height = h;
  return p;
}

uint32_t pe(const FabricMap& m, int x, int y) { return uint32_t(y * m.width + x); }

const ColorSlot& slot(const FabricMap& m, int x, int y, int color) {
  const ColorSlot* s = m.find_slot(pe(m, x, y), color);
  EXPECT_NE(s, nullptr) << "no slot for color " << color << " on (" << x << "," << y << ")";
  static ColorSlot none{};
  return s ? *s : none;
}

std::string error_of(const ir::Program& p) {
  auto m = build_fabric_map(p, wse2());
  return m ? "no error" : m.message();
}

// A 3x1 line: (0,0) sends color 0 east, (1,0) copies it to its core and east (multicast),
// (2,0) delivers it to its core.
TEST(FabricMap, LineWithMulticast) {
  const arch::Arch a = wse2();
  ir::Program p = program(3, 1);
  add_route(p, {0, 0, 1, 1}, 0, R, E);
  add_route(p, {1, 0, 1, 1}, 0, W, E | R);
  add_route(p, {2, 0, 1, 1}, 0, W, R);
  auto built = build_fabric_map(p, a);
  ASSERT_TRUE(built.has_value()) << built.message();
  const FabricMap& m = *built;
  EXPECT_EQ(m.width, 3);
  EXPECT_EQ(m.height, 1);
  ASSERT_EQ(m.slot_begin.size(), 4u);
  EXPECT_EQ(m.slot_begin[0], 0u);
  EXPECT_EQ(m.slot_begin[1], 1u);
  EXPECT_EQ(m.slot_begin[2], 2u);
  EXPECT_EQ(m.slot_begin[3], 3u);
  // (0,0): input from its core; (1,0): from W and to its core; (2,0): from W and to its core.
  ASSERT_EQ(m.num_channels(), 5u);

  const ColorSlot& s0 = slot(m, 0, 0, 0);
  const ColorSlot& s1 = slot(m, 1, 0, 0);
  const ColorSlot& s2 = slot(m, 2, 0, 0);
  EXPECT_EQ(s0.num_positions, 1);
  // Input channels exist exactly for the ports in rx.
  for (int port : {kN, kE, kS, kW}) EXPECT_EQ(s0.rx_channel[port], kNoChannel) << port;
  ASSERT_NE(s0.rx_channel[kR], kNoChannel);
  for (int port : {kN, kE, kS, kR}) EXPECT_EQ(s1.rx_channel[port], kNoChannel) << port;
  ASSERT_NE(s1.rx_channel[kW], kNoChannel);
  ASSERT_NE(s2.rx_channel[kW], kNoChannel);

  // Channel kinds, owners (the receiving PE), colors, ports and capacities from the arch.
  const uint32_t from_core0 = s0.rx_channel[kR];
  EXPECT_EQ(m.channel_kind[from_core0], ChannelKind::core_out);
  EXPECT_EQ(m.channel_pe[from_core0], pe(m, 0, 0));
  EXPECT_EQ(m.channel_cap[from_core0], a.core_output_queue_depth);
  EXPECT_EQ(m.channel_port[from_core0], kR);
  const uint32_t link1 = s1.rx_channel[kW];
  EXPECT_EQ(m.channel_kind[link1], ChannelKind::link);
  EXPECT_EQ(m.channel_pe[link1], pe(m, 1, 0));
  EXPECT_EQ(m.channel_cap[link1], a.router_queue_depth);
  EXPECT_EQ(m.channel_port[link1], kW);
  EXPECT_EQ(m.channel_color[link1], 0);

  // Transmit ports resolve to the neighbour's input from the opposite side, or the core.
  EXPECT_EQ(s0.tx_channel[kE], link1);
  for (int port : {kN, kS, kW, kR}) EXPECT_EQ(s0.tx_channel[port], kNoChannel) << port;
  EXPECT_EQ(s1.tx_channel[kE], s2.rx_channel[kW]);  // multicast: east ...
  const uint32_t to_core1 = s1.tx_channel[kR];       // ... and to the core
  ASSERT_NE(to_core1, kNoChannel);
  EXPECT_EQ(m.channel_kind[to_core1], ChannelKind::core_in);
  EXPECT_EQ(m.channel_pe[to_core1], pe(m, 1, 0));
  EXPECT_EQ(m.channel_cap[to_core1], a.core_input_queue_depth);
  const uint32_t to_core2 = s2.tx_channel[kR];
  ASSERT_NE(to_core2, kNoChannel);
  EXPECT_EQ(m.channel_kind[to_core2], ChannelKind::core_in);
  EXPECT_EQ(m.channel_pe[to_core2], pe(m, 2, 0));
  EXPECT_EQ(s2.tx_channel[kE], kNoChannel);

  // Every channel is distinct.
  EXPECT_NE(from_core0, link1);
  EXPECT_NE(link1, to_core1);
  EXPECT_NE(to_core1, s2.rx_channel[kW]);
  EXPECT_NE(s2.rx_channel[kW], to_core2);
  EXPECT_EQ(m.find_slot(pe(m, 1, 0), 1), nullptr);
}

// A rectangle route covers many PEs; a column multicast down a 2x4 grid and slots sorted by
// color on a PE that routes three colors.
TEST(FabricMap, RectanglesAndSlotOrder) {
  ir::Program p = program(2, 4);
  add_route(p, {0, 0, 2, 1}, 7, R, S);         // row 0 sends south
  add_route(p, {0, 1, 2, 2}, 7, N, S | R);     // rows 1-2 pass on and keep a copy
  add_route(p, {0, 3, 2, 1}, 7, N, R);         // row 3 keeps it
  add_route(p, {1, 0, 1, 1}, 2, R, W);         // (1,0) sends color 2 west
  add_route(p, {0, 0, 1, 1}, 2, E, R);
  add_route(p, {1, 0, 1, 1}, 11, W, R);        // (1,0) receives color 11 from the west
  add_route(p, {0, 0, 1, 1}, 11, R, E);
  auto built = build_fabric_map(p, wse2());
  ASSERT_TRUE(built.has_value()) << built.message();
  const FabricMap& m = *built;
  // Slots per PE: (0,0) and (1,0) route colors 2, 7, 11; rows 1..3 color 7 only.
  ASSERT_EQ(m.slot_begin.size(), 9u);
  EXPECT_EQ(m.slot_begin[pe(m, 1, 0) + 1] - m.slot_begin[pe(m, 1, 0)], 3u);
  EXPECT_EQ(m.slot_begin[pe(m, 0, 2) + 1] - m.slot_begin[pe(m, 0, 2)], 1u);
  EXPECT_EQ(m.slots.size(), 3u + 3u + 6u);
  const uint32_t b = m.slot_begin[pe(m, 1, 0)];
  EXPECT_EQ(m.slots[b].color, 2);
  EXPECT_EQ(m.slots[b + 1].color, 7);
  EXPECT_EQ(m.slots[b + 2].color, 11);
  // Channels: color 7: 2 core_out (row 0) + 6 links + 6 core_in (rows 1..3);
  // colors 2 and 11: 1 core_out + 1 link + 1 core_in each.
  EXPECT_EQ(m.num_channels(), 14u + 3u + 3u);
  for (int x = 0; x < 2; ++x) {
    for (int y = 0; y < 3; ++y) {
      EXPECT_EQ(slot(m, x, y, 7).tx_channel[kS], slot(m, x, y + 1, 7).rx_channel[kN]) << x << "," << y;
      EXPECT_EQ(m.channel_pe[slot(m, x, y, 7).tx_channel[kS]], pe(m, x, y + 1));
    }
    EXPECT_EQ(slot(m, x, 0, 7).tx_channel[kR], kNoChannel);
    for (int y = 1; y < 4; ++y) EXPECT_NE(slot(m, x, y, 7).tx_channel[kR], kNoChannel);
  }
  EXPECT_EQ(slot(m, 1, 0, 2).tx_channel[kW], slot(m, 0, 0, 2).rx_channel[kE]);
  EXPECT_EQ(slot(m, 0, 0, 11).tx_channel[kE], slot(m, 1, 0, 11).rx_channel[kW]);
  EXPECT_EQ(m.channel_color[slot(m, 0, 0, 11).tx_channel[kE]], 11);
}

// Switch positions: channels are allocated for the union of all positions' ports.
TEST(FabricMap, SwitchPositionsUseTheUnionOfPorts) {
  ir::Program p = program(2, 2);
  ir::Route r;
  r.rect = {0, 0, 1, 1};
  r.color = 3;
  r.positions = {{R, E}, {R, S}};
  p.routes.push_back(r);
  add_route(p, {1, 0, 1, 1}, 3, W, R);
  add_route(p, {0, 1, 1, 1}, 3, N, R);
  auto built = build_fabric_map(p, wse2());
  ASSERT_TRUE(built.has_value()) << built.message();
  const FabricMap& m = *built;
  const ColorSlot& s = slot(m, 0, 0, 3);
  EXPECT_EQ(s.num_positions, 2);
  EXPECT_EQ(m.position(s, 0).tx, E);
  EXPECT_EQ(m.position(s, 1).tx, S);
  EXPECT_EQ(m.position(s, 1).rx, R);
  EXPECT_EQ(s.tx_channel[kE], slot(m, 1, 0, 3).rx_channel[kW]);
  EXPECT_EQ(s.tx_channel[kS], slot(m, 0, 1, 3).rx_channel[kN]);
  EXPECT_EQ(m.find_slot(pe(m, 1, 1), 3), nullptr);
}

TEST(FabricMap, NoRoutesNoChannels) {
  auto built = build_fabric_map(program(4, 3), wse2());
  ASSERT_TRUE(built.has_value());
  EXPECT_EQ(built->num_channels(), 0u);
  EXPECT_EQ(built->slots.size(), 0u);
  EXPECT_EQ(built->slot_begin.size(), 13u);
  EXPECT_EQ(built->find_slot(5, 0), nullptr);
}

TEST(FabricMapError, SendOffTheEdge) {
  ir::Program p = program(3, 2);
  add_route(p, {2, 1, 1, 1}, 5, R, E);
  EXPECT_EQ(error_of(p), "PE (2,1) sends color 5 E off the edge of the 3x2 program");
  ir::Program q = program(3, 2);
  add_route(q, {0, 0, 3, 1}, 1, R, N);
  EXPECT_EQ(error_of(q), "PE (0,0) sends color 1 N off the edge of the 3x2 program");
  ir::Program w = program(3, 2);
  add_route(w, {0, 1, 1, 1}, 1, R, W);
  EXPECT_EQ(error_of(w), "PE (0,1) sends color 1 W off the edge of the 3x2 program");
}

TEST(FabricMapError, NeighbourDoesNotReceive) {
  // No route for the color at all on the neighbour.
  ir::Program p = program(3, 2);
  add_route(p, {1, 1, 1, 1}, 4, R, E);
  const std::string e = error_of(p);
  EXPECT_EQ(e, "PE (1,1) sends color 4 E but PE (2,1) has no route receiving color 4 from W");
  EXPECT_NE(e.find("PE (1,1)"), std::string::npos);
  EXPECT_NE(e.find("PE (2,1)"), std::string::npos);
  EXPECT_NE(e.find("color 4"), std::string::npos);

  // The neighbour routes the color, but receives it from another side.
  ir::Program q = program(2, 2);
  add_route(q, {0, 0, 1, 1}, 9, R, S);
  add_route(q, {0, 1, 1, 1}, 9, E, R);
  add_route(q, {1, 1, 1, 1}, 9, R, W);
  EXPECT_EQ(error_of(q), "PE (0,0) sends color 9 S but PE (0,1) has no route receiving color 9 from N");

  // The neighbour receives a different color from the right side.
  ir::Program c = program(2, 1);
  add_route(c, {0, 0, 1, 1}, 2, R, E);
  add_route(c, {1, 0, 1, 1}, 3, W, R);
  add_route(c, {0, 0, 1, 1}, 3, R, E);
  EXPECT_EQ(error_of(c), "PE (0,0) sends color 2 E but PE (1,0) has no route receiving color 2 from W");
}

TEST(FabricMapError, TwoRoutesForOneColorOnOnePe) {
  ir::Program p = program(4, 4);
  add_route(p, {0, 0, 2, 2}, 6, R, R);
  add_route(p, {1, 1, 3, 3}, 6, R, R);  // overlaps the first on (1,1) only
  EXPECT_EQ(error_of(p), "two routes for color 6 on PE (1,1)");
  // The same rectangles on different colors are fine.
  ir::Program q = program(4, 4);
  add_route(q, {0, 0, 2, 2}, 6, R, R);
  add_route(q, {1, 1, 3, 3}, 7, R, R);
  EXPECT_EQ(error_of(q), "no error");
}

}  // namespace
}  // namespace wafer::fabric
