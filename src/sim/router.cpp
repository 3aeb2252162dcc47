// One cycle of one PE's router.
//
// Colors are served in a priority order that rotates every cycle. For each color slot, the
// router takes the first ready wavelet among the input ports of the slot's current switch
// position (round-robin over ports), and forwards it only if every transmit port of that
// position is still free this cycle (one wavelet per output link per cycle) and every
// destination channel has room; otherwise the wavelet waits (backpressure, never a drop).
// A control wavelet advances the slot's switch position after it is forwarded.
#include "machine.hpp"

namespace wafer::sim {

namespace {

bool destinations_have_room(Machine& m, const fabric::ColorSlot& s, ir::PortMask tx, uint32_t t) {
  for (unsigned b = tx; b; b &= b - 1) {
    if (!m.can_push(s.tx_channel[__builtin_ctz(b)], t)) return false;
  }
  return true;
}

void forward(Machine& m, uint32_t pe, const fabric::ColorSlot& s, ir::PortMask tx, Wavelet w,
             uint32_t t, ThreadCtx& ctx) {
  const uint32_t ctrl = w.meta & kCtrlBit;
  for (unsigned b = tx; b; b &= b - 1) {
    const int p = __builtin_ctz(b);
    const uint32_t lat = p == int(ir::Dir::ramp) ? m.arch.ramp_latency : m.arch.hop_latency;
    const uint32_t dest = s.tx_channel[p];
    m.push(dest, Wavelet{w.data, ctrl | (t + lat)});
    m.wake(m.channels[dest].owner, ctx);
    if (m.options.collect_stats) ++m.stats.link_out[pe][size_t(p)];
  }
}

}  // namespace

bool step_router(Machine& m, uint32_t pe, uint32_t t, ThreadCtx& ctx) {
  const uint32_t begin = m.map.slot_begin[pe], end = m.map.slot_begin[pe + 1];
  const uint32_t n = end - begin;
  if (n == 0) return false;
  ir::PortMask used = 0;
  bool pending = false;
  for (uint32_t k = 0; k < n; ++k) {
    const uint32_t i = n == 1 ? begin : begin + (k + t) % n;
    const fabric::ColorSlot& s = m.map.slots[i];
    Machine::SlotState& state = m.slot_state[i];
    const ir::RoutePosition& pos = m.map.position(s, state.position);
    // Input ports of this position, starting at the round-robin port (a single port needs
    // no rotation: the common case of a static route).
    const unsigned rr = (pos.rx & (pos.rx - 1)) ? state.rr : 0;
    unsigned order = (unsigned(pos.rx) >> rr) | ((unsigned(pos.rx) << (fabric::kPorts - rr)) & 31u);
    while (order) {
      int p = int(unsigned(__builtin_ctz(order)) + rr);
      if (p >= fabric::kPorts) p -= fabric::kPorts;
      order &= order - 1;
      const uint32_t c = s.rx_channel[p];
      Wavelet w;
      if (!m.peek(c, t, w)) continue;
      if ((pos.tx & used) || !destinations_have_room(m, s, pos.tx, t)) break;
      forward(m, pe, s, pos.tx, w, t, ctx);
      m.pop(c, t);
      used |= pos.tx;
      ++ctx.wavelets_moved;
      ++ctx.progress;
      state.rr = uint16_t(p + 1 == fabric::kPorts ? 0 : p + 1);
      if (w.control()) state.position = uint16_t((state.position + 1) % s.num_positions);
      break;
    }
    for (unsigned rx = s.rx_mask; rx && !pending; rx &= rx - 1) {
      pending = m.nonempty(s.rx_channel[__builtin_ctz(rx)]);
    }
  }
  return pending;
}

}  // namespace wafer::sim
