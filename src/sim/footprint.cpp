// The host memory a simulation needs, estimated from the program before anything is built.
//
// Simulator::create builds the fabric map (fabric_map.cpp) and then the Machine (machine.hpp,
// its constructor in engine.cpp); run() and the host script add the rest. Every count comes
// from the program alone. A route on a rectangle of A PEs becomes A color slots (a ColorSlot
// in the map, a SlotRoute in the machine) and A·(k + r) channels, k the ports its positions
// receive from (the ramp included) and r = 1 when they deliver to the ramp; every channel has
// a Channel record, five bytes of map arrays and a ring of the next power of two above the
// deepest queue (links of a repaired wafer buffer hop_latency more per extra hop). Per PE
// there is a Core, the router's slot_input word, the registers, the DSD registers, one bit in
// each of kActiveSets active sets, the stats counters when collected and the microthreads'
// ops when the PE's code has async ops. SRAM is mapped lazily and interleaved in 1 KiB
// blocks (sram.hpp), so a placement costs, for each block its symbols span, the 4 KiB pages
// holding its PEs' copies of that block: each of its rows is a run of consecutive PEs, or the
// whole placement is one run when it spans whole rows. Vectors grown by push_back (the map's channel arrays, the
// trace) count twice: growing copies the old buffer into one of double the size.
#include <algorithm>
#include <bit>

#include "machine.hpp"

namespace wafer::sim {

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kSramBlock = 1024;
constexpr uint64_t kChannelMapBytes = 4 + 1 + 1 + 1 + 1;  // FabricMap's per-channel arrays
constexpr uint64_t kStatsBytesPerPe = sizeof(decltype(Stats::busy)::value_type) +
                                     sizeof(decltype(Stats::stall)::value_type) +
                                     sizeof(decltype(Stats::link_out)::value_type);

struct RouteCounts {
  uint64_t slots = 0, channels = 0, positions = 0;
  uint32_t max_cap = 1;
};

// Extra wavelets a link of a repaired wafer buffers at most (0 on a perfect wafer).
uint32_t extra_link_cap(const arch::Arch& arch, const Options& options) {
  const fabric::LinkExtraHops* h = options.link_extra_hops.get();
  if (!h) return 0;
  uint32_t hops = 0;
  for (uint16_t e : h->east) hops = std::max<uint32_t>(hops, e);
  for (uint16_t s : h->south) hops = std::max<uint32_t>(hops, s);
  return hops * uint32_t(arch.hop_latency);
}

RouteCounts count_routes(const arch::Arch& arch, const ir::Program& program, const Options& options) {
  const ir::PortMask ramp = ir::port_bit(ir::Dir::ramp);
  RouteCounts c;
  for (const ir::Route& r : program.routes) {
    ir::PortMask rx = 0, tx = 0;
    for (const ir::RoutePosition& p : r.positions) {
      rx |= p.rx;
      tx |= p.tx;
    }
    const uint64_t area = uint64_t(r.rect.area());
    c.slots += area;
    c.channels += area * uint64_t(std::popcount(unsigned(rx)) + ((tx & ramp) ? 1 : 0));
    c.positions += r.positions.size();
    auto deepest = [&](bool used, uint32_t depth) { if (used) c.max_cap = std::max(c.max_cap, depth); };
    deepest(rx & ~ramp, uint32_t(arch.router_queue_depth) + extra_link_cap(arch, options));
    deepest(rx & ramp, uint32_t(arch.core_output_queue_depth));
    deepest(tx & ramp, uint32_t(arch.core_input_queue_depth));
  }
  return c;
}

// Pages holding the copies of blocks [b0, b1) of the `run` consecutive PEs from `first`.
uint64_t run_pages(uint64_t pes, uint64_t first, uint64_t run, uint64_t b0, uint64_t b1) {
  constexpr uint64_t kBlocksPerPage = kPage / kSramBlock;
  uint64_t pages = 0;
  for (uint64_t b = b0; b < b1; ++b) {
    const uint64_t start = b * pes + first;
    pages += (start + run - 1) / kBlocksPerPage - start / kBlocksPerPage + 1;
  }
  return pages;
}

uint64_t sram_bytes(const ir::Program& program) {
  const uint64_t width = uint64_t(program.width), pes = width * uint64_t(program.height);
  uint64_t pages = 0;
  for (const ir::Placement& pl : program.placements) {
    const ir::Code& code = program.codes[size_t(pl.code)];
    if (code.symbols.empty()) continue;
    const ir::Layout layout = ir::layout_code(code);
    const uint64_t b0 = layout.offset[0] / kSramBlock, b1 = (layout.bytes + kSramBlock - 1) / kSramBlock;
    const ir::Rect& r = pl.rect;
    if (r.x == 0 && uint64_t(r.w) == width) {
      pages += run_pages(pes, uint64_t(r.y) * width, uint64_t(r.area()), b0, b1);
      continue;
    }
    for (int y = r.y; y < r.y + r.h; ++y) pages += run_pages(pes, uint64_t(y) * width + uint64_t(r.x), uint64_t(r.w), b0, b1);
  }
  return pages * kPage;
}

// Microthread ops, allocated by the first async op of each PE whose code has one.
uint64_t micro_bytes(const arch::Arch& arch, const ir::Program& program) {
  uint64_t bytes = 0;
  for (const ir::Placement& pl : program.placements) {
    const auto& instrs = program.codes[size_t(pl.code)].instrs;
    if (std::none_of(instrs.begin(), instrs.end(), [](const ir::Instr& i) { return i.async; })) continue;
    bytes += uint64_t(pl.rect.area()) * uint64_t(arch.microthreads) * sizeof(VecOp);
  }
  return bytes;
}

// The Machine's copy of the program and the host script's largest expanded copy in, plus its
// streams (every PE of a stream's edge gets the wavelets' bits).
uint64_t program_bytes(const ir::Program& program) {
  uint64_t copy = 0, largest_h2d = 0;
  for (const ir::Code& c : program.codes) copy += c.instrs.size() * sizeof(ir::Instr) + c.symbols.size() * sizeof(ir::Symbol);
  for (const ir::Route& r : program.routes) copy += sizeof(ir::Route) + r.positions.size() * sizeof(ir::RoutePosition);
  for (const ir::HostOp& op : program.host) {
    const uint64_t values = op.data.values.size();
    copy += sizeof(ir::HostOp) + values * sizeof(double);
    if (op.kind == ir::HostOp::Kind::stream_in) copy += values * sizeof(uint32_t) * uint64_t(op.rect.area());
    if (op.kind != ir::HostOp::Kind::h2d) continue;
    uint64_t count = 0;
    for (const ir::Code& c : program.codes) {
      const int s = c.find_symbol(op.name);
      if (s >= 0) count = std::max<uint64_t>(count, c.symbols[size_t(s)].count);
    }
    largest_h2d = std::max(largest_h2d, std::max(values, count * uint64_t(op.rect.area())) * sizeof(double));
  }
  return copy + largest_h2d;
}

}  // namespace

