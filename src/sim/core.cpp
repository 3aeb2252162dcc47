// One cycle of one PE's core: vector ops advance, then the main thread issues one instruction.
//
// The main thread runs the current task to completion, one scalar instruction per cycle; a
// synchronous vector op holds it until the op completes; an asynchronous op is handed to a
// free microthread (the main thread stalls while none is free) and, when it completes,
// activates or unblocks a task. With no task running the core picks the ready task with the
// lowest id: a local task that is activated and not blocked, or a data task whose color has a
// data wavelet waiting (that wavelet is popped into the `wavelet` special). Control wavelets
// reaching the core are consumed there and activate the task whose id they carry.
//
// The engine's sweep takes the cycle of a core whose only op is a fabric-fed fp32 stream
// inline (PeStep::core, step.hpp) and calls step_core_general here for every other cycle.
#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "step.hpp"

namespace wafer::sim {

using ir::Opcode;
using ir::Operand;

namespace {

struct Exec {
  Machine& m;
  uint32_t pe;
  uint32_t t;
  ThreadCtx& ctx;
  Core& core;
  const ir::Code& code;
  const CodeInfo& info;
  uint32_t* regs;

  uint32_t source(const Operand& o) const { return m.scalar_source(pe, o); }

  // Whether the instruction only moves data between the fabric and the core (Stats::compute):
  // send, sendc, fdsd, and a vmov whose destination or source DSD is a fabric one.
  bool moves_fabric_data(const ir::Instr& in) const {
    if (in.op == Opcode::send || in.op == Opcode::sendc || in.op == Opcode::fdsd) return true;
    if (in.op != Opcode::vmov) return false;
    const Dsd* d = m.pe_dsds(pe);
    for (int i = 0; i < 2; ++i) {
      if (in.args[size_t(i)].kind == Operand::Kind::dsd && d[in.args[size_t(i)].value].kind == Dsd::fabric) return true;
    }
    return false;
  }

  // A runtime fault: the first one of the cycle stops the core.
  void fail(const std::string& what) {
    if (core.code >= 0) fault(m, pe, ctx, m.where_instr(pe, core.pc) + ": " + what);
  }

  uint32_t int_op(Opcode op, int32_t a, int32_t b, bool& ok) {
    switch (op) {
      case Opcode::add: return uint32_t(a) + uint32_t(b);
      case Opcode::sub: return uint32_t(a) - uint32_t(b);
      case Opcode::mul: return uint32_t(int64_t(a) * int64_t(b));
      case Opcode::div:
      case Opcode::rem:
        if (b == 0 || (a == INT32_MIN && b == -1)) {
          fail(b == 0 ? "integer division by zero" : "integer division overflow");
          ok = false;
          return 0;
        }
        return uint32_t(op == Opcode::div ? a / b : a % b);
      case Opcode::and_: return uint32_t(a & b);
      case Opcode::or_: return uint32_t(a | b);
      case Opcode::xor_: return uint32_t(a ^ b);
      case Opcode::shl: return uint32_t(a) << (uint32_t(b) & 31);
      case Opcode::shr: return uint32_t(a >> (uint32_t(b) & 31));
      default: WAFER_CHECK(!"int_op takes the integer opcodes execute() routes to it"); return 0;
    }
  }

  uint32_t float_op(Opcode op, float a, float b) {
    switch (op) {
      case Opcode::fadd: return f32_to_bits(a + b);
      case Opcode::fsub: return f32_to_bits(a - b);
      case Opcode::fmul: return f32_to_bits(a * b);
      case Opcode::fdiv: return f32_to_bits(a / b);
      case Opcode::fmax: return f32_to_bits(std::fmax(a, b));
      default: WAFER_CHECK(!"float_op takes the float opcodes execute() routes to it"); return 0;
    }
  }

  // Element address of symbol[index], or kNone after reporting an out-of-range index.
  uint32_t element_addr(int sym, int32_t index) {
    const ir::Symbol& s = code.symbols[size_t(sym)];
    if (index < 0 || uint32_t(index) >= s.count) {
      fail(fmt::format("index {} outside symbol '{}' ({} elements)", index, s.name, s.count));
      return kNone;
    }
    return info.layout.offset[size_t(sym)] + uint32_t(index) * uint32_t(dtype_bytes(s.type));
  }

