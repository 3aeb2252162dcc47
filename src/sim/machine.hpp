// Internal state of the simulated machine, shared by the engine's files.
//
// Channels are single-producer single-consumer rings of wavelets. A wavelet carries the cycle
// from which its receiver may take it (send cycle + hop or ramp latency, always >= 1), so a
// receiver never sees a wavelet pushed in the same cycle. The producer decides whether there
// is room from the consumer's head as it was at the end of the previous cycle (head_seen), so
// every decision depends only on previous-cycle state: the result is the same whatever order
// PEs are stepped in and however they are split over threads.
//
// Per-PE state is structure-of-arrays where it is hot (active bits, registers, DSDs, stats);
// the Core record holds the task and vector-op state of one PE.
//
// Time: the clock is `epoch + now`, 64 bits. The hot state (wavelets' ready cycles, channel
// stamps, the cycle being stepped) holds cycles relative to the epoch in 32 bits (31 for a
// wavelet, beside its control flag). Once `now` reaches kClockEpoch, the engine moves the
// epoch forward by kClockEpoch between two supersteps and subtracts it from every relative
// cycle (rebase_clock, engine.cpp), so relative cycles stay below 2^30 + kMaxSuperstep plus a
// latency and every run the machine can finish counts its cycles exactly. Cycles that outlive
// an epoch (a task's or a vector op's start, for traces) are kept absolute in 64 bits.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sram.hpp"
#include "wafer/arch/arch.hpp"
#include "wafer/fabric/fabric_map.hpp"
#include "wafer/ir/program.hpp"
#include "wafer/sim/simulator.hpp"

namespace wafer::sim {

constexpr uint32_t kCtrlBit = 1u << 31;
constexpr uint32_t kNone = UINT32_MAX;
// The epoch step of the clock (see the file comment): a multiple of kActiveSets, so that a
// cycle keeps its active set across a rebase.
constexpr uint32_t kClockEpoch = 1u << 30;
// Active sets kept, one per cycle in flight: a superstep of K cycles (engine.cpp) uses K + 1.
constexpr uint32_t kActiveSets = 32;
static_assert(kMaxSuperstep < kActiveSets);
static_assert(kClockEpoch % kActiveSets == 0);

struct Wavelet {
  uint32_t data = 0;
  uint32_t meta = 0;  // bit 31: control; bits 0..30: first cycle the receiver may take it
  uint32_t ready() const { return meta & ~kCtrlBit; }
  bool control() const { return meta & kCtrlBit; }
  // A data wavelet the receiver may take at cycle t (the control bit makes meta exceed any t).
  bool data_ready(uint32_t t) const { return meta <= t; }
};

// Channel::slot_bit of a channel no router reads (a router's output to its own core), or of
// an input of a PE with fewer than kTrackedSlots color slots: such a router looks at every
// slot each cycle, which costs less than an atomic OR on every push into it.
constexpr uint8_t kNoSlotBit = 0xff;
constexpr uint32_t kTrackedSlots = 6;

struct alignas(32) Channel {
  std::atomic<uint32_t> tail{0};   // wavelets pushed (written by the producer only)
  std::atomic<uint32_t> head{0};   // wavelets popped (written by the consumer only)
  std::atomic<uint32_t> stamp{kNone};  // cycle of the consumer's last pop
  uint32_t head_prev = 0;          // head before the first pop of cycle `stamp`
  uint32_t head_known = 0;         // producer only: a head it has seen (never ahead of head)
  uint32_t owner = 0;              // the receiving PE
  uint16_t cap = 1;                // wavelets it can hold
  uint16_t latency = 1;            // cycles from the sender (links: hops x hop_latency)
  uint8_t slot_bit = kNoSlotBit;   // an input of the owner's router: its color slot's bit
};

// A data-structure descriptor, resolved: byte address in SRAM (memory) or channel (fabric).
struct Dsd {
  enum Kind : uint8_t { none, memory, fabric };
  uint32_t base = 0;     // memory: byte address; fabric: color (channel once issued)
  uint32_t length = 0;
  int32_t stride = 1;    // memory: elements
  Kind kind = none;
  DType type = DType::f32;
  uint16_t symbol = 0;   // memory: symbol index, for messages
};

// What a vector op reading a channel finds at cycle t: nothing queued, a head it may not take
// yet (not ready, or a control wavelet), or data it may take.
enum class QueueHead { empty, not_ready, data };

// The channel operations over raw pointers to the channel and ring arrays. Hot functions
// copy it into a local so that the pointers stay in registers: the atomic accesses below
// would otherwise make the compiler reload them from the Machine after every one.
// head_seen looks back one cycle (see the file comment). Every ring holds 2^shift wavelets;
// kShift >= 0 fixes shift at compile time (the engine's sweep is built for the usual size,
// FixedLinks), -1 reads it from `shift`.
template <int kShift>
struct LinksT {
  Channel* ch = nullptr;
  Wavelet* rings = nullptr;
  uint32_t shift = 0;
  // Per PE: a bit per color slot (its index among the PE's slots) that may hold input. A push
  // sets its channel's bit; only the router clears bits, each after it found the slot empty
  // (PeStep::router), so a set bit may be stale but a slot with input always has its bit.
  std::atomic<uint32_t>* slot_input = nullptr;

