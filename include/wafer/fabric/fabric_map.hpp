// Compiled routing of a Program: per-PE color slots and the channels that link them.
//
// build_fabric_map() turns the program's rectangle routes into, for every PE, a short list of
// color slots (the colors the PE routes, sorted by color). Each slot owns one input channel
// per port it may receive from (N, E, S, W, and the ramp from its own core), and knows, for
// each port it may transmit to, the channel at the far end: the neighbour's slot of the same
// color receiving from the opposite side, or this PE's core input channel (ramp). Building
// checks that every transmitted color is received: a route sending off the program, or into
// a neighbour with no route for that color from that side, is an error naming both PEs.
// Cost is linear in the summed route area, so the full 893,064-PE fabric builds in a second.
#pragma once

#include <cstdint>
#include <vector>

#include "wafer/arch/arch.hpp"
#include "wafer/ir/program.hpp"
#include "wafer/support/error.hpp"

namespace wafer::fabric {

constexpr uint32_t kNoChannel = UINT32_MAX;
constexpr int kPorts = 5;

struct ColorSlot {
  uint8_t color = 0;
  uint8_t num_positions = 1;
  uint8_t rx_mask = 0;                    // ports with an input channel (all positions)
  uint32_t first_position = 0;            // index into FabricMap::positions
  uint32_t rx_channel[kPorts];            // input channel per port, or kNoChannel
  uint32_t tx_channel[kPorts];            // destination channel per port, or kNoChannel
};

enum class ChannelKind : uint8_t { link, core_in, core_out };

struct FabricMap {
  int width = 0, height = 0;
  std::vector<uint32_t> slot_begin;       // per PE (y * width + x), size width*height+1
  std::vector<ColorSlot> slots;
  std::vector<ir::RoutePosition> positions;
  // Per channel: owning PE (the receiver) and its capacity in wavelets.
  std::vector<uint32_t> channel_pe;
  std::vector<uint8_t> channel_cap;
  std::vector<ChannelKind> channel_kind;
  std::vector<uint8_t> channel_color;
  std::vector<uint8_t> channel_port;      // the receiving port (ramp for core_out)

  uint32_t num_channels() const { return uint32_t(channel_pe.size()); }
  // The slot of `color` on PE `pe`, or nullptr.
  const ColorSlot* find_slot(uint32_t pe, int color) const;
  // Route of a slot in its current position.
  const ir::RoutePosition& position(const ColorSlot& s, int index) const {
    return positions[s.first_position + uint32_t(index)];
  }
};

Expected<FabricMap> build_fabric_map(const ir::Program& program, const arch::Arch& arch);

}  // namespace wafer::fabric