  void load(const ir::Instr& in) {
    const int sym = in.args[1].value;
    const uint32_t addr = element_addr(sym, int32_t(source(in.args[2])));
    if (addr == kNone) return;
    const DType ty = code.symbols[size_t(sym)].type;
    const double v = decode_value(ty, m.sram.read(pe, addr, dtype_bytes(ty)));
    regs[in.args[0].value] = dtype_is_float(ty) ? f32_to_bits(float(v)) : uint32_t(int32_t(v));
  }

  void store(const ir::Instr& in) {
    const int sym = in.args[0].value;
    const uint32_t addr = element_addr(sym, int32_t(source(in.args[1])));
    if (addr == kNone) return;
    const DType ty = code.symbols[size_t(sym)].type;
    const uint32_t raw = source(in.args[2]);
    const double v = dtype_is_float(ty) ? double(bits_to_f32(raw)) : double(int32_t(raw));
    m.sram.write(pe, addr, dtype_bytes(ty), encode_value(ty, v));
  }

  bool branch_taken(Opcode op, int32_t a, int32_t b) {
    switch (op) {
      case Opcode::beq: return a == b;
      case Opcode::bne: return a != b;
      case Opcode::blt: return a < b;
      case Opcode::bge: return a >= b;
      default: WAFER_CHECK(!"branch_taken takes the branch opcodes execute() routes to it"); return false;
    }
  }

  void make_memory_dsd(const ir::Instr& in) {
    const int sym = in.args[1].value;
    const ir::Symbol& s = code.symbols[size_t(sym)];
    const int64_t offset = int32_t(source(in.args[2]));
    const int64_t length = int32_t(source(in.args[3]));
    const int64_t stride = in.args[4].value;
    const int64_t last = offset + (length - 1) * stride;
    if (length < 1 || offset < 0 || offset >= int64_t(s.count) || last < 0 || last >= int64_t(s.count)) {
      fail(fmt::format("DSD outside memory: elements {}..{} (length {}, stride {}) of symbol '{}' "
                       "which has {} elements",
                       offset, last, length, stride, s.name, s.count));
      return;
    }
    Dsd& d = m.pe_dsds(pe)[in.args[0].value];
    d.kind = Dsd::memory;
    d.base = info.layout.offset[size_t(sym)] + uint32_t(offset) * uint32_t(dtype_bytes(s.type));
    d.length = uint32_t(length);
    d.stride = int32_t(stride);
    d.type = s.type;
    d.symbol = uint16_t(sym);
  }

  void make_fabric_dsd(const ir::Instr& in) {
    const int64_t length = int32_t(source(in.args[2]));
    if (length < 1) {
      fail(fmt::format("fabric DSD length {} must be at least 1", length));
      return;
    }
    Dsd& d = m.pe_dsds(pe)[in.args[0].value];
    d.kind = Dsd::fabric;
    d.base = uint32_t(in.args[1].value);
    d.length = uint32_t(length);
    d.stride = 0;
    d.type = DType(in.args[3].value);
  }

  // Returns false when the instruction must be retried next cycle (a stall).
  bool send(const ir::Instr& in, bool control) {
    const int color = in.args[0].value;
    const fabric::ColorSlot* s = m.map.find_slot(pe, color);
    if (!s || s->rx_channel[int(ir::Dir::ramp)] == fabric::kNoChannel) {
      fail(fmt::format("send on color {} but the route of PE ({},{}) does not take color {} "
                       "from its core (no R in rx)", color, m.pe_x(pe), m.pe_y(pe), color));
      return true;
    }
    const uint32_t c = s->rx_channel[int(ir::Dir::ramp)];
    if (!m.can_push(c, t)) return false;
    m.push(c, Wavelet{source(in.args[1]), (control ? kCtrlBit : 0u) | (t + m.arch.ramp_latency)});
    return true;
  }

  void end_task() {
    record_span(m, ctx, pe, core.task_start, m.epoch + t + 1, core.task, -1, 0);
    core.task = -1;
  }