  [[gnu::always_inline]] uint32_t ring_shift() const {
    if constexpr (kShift >= 0) return uint32_t(kShift);
    else return shift;
  }
  [[gnu::always_inline]] Wavelet* ring(uint32_t c) const {
    return rings + (size_t(c) << ring_shift());
  }
  [[gnu::always_inline]] uint32_t slot(uint32_t i) const { return i & ((1u << ring_shift()) - 1); }
  [[gnu::always_inline]] uint32_t head_seen(uint32_t c, uint32_t t) const {
    const Channel& q = ch[c];
    if (q.stamp.load(std::memory_order_acquire) == t) return q.head_prev;
    uint32_t h = q.head.load(std::memory_order_acquire);
    if (q.stamp.load(std::memory_order_acquire) == t) return q.head_prev;
    return h;
  }
  // Room by the consumer's head as of the end of cycle t-1. Heads only grow, so room by a head
  // the producer saw earlier is room now; only a queue that looked full reads the head again.
  [[gnu::always_inline]] bool can_push(uint32_t c, uint32_t t) const {
    Channel& q = ch[c];
    const uint32_t tl = q.tail.load(std::memory_order_relaxed);
    if (tl - q.head_known < q.cap) return true;
    q.head_known = head_seen(c, t);
    return tl - q.head_known < q.cap;
  }
  [[gnu::always_inline]] void push(uint32_t c, Wavelet w) const {
    Channel& q = ch[c];
    const uint32_t tl = q.tail.load(std::memory_order_relaxed);
    ring(c)[slot(tl)] = w;
    q.tail.store(tl + 1, std::memory_order_release);
    // After the tail: a router that clears the bit and then looks at the tail sees this push.
    if (q.slot_bit != kNoSlotBit) slot_input[q.owner].fetch_or(1u << q.slot_bit, std::memory_order_acq_rel);
  }
  // The head wavelet if one is waiting and may be taken at cycle t.
  [[gnu::always_inline]] bool peek(uint32_t c, uint32_t t, Wavelet& w) const {
    const Channel& q = ch[c];
    const uint32_t h = q.head.load(std::memory_order_relaxed);
    if (h == q.tail.load(std::memory_order_acquire)) return false;
    w = ring(c)[slot(h)];
    return w.ready() <= t;
  }
  // What a vector op reading channel c finds at cycle t (data, if any, in `data`).
  [[gnu::always_inline]] QueueHead data_head(uint32_t c, uint32_t t, uint32_t& data) const {
    const Channel& q = ch[c];
    const uint32_t h = q.head.load(std::memory_order_relaxed);
    if (h == q.tail.load(std::memory_order_acquire)) return QueueHead::empty;
    const Wavelet w = ring(c)[slot(h)];
    if (!w.data_ready(t)) return QueueHead::not_ready;
    data = w.data;
    return QueueHead::data;
  }
  [[gnu::always_inline]] bool nonempty(uint32_t c) const {
    return ch[c].head.load(std::memory_order_relaxed) != ch[c].tail.load(std::memory_order_acquire);
  }
  uint32_t occupancy(uint32_t c) const {
    return ch[c].tail.load(std::memory_order_acquire) - ch[c].head.load(std::memory_order_relaxed);
  }
  [[gnu::always_inline]] void pop(uint32_t c, uint32_t t) const {
    Channel& q = ch[c];
    const uint32_t h = q.head.load(std::memory_order_relaxed);
    if (q.stamp.load(std::memory_order_relaxed) != t) {
      q.head_prev = h;
      q.stamp.store(t, std::memory_order_release);
    }
    q.head.store(h + 1, std::memory_order_release);
  }
};
using Links = LinksT<-1>;
// Rings of 8 wavelets: every preset's queues fit (repaired wafers' longer links may not).
constexpr int kUsualRingShift = 3;
using FixedLinks = LinksT<kUsualRingShift>;

// A vector op in flight. The fields the streaming step reads come first so that, with the
// Core fields before them, one cache line holds all it touches (see Core).
struct VecOp {
  uint32_t instr = kNone;  // kNone: free
  uint32_t done = 0;
  uint32_t length = 0;
  uint16_t setup_left = 0;
  ir::Opcode op = ir::Opcode::nop;
  bool stream_alone = false;  // streaming, and one element fits the ports of a whole cycle
  uint8_t memory_srcs = 0;    // bit per source operand in memory
  uint8_t fabric_srcs = 0;    // bit per source operand on the fabric
  uint8_t scalar_srcs = 0;    // bit per scalar source operand
  bool dst_memory = false;
  uint32_t src_base[3] = {0, 0, 0};  // copies of src[i].base and dst.base
  uint32_t dst_base = 0;
  int32_t src_step[3] = {0, 0, 0};  // memory operands: bytes between elements
  int32_t dst_step = 0;
  // Colder state.
  uint64_t start = 0;  // absolute cycle the op was issued (traces)
  uint16_t port_wait = 0;  // cycles an element still holds the memory ports
  int16_t task = -1;
  float lanes = 1;
  float credit = 0;
  float credit_cap = 1;  // ceil(max(lanes, 1)): the most elements one cycle can take
  uint8_t nsrc = 0;
  bool fast_f32 = false;
  bool any_fabric = false;
  bool transfer = false;   // a vmov with a fabric operand: communication, not compute (Stats::compute)
  bool streaming = false;  // fp32, a fabric operand, >= 1 lane: the one-element fast path
  uint8_t reads_one = 0;   // port reads and writes one element needs
  uint8_t writes_one = 0;
  Dsd dst;
  Dsd src[3];
  uint32_t scalar[3] = {0, 0, 0};  // used when src[i].kind == none
  uint8_t src_shift[3] = {0, 0, 0};  // log2 elements per port access
  uint8_t dst_shift = 0;
};

// A color slot's current switch position, compiled: the router's per-cycle step reads this one
// 32-byte record instead of the slot, its position table and per-port channel arrays.
// (The fields the router writes every cycle are 16-bit: byte-sized stores would make the
// compiler assume they alias anything.)
struct alignas(32) SlotRoute {
  uint32_t rx = kNone;       // the channel of the position's one input port; kNone: several
  uint16_t position = 0;     // current switch position
  uint16_t rr = 0;           // input port served first next time (several input ports)
  uint8_t tx_mask = 0;       // transmit ports of the position
  uint8_t tx_count = 0;
  bool only_input = false;   // every position has the same single input port
  uint8_t rx_mask = 0;       // input ports of the position
  uint32_t tx[5] = {};       // destination channels, in port order
};
static_assert(sizeof(SlotRoute) == 32);

// One PE's core. The fields every cycle reads come first, then the main op's hot fields:
// together they fill the first cache line.
struct alignas(64) Core {
  int16_t code = -1;
  uint16_t async_active = 0;
  uint32_t asleep_since = kNone;  // cycle the core went to sleep waiting for input (stats)
  VecOp main;
  int16_t task = -1;       // running task id, -1 when none
  uint32_t pc = 0;
  uint64_t activated = 0;  // bit per task id
  uint64_t blocked = 0;
  uint32_t wavelet = 0;    // data of the wavelet that started the running data task
  uint64_t task_start = 0;  // absolute cycle the running task started (traces)
  std::unique_ptr<VecOp[]> micro;  // arch.microthreads entries, allocated on first async op
  // The busy microthreads in the order their ops were issued (the first async_active entries).
  uint8_t issue_order[16] = {};
};
static_assert(offsetof(Core, main) + offsetof(VecOp, start) <= 64, "hot core state spans lines");

// Facts about one code, precomputed for the engine.
struct CodeInfo {
  ir::Layout layout;
  std::vector<int16_t> data_task_for_color;  // per color: task id or -1
  std::vector<uint32_t> entry_for_task;      // per task id: entry pc or kNone
  std::vector<int16_t> data_tasks;           // ids of data tasks, ascending
  uint64_t local_mask = 0;                   // local and control task ids
};

struct ThreadCtx;

class Machine {
 public:
  Machine(const arch::Arch& arch, const ir::Program& program, fabric::FabricMap map,
          const Options& options);

