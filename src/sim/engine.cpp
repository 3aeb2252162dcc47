// The engine: steps every active PE once per cycle, in parallel, deterministically.
//
// Each cycle, every PE in the cycle's active set (one bit per PE) steps its router and then
// its core; a PE that still has work, or receives a wavelet, is set in the next cycle's set
// (an atomic OR), so idle PEs cost one bit. All reads of another PE's state see its
// end-of-previous-cycle value (machine.hpp), so outputs and cycle counts are the same for any
// number of threads and any order in which the PEs of a cycle are stepped.
//
// The engine advances a superstep of up to kMaxSuperstep cycles per sweep of the fabric, so
// that a PE's state is reused from cache across cycles instead of being fetched once a cycle:
// the PEs are cut into chunks of at least a row, and chunk j steps cycle t0 + d in step j + 2d
// of the sweep (Runner::sweep). Host threads own contiguous ranges of chunks; where two ranges
// meet, each thread leaves out a wedge that grows by a chunk per cycle, stepped after the
// sweeps with one barrier per cycle (fill_wedges). When all threads are done, one thread
// completes the superstep's cycles in order: it merges the per-thread, per-cycle counters,
// injects host streams, and decides whether to stop: quiescent (no PE active), deadlock (work
// pending but nothing moved for a window of cycles longer than any latency), a runtime fault
// (the lowest faulting PE of the earliest faulting cycle wins), or --max-cycles. A superstep
// never runs past a cycle where the run could stop, except after a fault: the fault's report
// is the same (a faulting core stops at once), but other PEs may have stepped up to
// kMaxSuperstep - 1 cycles further. Between supersteps, once the relative clock reaches
// kClockEpoch, rebase_clock moves the epoch forward (machine.hpp).
//
// Threads pay a barrier per cycle, and on a machine whose other cores are busy a thread that
// waits there for a descheduled partner makes a run several times slower than one thread.
// So the run measures itself (ThreadTuner): every so often it runs a short window on all its
// threads and one on a single thread, keeps the faster for a longer while, and measures
// again. Results do not depend on the thread count, so switching between supersteps is safe.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "step.hpp"

namespace wafer::sim {

namespace {

// A phase-counting barrier whose last arriving thread runs a completion step.
class SpinBarrier {
 public:
  explicit SpinBarrier(int n) : n_(n), count_(n) {}
  template <typename F>
  void arrive_and_wait(F&& completion) {
    const uint64_t phase = phase_.load(std::memory_order_acquire);
    if (count_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      completion();
      count_.store(n_, std::memory_order_relaxed);
      phase_.store(phase + 1, std::memory_order_release);
      phase_.notify_all();
      return;
    }
    // Spin briefly (cycles are short), then sleep in the kernel so that a host with fewer
    // free cores than threads still makes progress.
    for (int spins = 0; phase_.load(std::memory_order_acquire) == phase; ++spins) {
      if (spins < 4000) {
        __builtin_ia32_pause();
      } else {
        phase_.wait(phase, std::memory_order_acquire);
      }
    }
  }

