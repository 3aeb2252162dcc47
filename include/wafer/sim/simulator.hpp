// The cycle-level simulator of a wafer: load a Program, copy data in, launch, run, copy out.
//
// Simulator owns the whole machine state for one Program on one Arch (see engine.cpp for the
// algorithm). run() advances the global cycle count until every PE is quiescent; a program
// that stops making progress ends with a deadlock error naming PEs, colors and queues, and
// --max-cycles bounds every run. Results are identical for any thread count. Host copies cost
// cycles through the arch's I/O bandwidth; they are counted apart from fabric cycles.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "wafer/arch/arch.hpp"
#include "wafer/fabric/repair.hpp"
#include "wafer/ir/program.hpp"
#include "wafer/support/error.hpp"

namespace wafer::sim {

struct TraceOptions {
  bool enabled = false;
  ir::Rect region{0, 0, 1 << 30, 1 << 30};  // PEs whose events are kept
  uint64_t from_cycle = 0;                  // time window [from, to)
  uint64_t to_cycle = UINT64_MAX;
  size_t max_events = 1'000'000;            // cap; further events are counted, not kept
};

// The longest superstep of the engine, in cycles (Options::superstep).
inline constexpr uint32_t kMaxSuperstep = 16;

struct Options {
  int threads = 0;                  // 0: all hardware threads
  // Seconds of each measuring window of the engine's thread tuner (engine.cpp): a run on
  // several threads measures itself on all of them and on one, and keeps the faster; 0 keeps
  // every thread the whole run. Results do not depend on it, only the speed.
  double thread_probe_seconds = 0.1;
  uint64_t max_cycles = 100'000'000;  // bound on one run()
  bool progress = false;            // progress line on stderr (caller decides: a terminal)
  bool collect_stats = true;        // per-PE busy/stall and per-link counters
  // Per-PE compute cycles (Stats::compute), also without collect_stats: one counter per PE,
  // cheap enough to keep on (kernel reports split cycles into compute and communication).
  bool count_compute = true;
  // Cycles one sweep of the engine advances at most (engine.cpp): 0 lets the engine choose
  // (kMaxSuperstep while at least 1/8 of the PEs are active, else 1), 1 steps every PE once
  // per sweep; larger values act as kMaxSuperstep.
  // Outputs, cycle counts and counters do not depend on it, only the speed.
  uint32_t superstep = 0;
  // Every core cycle through the general step (core.cpp), never the inlined streaming step
  // (stream.hpp): both decide identically, and differential tests compare them with this.
  bool general_path = false;
  TraceOptions trace;
  // A repaired defective wafer: each logical link is longer by these physical hops, which
  // cost hop_latency each (and buffer as many more wavelets). Null: a perfect wafer.
  std::shared_ptr<const fabric::LinkExtraHops> link_extra_hops;
  // The clock's value when the machine is created. Results do not depend on it except that
  // cycles in traces and messages count from it; tests start near 2^31 or 2^32 to cross the
  // boundaries of narrower counters cheaply.
  uint64_t first_cycle = 0;
};

// One span of a trace: a task or a vector op on one PE.
struct TraceEvent {
  int32_t x = 0, y = 0;
  uint64_t start = 0, end = 0;
  uint16_t code = 0;        // code index in the program
  int16_t task = -1;        // task id (task spans and vector ops inside it)
  int16_t instr = -1;       // instruction index for vector-op spans, -1 for a task span
  uint8_t microthread = 0;  // 0 main thread, 1.. microthreads
};

// Counters per PE of the program rectangle (row-major, index y * width + x).
struct Stats {
  int width = 0, height = 0;
  uint64_t cycles = 0;                   // fabric cycles covered by the counters
  std::vector<uint64_t> busy;            // core did work (instruction, vector element, setup)
  std::vector<uint64_t> stall;           // core had work but waited (fabric, memory ports)
  // Busy cycles with work other than moving data between the fabric and the core: an
  // instruction other than send, sendc, fdsd and a vmov that reads or writes a fabric DSD,
  // or progress of a vector op other than such a vmov. Kept when collect_stats or
  // count_compute.
  std::vector<uint64_t> compute;
  std::vector<std::array<uint64_t, 5>> link_out;  // wavelets sent per port (N,E,S,W,ramp)
  uint64_t wavelets_moved = 0;
  uint64_t instructions = 0;
  uint64_t vector_elements = 0;
};

struct RunResult {
  uint64_t cycles = 0;             // fabric cycles of this run
  uint64_t active_pe_cycles = 0;   // PE-cycles where the core or router did work
  double wall_seconds = 0;         // host time of this run
  int threads = 1;
};

// Bytes of host memory a simulation of `program` allocates (footprint.cpp): the fabric map,
// the machine's per-channel, per-slot and per-PE arrays, the SRAM pages its symbols span,
// stats and trace when enabled, and the host script's copies. Simulator::create refuses a
// program whose estimate exceeds the available memory (support/memory.hpp).
uint64_t estimate_memory(const arch::Arch& arch, const ir::Program& program, const Options& options);

class Simulator {
 public:
  static Expected<std::unique_ptr<Simulator>> create(const arch::Arch& arch,
                                                     const ir::Program& program,
                                                     const Options& options);
  virtual ~Simulator();

  const arch::Arch& arch() const;
  const ir::Program& program() const;

  // Copies values (row-major over the PEs of rect, `count` elements per PE in symbol order;
  // or exactly `count` values, given to every PE) into a symbol, rounding to its type.
  Status write_symbol(const std::string& symbol, const ir::Rect& rect,
                      const std::vector<double>& values);
  // Reads a symbol from every PE of rect, row-major, count elements per PE.
  Expected<std::vector<double>> read_symbol(const std::string& symbol, const ir::Rect& rect);
  // Activates the named task on every PE of rect.
  Status launch(const std::string& task, const ir::Rect& rect);
  // Queues wavelets to enter the PEs of rect (an edge) from off-fabric side `edge` on a color;
  // each PE receives the values in order, one wavelet per cycle at most.
  Status stream_in(int color, ir::Dir edge, const ir::Rect& rect, const std::vector<double>& values,
                   DType type);
  // Runs until quiescent. Errors: deadlock (with report), max_cycles, runtime faults.
  Expected<RunResult> run();
  // Executes the program's own host script (text programs); d2h results are returned.
  struct HostOutput {
    std::string symbol;
    ir::Rect rect;
    uint32_t count = 0;
    std::vector<double> values;
  };
  Expected<std::vector<HostOutput>> run_host_script(RunResult* total);

  uint64_t now() const;           // the clock: Options::first_cycle + fabric cycles so far
  uint64_t io_cycles() const;     // cycles spent in host copies so far
  const Stats& stats() const;
  const std::vector<TraceEvent>& trace_events() const;
  uint64_t trace_dropped() const;

  class Impl;

 private:
  explicit Simulator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wafer::sim
