// `wafer kernel NAME`: runs one kernel of the library on the simulator and checks its answer.
//
// The kernel is built for the chosen arch and grid with seeded random data, simulated, and
// compared with its CPU reference (kernels::run_kernel). Text output echoes the resolved
// configuration, then cycles and their split into compute and communication (KernelResult),
// simulated seconds at the arch clock, host-copy cycles, the error, whether it verified, and
// the speed line; --json prints one object with a fixed set of keys. The exit code is 0 only when the result verified; a run that fails (deadlock,
// --max-cycles) still writes the trace and heatmap it asked for. `wafer kernel --list` lists
// kernels, `--params` the parameters; `NAME --help` ends with the kernel's summary and its
// parameters; `--sweep` runs a cross product of parameter values (kernel_sweep.cpp).
//
// The kernel's parameter flags (--grid, --origin, --m, --n, --k, --dtype, --acc, --algo,
// --seed) are made from the library's table (kernels::kernel_params()): each flag is a row's
// key, its help the row's meaning, its check the row's own setter (ranges, choices), and a
// flag not given leaves the library's default. Only 'full' for --grid is the command's own:
// it needs the arch.
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "defect_flags.hpp"
#include "kernel_sweep.hpp"
#include "run_flags.hpp"
#include "table.hpp"
#include "wafer/kernels/kernels.hpp"

