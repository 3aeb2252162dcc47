// `wafer sim FILE`: runs a program text file (docs/program-format.md) on the simulator.
//
// The file is parsed and verified, the arch is chosen (--arch, else the file's `arch` line,
// else wse3; a relative arch file named by the program is looked up next to the program when
// it is not found from the working directory), and the program's own host script runs: its
// copies in, launches and copies out. Each copy out is printed (long ones shortened), then
// cycles, host-copy cycles, simulated seconds and the speed line; --json prints one object.
// Parse, verify, deadlock and max-cycles errors exit 1 with `wafer: error: ...`; a run that
// fails still writes the trace and heatmap it asked for.
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "run_flags.hpp"
#include "table.hpp"
#include "wafer/ir/text.hpp"

namespace wafer::cli {

namespace {

using Outputs = std::vector<sim::Simulator::HostOutput>;

constexpr size_t kMaxValuesShown = 64;  // longer outputs show only their first half of this

struct SimFlags {
  std::string file;
  std::string arch;
  RunFlags run;
};

struct ChosenArch {
  arch::Arch arch;
  std::string origin;  // where the choice came from
};

Expected<ChosenArch> choose_arch(const SimFlags& f, const ir::Program& p) {
  if (!f.arch.empty()) {
    auto a = arch::load_arch(f.arch);
    if (!a) return a.status();
    return ChosenArch{*a, "from --arch"};
  }
  if (p.arch.empty()) return ChosenArch{*arch::preset("wse3"), "default"};
  const std::filesystem::path beside = std::filesystem::path(f.file).parent_path() / p.arch;
  const bool use_beside = std::filesystem::path(p.arch).is_relative() && !std::filesystem::exists(p.arch) &&
                          std::filesystem::exists(beside);
  auto a = arch::load_arch(use_beside ? beside.string() : p.arch);
  if (!a) return a.status().with_context(f.file + ": arch line");
  return ChosenArch{*a, "from the program's arch line"};
}

// Integers (every i16 and i32 value, and integral floats below 2^53) print exactly; other
// values print as the shortest text that reads back as the same float, or double.
std::string format_value(double v) {
  const bool negative_zero = v == 0 && std::signbit(v);
  if (std::trunc(v) == v && std::fabs(v) < 9007199254740992.0 && !negative_zero) {
    return fmt::format("{}", int64_t(v));
  }
  return v == double(float(v)) ? fmt::format("{}", float(v)) : fmt::format("{}", v);
}

std::string join_values(const std::vector<double>& v, size_t from, size_t to) {
  std::string s;
  for (size_t i = from; i < to; ++i) {
    if (i > from) s.push_back(' ');
    s.append(format_value(v[i]));
  }
  return s;
}

void print_output(const sim::Simulator::HostOutput& o) {
  const ir::Rect& r = o.rect;
  fmt::print("d2h {} ({},{}) {}x{}, {} per PE:\n", o.symbol, r.x, r.y, r.w, r.h, o.count);
  if (o.values.size() > kMaxValuesShown) {
    fmt::print("  {} ... ({} values, first {} shown)\n", join_values(o.values, 0, kMaxValuesShown / 2),
               o.values.size(), kMaxValuesShown / 2);
    return;
  }
  for (int64_t pe = 0; pe < r.area(); ++pe) {
    const size_t from = size_t(pe) * o.count;
    fmt::print("  ({},{}): {}\n", r.x + pe % r.w, r.y + pe / r.w, join_values(o.values, from, from + o.count));
  }
}

void print_text(const sim::Simulator& sim, const Outputs& outputs, const sim::RunResult& total) {
  for (const auto& o : outputs) print_output(o);
  if (!outputs.empty()) fmt::print("\n");
  const arch::Arch& a = sim.arch();
  const ir::Program& p = sim.program();
  fmt::print("cycles:    {}\n", total.cycles);
  fmt::print("io cycles: {} (host copies, not in cycles)\n", sim.io_cycles());
  fmt::print("seconds:   {:.6g} at {} GHz\n", a.seconds(total.cycles), a.clock_ghz);
  fmt::print("{}\n", speed_line(total.cycles, int64_t(p.width) * p.height, total));
}

void print_result_json(const sim::Simulator& sim, const std::string& file, const Outputs& outputs,
                const sim::RunResult& total) {
  Json outs = Json::array();
  for (const auto& o : outputs)
    outs.push_back({{"symbol", o.symbol}, {"rect", {o.rect.x, o.rect.y, o.rect.w, o.rect.h}}, {"values", o.values}});
  const double wall = std::max(total.wall_seconds, 1e-9);
  const double pes = double(sim.program().width) * double(sim.program().height);
  Json out = {{"arch", sim.arch().name},
              {"program", file},
              {"cycles", total.cycles},
              {"io_cycles", sim.io_cycles()},
              {"seconds", sim.arch().seconds(total.cycles)},
              {"outputs", outs},
              {"sim_wall_seconds", total.wall_seconds},
              {"pe_cycles_per_s", pes * double(total.cycles) / wall}};
  print_json(out);
}

void print_config(const SimFlags& f, const ir::Program& p, const ChosenArch& a) {
  fmt::print("program:   {} ({}x{} PEs, {} code{}, {} route{})\n", f.file, p.width, p.height, p.codes.size(),
             p.codes.size() == 1 ? "" : "s", p.routes.size(), p.routes.size() == 1 ? "" : "s");
  fmt::print("arch:      {}, {}\n", describe_arch(a.arch), a.origin);
  fmt::print("threads:   {}{}\n\n", resolved_threads(f.run.threads), f.run.threads ? "" : " (all cores)");
  std::fflush(stdout);
}

int run_sim_cmd(const SimFlags& f) {
  auto program = ir::load_program_file(f.file);
  if (!program) return report_error(program.status());
  auto a = choose_arch(f, *program);
  if (!a) return report_error(a.status());
  if (Status ok = check_run_flags(f.run, program->width, program->height); !ok) return report_error(ok);
  auto options = sim_options(f.run);
  if (!options) return report_error(options.status());
  auto sim = sim::Simulator::create(a->arch, *program, *options);
  if (!sim) return report_error(sim.status().with_context(f.file));
  if (!f.run.json) print_config(f, *program, *a);
  sim::RunResult total;
  auto outputs = (*sim)->run_host_script(&total);
  const std::string what = std::filesystem::path(f.file).filename().string();
  if (!outputs) return report_failed_run(outputs.status().with_context(f.file), sim->get(), f.run, what);
  if (f.run.json)
    print_result_json(**sim, f.file, *outputs, total);
  else
    print_text(**sim, *outputs, total);
  Status st = write_observations(**sim, f.run, what);
  return st ? 0 : report_error(st);
}

}  // namespace

void add_sim(CLI::App& app, Runner& run) {
  auto f = std::make_shared<SimFlags>();
  CLI::App* cmd = app.add_subcommand("sim", "run a program text file and print what it copies out");
  cmd->add_option("file", f->file, "program text file (docs/program-format.md)")->required();
  cmd->add_option("--arch", f->arch, "preset or arch file (default: the program's arch line, else wse3)");
  add_run_flags(*cmd, f->run);
  cmd->callback([&run, f] { run = [f] { return run_sim_cmd(*f); }; });
}

}  // namespace wafer::cli