  // Issues a vector op; false when it must be retried (no free microthread).
  bool vector(const ir::Instr& in) {
    VecOp* slot = &core.main;
    int micro = -1;
    if (in.async) {
      if (!core.micro) core.micro.reset(new VecOp[size_t(m.arch.microthreads)]);
      for (int i = 0; i < m.arch.microthreads && micro < 0; ++i) {
        if (core.micro[size_t(i)].instr == kNone) micro = i;
      }
      if (micro < 0) return false;
      slot = &core.micro[size_t(micro)];
    }
    Status st = issue_vector(m, pe, in, *slot, t);
    if (!st) {
      fault(m, pe, ctx, st.message());
      return true;
    }
    slot->task = core.task;
    if (in.async) core.issue_order[core.async_active++] = uint8_t(micro);
    return true;
  }

  // Executes the instruction at pc; returns false on a stall.
  bool execute() {
    const ir::Instr& in = code.instrs[core.pc];
    const auto& a = in.args;
    uint32_t next = core.pc + 1;
    const Opcode op = in.op;
    bool ok = true;
    switch (op) {
      case Opcode::nop: break;
      case Opcode::movi:
      case Opcode::mov: regs[a[0].value] = source(a[1]); break;
      case Opcode::add: case Opcode::sub: case Opcode::mul: case Opcode::div: case Opcode::rem:
      case Opcode::and_: case Opcode::or_: case Opcode::xor_: case Opcode::shl: case Opcode::shr: {
        uint32_t r = int_op(op, int32_t(source(a[1])), int32_t(source(a[2])), ok);
        if (ok) regs[a[0].value] = r;
        break;
      }
      case Opcode::fadd: case Opcode::fsub: case Opcode::fmul: case Opcode::fdiv: case Opcode::fmax:
        regs[a[0].value] = float_op(op, bits_to_f32(source(a[1])), bits_to_f32(source(a[2])));
        break;
      case Opcode::itof: regs[a[0].value] = f32_to_bits(float(int32_t(source(a[1])))); break;
      case Opcode::ftoi: {
        double v = std::trunc(double(bits_to_f32(source(a[1]))));
        if (std::isnan(v)) v = 0;
        v = std::fmin(std::fmax(v, double(INT32_MIN)), double(INT32_MAX));
        regs[a[0].value] = uint32_t(int32_t(v));
        break;
      }
      case Opcode::ld: load(in); break;
      case Opcode::st: store(in); break;
      case Opcode::beq: case Opcode::bne: case Opcode::blt: case Opcode::bge:
        if (branch_taken(op, int32_t(source(a[0])), int32_t(source(a[1])))) next = uint32_t(a[2].value);
        break;
      case Opcode::jmp: next = uint32_t(a[0].value); break;
      case Opcode::activate:
        if (!(info.local_mask & (1ull << a[0].value))) {
          fail(fmt::format("activate of task id {}, which is not a local or control task", a[0].value));
          return true;
        }
        core.activated |= 1ull << a[0].value;
        break;
      case Opcode::block: core.blocked |= 1ull << a[0].value; break;
      case Opcode::unblock: core.blocked &= ~(1ull << a[0].value); break;
      case Opcode::ret: end_task(); return true;
      case Opcode::send:
      case Opcode::sendc:
        if (!send(in, op == Opcode::sendc)) return false;
        break;
      case Opcode::mdsd: make_memory_dsd(in); break;
      case Opcode::fdsd: make_fabric_dsd(in); break;
      WAFER_VECTOR_OPCODE_CASES:
        if (!vector(in)) return false;
        break;
      case Opcode::count_: fail("opcode out of range"); return true;
    }
    core.pc = next;
    if (next >= code.instrs.size()) {
      fail("ran past the last instruction (missing 'ret')");
    }
    return true;
  }

