// Flags and outputs shared by the verbs that run the simulator; see run_flags.hpp.
//
// Numbers are parsed with std::from_chars over the whole text, so "12x" or "" is rejected
// rather than read as a prefix. A validator returns CLI11's error text (CLI11 prefixes the
// flag name); the same parse functions later give the values, so the two never disagree.
#include "run_flags.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "output_path.hpp"
#include "wafer/sim/observe.hpp"

namespace wafer::cli {

namespace {

template <typename T>
std::optional<T> parse_number(const std::string& text) {
  T v{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return v;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == sep) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

template <typename T>
CLI::Validator validator_of(const char* description, T parse) {
  return CLI::Validator(
      [parse](std::string& text) -> std::string {
        auto r = parse(text);
        return r ? std::string() : r.message();
      },
      description);
}

}  // namespace

Expected<std::pair<int, int>> parse_grid(const std::string& text, const arch::Arch& a) {
  if (text == "full") return std::make_pair(a.fabric_width, a.fabric_height);
  const auto parts = split(text, 'x');
  const auto w = parts.size() == 2 ? parse_number<int>(parts[0]) : std::nullopt;
  const auto h = parts.size() == 2 ? parse_number<int>(parts[1]) : std::nullopt;
  if (!w || !h || *w < 1 || *h < 1)
    return make_error("expected WxH (columns x rows, e.g. 4x4) or 'full', got '{}'", text);
  return std::make_pair(*w, *h);
}

Expected<ir::Rect> parse_region(const std::string& text) {
  const auto parts = split(text, ',');
  std::vector<int> v;
  for (const std::string& p : parts) {
    auto n = parse_number<int>(p);
    if (n && *n >= 0) v.push_back(*n);
  }
  if (parts.size() != 4 || v.size() != 4 || v[2] < 1 || v[3] < 1)
    return make_error("expected x,y,w,h (PE column, row, width, height; w and h at least 1), got '{}'", text);
  return ir::Rect{v[0], v[1], v[2], v[3]};
}

Expected<std::pair<uint64_t, uint64_t>> parse_window(const std::string& text) {
  const auto parts = split(text, ',');
  const auto from = parts.size() == 2 ? parse_number<uint64_t>(parts[0]) : std::nullopt;
  const auto to = parts.size() == 2 && parts[1].empty() ? std::optional<uint64_t>(UINT64_MAX)
                  : parts.size() == 2                   ? parse_number<uint64_t>(parts[1])
                                                        : std::nullopt;
  if (!from || !to || *from >= *to)
    return make_error("expected from,to in cycles with from < to (to may be empty: no end), got '{}'", text);
  return std::make_pair(*from, *to);
}

CLI::Validator count_validator(uint64_t min, uint64_t max) {
  return validator_of("COUNT", [min, max](const std::string& t) -> Expected<uint64_t> {
    auto n = parse_number<uint64_t>(t);
    if (max != UINT64_MAX && (!n || *n < min || *n > max))
      return make_error("expected an integer from {} to {}, got '{}'", min, max, t);
    if (!n && min == 0) return make_error("expected a non-negative integer, got '{}'", t);
    if (!n || *n < min) return make_error("expected an integer of at least {}, got '{}'", min, t);
    return *n;
  });
}

CLI::Validator grid_validator() {
  return validator_of("WxH|full", [](const std::string& t) { return parse_grid(t, arch::Arch{}); });
}

CLI::Validator float_dtype_validator() {
  return validator_of("fp32|fp16|bf16", [](const std::string& t) -> Expected<DType> {
    auto d = parse_dtype(t);
    if (!d || !dtype_is_float(*d)) return make_error("unknown dtype '{}' (expected fp32, fp16 or bf16)", t);
    return *d;
  });
}

CLI::Validator choice_validator(std::vector<std::string> choices) {
  std::string names;
  for (const std::string& c : choices) names += (names.empty() ? "" : "|") + c;
  return validator_of(names.c_str(), [choices, names](const std::string& t) -> Expected<std::string> {
    if (std::find(choices.begin(), choices.end(), t) == choices.end())
      return make_error("expected one of {}, got '{}'", names, t);
    return t;
  });
}

CLI::Validator number_validator(double min) {
  return validator_of("NUMBER", [min](const std::string& t) -> Expected<double> {
    auto v = parse_number<double>(t);
    if (!v || !std::isfinite(*v) || *v < min)
      return make_error("expected a finite number of at least {}, got '{}'", min, t);
    return *v;
  });
}

CLI::Validator check_validator(const char* description, std::function<Status(const std::string&)> check) {
  return validator_of(description, [check](const std::string& t) -> Expected<std::string> {
    Status ok = check(t);
    if (!ok) return ok;
    return t;
  });
}

Expected<std::vector<int>> parse_thread_list(const std::string& text) {
  std::vector<int> list;
  for (const std::string& part : split(text, ',')) {
    auto n = parse_number<int>(part);
    if (!n || *n < 1) return make_error("expected thread counts of at least 1 separated by commas, got '{}'", text);
    list.push_back(*n);
  }
  return list;
}

CLI::Validator thread_list_validator() { return validator_of("LIST", parse_thread_list); }

void add_engine_flags(CLI::App& cmd, uint32_t& superstep, bool& general_path) {
  cmd.add_option("--superstep", superstep,
                 fmt::format("fabric cycles the engine advances per sweep of the PEs, 1 to {} (0: the "
                             "engine's choice); results do not depend on it, only the speed",
                             sim::kMaxSuperstep))
      ->check(count_validator(0, sim::kMaxSuperstep))
      ->capture_default_str();
  cmd.add_flag("--general-path", general_path,
               "step every core through the general path, not the inlined streaming step; "
               "results do not depend on it, only the speed (for checking the fast path)");
}

void add_run_flags(CLI::App& cmd, RunFlags& f) {
  cmd.add_option("--threads", f.threads, "host threads (0: all cores)")->check(count_validator())->capture_default_str();
  add_engine_flags(cmd, f.superstep, f.general_path);
  cmd.add_option("--max-cycles", f.max_cycles, "stop a run that takes more fabric cycles than this")
      ->check(count_validator(1))
      ->capture_default_str();
  cmd.add_flag("--json", f.json, "print one JSON object instead of text");
  cmd.add_flag("--stats", f.stats, "print per-PE and per-link statistics after the result");
  cmd.add_option("--trace", f.trace, "write a Chrome Trace Event / Perfetto JSON timeline to FILE")
      ->option_text("FILE");
  cmd.add_option("--trace-region", f.trace_region, "trace only the PEs of x,y,w,h")
      ->check(validator_of("x,y,w,h", parse_region));
  cmd.add_option("--trace-window", f.trace_window, "trace only spans overlapping cycles [from,to)")
      ->check(validator_of("from,to", parse_window));
  cmd.add_option("--trace-max-events", f.trace_max_events, "keep at most N trace events (more are counted)")
      ->check(count_validator())
      ->capture_default_str();
  cmd.add_option("--heatmap", f.heatmap, "write a PNG of each PE's busy fraction to FILE")
      ->option_text("FILE");
  cmd.add_option("--heatmap-scale", f.heatmap_scale,
                 "top of the heatmap's colour scale: a busy fraction, or 'fixed' for 1 (default: the busiest PE's)")
      ->check(validator_of("MAX|fixed", sim::parse_heatmap_scale))
      ->needs("--heatmap");
}

Status check_run_flags(const RunFlags& f, int64_t width, int64_t height) {
  WAFER_TRY(check_output_path("--trace", f.trace));
  WAFER_TRY(check_output_path("--heatmap", f.heatmap, ".png"));
  for (const auto& [flag, value] : {std::pair{"--trace-region", &f.trace_region}, std::pair{"--trace-window", &f.trace_window}})
    if (f.trace.empty() && !value->empty()) warn(fmt::format("{} has no effect without --trace", flag));
  if (f.trace.empty() || f.trace_region.empty()) return Status::ok();
  const ir::Rect r = *parse_region(f.trace_region);
  if (int64_t(r.x) + r.w > width || int64_t(r.y) + r.h > height)
    warn(fmt::format("--trace-region {} reaches outside the {}x{} grid (x + w at most {}, y + h at most {}); "
                     "only the PEs inside are traced",
                     f.trace_region, width, height, width, height));
  return Status::ok();
}

Expected<sim::Options> sim_options(const RunFlags& f) {
  sim::Options o;
  o.threads = f.threads;
  o.superstep = f.superstep;
  o.general_path = f.general_path;
  o.max_cycles = f.max_cycles;
  o.progress = isatty(STDERR_FILENO) != 0;
  o.collect_stats = f.stats || !f.heatmap.empty();  // counters cost time: only when asked
  o.trace.enabled = !f.trace.empty();
  o.trace.max_events = size_t(f.trace_max_events);
  if (!f.trace_region.empty()) {
    auto r = parse_region(f.trace_region);
    if (!r) return r.status().with_context("--trace-region");
    o.trace.region = *r;
  }
  if (!f.trace_window.empty()) {
    auto w = parse_window(f.trace_window);
    if (!w) return w.status().with_context("--trace-window");
    o.trace.from_cycle = w->first;
    o.trace.to_cycle = w->second;
  }
  return o;
}

void print_stats_summary(const sim::Stats& stats, const arch::Arch& arch, const RunFlags& f) {
  if (f.stats) fmt::print(f.json ? stderr : stdout, "\n{}", sim::stats_summary(stats, arch));
  std::fflush(stdout);  // the result and summary before the notes on stderr, even on a pipe
}

void note_trace_written(const std::string& path, size_t events, uint64_t dropped) {
  fmt::print(stderr, "wafer: wrote trace {} ({} events, {} dropped over --trace-max-events)\n", path, events,
             dropped);
}

Status write_heatmap(const sim::Stats& stats, const RunFlags& f, const std::string& title) {
  sim::HeatmapOptions o;
  o.title = title;
  o.scale_max = f.heatmap_scale.empty() ? 0 : *sim::parse_heatmap_scale(f.heatmap_scale);
  WAFER_TRY(sim::write_heatmap_png(stats, f.heatmap, o));
  const auto g = sim::heatmap_geometry(stats.width, stats.height, o);
  const std::string unit = g.block > 1 ? fmt::format("a pixel averages {0}x{0} PEs", g.block)
                                       : fmt::format("a PE is {0}x{0} px", g.scale);
  fmt::print(stderr, "wafer: wrote heatmap {} ({}x{} px, {})\n", f.heatmap, g.width, g.height, unit);
  return Status::ok();
}

Status write_observations(const sim::Simulator& sim, const RunFlags& f, const std::string& what) {
  print_stats_summary(sim.stats(), sim.arch(), f);
  if (!f.trace.empty()) {
    WAFER_TRY(sim::write_trace_json(sim, f.trace));
    note_trace_written(f.trace, sim.trace_events().size(), sim.trace_dropped());
  }
  if (!f.heatmap.empty()) WAFER_TRY(write_heatmap(sim.stats(), f, sim::heatmap_title(what, sim)));
  return Status::ok();
}

int report_failed_run(const Status& error, const sim::Simulator* sim, const RunFlags& f,
                      const std::string& what) {
  if (sim) {
    Status st = write_observations(*sim, f, what);
    if (!st) report_error(st);
  }
  return report_error(error);
}

std::string speed_line(uint64_t cycles, int64_t pes, const sim::RunResult& run) {
  const double wall = std::max(run.wall_seconds, 1e-9);
  return fmt::format("speed: {} cycles, {} PEs, {:.3f} s wall, {:.2e} PE-cycles/s, {:.2e} active PE-cycles/s, {} thread{}",
                     cycles, pes, run.wall_seconds, double(pes) * double(cycles) / wall,
                     double(run.active_pe_cycles) / wall, run.threads, run.threads == 1 ? "" : "s");
}

int resolved_threads(int requested) {
  return requested > 0 ? requested : int(std::max(1u, std::thread::hardware_concurrency()));
}

std::string describe_arch(const arch::Arch& a) {
  return fmt::format("{} ({}x{} PEs, {} GHz)", a.name, a.fabric_width, a.fabric_height, a.clock_ghz);
}

}  // namespace wafer::cli
