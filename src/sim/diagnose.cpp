// Describes what a stuck PE is waiting for, for deadlock reports: the running task and
// instruction, the vector op and the fabric operand it waits on, a send that cannot leave,
// and every non-empty queue with its color, port and occupancy.
#include <fmt/format.h>

#include "machine.hpp"

namespace wafer::sim {

namespace {

std::string describe_op(Machine& m, uint32_t pe, const VecOp& op, const char* who) {
  const ir::Code& code = m.program.codes[size_t(m.cores[pe].code)];
  const ir::Instr& in = code.instrs[op.instr];
  std::string s = fmt::format("; {} '{}' (instruction {}{}) done {}/{}", who,
                              ir::op_info(in.op).name, op.instr,
                              in.loc.line ? fmt::format(", line {}", in.loc.line) : "", op.done,
                              op.length);
  for (int i = 0; i < op.nsrc; ++i) {
    if (op.src[i].kind == Dsd::fabric && !m.nonempty(op.src[i].base)) {
      s += fmt::format(", waits for input on color {} (queue empty)", m.map.channel_color[op.src[i].base]);
    }
  }
  if (op.dst.kind == Dsd::fabric) {
    s += fmt::format(", sends on color {} (ramp queue {}/{})", m.map.channel_color[op.dst.base],
                     m.occupancy(op.dst.base), m.map.channel_cap[op.dst.base]);
  }
  return s;
}

std::string describe_queues(Machine& m, uint32_t pe) {
  std::string s;
  for (uint32_t i = m.map.slot_begin[pe]; i < m.map.slot_begin[pe + 1]; ++i) {
    const fabric::ColorSlot& slot = m.map.slots[i];
    auto add = [&](uint32_t c, const char* what) {
      if (c == fabric::kNoChannel || !m.nonempty(c)) return;
      s += fmt::format("; color {} {}: {}/{} wavelets queued", slot.color, what, m.occupancy(c),
                       m.map.channel_cap[c]);
    };
    static const char* kFrom[] = {"from N", "from E", "from S", "from W", "from core"};
    for (int p = 0; p < fabric::kPorts; ++p) add(slot.rx_channel[p], kFrom[p]);
    add(slot.tx_channel[int(ir::Dir::ramp)], "to core");
    const ir::RoutePosition& pos = m.map.position(slot, m.slot_route[i].position);
    if (slot.num_positions > 1) {
      s += fmt::format(" (switch position {} rx {} tx {})", m.slot_route[i].position,
                       ir::port_mask_name(pos.rx), ir::port_mask_name(pos.tx));
    }
  }
  return s;
}

}  // namespace

std::string describe_pe(Machine& m, uint32_t pe) {
  const Core& core = m.cores[pe];
  std::string s = m.where(pe);
  if (core.code >= 0) {
    if (core.task >= 0) {
      s = m.where_instr(pe, core.main.instr != kNone ? core.main.instr : core.pc);
    } else {
      s += fmt::format(" code '{}' idle", m.program.codes[size_t(core.code)].name);
    }
    if (core.main.instr != kNone) s += describe_op(m, pe, core.main, "vector op");
    for (int i = 0; core.micro && i < m.arch.microthreads; ++i) {
      if (core.micro[size_t(i)].instr != kNone) s += describe_op(m, pe, core.micro[size_t(i)], "async op");
    }
  }
  return s + describe_queues(m, pe);
}

}  // namespace wafer::sim