  // Consumes control wavelets at the core's inputs and picks the next task; true if picked.
  bool pick_task() {
    const uint32_t begin = m.map.slot_begin[pe], end = m.map.slot_begin[pe + 1];
    int best = 64;
    uint32_t best_channel = kNone;
    for (uint32_t i = begin; i < end; ++i) {
      const uint32_t c = m.map.slots[i].tx_channel[int(ir::Dir::ramp)];
      if (c == fabric::kNoChannel) continue;
      Wavelet w;
      if (!m.peek(c, t, w)) continue;
      if (w.control()) {
        m.pop(c, t);
        ++ctx.progress;
        if (w.data >= 64 || !(info.local_mask & (1ull << w.data))) {
          fail(fmt::format("a control wavelet on color {} carries task id {}, but code '{}' has no "
                           "local or control task with that id", m.map.slots[i].color, w.data, code.name));
          return false;
        }
        core.activated |= 1ull << w.data;
        continue;
      }
      const int task = info.data_task_for_color[m.map.slots[i].color];
      if (task >= 0 && !(core.blocked & (1ull << task)) && task < best && !color_in_use(c)) {
        best = task;
        best_channel = c;
      }
    }
    const uint64_t ready = core.activated & ~core.blocked & info.local_mask;
    if (ready) {
      const int local = __builtin_ctzll(ready);
      if (local < best) {
        best = local;
        best_channel = kNone;
        core.activated &= ~(1ull << local);
      }
    }
    if (best == 64) return false;
    if (best_channel != kNone) {
      Wavelet w;
      m.peek(best_channel, t, w);
      core.wavelet = w.data;
      m.pop(best_channel, t);
    }
    core.task = int16_t(best);
    core.pc = info.entry_for_task[size_t(best)];
    core.task_start = m.epoch + t;
    return true;
  }