 private:
  const int n_;
  std::atomic<int> count_;
  std::atomic<uint64_t> phase_{0};
};

uint32_t log2_ceil(uint32_t v) {
  uint32_t s = 0;
  while ((1u << s) < v) ++s;
  return s;
}

CodeInfo make_code_info(const ir::Code& code, const arch::Arch& arch) {
  CodeInfo info;
  info.layout = ir::layout_code(code);
  info.data_task_for_color.assign(size_t(std::max(arch.colors, 32)), -1);
  info.entry_for_task.assign(64, kNone);
  for (const ir::Task& t : code.tasks) {
    info.entry_for_task[size_t(t.id)] = t.entry;
    if (t.kind == ir::TaskKind::data) info.data_task_for_color[size_t(t.color)] = int16_t(t.id);
    else info.local_mask |= 1ull << t.id;
  }
  return info;
}

}  // namespace

Machine::Machine(const arch::Arch& a, const ir::Program& p, fabric::FabricMap fm, const Options& o)
    : arch(a),
      program(p),
      map(std::move(fm)),
      options(o),
      width(uint32_t(p.width)),
      height(uint32_t(p.height)),
      pes(width * height),
      sram(pes, uint32_t(a.sram_bytes)) {
  for (const ir::Code& c : program.codes) codes.push_back(make_code_info(c, arch));
  const uint32_t nch = map.num_channels();
  channels.reset(new Channel[nch]);
  uint32_t max_cap = 1;
  for (uint32_t c = 0; c < nch; ++c) {
    const uint32_t extra = extra_hops(c);
    const bool link = map.channel_kind[c] == fabric::ChannelKind::link;
    channels[c].owner = map.channel_pe[c];
    channels[c].latency = uint16_t(link ? uint32_t(arch.hop_latency) * (1 + extra) : arch.ramp_latency);
    channels[c].cap = uint16_t(map.channel_cap[c] + extra * uint32_t(arch.hop_latency));
    max_cap = std::max<uint32_t>(max_cap, channels[c].cap);
  }
  buf_shift = log2_ceil(max_cap);
  buffers.resize(size_t(nch) << buf_shift);
  slot_input.reset(new std::atomic<uint32_t>[pes]());
  for (uint32_t pe = 0; pe < pes; ++pe) {
    const uint32_t n = map.slot_begin[pe + 1] - map.slot_begin[pe];
    WAFER_CHECK(n <= 32);  // a slot per color, <= 32 colors
    if (n < kTrackedSlots) continue;
    for (uint32_t i = map.slot_begin[pe]; i < map.slot_begin[pe + 1]; ++i) {
      for (const uint32_t c : map.slots[i].rx_channel) {
        if (c != fabric::kNoChannel) channels[c].slot_bit = uint8_t(i - map.slot_begin[pe]);
      }
    }
  }
  links = Links{channels.get(), buffers.data(), buf_shift, slot_input.get()};
  slot_route.resize(map.slots.size());
  for (uint32_t i = 0; i < map.slots.size(); ++i) slot_route[i] = compile_slot_route(map, i, 0);
  cores.resize(pes);
  for (const ir::Placement& pl : program.placements) {
    uint64_t blocked = 0;
    for (const ir::Task& t : program.codes[size_t(pl.code)].tasks) {
      if (t.blocked) blocked |= 1ull << t.id;
    }
    for (int y = pl.rect.y; y < pl.rect.y + pl.rect.h; ++y) {
      for (int x = pl.rect.x; x < pl.rect.x + pl.rect.w; ++x) {
        Core& core = cores[size_t(y) * width + uint32_t(x)];
        core.code = int16_t(pl.code);
        core.blocked = blocked;
      }
    }
  }
  regs.assign(size_t(pes) * size_t(arch.registers), 0);
  dsds.assign(size_t(pes) * size_t(arch.dsd_registers), Dsd{});
  stats.width = int(width);
  stats.height = int(height);
  if (options.collect_stats) {
    stats.busy.assign(pes, 0);
    stats.stall.assign(pes, 0);
    stats.link_out.assign(pes, {});
  }
  if (options.collect_stats || options.count_compute) stats.compute.assign(pes, 0);
  const size_t words = (size_t(pes) + 63) / 64;
  for (auto& set : active) set = std::vector<std::atomic<uint64_t>>(words);
  epoch = o.first_cycle - o.first_cycle % kClockEpoch;
  now = uint32_t(o.first_cycle % kClockEpoch);
}

namespace {

// Moves the epoch forward by kClockEpoch once `now` has reached it, subtracting it from every
// cycle kept relative to the epoch. Runs between supersteps, when no PE is being stepped.
// A wavelet ready before the new epoch, or a pop before it, is one of the past: 0 and kNone
// keep those meanings. A sleeping core's stall so far is counted now, from the new epoch on
// later.
void rebase_clock(Machine& m) {
  if (m.now < kClockEpoch) return;
  const uint32_t r = kClockEpoch;
  for (uint32_t c = 0; c < m.map.num_channels(); ++c) {
    Channel& q = m.channels[c];
    const uint32_t tail = q.tail.load(std::memory_order_relaxed);
    for (uint32_t i = q.head.load(std::memory_order_relaxed); i != tail; ++i) {
      Wavelet& w = m.ring(c)[m.links.slot(i)];
      w.meta = (w.meta & kCtrlBit) | (w.ready() > r ? w.ready() - r : 0);
    }
    const uint32_t stamp = q.stamp.load(std::memory_order_relaxed);
    if (stamp != kNone) q.stamp.store(stamp >= r ? stamp - r : kNone, std::memory_order_relaxed);
  }
  for (uint32_t pe = 0; pe < m.pes; ++pe) {
    Core& core = m.cores[pe];
    if (core.asleep_since == kNone) continue;
    if (m.options.collect_stats) m.stats.stall[pe] += m.now - core.asleep_since;
    core.asleep_since = m.now - r;
  }
  m.now -= r;
  m.epoch += r;
}

}  // namespace

uint32_t Machine::extra_hops(uint32_t c) const {
  const fabric::LinkExtraHops* h = options.link_extra_hops.get();
  if (!h || map.channel_kind[c] != fabric::ChannelKind::link) return 0;
  const uint32_t pe = map.channel_pe[c];
  const int x = pe_x(pe), y = pe_y(pe);
  auto at = [&](int lx, int ly) { return size_t(ly) * size_t(h->width) + size_t(lx); };
  switch (ir::Dir(map.channel_port[c])) {
    case ir::Dir::west: return h->east[at(x - 1, y)];
    case ir::Dir::east: return h->east[at(x, y)];
    case ir::Dir::north: return h->south[at(x, y - 1)];
    case ir::Dir::south: return h->south[at(x, y)];
    default: return 0;
  }
}

std::string Machine::where(uint32_t pe) const { return fmt::format("PE ({},{})", pe_x(pe), pe_y(pe)); }

std::string Machine::where_instr(uint32_t pe, uint32_t pc) const {
  const Core& core = cores[pe];
  const ir::Code& code = program.codes[size_t(core.code)];
  const ir::Task* task = code.task_by_id(core.task);
  std::string s = fmt::format("{} code '{}'", where(pe), code.name);
  if (task) s += fmt::format(" task '{}'", task->name);
  if (pc < code.instrs.size()) {
    s += fmt::format(" instruction {} '{}'", pc, ir::op_info(code.instrs[pc].op).name);
    if (code.instrs[pc].loc.line) s += fmt::format(" (line {})", code.instrs[pc].loc.line);
  }
  return s;
}

void record_span(Machine& m, ThreadCtx& ctx, uint32_t pe, uint64_t start, uint64_t end, int task,
                 int instr, int microthread) {
  const TraceOptions& to = m.options.trace;
  if (!to.enabled) return;
  const int x = m.pe_x(pe), y = m.pe_y(pe);
  if (!to.region.contains(x, y) || end <= to.from_cycle || start >= to.to_cycle) return;
  if (ctx.trace.size() >= to.max_events) {
    ++ctx.trace_dropped;
    return;
  }
  ctx.trace.push_back(TraceEvent{x, y, start, end, uint16_t(m.cores[pe].code), int16_t(task),
                                 int16_t(instr), uint8_t(microthread)});
}

namespace {

// Supersteps are long while at least 1 / kDenseFraction of the PEs are active (plan_superstep).
constexpr uint64_t kDenseFraction = 8;

// Picks, between supersteps, whether the next ones run on all of the run's threads or on one:
// a window of `probe` seconds on all, one on one, then the faster of the two (all unless one
// is clearly faster) for kHoldWindows windows, then again. Rates are simulated cycles per
// second; the two windows are adjacent, so they see about the same work.
class ThreadTuner {
 public:
  using Clock = std::chrono::steady_clock;
  ThreadTuner(size_t threads, double probe_seconds)
      : threads_(threads), probe_(probe_seconds), window_start_(Clock::now()) {}

