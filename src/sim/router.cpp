// One cycle of one PE's router.
//
// Colors are served in a priority order that rotates every cycle. For each color slot, the
// router takes the first ready wavelet among the input ports of the slot's current switch
// position (round-robin over ports), and forwards it only if every transmit port of that
// position is still free this cycle (one wavelet per output link per cycle) and every
// destination channel has room; otherwise the wavelet waits (backpressure, never a drop).
// A control wavelet advances the slot's switch position after it is forwarded. The arrays
// the loop touches are read into locals once, so the atomic queue accesses do not force
// the compiler to reload them.
#include "machine.hpp"

namespace wafer::sim {

namespace {

struct RouterStep {
  const Links links;
  const fabric::ColorSlot* slots;
  const ir::RoutePosition* positions;
  Machine::SlotState* state;
  std::array<uint32_t, 5>* link_out;  // nullptr without stats

  bool destinations_have_room(const fabric::ColorSlot& s, unsigned tx, uint32_t t) const {
    for (unsigned b = tx; b; b &= b - 1) {
      if (!links.can_push(s.tx_channel[__builtin_ctz(b)], t)) return false;
    }
    return true;
  }

  void forward(Machine& m, const fabric::ColorSlot& s, unsigned tx, Wavelet w, uint32_t t,
               ThreadCtx& ctx) const {
    const uint32_t ctrl = w.meta & kCtrlBit;
    for (unsigned b = tx; b; b &= b - 1) {
      const int p = __builtin_ctz(b);
      const uint32_t dest = s.tx_channel[p];
      links.push(dest, Wavelet{w.data, ctrl | (t + links.ch[dest].latency)});
      m.wake(links.ch[dest].owner, ctx);
      if (link_out) ++(*link_out)[size_t(p)];
    }
  }

  // Moves at most one wavelet of slot i; returns the ports it used.
  unsigned serve(Machine& m, uint32_t i, unsigned used, uint32_t t, ThreadCtx& ctx) const {
    const fabric::ColorSlot& s = slots[i];
    Machine::SlotState& st = state[i];
    const ir::RoutePosition& pos = positions[s.first_position + st.position];
    // Input ports starting at the round-robin port (one port needs no rotation).
    const unsigned rx = pos.rx;
    const unsigned rr = (rx & (rx - 1)) ? st.rr : 0;
    unsigned order = (rx >> rr) | ((rx << (fabric::kPorts - rr)) & 31u);
    while (order) {
      int p = int(unsigned(__builtin_ctz(order)) + rr);
      if (p >= fabric::kPorts) p -= fabric::kPorts;
      order &= order - 1;
      const uint32_t c = s.rx_channel[p];
      Wavelet w;
      if (!links.peek(c, t, w)) continue;
      if ((pos.tx & used) || !destinations_have_room(s, pos.tx, t)) return 0;
      forward(m, s, pos.tx, w, t, ctx);
      links.pop(c, t);
      ++ctx.wavelets_moved;
      ++ctx.progress;
      st.rr = uint16_t(p + 1 == fabric::kPorts ? 0 : p + 1);
      if (w.control()) st.position = uint16_t((st.position + 1) % s.num_positions);
      return pos.tx;
    }
    return 0;
  }

  bool pending(const fabric::ColorSlot& s) const {
    for (unsigned rx = s.rx_mask; rx; rx &= rx - 1) {
      if (links.nonempty(s.rx_channel[__builtin_ctz(rx)])) return true;
    }
    return false;
  }
};

}  // namespace

bool step_router(Machine& m, uint32_t pe, uint32_t t, ThreadCtx& ctx) {
  const uint32_t begin = m.map.slot_begin[pe], end = m.map.slot_begin[pe + 1];
  const uint32_t n = end - begin;
  if (n == 0) return false;
  const RouterStep r{m.links,
                     m.map.slots.data(),
                     m.map.positions.data(),
                     m.slot_state.data(),
                     m.options.collect_stats ? &m.stats.link_out[pe] : nullptr};
  unsigned used = 0;
  bool pending = false;
  for (uint32_t k = 0; k < n; ++k) {
    const uint32_t i = n == 1 ? begin : begin + (k + t) % n;
    used |= r.serve(m, i, used, t, ctx);
    pending = pending || r.pending(r.slots[i]);
  }
  return pending;
}

}  // namespace wafer::sim