  const arch::Arch arch;
  const ir::Program program;
  const fabric::FabricMap map;
  const Options options;
  const uint32_t width, height, pes;

  std::vector<CodeInfo> codes;
  std::unique_ptr<Channel[]> channels;
  std::vector<Wavelet> buffers;  // channel c's ring: [c << buf_shift, (c+1) << buf_shift)
  std::unique_ptr<std::atomic<uint32_t>[]> slot_input;  // per PE (LinksT::slot_input)
  uint32_t buf_shift = 3;
  // Per color slot (parallel to map.slots): its current switch position compiled for the
  // router (router.cpp), rebuilt when a control wavelet advances the position.
  std::vector<SlotRoute> slot_route;
  std::vector<Core> cores;
  std::vector<uint32_t> regs;          // pes * arch.registers
  std::vector<Dsd> dsds;               // pes * arch.dsd_registers
  Sram sram;
  Stats stats;

  // Active sets: bit per PE, one set per cycle in flight (cycle t uses active_set(t)).
  std::vector<std::atomic<uint64_t>> active[kActiveSets];
  std::vector<std::atomic<uint64_t>>& active_set(uint32_t t) { return active[t % kActiveSets]; }
  uint32_t now = 0;     // the next cycle to step, relative to `epoch` (file comment)
  uint64_t epoch = 0;   // a multiple of kClockEpoch
  uint64_t clock() const { return epoch + now; }
  uint64_t io_cycles = 0;

