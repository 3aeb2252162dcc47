// `wafer kernel NAME`: runs one kernel of the library on the simulator and checks its answer.
//
// The kernel is built for the chosen arch and grid with seeded random data, simulated, and
// compared with its CPU reference (kernels::run_kernel). Text output echoes the resolved
// configuration, then cycles, simulated seconds at the arch clock, host-copy cycles, the
// error, whether it verified, and the speed line; --json prints one object with a fixed set of
// keys. The exit code is 0 only when the result verified; a run that fails (deadlock,
// --max-cycles) still writes the trace and heatmap it asked for. `wafer kernel --list` lists
// kernels.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "defect_flags.hpp"
#include "run_flags.hpp"
#include "table.hpp"
#include "wafer/kernels/kernels.hpp"

namespace wafer::cli {

namespace {

struct KernelFlags {
  std::string name;
  std::string arch = "wse3";
  std::string grid = "4x4";
  int64_t m = 0, n = 0, k = 0;
  std::string origin = "0,0";
  std::string algo;
  std::string dtype = "fp32";
  std::string acc;
  uint64_t seed = 1;
  bool list = false;
  RunFlags run;
  DefectFlags defects;
};

int list_kernels(bool json) {
  Json list = Json::array();
  for (const kernels::KernelInfo& k : kernels::kernel_list()) {
    if (json)
      list.push_back({{"name", k.name}, {"sizes", k.sizes}, {"summary", k.summary}});
    else
      fmt::print("{:<14}{:<10}{}\n", k.name, k.sizes, k.summary);
  }
  if (json) print_json(Json({{"kernels", list}}));
  return 0;
}

Expected<kernels::KernelParams> make_params(const KernelFlags& f, const arch::Arch& a) {
  auto grid = parse_grid(f.grid, a);
  if (!grid) return grid.status().with_context("--grid");
  kernels::KernelParams p;
  p.kernel = f.name;
  p.grid_w = grid->first;
  p.grid_h = grid->second;
  p.m = f.m;
  p.n = f.n;
  p.k = f.k;
  p.algo = f.algo;
  p.dtype = *parse_dtype(f.dtype);
  if (!f.acc.empty()) p.acc = *parse_dtype(f.acc);
  if (std::sscanf(f.origin.c_str(), "%d,%d", &p.origin_x, &p.origin_y) != 2 || p.origin_x < 0 || p.origin_y < 0)
    return make_error("--origin '{}': expected X,Y with two whole numbers of at least 0", f.origin);
  p.seed = f.seed;
  return p;
}

// "m=64, n=default" for the size flags the kernel takes.
std::string describe_sizes(const kernels::KernelParams& p) {
  const kernels::KernelInfo* k = kernels::find_kernel(p.kernel);
  const std::string sizes = k ? k->sizes : "";
  std::string out;
  auto add = [&](const char* flag, const char* name, int64_t v) {
    if (sizes.find(flag) == std::string::npos) return;
    out += fmt::format("{}{}={}", out.empty() ? "" : ", ", name, v ? std::to_string(v) : "default");
  };
  add("--m", "m", p.m);
  add("--n", "n", p.n);
  add("--k", "k", p.k);
  return out.empty() ? "none" : out;
}

void print_config(const KernelFlags& f, const kernels::KernelParams& p, const arch::Arch& a) {
  fmt::print("kernel:        {}\n", p.kernel);
  fmt::print("arch:          {}\n", describe_arch(a));
  fmt::print("grid:          {}x{} ({} PEs) at ({},{})\n", p.grid_w, p.grid_h, int64_t(p.grid_w) * p.grid_h,
             p.origin_x, p.origin_y);
  if (!p.algo.empty()) fmt::print("algorithm:     {}\n", p.algo);
  fmt::print("sizes:         {}\n", describe_sizes(p));
  fmt::print("dtype:         {}{}\n", f.dtype, f.acc.empty() ? "" : fmt::format(" ({} accumulation)", f.acc));
  fmt::print("threads:       {}{}\n", resolved_threads(f.run.threads), f.run.threads ? "" : " (all cores)");
  fmt::print("seed:          {}\n\n", p.seed);
  std::fflush(stdout);
}

void print_result(const kernels::KernelResult& r, const arch::Arch& a) {
  fmt::print("cycles:        {}\n", r.cycles);
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
  const bool identical = base->output == r.output;
  const int64_t diff = int64_t(r.cycles) - int64_t(base->cycles);
  if (!f.run.json) {
    fmt::print("defects:       {}\n", describe_defects(f.defects, wafer));
    fmt::print("perfect wafer: {} cycles; this wafer {:+} ({:+.2f}%), outputs {}\n", base->cycles,
               diff, 100.0 * double(diff) / double(std::max<uint64_t>(1, base->cycles)),
               identical ? "identical" : "DIFFERENT");
  }
  if (!identical) return make_error("outputs differ between the perfect and the repaired wafer");
  return Json{{"defects", wafer.defects},
              {"dead_pes", wafer.repair.dead_pes},
              {"scheme", fabric::scheme_name(wafer.repair.scheme)},
              {"longer_links", wafer.longer_links},
              {"extra_hops_max", wafer.extra_hops_max},
              {"cycles_perfect", base->cycles},
              {"cycle_difference", diff},
              {"outputs_identical", identical}};
}

int run_kernel_cmd(const KernelFlags& f) {
  if (f.list) return list_kernels(f.run.json);
  if (f.name.empty()) return report_usage_error("kernel: no kernel named (see 'wafer kernel --list')");
  auto a = arch::load_arch(f.arch);
  if (!a) return report_error(a.status());
  auto params = make_params(f, *a);
  if (!params) return report_error(params.status());
  if (Status ok = check_run_flags(f.run, params->grid_w, params->grid_h); !ok) return report_error(ok);
  check_defect_flags(f.defects);
  auto options = sim_options(f.run);
  if (!options) return report_error(options.status());
  std::optional<RepairedWafer> wafer;
  if (f.defects.requested()) {
    auto w = repaired_wafer(f.defects, *a, f.seed, params->grid_w, params->grid_h);
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

}  // namespace

void add_kernel(CLI::App& app, Runner& run) {
  auto f = std::make_shared<KernelFlags>();
  CLI::App* cmd = app.add_subcommand("kernel", "run a library kernel on the simulator and check it");
  cmd->add_option("name", f->name, "kernel name (see --list)");
  cmd->add_flag("--list", f->list, "list the kernels and the size flags each takes");
  cmd->add_option("--arch", f->arch, "preset name (wse2, wse3) or arch file (.toml, .json)")->capture_default_str();
  cmd->add_option("--grid", f->grid, "PEs as WxH (columns x rows) or 'full' for the whole fabric")
      ->check(grid_validator())
      ->capture_default_str();
  cmd->add_option("--m", f->m, "rows of the problem (0: the kernel's default)")->check(count_validator());
  cmd->add_option("--n", f->n, "elements per PE or columns (0: the kernel's default)")->check(count_validator());
  cmd->add_option("--k", f->k, "inner dimension of a product (0: the kernel's default)")->check(count_validator());
  cmd->add_option("--origin", f->origin, "the grid's top-left PE on the fabric as X,Y")->capture_default_str();
  cmd->add_option("--algo", f->algo, "algorithm, for kernels that have several (gemm: cannon)");
  cmd->add_option("--dtype", f->dtype, "element type: fp32, fp16 or bf16")
      ->check(float_dtype_validator())
      ->capture_default_str();
  cmd->add_option("--acc", f->acc, "accumulation type (fp32, fp16, bf16; default: --dtype)")->check(float_dtype_validator());
  cmd->add_option("--seed", f->seed, "seed of the random input data")->check(count_validator())->capture_default_str();
  add_run_flags(*cmd, f->run);
  add_defect_flags(*cmd, f->defects);
  cmd->callback([&run, f] { run = [f] { return run_kernel_cmd(*f); }; });
}

}  // namespace wafer::cli