  // The thread count for the next superstep, given the clock after the last one.
  size_t next(uint64_t cycle) {
    if (threads_ == 1 || probe_ <= 0) return threads_;
    const Clock::time_point now = Clock::now();
    const double seconds = std::chrono::duration<double>(now - window_start_).count();
    const double length = phase_ == Phase::holding ? probe_ * kHoldWindows : probe_;
    if (seconds < length) return current();
    const double rate = double(cycle - window_cycle_) / std::max(seconds, 1e-9);
    switch (phase_) {
      case Phase::trying_all: rate_all_ = rate; phase_ = Phase::trying_one; break;
      case Phase::trying_one:
        one_is_faster_ = rate > rate_all_ * kOneMustWinBy;
        phase_ = Phase::holding;
        break;
      case Phase::holding: phase_ = Phase::trying_all; break;
    }
    window_start_ = now;
    window_cycle_ = cycle;
    return current();
  }

 private:
  enum class Phase { trying_all, trying_one, holding };
  static constexpr double kHoldWindows = 20;
  static constexpr double kOneMustWinBy = 1.1;
  size_t current() const {
    const bool one = phase_ == Phase::trying_one || (phase_ == Phase::holding && one_is_faster_);
    return one ? 1 : threads_;
  }

  const size_t threads_;
  const double probe_;
  Phase phase_ = Phase::trying_all;
  Clock::time_point window_start_;
  uint64_t window_cycle_ = 0;
  double rate_all_ = 0;
  bool one_is_faster_ = false;
};

class Runner {
 public:
  explicit Runner(Machine& m) : m_(m) {}

