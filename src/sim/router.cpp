// Compiles a color slot's switch position into the record the router's step reads.
//
// The step itself (step.hpp) is inlined into the engine's sweep; it reads each slot's current
// position as a SlotRoute: the input channel when the position has one input port, the
// transmit ports and their destination channels in port order. A control wavelet forwarded
// by the slot recompiles the record for the next position.
#include "step.hpp"

namespace wafer::sim {

SlotRoute compile_slot_route(const fabric::FabricMap& map, uint32_t slot, uint16_t position) {
  const fabric::ColorSlot& s = map.slots[slot];
  const ir::RoutePosition& pos = map.position(s, position);
  SlotRoute r;
  r.position = position;
  r.tx_mask = pos.tx;
  for (unsigned b = pos.tx; b; b &= b - 1) r.tx[r.tx_count++] = s.tx_channel[__builtin_ctz(b)];
  const bool single = pos.rx && !(pos.rx & (pos.rx - 1));
  r.rx_mask = pos.rx;
  r.rx = single ? s.rx_channel[__builtin_ctz(pos.rx)] : kNone;
  r.only_input = single && pos.rx == s.rx_mask;
  return r;
}

void advance_slot(Machine& m, uint32_t slot) {
  SlotRoute& r = m.slot_route[slot];
  const uint16_t rr = r.rr;
  r = compile_slot_route(m.map, slot, uint16_t((r.position + 1) % m.map.slots[slot].num_positions));
  r.rr = rr;
}

}  // namespace wafer::sim
