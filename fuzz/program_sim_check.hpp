// The per-input routine of the fuzz_program_sim target (fuzz/README.md), shared with the unit
// test that replays its corpus (tests/unit/sim/sim_corpus_test.cpp), so both apply the same
// bounds and check the same invariants.
//
// check_program_sim parses a program text and verifies it against its arch: `arch wse2` is
// wse2, no arch or `arch wse3` is wse3, and any other name (a file in real use; nothing is
// read here) is small_arch(), whose shallow queues take the engine's general ring code. A
// program that verifies and fits the bounds below runs its host script three times: one
// thread stepping one cycle per sweep (superstep 1), two threads with supersteps of 16, and
// two threads with the engine's choice (0) on the general path (Options::general_path: no
// inlined streaming step). Invariants: an error of any stage has a message; a run either
// finishes or fails with a message naming a PE or a cycle; the three runs agree on the status
// message, the cycle counts, the I/O cycles, the d2h outputs (bit for bit) and, when they
// finish, the counters. Crashes, hangs and leaks are the sanitizers' to catch.
//
// The bounds keep an input well under a second even when every PE loops: at most kMaxPes PEs
// (the engine only uses a second thread from 512 PEs on), kMaxHostOps host operations of
// which kMaxLaunches launches, kMaxHostValues values copied or streamed, and a max_cycles of
// at most kMaxCycles such that PEs x (launches + 1) x max_cycles <= kPeCycleBudget.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <string>
#include <vector>

#include "wafer/arch/arch.hpp"
#include "wafer/ir/program.hpp"
#include "wafer/ir/text.hpp"
#include "wafer/ir/verify.hpp"
#include "wafer/sim/simulator.hpp"

namespace wafer::fuzz {

inline constexpr int64_t kMaxPes = 1024;
inline constexpr size_t kMaxHostOps = 32;
inline constexpr int kMaxLaunches = 4;
inline constexpr uint64_t kMaxHostValues = 1 << 16;
inline constexpr uint64_t kMaxCycles = 20'000;
inline constexpr uint64_t kPeCycleBudget = 400'000;

// What became of one input.
enum class SimOutcome { parse_error, verify_error, too_big, create_error, finished, run_error };

struct SimCheck {
  SimOutcome outcome = SimOutcome::parse_error;
  std::string message;    // the error of the stage that stopped, if any
  std::string violation;  // the broken invariant; empty when all hold
};

// A wafer far smaller than the presets: 16 x 16 PEs, 4 KiB of SRAM, queues of 3 or 2
// wavelets (rings of 4), 8 colors, 2 microthreads.
inline arch::Arch small_arch() {
  arch::Arch a = *arch::preset("wse3");
  a.name = "fuzz-small";
  a.fabric_width = a.fabric_height = 16;
  a.sram_bytes = 4096;
  a.colors = 8;
  a.switch_positions = 2;
  a.router_queue_depth = 3;
  a.core_input_queue_depth = a.core_output_queue_depth = 2;
  a.vector_setup_cycles = 2;
  a.microthreads = 2;
  a.task_ids = 8;
  a.registers = 8;
  a.dsd_registers = 4;
  return a;
}

inline const arch::Arch& arch_for(const ir::Program& p) {
  static const arch::Arch wse2 = *arch::preset("wse2");
  static const arch::Arch wse3 = *arch::preset("wse3");
  static const arch::Arch small = small_arch();
  if (p.arch.empty() || p.arch == "wse3") return wse3;
  return p.arch == "wse2" ? wse2 : small;
}

namespace detail {

// The most elements a symbol of this name has in any code: a bound on a copy's per-PE count.
inline uint64_t symbol_count(const ir::Program& p, const std::string& name) {
  uint64_t n = 0;
  for (const ir::Code& c : p.codes) {
    const int s = c.find_symbol(name);
    if (s >= 0) n = std::max<uint64_t>(n, c.symbols[size_t(s)].count);
  }
  return n;
}

inline uint64_t host_values(const ir::Program& p, const ir::HostOp& op) {
  const auto area = uint64_t(op.rect.area());
  switch (op.kind) {
    case ir::HostOp::Kind::h2d:
    case ir::HostOp::Kind::d2h: return symbol_count(p, op.name) * area;
    case ir::HostOp::Kind::stream_in: return uint64_t(op.data.values.size()) * area;
    case ir::HostOp::Kind::launch: return 0;
  }
  return 0;
}

inline int launches(const ir::Program& p) {
  return int(std::count_if(p.host.begin(), p.host.end(), [](const ir::HostOp& op) {
    return op.kind == ir::HostOp::Kind::launch;
  }));
}

// Why a verified program is too big to fuzz, or empty.
inline std::string too_big(const ir::Program& p) {
  const int64_t pes = int64_t(p.width) * p.height;
  if (pes > kMaxPes) return "more than " + std::to_string(kMaxPes) + " PEs";
  if (p.host.size() > kMaxHostOps) return "more than " + std::to_string(kMaxHostOps) + " host ops";
  if (launches(p) > kMaxLaunches) return "more than " + std::to_string(kMaxLaunches) + " launches";
  uint64_t values = 0;
  for (const ir::HostOp& op : p.host) values += host_values(p, op);
  if (values > kMaxHostValues) return "more than " + std::to_string(kMaxHostValues) + " values";
  return "";
}

// max_cycles for each run of the host script: one per launch, and one for trailing streams.
inline uint64_t max_cycles(const ir::Program& p) {
  const auto work = uint64_t(p.width) * uint64_t(p.height) * uint64_t(launches(p) + 1);
  return std::clamp<uint64_t>(kPeCycleBudget / work, 1, kMaxCycles);
}

// What one run of the host script leaves, for comparing runs.
struct SimRun {
  bool finished = false;
  std::string error;  // when it did not finish
  uint64_t cycles = 0, now = 0, io_cycles = 0;
  std::vector<sim::Simulator::HostOutput> outputs;
  sim::Stats stats;
};

inline Expected<SimRun> run_once(const ir::Program& p, const arch::Arch& a, int threads,
                                 uint32_t superstep, bool general_path = false) {
  sim::Options o;
  o.threads = threads;
  o.superstep = superstep;
  o.general_path = general_path;
  o.max_cycles = max_cycles(p);
  auto s = sim::Simulator::create(a, p, o);
  if (!s) return s.status();
  SimRun r;
  sim::RunResult total;
  auto outputs = (*s)->run_host_script(&total);
  r.finished = bool(outputs);
  if (outputs) r.outputs = std::move(*outputs);
  else r.error = outputs.message();
  r.cycles = outputs ? total.cycles : 0;
  r.now = (*s)->now();
  r.io_cycles = (*s)->io_cycles();
  r.stats = (*s)->stats();
  return r;
}

inline bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](double x, double y) {
    return std::bit_cast<uint64_t>(x) == std::bit_cast<uint64_t>(y);
  });
}

