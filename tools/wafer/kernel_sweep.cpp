// The kernel sweep (kernel_sweep.hpp): axes parsed and checked against the kernel parameter
// table before any run, the cross product walked with the last axis fastest, each
// combination built and simulated alone (a combination that cannot be built, such as one that
// does not fit in SRAM, is a row with its error), and the rows rendered by the one table
// renderer (table.hpp). Progress, one line per run, goes to stderr.
#include "kernel_sweep.hpp"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "commands.hpp"
#include "wafer/support/suggest.hpp"

namespace wafer::cli {

namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] != ',') continue;
    parts.push_back(text.substr(start, i - start));
    start = i + 1;
  }
  return parts;
}

Status check_key(const std::string& key) {
  if (param_named(kernels::kernel_params(), key)) return Status::ok();
  const std::vector<std::string> keys = param_keys(kernels::kernel_params());
  const std::vector<std::string_view> names(keys.begin(), keys.end());
  return make_error("unknown key '{}'{} (keys: {})", key, suggestion(key, names), fmt::join(keys, ", "));
}

std::string general_cell(const Json& v) {
  if (!v.is_number_float()) return plain_cell(v);
  return fmt::format("{:.4g}", v.get<double>());
}

Table sweep_table(const std::vector<SweepAxis>& axes) {
  Table t;
  for (const SweepAxis& axis : axes)
    for (const std::string& key : axis.keys) t.columns.push_back({key, key});
  const std::vector<Column> results = {
      {"cycles", "cycles"},
      {"compute_cycles", "compute"},
      {"comm_cycles", "comm"},
      {"seconds", "seconds", general_cell},
      {"flops", "flops", general_cell},
      {"flops_per_cycle", "flops/cycle"},
      {"peak_fraction", "of peak"},
      {"max_rel_error", "max rel error", general_cell},
      {"verified", "verified"},
      {"sim_wall_seconds", "wall s"},
      {"error", "error"}};
  t.columns.insert(t.columns.end(), results.begin(), results.end());
  return t;
}

Json result_row(const kernels::KernelResult& r) {
  auto counted = [&](double v) { return r.flops > 0 && v > 0 ? Json(v) : Json(); };
  return {{"cycles", r.cycles},
          {"compute_cycles", r.compute_cycles},
          {"comm_cycles", r.comm_cycles},
          {"seconds", r.seconds},
          {"flops", counted(r.flops)},
          {"flops_per_cycle", counted(r.flops_per_cycle)},
          {"peak_fraction", counted(r.peak_fraction)},
          {"max_rel_error", r.max_rel_error},
          {"verified", r.verified},
          {"sim_wall_seconds", r.sim_wall_seconds},
          {"error", Json()}};
}

// One combination: its parameters read back for the swept keys, then the run's results or
// its error.
Json run_one(const arch::Arch& a, const kernels::KernelParams& p, const std::vector<SweepAxis>& axes,
             const sim::Options& options) {
  Json row = Json::object();
  for (const SweepAxis& axis : axes)
    for (const std::string& key : axis.keys) row[key] = get_text(p, *param_named(kernels::kernel_params(), key));
  auto r = kernels::run_kernel(a, p, options);
  Json results = r ? result_row(*r) : Json{{"verified", false}, {"error", r.message()}};
  for (auto& [key, value] : results.items()) row[key] = value;
  return row;
}

std::string describe_row(const Json& row, const std::vector<SweepAxis>& axes) {
  std::string text;
  for (const SweepAxis& axis : axes)
    for (const std::string& key : axis.keys) text += fmt::format("{}{}={}", text.empty() ? "" : " ", key, row[key].get<std::string>());
  if (!row["error"].is_null()) return text + ": " + row["error"].get<std::string>();
  return fmt::format("{}: {} cycles{}", text, row["cycles"].get<uint64_t>(),
                     row["verified"].get<bool>() ? "" : ", NOT VERIFIED");
}

}  // namespace

Status set_cli_kernel_param(kernels::KernelParams& p, const std::string& key, const std::string& text,
                            const arch::Arch* a) {
  if (key != "grid" || text != "full") return kernels::set_kernel_param(p, key, text);
  if (a) std::tie(p.grid_w, p.grid_h) = std::make_pair(a->fabric_width, a->fabric_height);
  return Status::ok();
}

Expected<SweepAxis> parse_sweep(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq + 1 == text.size())
    return make_error("expected KEY=V1,V2,... (e.g. grid=8x8,16x16), got '{}'", text);
  SweepAxis axis{split_list(text.substr(0, eq)), split_list(text.substr(eq + 1))};
  for (const std::string& key : axis.keys) WAFER_TRY(check_key(key));
  for (const std::string& key : axis.keys) {
    for (const std::string& value : axis.values) {
      kernels::KernelParams scratch;
      WAFER_TRY(set_cli_kernel_param(scratch, key, value, nullptr));
    }
  }
  return axis;
}

CLI::Validator sweep_validator() {
  return CLI::Validator(
      [](std::string& text) {
        auto axis = parse_sweep(text);
        return axis ? std::string() : axis.message();
      },
      "KEY=V1,V2,...");
}

int run_sweep(const arch::Arch& a, const kernels::KernelParams& base, const std::vector<std::string>& sweeps,
              const sim::Options& options, TableFormat format) {
  std::vector<SweepAxis> axes;
  size_t combinations = 1;
  std::vector<std::string> swept;
  for (const std::string& s : sweeps) {
    axes.push_back(*parse_sweep(s));  // the validator has checked it
    combinations *= axes.back().values.size();
    for (const std::string& key : axes.back().keys) {
      if (std::find(swept.begin(), swept.end(), key) != swept.end())
        return report_usage_error(fmt::format("--sweep: key '{}' is swept twice", key));
      swept.push_back(key);
    }
  }
  Table table = sweep_table(axes);
  size_t failed = 0;
  for (size_t i = 0; i < combinations; ++i) {
    kernels::KernelParams p = base;
    size_t rest = i;
    for (size_t ax = axes.size(); ax-- > 0;) {
      const SweepAxis& axis = axes[ax];
      const std::string& value = axis.values[rest % axis.values.size()];
      rest /= axis.values.size();
      for (const std::string& key : axis.keys) (void)set_cli_kernel_param(p, key, value, &a);
    }
    Json row = run_one(a, p, axes, options);
    failed += row["verified"].get<bool>() ? 0 : 1;
    std::fprintf(stderr, "sweep %zu/%zu: %s\n", i + 1, combinations, describe_row(row, axes).c_str());
    table.rows.push_back(std::move(row));
  }
  print_table(table, format);
  if (failed == 0) return 0;
  return report_error(fmt::format("{}: {} of {} runs did not verify or did not run (their rows say which)",
                                  base.kernel, failed, combinations));
}

}  // namespace wafer::cli
