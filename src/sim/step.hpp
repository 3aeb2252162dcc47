// The per-PE step of the engine's sweep: one cycle of a PE's router, then of its core.
//
// The engine builds one PeStep per sweep (one thread's share of one cycle). It copies the
// machine's hot arrays into its members and is inlined into the sweep's loop, so the atomic
// queue accesses do not make the compiler reload them from the Machine for every PE.
//
// Router: colors are served in a priority order that rotates every cycle. For each color slot,
// the router takes the first ready wavelet among the input ports of the slot's current switch
// position (round-robin over ports), and forwards it only if every transmit port of that
// position is still free this cycle (one wavelet per output link per cycle) and every
// destination channel has room; otherwise the wavelet waits (backpressure, never a drop). A
// control wavelet advances the slot's switch position after it is forwarded. Each slot's
// current position is read compiled (SlotRoute, router.cpp).
//
// Core: a streaming op alone on the core (the inner loop of dense work) takes the streaming
// step (stream.hpp) here; every other cycle goes to the general step (core.cpp).
#pragma once

#include "stream.hpp"

namespace wafer::sim {

// The slow paths stay out of line (noinline), so that link-time inlining does not grow the
// sweep's loop with code it rarely runs.
// Forwards a slot to its next switch position, keeping its round-robin port (router.cpp).
[[gnu::noinline]] void advance_slot(Machine& m, uint32_t slot);
// The core's cycle in general, and the end of a streaming cycle the fast path did not
// finish itself (core.cpp).
[[gnu::noinline]] bool step_core_general(Machine& m, uint32_t pe, uint32_t t, ThreadCtx& ctx);
[[gnu::noinline]] bool end_stream_cycle(Machine& m, uint32_t pe, uint32_t t, VecProgress p,
                                        bool finished, ThreadCtx& ctx);

// Wakes for PEs of the active-set word being stepped, kept in a register by the sweep and
// merged into ThreadCtx::local_bits when the word is done (slow paths use Machine::wake).
struct WordWakes {
  size_t word;
  uint64_t bits = 0;
};

// L is Links, or FixedLinks when the machine's rings have that size (the engine checks).
template <typename L>
struct PeStep {
  Machine& m;
  const L links;
  const uint32_t* slot_begin;
  const fabric::ColorSlot* slots;
  SlotRoute* routes;
  Core* cores;
  std::array<uint64_t, 5>* link_out;  // per PE; nullptr without stats
  uint64_t* compute;                  // per PE; nullptr when not counted
  const bool stats;
  const bool general_only;  // Options::general_path

  explicit PeStep(Machine& machine)
      : m(machine),
        links{machine.links.ch, machine.links.rings, machine.links.shift, machine.links.slot_input},
        slot_begin(machine.map.slot_begin.data()),
        slots(machine.map.slots.data()),
        routes(machine.slot_route.data()),
        cores(machine.cores.data()),
        link_out(machine.options.collect_stats ? machine.stats.link_out.data() : nullptr),
        compute(machine.stats.compute.empty() ? nullptr : machine.stats.compute.data()),
        stats(machine.options.collect_stats),
        general_only(machine.options.general_path) {}

  // One router cycle; true when a wavelet still waits at an input. The slot served first
  // this cycle is t mod n, the others follow in order, wrapping. On a PE of at least
  // kTrackedSlots color slots, only the slots whose bit is set in its slot_input word can
  // have input; the rest are skipped (serving one would do nothing). A slot found empty has
  // its bit cleared, then is looked at again: a push between the look and the clear has set
  // the bit before the clear took it away. A PE of fewer slots looks at them all.
  [[gnu::always_inline]] bool router(uint32_t pe, uint32_t t, WordWakes& near,
                                     ThreadCtx& ctx) const {
    const uint32_t begin = slot_begin[pe], n = slot_begin[pe + 1] - begin;
    const uint32_t first = n <= 1 ? 0 : t % n;
    unsigned used = 0;
    if (n < kTrackedSlots) {
      bool waiting = false;
      for (uint32_t k = 0, j = first; k < n; ++k) {
        const uint32_t i = begin + j;
        j = j + 1 == n ? 0 : j + 1;
        used |= serve(pe, i, used, t, near, ctx);
        waiting = waiting || input_waiting(slots[i], routes[i]);
      }
      return waiting;
    }
    std::atomic<uint32_t>& pending = links.slot_input[pe];
    const uint32_t mask = pending.load(std::memory_order_acquire);
    if (!mask) return false;
    // The mask rotated so that bit k is slot (first + k) mod n.
    uint64_t order = ((uint64_t(mask) >> first) | (uint64_t(mask) << (n - first))) & ((1ull << n) - 1);
    uint32_t empty = 0;
    for (; order; order &= order - 1) {
      uint32_t j = first + uint32_t(__builtin_ctzll(order));
      if (j >= n) j -= n;
      const uint32_t i = begin + j;
      used |= serve(pe, i, used, t, near, ctx);
      if (!input_waiting(slots[i], routes[i])) empty |= 1u << j;
    }
    if (!empty) return true;
    pending.fetch_and(~empty, std::memory_order_acq_rel);
    bool waiting = empty != mask;
    for (uint32_t e = empty; e; e &= e - 1) {
      const uint32_t j = uint32_t(__builtin_ctz(e));
      if (!input_waiting(slots[begin + j], routes[begin + j])) continue;
      pending.fetch_or(1u << j, std::memory_order_acq_rel);
      waiting = true;
    }
    return waiting;
  }