  struct Stream {
    uint32_t channel;
    uint32_t pe;
    std::vector<uint32_t> bits;
    size_t next = 0;
  };
  std::vector<Stream> streams;

  std::vector<TraceEvent> trace;
  uint64_t trace_dropped = 0;

  // Channel operations; hot code copies `links` into a local first (see Links).
  Links links;
  Wavelet* ring(uint32_t c) { return links.ring(c); }
  bool can_push(uint32_t c, uint32_t t) const { return links.can_push(c, t); }
  void push(uint32_t c, Wavelet w) { links.push(c, w); }
  bool peek(uint32_t c, uint32_t t, Wavelet& w) const { return links.peek(c, t, w); }
  bool nonempty(uint32_t c) const { return links.nonempty(c); }
  uint32_t occupancy(uint32_t c) const { return links.occupancy(c); }
  void pop(uint32_t c, uint32_t t) { links.pop(c, t); }

  void wake(uint32_t pe, ThreadCtx& ctx);
  uint32_t* pe_regs(uint32_t pe) { return &regs[size_t(pe) * size_t(arch.registers)]; }
  Dsd* pe_dsds(uint32_t pe) { return &dsds[size_t(pe) * size_t(arch.dsd_registers)]; }
  // Value of a scalar source operand (register, special or immediate) on a PE.
  uint32_t scalar_source(uint32_t pe, const ir::Operand& o) {
    switch (o.kind) {
      case ir::Operand::Kind::reg: return pe_regs(pe)[o.value];
      case ir::Operand::Kind::special:
        switch (ir::Special(o.value)) {
          case ir::Special::x: return uint32_t(pe_x(pe));
          case ir::Special::y: return uint32_t(pe_y(pe));
          case ir::Special::width: return width;
          case ir::Special::height: return height;
          case ir::Special::wavelet: return cores[pe].wavelet;
        }
        return 0;
      default: return uint32_t(o.value);
    }
  }
  int pe_x(uint32_t pe) const { return int(pe % width); }
  int pe_y(uint32_t pe) const { return int(pe / width); }
  std::string where(uint32_t pe) const;
  // Physical hops a link channel gains on a repaired wafer (0 for ramps, perfect wafers).
  uint32_t extra_hops(uint32_t channel) const;
  // "PE (x,y) code 'c' task 't' instruction N (line L)" for runtime errors.
  std::string where_instr(uint32_t pe, uint32_t pc) const;
};

// Per-thread counters and outputs of one cycle's work; merged deterministically.
struct alignas(128) ThreadCtx {
  uint64_t woken = 0;            // PEs newly set in the next active set
  uint64_t progress = 0;         // wavelets moved + core busy cycles
  uint64_t active_pe_cycles = 0;
  uint64_t instructions = 0;
  uint64_t vector_elements = 0;
  uint64_t wavelets_moved = 0;
  uint32_t error_pe = kNone;     // lowest PE with a runtime error this cycle
  std::string error;
  std::vector<TraceEvent> trace;
  uint64_t trace_dropped = 0;
  uint32_t cycle = 0;            // the cycle being stepped; wakes go to the next one
  // Wakes for PEs of the active-set word being stepped are gathered here and published with
  // one atomic OR when the word is done.
  size_t local_word = SIZE_MAX;
  uint64_t local_bits = 0;
  void fail(uint32_t pe, std::string message) {
    if (pe < error_pe) {
      error_pe = pe;
      error = std::move(message);
    }
  }
};

inline void Machine::wake(uint32_t pe, ThreadCtx& ctx) {
  if ((pe >> 6) == ctx.local_word) {
    ctx.local_bits |= 1ull << (pe & 63);
    return;
  }
  std::atomic<uint64_t>& word = active_set(ctx.cycle + 1)[pe >> 6];
  const uint64_t bit = 1ull << (pe & 63);
  if (word.load(std::memory_order_relaxed) & bit) return;
  if (!(word.fetch_or(bit, std::memory_order_relaxed) & bit)) ++ctx.woken;
}

// Records a runtime fault of a PE's core and stops the core at once (it runs no code from
// then on), so that nothing it does after the fault can matter, whatever the superstep
// (core.cpp). The engine reports the lowest faulting PE of the earliest faulting cycle.
void fault(Machine& m, uint32_t pe, ThreadCtx& ctx, std::string message);
// Runs until quiescent (engine.cpp).
Expected<RunResult> run_machine(Machine& m);
// Slot `slot` of the map in switch position `position`, compiled for the router's step
// (router.cpp; the per-PE step is in step.hpp).
SlotRoute compile_slot_route(const fabric::FabricMap& map, uint32_t slot, uint16_t position);
// Vector ops (vector.cpp).
Status issue_vector(Machine& m, uint32_t pe, const ir::Instr& in, VecOp& op, uint32_t t);
// Advances one op by one cycle; sets `finished` when it completes. waiting_input means a
// fabric operand's queue is empty: the PE may sleep, the wavelet's arrival wakes it.
enum class VecProgress { busy, stalled, waiting_input };
VecProgress progress_vector(Machine& m, uint32_t pe, VecOp& op, uint32_t t, int& reads_left,
                    int& writes_left, ThreadCtx& ctx, bool& finished);
// Human-readable description of what a stuck PE waits for (deadlock reports).
std::string describe_pe(Machine& m, uint32_t pe);
// Records a trace span of absolute cycles [start, end).
void record_span(Machine& m, ThreadCtx& ctx, uint32_t pe, uint64_t start, uint64_t end,
                 int task, int instr, int microthread);

}  // namespace wafer::sim
