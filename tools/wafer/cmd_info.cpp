// `wafer info`: the resolved machine parameters of a preset or arch file, and derived figures.
//
// Each parameter is shown with its value, unit, meaning and source. The arch does not record
// which preset it started from, so the source of a value is found by comparison: the preset
// that agrees with the most parameters is taken as the base, and a value cites the first
// preset (base first) whose value it equals; any other value was set by the arch file.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "table.hpp"
#include "wafer/arch/arch.hpp"
#include "wafer/support/json_text.hpp"

namespace wafer::cli {

namespace {

using arch::Arch;
using arch::ParamInfo;

struct InfoOptions {
  std::string arch = "wse3";
  bool json = false;
  bool list = false;
};

struct Derived {
  const char* key;
  double value;
  const char* unit;
  bool integer = false;
};

using Json = nlohmann::ordered_json;

int matching_params(const Arch& a, const Arch& b) {
  int n = 0;
  for (const ParamInfo& p : arch::arch_params()) n += get_param(a, p) == get_param(b, p);
  return n;
}

// The presets, the best match for `a` first.
std::vector<Arch> presets_by_match(const Arch& a) {
  std::vector<Arch> presets;
  for (const std::string& name : arch::preset_names()) presets.push_back(*arch::preset(name));
  std::stable_sort(presets.begin(), presets.end(), [&](const Arch& x, const Arch& y) {
    return matching_params(a, x) > matching_params(a, y);
  });
  return presets;
}

std::string source_of(const ParamInfo& p, const Arch& a, const std::vector<Arch>& presets,
                      const std::string& origin) {
  for (const Arch& pre : presets) {
    if (get_param(pre, p) != get_param(a, p)) continue;
    return pre.name == "wse2" ? p.source_wse2 : p.source_wse3;
  }
  return "set in " + origin;
}

std::string format_value(const ParamInfo& p, double v) {
  return p.kind == arch::ParamKind::integer ? fmt::format("{}", int64_t(v)) : fmt::format("{}", v);
}

std::vector<Derived> derived_figures(const Arch& a) {
  double pes = double(a.pe_count());
  return {
      {"pe_count", pes, "PEs", true},
      {"sram_total_gib", pes * a.sram_bytes / double(1 << 30), "GiB"},
      {"peak_fp16_fma_tflops", pes * a.lanes_f16_fma * 2 * a.clock_ghz * 1e9 / 1e12, "TFLOP/s"},
      {"cycles_per_second", a.clock_ghz * 1e9, "Hz"},
      {"host_bytes_per_cycle", a.host_bytes_per_cycle(), "B/cycle"},
  };
}

Json json_number(double v, bool integer) { return integer ? Json(int64_t(v)) : Json(v); }

void print_json(const Arch& a, const std::string& origin) {
  auto presets = presets_by_match(a);
  Json params = Json::array();
  for (const ParamInfo& p : arch::arch_params()) {
    params.push_back({{"key", p.key},
                      {"value", json_number(get_param(a, p), p.kind == arch::ParamKind::integer)},
                      {"unit", p.unit},
                      {"source", source_of(p, a, presets, origin)},
                      {"meaning", p.meaning}});
  }
  Json derived = Json::object();
  for (const Derived& d : derived_figures(a)) derived[d.key] = json_number(d.value, d.integer);
  Json out = {{"arch", a.name}, {"params", params}, {"derived", derived}};
  fmt::print("{}\n", json_text(out, 2));
}

void print_text(const Arch& a, const std::string& origin) {
  auto presets = presets_by_match(a);
  bool is_file = a.name != origin;
  fmt::print("arch: {}{}\n\nparameters:\n", a.name, is_file ? " (" + origin + ")" : "");
  std::vector<std::vector<std::string>> rows = {{"key", "value", "unit", "source", "meaning"}};
  for (const ParamInfo& p : arch::arch_params())
    rows.push_back({p.key, format_value(p, get_param(a, p)), p.unit,
                    source_of(p, a, presets, origin), p.meaning});
  print_table(rows);
  fmt::print("\nderived:\n");
  std::vector<std::vector<std::string>> figures;
  for (const Derived& d : derived_figures(a))
    figures.push_back(
        {d.key, d.integer ? fmt::format("{}", int64_t(d.value)) : fmt::format("{:.6g}", d.value),
         d.unit});
  print_table(figures);
}

int list_presets(bool json) {
  if (json) {
    fmt::print("{}\n", json_text(Json({{"presets", arch::preset_names()}}), 2));
    return 0;
  }
  for (const std::string& name : arch::preset_names()) fmt::print("{}\n", name);
  return 0;
}

int run_info(const InfoOptions& opts) {
  if (opts.list) return list_presets(opts.json);
  Expected<Arch> a = arch::load_arch(opts.arch);
  if (!a) return report_error(a.status());
  if (opts.json)
    print_json(*a, opts.arch);
  else
    print_text(*a, opts.arch);
  return 0;
}

}  // namespace

void add_info(CLI::App& app, Runner& run) {
  auto opts = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand("info", "show every machine parameter of an arch");
  cmd->add_option("--arch", opts->arch, "preset name (wse2, wse3) or arch file (.toml, .json)")
      ->capture_default_str();
  cmd->add_flag("--json", opts->json, "print one JSON object instead of a table");
  cmd->add_flag("--list", opts->list, "list the preset names");
  cmd->callback([&run, opts] { run = [opts] { return run_info(*opts); }; });
}

}  // namespace wafer::cli