uint64_t estimate_memory(const arch::Arch& arch, const ir::Program& program, const Options& options) {
  const uint64_t pes = uint64_t(program.width) * uint64_t(program.height);
  const RouteCounts routes = count_routes(arch, program, options);
  const uint64_t ring = std::bit_ceil(routes.max_cap);
  const uint64_t map = (pes + 1) * sizeof(uint32_t) + routes.slots * sizeof(fabric::ColorSlot) +
                       routes.positions * sizeof(ir::RoutePosition) + 2 * routes.channels * kChannelMapBytes;
  const uint64_t channels = routes.channels * (sizeof(Channel) + ring * sizeof(Wavelet));
  const uint64_t per_pe = sizeof(Core) + sizeof(std::atomic<uint32_t>) +
                          uint64_t(arch.registers) * sizeof(uint32_t) + uint64_t(arch.dsd_registers) * sizeof(Dsd) +
                          (options.collect_stats ? kStatsBytesPerPe : 0) +
                          (options.collect_stats || options.count_compute ? sizeof(Stats::compute[0]) : 0);
  const uint64_t active = kActiveSets * ((pes + 63) / 64) * sizeof(uint64_t);
  const uint64_t trace = options.trace.enabled ? 2 * options.trace.max_events * sizeof(TraceEvent) : 0;
  return map + channels + routes.slots * sizeof(SlotRoute) + pes * per_pe + active +
         micro_bytes(arch, program) + sram_bytes(program) + trace + program_bytes(program);
}

}  // namespace wafer::sim