  Expected<RunResult> run() {
    const auto t0 = std::chrono::steady_clock::now();
    words_ = m_.active[0].size();
    chunk_words_ = std::max<size_t>(1, (size_t(m_.width) + 63) / 64);
    chunks_ = (words_ + chunk_words_ - 1) / chunk_words_;
    const int requested = m_.options.threads > 0 ? m_.options.threads
                                                 : int(std::max(1u, std::thread::hardware_concurrency()));
    // At least two active-set words (128 PEs) a thread: a compiled layer on a few hundred PEs
    // steps them at ~150 ns each, far above a barrier's cost; the tuner still measures.
    max_threads_ = std::min<size_t>(size_t(requested), std::max<size_t>(1, std::min(words_ / 2, chunks_)));
    threads_ = max_threads_;
    ctx_.resize(max_threads_ * kMaxSuperstep);
    start_ = m_.clock();
    tuner_.emplace(max_threads_, m_.options.thread_probe_seconds);
    const auto& set = m_.active_set(m_.now);
    stop_ = m_.streams.empty() && std::none_of(set.begin(), set.end(), [](const auto& w) {
              return w.load(std::memory_order_relaxed) != 0;
            });
    if (!stop_) superstep_ = plan_superstep();
    while (!stop_) {
      if (threads_ == 1) run_alone();
      else run_parallel();
    }
    if (thrown_) std::rethrow_exception(thrown_);
    RunResult r;
    r.cycles = elapsed();
    r.active_pe_cycles = active_pe_cycles_;
    r.threads = int(max_threads_);
    r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    m_.stats.cycles += r.cycles;
    if (m_.options.progress && printed_progress_) std::fprintf(stderr, "\r\033[K");
    if (!status_) {
      trace_open_spans();
      return status_;
    }
    return r;
  }

 private:
  // Runs a worker's share of a superstep. An exception (out of memory while a trace or an
  // error message grows) is kept for run() to rethrow on the caller's thread: the worker goes
  // on to the barriers, so no thread waits for it forever, and the run stops after the
  // superstep.
  template <typename F>
  void guarded(F&& f) {
    try {
      f();
    } catch (...) {
      std::lock_guard<std::mutex> lock(thrown_mutex_);
      if (!thrown_) thrown_ = std::current_exception();
    }
  }

  // A failed run (deadlock, --max-cycles, a fault) ends with tasks and vector ops still open:
  // their spans are traced up to the last cycle, so the trace shows what was stuck.
  void trace_open_spans() {
    if (!m_.options.trace.enabled) return;
    ThreadCtx& ctx = ctx_[0];
    const uint64_t end = m_.clock();
    for (uint32_t pe = 0; pe < m_.pes; ++pe) {
      const Core& core = m_.cores[pe];
      if (core.code < 0) continue;
      if (core.task >= 0) record_span(m_, ctx, pe, core.task_start, end, core.task, -1, 0);
      if (core.main.instr != kNone) {
        record_span(m_, ctx, pe, core.main.start, end, core.main.task, int(core.main.instr), 0);
      }
      for (int i = 0; core.micro && i < m_.arch.microthreads; ++i) {
        const VecOp& op = core.micro[size_t(i)];
        if (op.instr != kNone) record_span(m_, ctx, pe, op.start, end, op.task, int(op.instr), i + 1);
      }
    }
    merge_trace(ctx);
  }

  // Supersteps on one thread, until the run stops or the tuner asks for more threads.
  void run_alone() {
    while (!stop_ && threads_ == 1) {
      const uint32_t first = m_.now, k = superstep_;
      sweep(0, first, k);
      complete_superstep(first, k);
    }
  }

