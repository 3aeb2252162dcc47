// One cycle of one PE's router.
//
// Colors are served in a priority order that rotates every cycle. For each color slot, the
// router takes the first ready wavelet among the input ports of the slot's current switch
// position (round-robin over ports), and forwards it only if every transmit port of that
// position is still free this cycle (one wavelet per output link per cycle) and every
// destination channel has room; otherwise the wavelet waits (backpressure, never a drop).
// A control wavelet advances the slot's switch position after it is forwarded.
//
// The step reads each slot's current position compiled into a SlotRoute (machine.hpp): the
// input channel when the position has one input port, and the destination channels. The
// arrays the loop touches are read into locals once, so the atomic queue accesses do not
// force the compiler to reload them.
#include "machine.hpp"

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

namespace {

struct RouterStep {
  const Links links;
  const fabric::ColorSlot* slots;
  SlotRoute* routes;
  std::array<uint32_t, 5>* link_out;  // nullptr without stats

  bool destinations_have_room(const SlotRoute& r, uint32_t t) const {
    for (unsigned k = 0; k < r.tx_count; ++k) {
      if (!links.can_push(r.tx[k], t)) return false;
    }
    return true;
  }

  void forward(Machine& m, const SlotRoute& r, Wavelet w, uint32_t t, ThreadCtx& ctx) const {
    const uint32_t ctrl = w.meta & kCtrlBit;
    for (unsigned k = 0; k < r.tx_count; ++k) {
      const Channel& q = links.ch[r.tx[k]];
      links.push(r.tx[k], Wavelet{w.data, ctrl | (t + q.latency)});
      m.wake(q.owner, ctx);
    }
    if (link_out) {
      for (unsigned b = r.tx_mask; b; b &= b - 1) ++(*link_out)[size_t(__builtin_ctz(b))];
    }
  }

  // The input port the slot takes a wavelet from this cycle (-1: none is ready): the first
  // ready one of the position's input ports from the round-robin port on.
  int ready_port(const fabric::ColorSlot& s, const SlotRoute& r, uint32_t t, Wavelet& w) const {
    if (r.rx != kNone) return links.peek(r.rx, t, w) ? __builtin_ctz(r.rx_mask) : -1;
    const unsigned rx = r.rx_mask;
    unsigned order = (rx >> r.rr) | ((rx << (fabric::kPorts - r.rr)) & 31u);
    while (order) {
      int p = int(unsigned(__builtin_ctz(order)) + r.rr);
      if (p >= fabric::kPorts) p -= fabric::kPorts;
      order &= order - 1;
      if (links.peek(s.rx_channel[p], t, w)) return p;
    }
    return -1;
  }

  // Moves at most one wavelet of slot i; returns the ports it used.
  unsigned serve(Machine& m, uint32_t i, unsigned used, uint32_t t, ThreadCtx& ctx) const {
    SlotRoute& r = routes[i];
    Wavelet w;
    const int p = ready_port(slots[i], r, t, w);
    if (p < 0 || (r.tx_mask & used) || !destinations_have_room(r, t)) return 0;
    forward(m, r, w, t, ctx);
    links.pop(r.rx != kNone ? r.rx : slots[i].rx_channel[p], t);
    ++ctx.wavelets_moved;
    ++ctx.progress;
    const unsigned tx = r.tx_mask;
    if (!r.only_input) r.rr = uint16_t(p + 1 == fabric::kPorts ? 0 : p + 1);
    if (w.control()) advance(m, i, r);
    return tx;
  }

  static void advance(Machine& m, uint32_t i, SlotRoute& r) {
    const uint16_t rr = r.rr;
    const uint16_t next = uint16_t((r.position + 1) % m.map.slots[i].num_positions);
    r = compile_slot_route(m.map, i, next);
    r.rr = rr;
  }

  bool pending(const fabric::ColorSlot& s, const SlotRoute& r) const {
    if (r.only_input) return links.nonempty(r.rx);
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
  const RouterStep r{m.links, m.map.slots.data(), m.slot_route.data(),
                     m.options.collect_stats ? &m.stats.link_out[pe] : nullptr};
  unsigned used = 0;
  bool pending = false;
  for (uint32_t k = 0; k < n; ++k) {
    const uint32_t i = n == 1 ? begin : begin + (k + t) % n;
    used |= r.serve(m, i, used, t, ctx);
    pending = pending || r.pending(r.slots[i], r.routes[i]);
  }
  return pending;
}

}  // namespace wafer::sim