inline bool same_outputs(const SimRun& a, const SimRun& b) {
  if (a.outputs.size() != b.outputs.size()) return false;
  for (size_t i = 0; i < a.outputs.size(); ++i) {
    const auto &x = a.outputs[i], &y = b.outputs[i];
    if (x.symbol != y.symbol || x.count != y.count || !same_bits(x.values, y.values)) return false;
  }
  return true;
}

inline bool same_stats(const sim::Stats& a, const sim::Stats& b) {
  return a.cycles == b.cycles && a.busy == b.busy && a.stall == b.stall &&
         a.link_out == b.link_out && a.wavelets_moved == b.wavelets_moved &&
         a.instructions == b.instructions && a.vector_elements == b.vector_elements;
}

// The first difference between a reference run and another, or "".
inline std::string difference(const SimRun& ref, const SimRun& r) {
  if (ref.finished != r.finished || ref.error != r.error)
    return "status '" + ref.error + "' vs '" + r.error + "'";
  if (ref.cycles != r.cycles || ref.now != r.now)
    return "cycles " + std::to_string(ref.now) + " vs " + std::to_string(r.now);
  if (ref.io_cycles != r.io_cycles) return "io cycles differ";
  if (!same_outputs(ref, r)) return "d2h outputs differ";
  if (ref.finished && !same_stats(ref.stats, r.stats)) return "counters differ";
  return "";
}

inline bool names_pe_or_cycle(const std::string& m) {
  return m.find("PE (") != std::string::npos || m.find("cycle") != std::string::npos;
}

// Runs a verified program that fits the bounds: the three runs and their invariants.
inline SimCheck simulate(const ir::Program& p, const arch::Arch& a) {
  auto ref = run_once(p, a, 1, 1);
  if (!ref) {
    return {SimOutcome::create_error, ref.message(),
            ref.message().empty() ? "create failed without a message" : ""};
  }
  SimCheck c{ref->finished ? SimOutcome::finished : SimOutcome::run_error, ref->error, ""};
  if (!ref->finished && !names_pe_or_cycle(ref->error))
    c.violation = "run error names neither a PE nor a cycle";
  for (uint32_t superstep : {sim::kMaxSuperstep, 0u}) {
    if (!c.violation.empty()) break;
    auto other = run_once(p, a, 2, superstep, superstep == 0);
    const std::string diff = other ? difference(*ref, *other) : "create failed: " + other.message();
    if (!diff.empty())
      c.violation = "threads 2, superstep " + std::to_string(superstep) + " vs 1: " + diff;
  }
  return c;
}

}  // namespace detail

inline SimCheck check_program_sim(const std::string& text, const std::string& origin) {
  const Expected<ir::Program> p = ir::parse_program(text, origin);
  if (!p)
    return {SimOutcome::parse_error, p.message(), p.message().empty() ? "empty parse error" : ""};
  const arch::Arch& a = arch_for(*p);
  if (Status v = ir::verify(*p, a); !v)
    return {SimOutcome::verify_error, v.message(), v.message().empty() ? "empty verify error" : ""};
  if (std::string why = detail::too_big(*p); !why.empty()) return {SimOutcome::too_big, why, ""};
  return detail::simulate(*p, a);
}

}  // namespace wafer::fuzz