  // Supersteps on threads_ threads, until the run stops or the tuner asks for one thread.
  void run_parallel() {
    const size_t threads = threads_;
    SpinBarrier barrier{int(threads)};
    auto body = [&](size_t id) {
      while (true) {
        const uint32_t first = m_.now, k = superstep_;
        guarded([&] { sweep(id, first, k); });
        for (uint32_t d = 1; d < k; ++d) {
          barrier.arrive_and_wait([] {});
          guarded([&] { fill_wedges(id, first, d); });
        }
        barrier.arrive_and_wait([&] {
          guarded([&] { complete_superstep(first, k); });
          if (thrown_) stop_ = true;
        });
        if (stop_ || threads_ != threads) break;
      }
    };
    std::vector<std::thread> pool;
    for (size_t i = 1; i < threads; ++i) pool.emplace_back(body, i);
    body(0);
    for (auto& t : pool) t.join();
  }

  // Cycles the next superstep advances. It never runs past a cycle where the run could stop
  // (max-cycles, the deadlock window), so a stop always falls on its last cycle or on a cycle
  // after which nothing is active. Host streams and traces are fed and merged cycle by cycle.
  // Left to the engine, a superstep is long only while many PEs are active: with few, the
  // state they touch stays in cache anyway and sweeping the idle bits of several cycles at
  // once costs more than it saves.
  uint32_t plan_superstep() const {
    uint64_t k = m_.options.superstep ? m_.options.superstep
                 : next_active_ * kDenseFraction >= m_.pes ? kMaxSuperstep : 1;
    if (!m_.streams.empty() || m_.options.trace.enabled) k = 1;
    k = std::min<uint64_t>({k, kMaxSuperstep, m_.options.max_cycles - elapsed(),
                            uint64_t(deadlock_window()) + 1 - idle_});
    // Threads' boundary wedges (fill_wedges) must not meet: each range needs 2k chunks.
    if (threads_ > 1) k = std::min<uint64_t>(k, (chunks_ / threads_) / 2);
    return uint32_t(std::max<uint64_t>(k, 1));
  }

  uint64_t elapsed() const { return m_.clock() - start_; }
  size_t range_begin(size_t id) const { return chunks_ * id / threads_; }
  ThreadCtx& ctx(size_t id, uint32_t d) { return ctx_[id * kMaxSuperstep + d]; }

  // A thread's part of a superstep of k cycles from `first`: its chunks, skewed so that chunk
  // j steps cycle first + d at step j + 2d. A chunk holds at least a row of PEs, so a PE only
  // touches PEs of its own and the two neighbouring chunks, and when chunk j steps cycle t
  // its neighbours have stepped t - 1 and not yet t + 1: the same view a PE has in a plain
  // sweep where neighbours may or may not have stepped t (machine.hpp). Near another
  // thread's range the neighbour's progress is unknown, so the range shrinks by a chunk per
  // cycle on that side; fill_wedges steps the wedges left out. Every other superstep sweeps
  // the range backwards (mirrored, the same argument holds), so that it starts on the chunks
  // the previous one touched last, which are still in cache.
  void sweep(size_t id, uint32_t first, uint32_t k) {
    const bool reverse = supersteps_ & 1;
    const size_t a = range_begin(id), b = range_begin(id + 1);
    const size_t shrink_a = a > 0, shrink_b = b < chunks_;
    with_step([&](const auto& step) {
      for (size_t s = 0; s < b - a + 2 * size_t(k - 1); ++s) {
        for (uint32_t d = 0; d < k && 2 * size_t(d) <= s; ++d) {
          const size_t ascending = a + s - 2 * size_t(d);
          const size_t j = reverse ? a + b - 1 - ascending : ascending;
          if (j < a + shrink_a * d || j + shrink_b * d >= b) continue;
          step_chunk(step, ctx(id, d), j, first + d);
        }
      }
    });
  }

  // Cycle first + d of the wedges the sweeps left out, once every thread has stepped the
  // cycle before: each thread steps the d chunks at either end of its range.
  void fill_wedges(size_t id, uint32_t first, uint32_t d) {
    const size_t a = range_begin(id), b = range_begin(id + 1);
    with_step([&](const auto& step) {
      if (a > 0) {
        for (size_t j = a; j < a + d; ++j) step_chunk(step, ctx(id, d), j, first + d);
      }
      if (b < chunks_) {
        for (size_t j = b - d; j < b; ++j) step_chunk(step, ctx(id, d), j, first + d);
      }
    });
  }

