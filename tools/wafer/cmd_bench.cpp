// `wafer bench`: the simulator's own speed on two fixed workloads, over host thread counts.
//
// The dense workload is stream-fma (every PE busy, n = 2048) on a 256x256 grid; the sparse
// one is an allreduce of one element over the whole fabric, where few PEs are active at any
// cycle. Each workload's case is built once, then run R times per thread count and the best
// wall time kept. A row reports cycles, wall seconds, PE-cycles/s, active PE-cycles/s (also
// per thread), the process's peak RSS so far (VmHWM) and the speed-up over the 1-thread row
// of the same workload in the same invocation. Rows are built as JSON objects once and
// rendered by the table module (table.hpp) as markdown, CSV, JSON (--json) or text.
#include <unistd.h>

#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "run_flags.hpp"
#include "table.hpp"
#include "wafer/kernels/kernels.hpp"

namespace wafer::cli {

namespace {

struct BenchFlags {
  std::string arch = "wse3";
  std::string threads;  // empty: 1 and all cores
  uint32_t superstep = 0;
  bool general_path = false;
  uint64_t repeat = 1;
  std::string format;
  bool json = false;
  std::string grid;     // dense grid; empty: 256x256 (64x64 with --quick)
  bool quick = false;
};

struct Workload {
  kernels::KernelParams params;
  kernels::KernelCase kc;
};

// Column keys (CSV and JSON) and titles (markdown), in table order.
std::vector<Column> columns() {
  return {{"workload", "workload"},
          {"arch", "arch"},
          {"grid", "grid"},
          {"threads", "threads"},
          {"cycles", "cycles"},
          {"wall_seconds", "wall s"},
          {"pe_cycles_per_s", "PE-cycles/s"},
          {"active_pe_cycles_per_s", "active PE-cycles/s"},
          {"active_pe_cycles_per_s_per_thread", "active PE-cycles/s/thread"},
          {"peak_rss_mib", "peak RSS MiB"},
          {"speedup", "speed-up vs 1 thread"}};
}

double peak_rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

std::vector<int> thread_counts(const BenchFlags& f) {
  if (!f.threads.empty()) return *parse_thread_list(f.threads);
  const int all = resolved_threads(0);
  return all > 1 ? std::vector<int>{1, all} : std::vector<int>{1};
}

Expected<Workload> make_workload(const arch::Arch& a, const char* kernel, const std::string& grid, int64_t n) {
  auto g = parse_grid(grid, a);
  if (!g) return g.status().with_context("--grid");
  Workload w;
  w.params.kernel = kernel;
  w.params.grid_w = g->first;
  w.params.grid_h = g->second;
  w.params.n = n;
  auto kc = kernels::build_kernel(a, w.params);
  if (!kc) return kc.status();
  w.kc = std::move(*kc);
  return w;
}

struct WorkloadSpec {
  const char* kernel;
  std::string grid;
  int64_t n;
};

// The sparse workload first: each case is built just before it runs and freed after, so the
// peak RSS of a row counts only the workloads run so far (the allreduce's own figure first).
std::vector<WorkloadSpec> workload_specs(const BenchFlags& f) {
  const std::string dense_grid = !f.grid.empty() ? f.grid : f.quick ? "64x64" : "256x256";
  return {{"allreduce", f.quick ? "128x128" : "full", 1}, {"stream-fma", dense_grid, 2048}};
}

// The fastest of f.repeat verified runs.
Expected<kernels::KernelResult> best_run(const arch::Arch& a, const Workload& w, int threads,
                                         const BenchFlags& f) {
  sim::Options o;
  o.threads = threads;
  o.superstep = f.superstep;
  o.general_path = f.general_path;
  o.collect_stats = false;  // as `wafer kernel` runs without --stats or --heatmap
  std::optional<kernels::KernelResult> best;
  for (uint64_t i = 0; i < f.repeat; ++i) {
    if (isatty(STDERR_FILENO))
      fmt::print(stderr, "\r\033[Kbench: {} {}x{}, {} threads, run {}/{}", w.params.kernel, w.params.grid_w,
                 w.params.grid_h, threads, i + 1, f.repeat);
    auto r = kernels::run_case(a, w.params, w.kc, o);
    if (!r) return r.status();
    if (!r->verified) return make_error("{}: result not verified (max relative error {:.3g})", r->kernel, r->max_rel_error);
    if (!best || r->sim_wall_seconds < best->sim_wall_seconds) best = std::move(*r);
  }
  if (isatty(STDERR_FILENO)) fmt::print(stderr, "\r\033[K");
  return *best;
}

struct Measured {
  kernels::KernelResult result;
  double peak_rss_mib = 0;  // right after the runs
};

Json make_row(const Measured& m, double one_thread_wall) {
  const kernels::KernelResult& r = m.result;
  const double wall = std::max(r.sim_wall_seconds, 1e-9);
  return {{"workload", r.kernel},
          {"arch", r.arch},
          {"grid", fmt::format("{}x{}", r.grid_w, r.grid_h)},
          {"threads", r.threads},
          {"cycles", r.cycles},
          {"wall_seconds", r.sim_wall_seconds},
          {"pe_cycles_per_s", r.pe_cycles_per_s},
          {"active_pe_cycles_per_s", r.active_pe_cycles_per_s},
          {"active_pe_cycles_per_s_per_thread", r.active_pe_cycles_per_s / r.threads},
          {"peak_rss_mib", m.peak_rss_mib},
          {"speedup", one_thread_wall > 0 ? Json(one_thread_wall / wall) : Json()}};
}

// Rows of one workload, one per thread count; the speed-up needs the 1-thread row, which may
// come anywhere in the list.
Expected<Json> run_workload(const arch::Arch& a, const Workload& w, const BenchFlags& f) {
  std::vector<Measured> runs;
  double one_thread_wall = 0;
  for (int t : thread_counts(f)) {
    auto r = best_run(a, w, t, f);
    if (!r) return r.status();
    if (t == 1) one_thread_wall = r->sim_wall_seconds;
    runs.push_back({std::move(*r), peak_rss_mib()});
  }
  Json rows = Json::array();
  for (const Measured& m : runs) rows.push_back(make_row(m, one_thread_wall));
  return rows;
}

// The markdown and text forms start with a line saying what ran.
void print_header(const BenchFlags& f, const arch::Arch& a) {
  std::string threads;
  for (int t : thread_counts(f)) threads += (threads.empty() ? "" : ",") + std::to_string(t);
  fmt::print("wafer bench: arch {}, threads {}, superstep {}, best of {} run{}; dense = stream-fma "
             "n=2048, allreduce n=1\n\n",
             describe_arch(a), threads, f.superstep ? std::to_string(f.superstep) : "auto", f.repeat,
             f.repeat == 1 ? "" : "s");
}

int run_bench(const BenchFlags& f) {
  auto a = arch::load_arch(f.arch);
  if (!a) return report_error(a.status());
  Json rows = Json::array();
  for (const WorkloadSpec& spec : workload_specs(f)) {
    auto w = make_workload(*a, spec.kernel, spec.grid, spec.n);
    if (!w) return report_error(w.status());
    auto r = run_workload(*a, *w, f);
    if (!r) return report_error(r.status());
    for (Json& row : *r) rows.push_back(std::move(row));
  }
  const Table table{columns(), std::vector<Json>(rows.begin(), rows.end())};
  const TableFormat format = chosen_format(f.format, f.json, TableFormat::markdown);
  if (format == TableFormat::json) {
    print_json({{"arch", a->name}, {"clock_ghz", a->clock_ghz}, {"repeat", f.repeat}, {"superstep", f.superstep},
                {"results", table_json(table)}});
    return 0;
  }
  if (format == TableFormat::markdown || format == TableFormat::text) print_header(f, *a);
  print_table(table, format);
  return 0;
}

}  // namespace

void add_bench(CLI::App& app, Runner& run) {
  auto f = std::make_shared<BenchFlags>();
  CLI::App* cmd = app.add_subcommand("bench", "measure the simulator's speed on the dense and allreduce workloads");
  cmd->add_option("--arch", f->arch, "preset name (wse2, wse3) or arch file (.toml, .json)")->capture_default_str();
  cmd->add_option("--threads", f->threads, "thread counts to measure, e.g. 1,2,4 (default: 1 and all cores)")
      ->check(thread_list_validator());
  add_engine_flags(*cmd, f->superstep, f->general_path);
  cmd->add_option("--repeat", f->repeat, "runs per thread count, 1 to 1000; the best is reported")
      ->check(count_validator(1, 1000))
      ->capture_default_str();
  add_format_flags(*cmd, f->format, f->json, "md");
  cmd->add_option("--grid", f->grid, "grid of the dense workload, WxH (default 256x256)")->check(grid_validator());
  cmd->add_flag("--quick", f->quick, "small workloads: a 64x64 dense grid and a 128x128 allreduce");
  cmd->callback([&run, f] { run = [f] { return run_bench(*f); }; });
}

}  // namespace wafer::cli