  // One core cycle; true when the core needs the next cycle.
  [[gnu::always_inline]] bool core(uint32_t pe, uint32_t t, ThreadCtx& ctx) const {
    Core& c = cores[pe];
    if (c.code < 0) return false;
    VecOp& op = c.main;
    if (op.instr == kNone || c.async_active || !op.stream_alone || op.setup_left ||
        c.asleep_since != kNone || general_only) {
      return step_core_general(m, pe, t, ctx);
    }
    bool finished = false;
    const VecProgress p = stream_f32(m, links, pe, op, t, ctx, finished);
    if (p == VecProgress::busy && !finished && !stats) {
      ++ctx.progress;
      if (compute && !op.transfer) ++compute[pe];
      return true;
    }
    return end_stream_cycle(m, pe, t, p, finished, ctx);
  }

 private:
  // Whether f holds for every destination channel of the position, in port order. One and
  // two destinations (a hop, or a hop and the core) are unrolled: they are the common case.
  template <typename F>
  [[gnu::always_inline]] static bool all_tx(const SlotRoute& r, F&& f) {
    switch (r.tx_count) {
      case 1: return f(r.tx[0]);
      case 2: return f(r.tx[0]) && f(r.tx[1]);
      default:
        for (unsigned k = 0; k < r.tx_count; ++k) {
          if (!f(r.tx[k])) return false;
        }
        return true;
    }
  }

  bool destinations_have_room(const SlotRoute& r, uint32_t t) const {
    return all_tx(r, [&](uint32_t c) { return links.can_push(c, t); });
  }

  void forward(uint32_t pe, const SlotRoute& r, Wavelet w, uint32_t t, WordWakes& near,
               ThreadCtx& ctx) const {
    const uint32_t ctrl = w.meta & kCtrlBit;
    all_tx(r, [&](uint32_t c) {
      const Channel& q = links.ch[c];
      links.push(c, Wavelet{w.data, ctrl | (t + q.latency)});
      if ((q.owner >> 6) == near.word) near.bits |= 1ull << (q.owner & 63);
      else m.wake(q.owner, ctx);
      return true;
    });
    if (link_out) {
      for (unsigned b = r.tx_mask; b; b &= b - 1) ++link_out[pe][size_t(__builtin_ctz(b))];
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
  [[gnu::always_inline]] unsigned serve(uint32_t pe, uint32_t i, unsigned used, uint32_t t, WordWakes& near,
                                         ThreadCtx& ctx) const {
    SlotRoute& r = routes[i];
    Wavelet w;
    const int p = ready_port(slots[i], r, t, w);
    if (p < 0 || (r.tx_mask & used) || !destinations_have_room(r, t)) return 0;
    forward(pe, r, w, t, near, ctx);
    links.pop(r.rx != kNone ? r.rx : slots[i].rx_channel[p], t);
    ++ctx.wavelets_moved;
    ++ctx.progress;
    const unsigned tx = r.tx_mask;
    if (!r.only_input) r.rr = uint16_t(p + 1 == fabric::kPorts ? 0 : p + 1);
    if (w.control()) advance_slot(m, i);
    return tx;
  }

  bool input_waiting(const fabric::ColorSlot& s, const SlotRoute& r) const {
    if (r.only_input) return links.nonempty(r.rx);
    for (unsigned rx = s.rx_mask; rx; rx &= rx - 1) {
      if (links.nonempty(s.rx_channel[__builtin_ctz(rx)])) return true;
    }
    return false;
  }
};

}  // namespace wafer::sim