  // Calls f with the per-PE step, built for the machine's ring size when it is the usual one.
  template <typename F>
  void with_step(F&& f) {
    if (m_.buf_shift == kUsualRingShift) f(PeStep<FixedLinks>(m_));
    else f(PeStep<Links>(m_));
  }

  template <typename Step>
  void step_chunk(const Step& step, ThreadCtx& ctx, size_t chunk, uint32_t t) {
    const size_t begin = chunk * chunk_words_, end = std::min(begin + chunk_words_, words_);
    auto& cur = m_.active_set(t);
    ctx.cycle = t;
    for (size_t w = begin; w < end; ++w) {
      uint64_t bits = cur[w].load(std::memory_order_relaxed);
      if (!bits) continue;
      cur[w].store(0, std::memory_order_relaxed);
      ctx.local_word = w;
      WordWakes near{w};
      while (bits) {
        const uint32_t pe = uint32_t(w * 64 + size_t(__builtin_ctzll(bits)));
        bits &= bits - 1;
        const uint64_t before = ctx.progress;
        bool pending = step.router(pe, t, near, ctx);
        pending |= step.core(pe, t, ctx);
        if (ctx.progress != before) ++ctx.active_pe_cycles;
        if (pending) near.bits |= 1ull << (pe & 63);
      }
      ctx.local_bits |= near.bits;
      publish_local_wakes(ctx);
    }
  }

  void publish_local_wakes(ThreadCtx& ctx) {
    const size_t w = ctx.local_word;
    ctx.local_word = SIZE_MAX;
    if (!ctx.local_bits) return;
    auto& next = m_.active_set(ctx.cycle + 1)[w];
    const uint64_t old = next.fetch_or(ctx.local_bits, std::memory_order_relaxed);
    ctx.woken += uint64_t(__builtin_popcountll(ctx.local_bits & ~old));
    ctx.local_bits = 0;
  }

  // Runs once all threads are done with a superstep: completes its cycles in order, then
  // chooses the threads and plans the next.
  void complete_superstep(uint32_t first, uint32_t k) {
    if (thrown_) {
      stop_ = true;
      return;
    }
    for (uint32_t d = 0; d < k && !stop_; ++d) complete_cycle(first + d, d);
    rebase_clock(m_);
    ++supersteps_;
    threads_ = tuner_->next(m_.clock());
    superstep_ = plan_superstep();
  }

  uint32_t deadlock_window() const {
    return uint32_t(4 * (m_.arch.hop_latency + m_.arch.ramp_latency) + 16);
  }

  // Merges the counters of cycle t (the superstep's cycle d) and decides whether to stop.
  void complete_cycle(uint32_t t, uint32_t d) {
    uint64_t woken = 0, progress = 0;
    uint32_t error_pe = kNone;
    std::string error;
    for (size_t id = 0; id < threads_; ++id) {
      ThreadCtx& c = ctx(id, d);
      woken += c.woken;
      progress += c.progress;
      active_pe_cycles_ += c.active_pe_cycles;
      m_.stats.instructions += c.instructions;
      m_.stats.vector_elements += c.vector_elements;
      m_.stats.wavelets_moved += c.wavelets_moved;
      if (c.error_pe < error_pe) {
        error_pe = c.error_pe;
        error = c.error;
      }
      merge_trace(c);
      c.woken = c.progress = c.active_pe_cycles = c.instructions = c.vector_elements = c.wavelets_moved = 0;
      c.error_pe = kNone;
    }
    if (error_pe != kNone) return finish(make_error("cycle {}: {}", m_.epoch + t, error));
    idle_ = progress ? 0 : idle_ + 1;
    ThreadCtx& ctx0 = ctx(0, d);
    ctx0.cycle = t;
    inject_streams_for_next(ctx0);
    woken += ctx0.woken;
    ctx0.woken = 0;
    m_.now = t + 1;
    next_active_ = woken;
    if (woken == 0 && m_.streams.empty()) return finish(unfinished_work_report());
    const uint32_t window = deadlock_window();
    if (idle_ > window) return finish(deadlock_report(window));
    if (elapsed() >= m_.options.max_cycles) {
      return finish(make_error("the run exceeded --max-cycles {} at cycle {} with {} PEs still "
                               "active; raise --max-cycles if the program is meant to run longer",
                               m_.options.max_cycles, m_.clock(), count_active()));
    }
    report_progress();
  }

