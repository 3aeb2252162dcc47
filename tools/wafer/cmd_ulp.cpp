// `wafer ulp FUNC`: measures a vmath routine's error in ULPs by running it on the simulator.
//
// FUNC is one of the vmath functions (kernels/vmath.hpp) or `all`; --dtype one of fp32, fp16,
// bf16 or all. One-source functions on fp16 and bf16 see every finite value of the type;
// fp32 and the two-source functions see --samples seeded values (vmath::ulp_inputs says
// how they are drawn). Each output is compared with the correctly rounded value; a row
// gives the largest error with the input where it first occurs, the mean, the share of
// correctly rounded results, NaN mismatches and the routine's cycles per element on one PE.
// An unknown function or type is a usage error (exit 2) with the nearest name.
#include <string>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "run_flags.hpp"
#include "table.hpp"
#include "wafer/kernels/vmath.hpp"
#include "wafer/support/suggest.hpp"

namespace wafer::cli {

namespace {

namespace vm = kernels::vmath;

struct UlpFlags {
  std::string func;
  std::string dtype = "fp32";
  std::string arch = "wse3";
  uint64_t samples = 1'000'000;
  uint64_t seed = 1;
  int threads = 0;
  std::string format;
  bool json = false;
};

struct Job {
  vm::Func func;
  DType type;
};

Expected<std::vector<Job>> jobs_of(const UlpFlags& f) {
  std::vector<vm::Func> funcs;
  if (f.func == "all") {
    for (size_t i = 0; i < size_t(vm::Func::count_); ++i) funcs.push_back(vm::Func(i));
  } else if (auto fn = vm::parse_func(f.func)) {
    funcs.push_back(*fn);
  } else {
    const std::vector<std::string> names = vm::func_names();
    std::vector<std::string_view> views(names.begin(), names.end());
    views.push_back("all");
    return make_error("unknown function '{}'{}; valid: {}, all", f.func, suggestion(f.func, views),
                      fmt::join(names, ", "));
  }
  std::vector<DType> types;
  if (f.dtype == "all") {
    types = {DType::f32, DType::f16, DType::bf16};
  } else {
    const std::optional<DType> t = parse_dtype(f.dtype);
    if (!t || !dtype_is_float(*t)) {
      return make_error("unknown float type '{}'{}; valid: fp32, fp16, bf16, all", f.dtype,
                        suggestion(f.dtype, {"fp32", "fp16", "bf16", "all"}));
    }
    types.push_back(*t);
  }
  std::vector<Job> jobs;
  for (vm::Func fn : funcs) {
    for (DType t : types) jobs.push_back({fn, t});
  }
  return jobs;
}

std::string number_cell(const Json& v) { return v.is_number() ? fmt::format("{:.9g}", v.get<double>()) : plain_cell(v); }

Table ulp_table() {
  return {{{"function", "function"},
           {"dtype", "dtype"},
           {"inputs", "inputs"},
           {"max_ulp", "max ulp"},
           {"at", "at x", number_cell},
           {"at_b", "b", number_cell},
           {"got", "got", number_cell},
           {"want", "correctly rounded", number_cell},
           {"mean_ulp", "mean ulp", [](const Json& v) { return fmt::format("{:.4f}", v.get<double>()); }},
           {"exact_percent", "exact %"},
           {"nan_mismatch", "NaN mismatches"},
           {"vector_ops", "ops"},
           {"cycles_per_element", "cycles/elem"},
           {"pes", "PEs"},
           {"per_pe", "per PE"}},
          {}};
}

Json row_of(const Job& j, const vm::UlpReport& r) {
  const bool two = vm::func_info(j.func).arity == 2;
  return {{"function", vm::func_info(j.func).name},
          {"dtype", std::string(dtype_name(j.type))},
          {"inputs", r.count},
          {"max_ulp", r.max_ulp},
          {"at", r.max_a},
          {"at_b", two ? Json(r.max_b) : Json()},
          {"got", r.max_got},
          {"want", r.max_want},
          {"mean_ulp", r.mean_ulp},
          {"exact_percent", 100.0 * double(r.exact) / double(std::max<uint64_t>(r.count, 1))},
          {"nan_mismatch", r.nan_mismatch},
          {"vector_ops", r.vector_ops},
          {"cycles_per_element", r.cycles_per_element},
          {"pes", r.pes},
          {"per_pe", r.per_pe}};
}

int run_ulp_cmd(const UlpFlags& f) {
  auto jobs = jobs_of(f);
  if (!jobs) return report_usage_error(jobs.status());
  if (f.samples == 0) return report_usage_error("--samples must be at least 1");
  auto a = arch::load_arch(f.arch);
  if (!a) return report_error(a.status());
  const TableFormat format = chosen_format(f.format, f.json, TableFormat::text);
  if (format == TableFormat::text) {
    fmt::print("arch:     {}\n", describe_arch(*a));
    fmt::print("compare:  the correctly rounded value (long double reference, rounded once to "
               "double, then to the type)\n");
  }
  Table table = ulp_table();
  for (const Job& j : *jobs) {
    const vm::UlpInputs in = vm::ulp_inputs(j.func, j.type, f.samples, f.seed);
    auto r = vm::measure_ulp(*a, j.func, j.type, in, 0, f.threads);
    if (!r) return report_error(r.status());
    if (format == TableFormat::text) {
      fmt::print("{} {}: {}; {} PEs x {} elements\n", vm::func_info(j.func).name, dtype_name(j.type),
                 in.description, r->pes, r->per_pe);
    }
    table.rows.push_back(row_of(j, *r));
  }
  if (format == TableFormat::text) fmt::print("\n");
  print_table(table, format);
  return 0;
}

}  // namespace

void add_ulp(CLI::App& app, Runner& run) {
  auto f = std::make_shared<UlpFlags>();
  CLI::App* cmd = app.add_subcommand("ulp", "measure a vector math routine's error in ULPs on the simulator");
  cmd->add_option("function", f->func, "exp, reciprocal, sqrt, rsqrt, tanh, erf, sigmoid, gelu, gelu_tanh, "
                                       "silu, relu, add, sub, mul, div, max, or all")
      ->required();
  cmd->add_option("--dtype", f->dtype, "fp32, fp16, bf16 or all")->capture_default_str();
  cmd->add_option("--arch", f->arch, "preset name (wse2, wse3) or arch file (.toml, .json)")->capture_default_str();
  cmd->add_option("--samples", f->samples, "fp32 and two-source inputs (fp16/bf16 one-source: every finite value)")
      ->capture_default_str();
  cmd->add_option("--seed", f->seed, "seed of the sampled inputs")->capture_default_str();
  cmd->add_option("--threads", f->threads, "host threads (0: all cores)")->capture_default_str();
  add_format_flags(*cmd, f->format, f->json, "an aligned table");
  cmd->callback([&run, f] { run = [f] { return run_ulp_cmd(*f); }; });
}

}  // namespace wafer::cli