  bool color_in_use(uint32_t channel) const {
    auto reads = [&](const VecOp& op) {
      if (op.instr == kNone) return false;
      for (int i = 0; i < op.nsrc; ++i) {
        if (op.src[i].kind == Dsd::fabric && op.src[i].base == channel) return true;
      }
      return false;
    };
    if (reads(core.main)) return true;
    for (int i = 0; core.micro && i < m.arch.microthreads; ++i) {
      if (reads(core.micro[size_t(i)])) return true;
    }
    return false;
  }
};

}  // namespace

namespace {

struct CycleState {
  int reads_left, writes_left;
  bool busy = false, stalled = false, spin = false, compute = false;
  void account(VecProgress p, const VecOp& op) {
    if (p == VecProgress::busy) {
      busy = true;
      compute = compute || !op.transfer;
    } else {
      stalled = true;
    }
    if (p != VecProgress::waiting_input) spin = true;
  }
};

void complete_async(Core& core, const ir::Code& code, int micro) {
  VecOp& op = core.micro[size_t(micro)];
  const ir::Instr& in = code.instrs[op.instr];
  if (in.on_done == ir::OnDone::activate) core.activated |= 1ull << in.done_task;
  if (in.on_done == ir::OnDone::unblock) core.blocked &= ~(1ull << in.done_task);
  op.instr = kNone;
  uint8_t* order = core.issue_order;
  const int n = core.async_active--;
  uint8_t* at = std::find(order, order + n, uint8_t(micro));
  std::copy(at + 1, order + n, at);
}

bool core_input_waiting(Machine& m, uint32_t pe) {
  for (uint32_t i = m.map.slot_begin[pe]; i < m.map.slot_begin[pe + 1]; ++i) {
    const uint32_t c = m.map.slots[i].tx_channel[int(ir::Dir::ramp)];
    if (c != fabric::kNoChannel && m.nonempty(c)) return true;
  }
  return false;
}

// The end of a core's cycle: counters, and whether the core needs the next cycle. A core
// whose ops only wait for fabric input sleeps: the wavelet's arrival wakes it, and a run that
// ends with such a core is a deadlock.
bool end_core_cycle(Machine& m, uint32_t pe, uint32_t t, Core& core, const CycleState& cs,
                    bool issued, bool main_finished, ThreadCtx& ctx) {
  if (cs.busy) ++ctx.progress;
  if (m.options.collect_stats) {
    if (cs.busy) ++m.stats.busy[pe];
    else if (cs.stalled) ++m.stats.stall[pe];
  }
  if (cs.compute && !m.stats.compute.empty()) ++m.stats.compute[pe];
  const bool pending = cs.busy || cs.spin || main_finished || (issued && core.task >= 0) ||
                       (core.task >= 0 && core.main.instr == kNone) ||
                       (core.activated & ~core.blocked) || core_input_waiting(m, pe);
  if (!pending && (core.main.instr != kNone || core.async_active) && m.options.collect_stats) {
    core.asleep_since = t + 1;
  }
  return pending;
}

// An op that can move no element this cycle with no side effect, known without stepping it:
// an older op has taken ports this cycle (so the core is busy this cycle, whatever this op
// reports), this op's next element needs ports no longer left, and it is past its setup, holds
// no ports and accumulates no fractional rate. progress_vector would report it stalled.
bool waits_for_ports(const Machine& m, const VecOp& op, const CycleState& cs) {
  const bool ports_taken = cs.reads_left < m.arch.mem_read_ports || cs.writes_left < m.arch.mem_write_ports;
  return ports_taken && (op.reads_one > cs.reads_left || op.writes_one > cs.writes_left) &&
         op.setup_left == 0 && op.port_wait == 0 && op.lanes >= 1.0f;
}

// The general cycle: every op, then the main thread's next instruction.
bool general_cycle(Machine& m, uint32_t pe, uint32_t t, ThreadCtx& ctx, Core& core) {
  const ir::Code& code = m.program.codes[size_t(core.code)];
  CycleState cs{m.arch.mem_read_ports, m.arch.mem_write_ports};
  bool main_finished = false;
  if (core.main.instr != kNone) {
    cs.account(progress_vector(m, pe, core.main, t, cs.reads_left, cs.writes_left, ctx, main_finished), core.main);
    if (main_finished) core.main.instr = kNone;
  }
  if (core.async_active) {
    // Oldest first: the oldest op takes the memory ports first, so ops issued one after
    // another finish in that order (a newer op on a freed microthread never starves an older
    // one) and an op never overtakes an older op on the same data.
    uint8_t order[16];
    const int n = core.async_active;
    std::copy(core.issue_order, core.issue_order + n, order);
    for (int j = 0; j < n; ++j) {
      VecOp& op = core.micro[order[j]];
      if (waits_for_ports(m, op, cs)) continue;
      bool finished = false;
      cs.account(progress_vector(m, pe, op, t, cs.reads_left, cs.writes_left, ctx, finished), op);
      if (finished) complete_async(core, code, order[j]);
    }
  }
  bool issued = false;
  if (core.main.instr == kNone && !main_finished) {
    Exec ex{m, pe, t, ctx, core, code, m.codes[size_t(core.code)], m.pe_regs(pe)};
    if (core.task >= 0 || ex.pick_task()) {
      issued = true;
      const bool transfer = ex.moves_fabric_data(code.instrs[core.pc]);
      if (ex.execute()) {
        cs.busy = true;
        cs.compute = cs.compute || !transfer;
        ++ctx.instructions;
      } else {
        cs.stalled = cs.spin = true;
      }
    }
  }
  return end_core_cycle(m, pe, t, core, cs, issued, main_finished, ctx);
}

}  // namespace

void fault(Machine& m, uint32_t pe, ThreadCtx& ctx, std::string message) {
  ctx.fail(pe, std::move(message));
  m.cores[pe].code = -1;
}

bool step_core_general(Machine& m, uint32_t pe, uint32_t t, ThreadCtx& ctx) {
  Core& core = m.cores[pe];
  if (core.asleep_since != kNone) {
    if (m.options.collect_stats) m.stats.stall[pe] += t - core.asleep_since;
    core.asleep_since = kNone;
  }
  return general_cycle(m, pe, t, ctx, core);
}

bool end_stream_cycle(Machine& m, uint32_t pe, uint32_t t, VecProgress p, bool finished,
                      ThreadCtx& ctx) {
  Core& core = m.cores[pe];
  if (finished) core.main.instr = kNone;
  CycleState cs{0, 0};
  cs.account(p, core.main);
  return end_core_cycle(m, pe, t, core, cs, false, finished, ctx);
}

}  // namespace wafer::sim