namespace wafer::cli {

namespace {

struct KernelFlags {
  std::string name;
  std::string arch = "wse3";
  std::map<std::string, std::string> params;  // kernel parameter flags given, by key
  std::vector<std::string> sweeps;            // --sweep KEY=V1,V2,...
  std::string format;
  bool list = false;
  bool list_params = false;
  RunFlags run;
  DefectFlags defects;
};

TableFormat output_format(const KernelFlags& f) { return chosen_format(f.format, f.run.json, TableFormat::text); }

int list_kernels(TableFormat format) {
  Table t{{{"name", "kernel"}, {"sizes", "sizes"}, {"summary", "summary"}}, {}};
  for (const kernels::KernelInfo& k : kernels::kernel_list())
    t.rows.push_back({{"name", k.name}, {"sizes", k.sizes}, {"summary", k.summary}});
  if (format == TableFormat::json)
    print_json(Json({{"kernels", table_json(t)}}));
  else
    print_table(t, format);
  return 0;
}

// The parameters `k` takes (all of them for nullptr) as a table, defaults in the source column.
Table params_table(const kernels::KernelInfo* k) {
  return param_docs_table(kernels::describe_kernel_params(k));
}

int list_params(const KernelFlags& f) {
  const kernels::KernelInfo* k = kernels::find_kernel(f.name);
  if (!f.name.empty() && !k) return report_error(fmt::format("unknown kernel '{}'", f.name));
  const Table t = params_table(k);
  if (output_format(f) == TableFormat::json)
    print_json(Json({{"kernel", f.name.empty() ? Json() : Json(f.name)}, {"params", table_json(t)}}));
  else
    print_table(t, output_format(f));
  return 0;
}

// The end of `wafer kernel NAME --help`: the kernel's summary and the parameters it takes.
std::string help_footer(const CLI::Option& name) {
  const kernels::KernelInfo* k = name.results().empty() ? nullptr : kernels::find_kernel(name.results()[0]);
  if (!k) return "Kernel parameters (wafer kernel NAME --help shows one kernel's):\n" + table_text(params_table(nullptr), TableFormat::text);
  return fmt::format("{}: {}\nParameters of {}:\n{}", k->name, k->summary, k->name,
                     table_text(params_table(k), TableFormat::text));
}

Expected<kernels::KernelParams> make_params(const KernelFlags& f, const arch::Arch& a) {
  kernels::KernelParams p;
  p.kernel = f.name;
  for (const auto& [key, text] : f.params)
    if (Status ok = text.empty() ? Status::ok() : set_cli_kernel_param(p, key, text, &a); !ok) return ok.with_context("--" + key);
  return p;
}

// "m=64, n=default" for the sizes the kernel takes.
std::string describe_sizes(const kernels::KernelParams& p) {
  const kernels::KernelInfo* k = kernels::find_kernel(p.kernel);
  std::string out;
  for (const char* key : {"m", "n", "k"}) {
    if (!k || !kernels::kernel_param_applies(*k, key)) continue;
    const double v = get_number(p, *param_named(kernels::kernel_params(), key));
    out += fmt::format("{}{}={}", out.empty() ? "" : ", ", key, v ? number_text(v) : "default");
  }
  return out.empty() ? "none" : out;
}

void print_config(const KernelFlags& f, const kernels::KernelParams& p, const arch::Arch& a) {
  fmt::print("kernel:        {}\n", p.kernel);
  fmt::print("arch:          {}\n", describe_arch(a));
  fmt::print("grid:          {}x{} ({} PEs) at ({},{})\n", p.grid_w, p.grid_h, int64_t(p.grid_w) * p.grid_h,
             p.origin_x, p.origin_y);
  if (!p.algo.empty()) fmt::print("algorithm:     {}\n", p.algo);
  fmt::print("sizes:         {}\n", describe_sizes(p));
  const auto& table = kernels::kernel_params();
  const std::string dtype = get_text(p, *param_named(table, "dtype"));
  const std::string acc = get_text(p, *param_named(table, "acc"));
  fmt::print("dtype:         {}{}\n", dtype, acc.empty() ? "" : fmt::format(" ({} accumulation)", acc));
  fmt::print("threads:       {}{}\n", resolved_threads(f.run.threads), f.run.threads ? "" : " (all cores)");
  fmt::print("seed:          {}\n\n", p.seed);
  std::fflush(stdout);
}

void print_result(const kernels::KernelResult& r, const arch::Arch& a) {
  fmt::print("cycles:        {}\n", r.cycles);
  auto share = [&](uint64_t part) { return 100.0 * double(part) / double(std::max<uint64_t>(1, r.cycles)); };
  fmt::print("compute:       {} cycles ({:.1f}%), the most any PE computed\n", r.compute_cycles, share(r.compute_cycles));
  fmt::print("communication: {} cycles ({:.1f}%), the rest: not hidden behind that compute\n", r.comm_cycles,
             share(r.comm_cycles));
  fmt::print("seconds:       {:.6g} at {} GHz\n", r.seconds, a.clock_ghz);
  fmt::print("io cycles:     {} (host copies, not in cycles)\n", r.io_cycles);
  if (r.flops > 0) {
    fmt::print("flops:         {:.4g} ({:.1f} per cycle)\n", r.flops, r.flops_per_cycle);
    if (r.peak_fraction > 0) fmt::print("of peak:       {:.1f}% of the grid's peak for the dtype\n", 100 * r.peak_fraction);
  }
  fmt::print("max rel error: {:.3g}\n", r.max_rel_error);
  fmt::print("verified:      {}\n", r.verified ? "yes" : "no");
  sim::RunResult run{r.cycles, r.active_pe_cycles, r.sim_wall_seconds, r.threads};
  fmt::print("{}\n", speed_line(r.cycles, int64_t(r.grid_w) * r.grid_h, run));
}

void print_result_json(const kernels::KernelResult& r, const Json& defects) {
  Json out = {{"kernel", r.kernel},
              {"arch", r.arch},
              {"grid", fmt::format("{}x{}", r.grid_w, r.grid_h)},
              {"cycles", r.cycles},
              {"compute_cycles", r.compute_cycles},
              {"comm_cycles", r.comm_cycles},
              {"seconds", r.seconds},
              {"max_rel_error", r.max_rel_error},
              {"verified", r.verified},
              {"sim_wall_seconds", r.sim_wall_seconds},
              {"pe_cycles_per_s", r.pe_cycles_per_s}};
  if (r.flops > 0) {
    out["flops"] = r.flops;
    out["flops_per_cycle"] = r.flops_per_cycle;
    out["peak_fraction"] = r.peak_fraction;
  }
  if (!defects.is_null()) out["defects"] = defects;
  print_json(out);
}

// On a defective wafer the kernel also runs on a perfect one: the outputs must be identical
// and the cycle difference is the cost of the repair.
Expected<Json> compare_with_perfect(const KernelFlags& f, const arch::Arch& a,
                                    const kernels::KernelParams& p, const kernels::KernelCase& kc,
                                    const sim::Options& options, const RepairedWafer& wafer,
                                    const kernels::KernelResult& r) {
  sim::Options perfect = options;  // the same run, without the defects and observation
  perfect.link_extra_hops = nullptr;
  perfect.trace.enabled = false;
  perfect.collect_stats = false;
  auto base = kernels::run_case(a, p, kc, perfect);
  if (!base) return base.status().with_context("perfect wafer");
  const RepairCost cost{base->cycles, r.cycles, base->output == r.output};
  if (!f.run.json) {
    fmt::print("defects:       {}\n", describe_defects(f.defects, wafer));
    fmt::print("{}\n", describe_repair_cost(cost));
  }
  if (!cost.outputs_identical) return make_error("outputs differ between the perfect and the repaired wafer");
  return defects_json(wafer, &cost);
}

int run_kernel_cmd(const KernelFlags& f) {
  if (f.list) return list_kernels(output_format(f));
  if (f.list_params) return list_params(f);
  if (f.name.empty()) return report_usage_error("kernel: no kernel named (see 'wafer kernel --list')");
  if (!f.sweeps.empty() && (f.run.wants_simulator() || f.defects.requested()))
    return report_usage_error("--sweep takes no --stats, --trace, --heatmap or defect flags (run one combination alone)");
  auto a = arch::load_arch(f.arch);
  if (!a) return report_error(a.status());
  auto params = make_params(f, *a);
  if (!params) return report_error(params.status());
  if (!f.sweeps.empty()) {
    auto options = sim_options(f.run);
    if (!options) return report_error(options.status());
    return run_sweep(*a, *params, f.sweeps, *options, output_format(f));
  }
  if (Status ok = check_run_flags(f.run, params->grid_w, params->grid_h); !ok) return report_error(ok);
  check_defect_flags(f.defects);
  auto options = sim_options(f.run);
  if (!options) return report_error(options.status());
  std::optional<RepairedWafer> wafer;
  if (f.defects.requested()) {
    auto w = repaired_wafer(f.defects, *a, params->seed, params->grid_w, params->grid_h);
    if (!w) return report_error(w.status());
    wafer = std::move(*w);
    options->link_extra_hops = wafer->hops;
  }
  auto kc = kernels::build_kernel(*a, *params, *options);
  if (!kc) return report_error(kc.status());
  if (!f.run.json) print_config(f, *params, *a);
  std::unique_ptr<sim::Simulator> sim;
  auto r = kernels::run_case(*a, *params, *kc, *options, f.run.wants_simulator() ? &sim : nullptr);
  if (!r) return report_failed_run(r.status(), sim.get(), f.run, params->kernel);
  Json defects;
  if (wafer) {
    auto d = compare_with_perfect(f, *a, *params, *kc, *options, *wafer, *r);
    if (!d) return report_error(d.status());
    defects = std::move(*d);
  }
  if (f.run.json)
    print_result_json(*r, defects);
  else
    print_result(*r, *a);
  if (sim) {
    Status st = write_observations(*sim, f.run, params->kernel);
    if (!st) return report_error(st);
  }
  if (!r->verified)
    return report_error(fmt::format("{}: result not verified (max relative error {:.3g})", r->kernel,
                                    r->max_rel_error));
  return 0;
}

// One flag per row of the library's parameter table: --KEY, its meaning, its range checked by
// the row's setter, the library's default shown.
void add_param_flags(CLI::App& cmd, KernelFlags& f) {
  const std::vector<ParamDoc> docs = kernels::describe_kernel_params(nullptr);
  for (size_t i = 0; i < docs.size(); ++i) {
    const Param<kernels::KernelParams>& p = kernels::kernel_params()[i];
    const std::string key = p.key;
    const bool grid = key == "grid";
    auto check = [key](const std::string& text) {
      kernels::KernelParams scratch;
      return set_cli_kernel_param(scratch, key, text, nullptr);
    };
    std::string help = p.meaning + std::string(grid ? ", or 'full' for the arch's whole fabric" : "");
    CLI::Option* o = cmd.add_option("--" + key, f.params[key], help)->check(check_validator(grid ? "WxH|full" : docs[i].range.c_str(), check));
    const std::string def = kernels::kernel_param_default(p);
    if (def != "the kernel's" && def != "the dtype") o->default_str(def);
  }
}

}  // namespace

void add_kernel(CLI::App& app, Runner& run) {
  auto f = std::make_shared<KernelFlags>();
  CLI::App* cmd = app.add_subcommand("kernel", "run a library kernel on the simulator and check it");
  cmd->add_option("name", f->name, "kernel name (see --list)");
  cmd->add_flag("--list", f->list, "list the kernels and the size flags each takes");
  cmd->add_option("--arch", f->arch, "preset name (wse2, wse3) or arch file (.toml, .json)")->capture_default_str();
  add_param_flags(*cmd, *f);
  cmd->add_option("--sweep", f->sweeps,
                  "run every combination: KEY=V1,V2,... per parameter (repeat for a cross product; "
                  "KEY1,KEY2=... sets several keys to each value) and print one table")
      ->check(sweep_validator());
  cmd->add_flag("--params", f->list_params, "list the kernel parameters (with NAME: those it takes) and their defaults");
  cmd->add_option("--format", f->format, "--list, --params and --sweep tables: md (markdown), csv, json or text (default)")
      ->check(table_format_validator());
  add_run_flags(*cmd, f->run);
  add_defect_flags(*cmd, f->defects);
  cmd->footer([name = cmd->get_option("name")] { return help_footer(*name); });
  cmd->callback([&run, f] { run = [f] { return run_kernel_cmd(*f); }; });
}

}  // namespace wafer::cli
