// Compiles rectangle routes into per-PE color slots and channels; see fabric_map.hpp.
//
// Pass 1 counts routes per PE, pass 2 fills each PE's slot list (sorted by color), pass 3
// allocates input channels, pass 4 resolves every transmit port to its destination channel.
#include "wafer/fabric/fabric_map.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace wafer::fabric {

using ir::Dir;

namespace {

Dir opposite(Dir d) {
  switch (d) {
    case Dir::north: return Dir::south;
    case Dir::south: return Dir::north;
    case Dir::east: return Dir::west;
    case Dir::west: return Dir::east;
    default: return Dir::ramp;
  }
}

// Neighbour coordinate in direction d (north is y-1).
void step(Dir d, int& x, int& y) {
  if (d == Dir::north) --y;
  if (d == Dir::south) ++y;
  if (d == Dir::east) ++x;
  if (d == Dir::west) --x;
}

struct Builder {
  const ir::Program& program;
  const arch::Arch& arch;
  FabricMap map;

  uint32_t add_channel(uint32_t pe, ChannelKind kind, int color, Dir port, int cap) {
    map.channel_pe.push_back(pe);
    map.channel_cap.push_back(uint8_t(cap));
    map.channel_kind.push_back(kind);
    map.channel_color.push_back(uint8_t(color));
    map.channel_port.push_back(uint8_t(port));
    return map.num_channels() - 1;
  }

  Status place_slots() {
    const size_t n = size_t(program.width) * size_t(program.height);
    std::vector<uint32_t> count(n + 1, 0);
    for (const ir::Route& r : program.routes) {
      for (int y = r.rect.y; y < r.rect.y + r.rect.h; ++y)
        for (int x = r.rect.x; x < r.rect.x + r.rect.w; ++x) ++count[size_t(y) * program.width + x];
    }
    map.slot_begin.assign(n + 1, 0);
    for (size_t i = 0; i < n; ++i) map.slot_begin[i + 1] = map.slot_begin[i] + count[i];
    map.slots.resize(map.slot_begin[n]);
    std::vector<uint32_t> fill(map.slot_begin.begin(), map.slot_begin.end() - 1);
    for (const ir::Route& r : program.routes) {
      ColorSlot s{};
      s.color = uint8_t(r.color);
      s.num_positions = uint8_t(r.positions.size());
      s.first_position = uint32_t(map.positions.size());
      std::fill(std::begin(s.rx_channel), std::end(s.rx_channel), kNoChannel);
      std::fill(std::begin(s.tx_channel), std::end(s.tx_channel), kNoChannel);
      map.positions.insert(map.positions.end(), r.positions.begin(), r.positions.end());
      for (int y = r.rect.y; y < r.rect.y + r.rect.h; ++y)
        for (int x = r.rect.x; x < r.rect.x + r.rect.w; ++x)
          map.slots[fill[size_t(y) * program.width + x]++] = s;
    }
    for (size_t i = 0; i < n; ++i) {
      auto begin = map.slots.begin() + map.slot_begin[i];
      auto end = map.slots.begin() + map.slot_begin[i + 1];
      std::sort(begin, end, [](const ColorSlot& a, const ColorSlot& b) { return a.color < b.color; });
      const auto same = std::adjacent_find(
          begin, end, [](const ColorSlot& a, const ColorSlot& b) { return a.color == b.color; });
      if (same != end) {
        return make_error("two routes for color {} on PE ({},{})", same->color,
                          i % size_t(program.width), i / size_t(program.width));
      }
    }
    return Status::ok();
  }

  static void union_masks(const FabricMap& m, const ColorSlot& s, ir::PortMask& rx,
                          ir::PortMask& tx) {
    rx = tx = 0;
    for (int p = 0; p < s.num_positions; ++p) {
      rx |= m.position(s, p).rx;
      tx |= m.position(s, p).tx;
    }
  }

  void allocate_inputs() {
    const uint32_t n = uint32_t(program.width) * uint32_t(program.height);
    for (uint32_t pe = 0; pe < n; ++pe) {
      for (uint32_t i = map.slot_begin[pe]; i < map.slot_begin[pe + 1]; ++i) {
        ColorSlot& s = map.slots[i];
        ir::PortMask rx, tx;
        union_masks(map, s, rx, tx);
        s.rx_mask = rx;
        for (int p = 0; p < kPorts; ++p) {
          if (!(rx & (1u << p))) continue;
          const bool ramp = p == int(Dir::ramp);
          s.rx_channel[p] = add_channel(pe, ramp ? ChannelKind::core_out : ChannelKind::link,
                                        s.color, Dir(p),
                                        ramp ? arch.core_output_queue_depth : arch.router_queue_depth);
        }
        if (tx & ir::port_bit(Dir::ramp)) {
          s.tx_channel[int(Dir::ramp)] = add_channel(pe, ChannelKind::core_in, s.color, Dir::ramp,
                                                     arch.core_input_queue_depth);
        }
      }
    }
  }

  Status resolve_outputs() {
    const uint32_t n = uint32_t(program.width) * uint32_t(program.height);
    for (uint32_t pe = 0; pe < n; ++pe) {
      const int x = int(pe % uint32_t(program.width)), y = int(pe / uint32_t(program.width));
      for (uint32_t i = map.slot_begin[pe]; i < map.slot_begin[pe + 1]; ++i) {
        ColorSlot& s = map.slots[i];
        ir::PortMask rx, tx;
        union_masks(map, s, rx, tx);
        for (int p = 0; p < 4; ++p) {
          if (!(tx & (1u << p))) continue;
          int nx = x, ny = y;
          step(Dir(p), nx, ny);
          if (nx < 0 || ny < 0 || nx >= program.width || ny >= program.height) {
            return make_error("PE ({},{}) sends color {} {} off the edge of the {}x{} program",
                              x, y, s.color, ir::dir_name(Dir(p)), program.width, program.height);
          }
          const uint32_t npe = uint32_t(ny) * uint32_t(program.width) + uint32_t(nx);
          const ColorSlot* ns = map.find_slot(npe, s.color);
          const int from = int(opposite(Dir(p)));
          if (!ns || ns->rx_channel[from] == kNoChannel) {
            return make_error(
                "PE ({},{}) sends color {} {} but PE ({},{}) has no route receiving color {} from {}",
                x, y, s.color, ir::dir_name(Dir(p)), nx, ny, s.color, ir::dir_name(Dir(from)));
          }
          s.tx_channel[p] = ns->rx_channel[from];
        }
      }
    }
    return Status::ok();
  }
};

}  // namespace

const ColorSlot* FabricMap::find_slot(uint32_t pe, int color) const {
  for (uint32_t i = slot_begin[pe]; i < slot_begin[pe + 1]; ++i) {
    if (slots[i].color == color) return &slots[i];
  }
  return nullptr;
}

Expected<FabricMap> build_fabric_map(const ir::Program& program, const arch::Arch& arch) {
  Builder b{program, arch, {}};
  b.map.width = program.width;
  b.map.height = program.height;
  WAFER_TRY(b.place_slots());
  b.allocate_inputs();
  WAFER_TRY(b.resolve_outputs());
  return std::move(b.map);
}

}  // namespace wafer::fabric