  // Pushes one wavelet of each host stream whose channel has room; it may be taken at t+1.
  void inject_streams_for_next(ThreadCtx& ctx) {
    if (m_.streams.empty()) return;
    for (auto& s : m_.streams) {
      if (s.next >= s.bits.size() || !m_.can_push(s.channel, m_.now + 1)) continue;
      m_.push(s.channel, Wavelet{s.bits[s.next++], m_.now + 1});
      m_.wake(s.pe, ctx);
      ++ctx.progress;
    }
    std::erase_if(m_.streams, [](const Machine::Stream& s) { return s.next >= s.bits.size(); });
  }

  void merge_trace(ThreadCtx& c) {
    if (c.trace.empty() && !c.trace_dropped) return;
    m_.trace.insert(m_.trace.end(), c.trace.begin(), c.trace.end());
    m_.trace_dropped += c.trace_dropped;
    c.trace.clear();
    c.trace_dropped = 0;
    const size_t cap = m_.options.trace.max_events;
    if (m_.trace.size() > cap) {
      m_.trace_dropped += m_.trace.size() - cap;
      m_.trace.resize(cap);
    }
  }

  uint64_t count_active() const {
    uint64_t n = 0;
    for (const auto& w : m_.active_set(m_.now)) n += uint64_t(__builtin_popcountll(w.load()));
    return n;
  }

  Status deadlock_report(uint32_t window) {
    std::string report = fmt::format(
        "deadlock at cycle {}: nothing moved for {} cycles but {} PEs still have work", m_.clock(),
        window, count_active());
    int shown = 0;
    const auto& set = m_.active_set(m_.now);
    for (size_t w = 0; w < set.size() && shown < 8; ++w) {
      uint64_t bits = set[w].load();
      while (bits && shown < 8) {
        const uint32_t pe = uint32_t(w * 64 + size_t(__builtin_ctzll(bits)));
        bits &= bits - 1;
        report += "\n  " + describe_pe(m_, pe);
        ++shown;
      }
    }
    return Status::error(report);
  }

  // After the last PE went quiet: cores still inside a task or a vector op wait for wavelets
  // that will never come.
  Status unfinished_work_report() {
    uint64_t stuck = 0;
    std::string lines;
    for (uint32_t pe = 0; pe < m_.pes; ++pe) {
      const Core& c = m_.cores[pe];
      if (c.task < 0 && c.main.instr == kNone && !c.async_active) continue;
      if (++stuck <= 8) lines += "\n  " + describe_pe(m_, pe);
    }
    if (!stuck) return Status::ok();
    return make_error("deadlock at cycle {}: nothing can move but {} PEs wait inside a task{}",
                      m_.clock(), stuck, lines);
  }

  void report_progress() {
    if (!m_.options.progress || (m_.now & 1023)) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_print_ < std::chrono::milliseconds(500)) return;
    last_print_ = now;
    printed_progress_ = true;
    std::fprintf(stderr, "\r\033[K[wafer] cycle %llu, %llu PEs active", (unsigned long long)m_.clock(),
                 (unsigned long long)next_active_);
  }

  void finish(Status s) {
    status_ = std::move(s);
    stop_ = true;
  }

  Machine& m_;
  size_t words_ = 0;        // active-set words
  size_t chunk_words_ = 1;  // words per chunk: at least one row of PEs
  size_t chunks_ = 0;
  size_t max_threads_ = 1;  // the run's threads
  size_t threads_ = 1;      // the threads of the next superstep (ThreadTuner)
  std::optional<ThreadTuner> tuner_;
  std::mutex thrown_mutex_;
  std::exception_ptr thrown_;  // the first exception of a worker (guarded)
  uint32_t superstep_ = 1;  // cycles of the next superstep
  uint64_t next_active_ = 0;  // PEs active in the next cycle
  uint64_t supersteps_ = 0;  // completed; odd ones sweep backwards (sweep)
  std::vector<ThreadCtx> ctx_;  // per thread and cycle of the superstep (ctx())
  uint64_t start_ = 0;  // the clock when the run started
  uint32_t idle_ = 0;
  uint64_t active_pe_cycles_ = 0;
  bool stop_ = false;
  bool printed_progress_ = false;
  Status status_;
  std::chrono::steady_clock::time_point last_print_{};
};

}  // namespace

Expected<RunResult> run_machine(Machine& m) { return Runner(m).run(); }

}  // namespace wafer::sim
