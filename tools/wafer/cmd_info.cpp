// `wafer info`: the resolved machine parameters of a preset or arch file, and derived figures.
//
// Each parameter is shown with its value, unit, meaning and source. The arch does not record
// which preset it started from, so the source of a value is found by comparison: the preset
// that agrees with the most parameters is taken as the base, and a value cites the first
// preset (base first) whose value it equals; any other value was set by the arch file.
// --keys lists what an arch, model or system file may set, from the same parameter tables
// (support/param_table.hpp) that read those files.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "run_flags.hpp"
#include "table.hpp"
#include "wafer/arch/arch.hpp"
#include "wafer/estimate/model.hpp"
#include "wafer/estimate/system.hpp"
#include "wafer/support/json_text.hpp"

namespace wafer::cli {

namespace {

using arch::Arch;
using arch::ParamInfo;

struct InfoOptions {
  std::string arch = "wse3";
  std::string format;
  std::string keys;
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
  for (const Arch& pre : presets)
    if (get_param(pre, p) == get_param(a, p)) return arch::param_source(p, pre.name);
  return "set in " + origin;
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

// A number as `{}` prints it: integers whole, reals in their shortest exact form.
std::string shortest_cell(const Json& v) {
  return v.is_number_float() ? fmt::format("{}", v.get<double>()) : plain_cell(v);
}

// Every parameter: key, value, unit, source, meaning and range (text, markdown, CSV, JSON);
// range comes last so that the CSV columns before it stay where they were.
Table params_table(const Arch& a, const std::string& origin) {
  auto presets = presets_by_match(a);
  Table t{{{"key", "key"},
           {"value", "value", shortest_cell},
           {"unit", "unit"},
           {"source", "source"},
           {"meaning", "meaning"},
           {"range", "range"}},
          {}};
  const std::vector<ParamDoc> docs = describe(arch::arch_params());
  for (size_t i = 0; i < docs.size(); ++i) {
    const ParamInfo& p = arch::arch_params()[i];
    t.rows.push_back({{"key", p.key},
                      {"value", json_number(get_param(a, p), kind_of(p) == ParamKind::integer)},
                      {"unit", p.unit},
                      {"source", source_of(p, a, presets, origin)},
                      {"meaning", p.meaning},
                      {"range", docs[i].range}});
  }
  return t;
}

void print_arch_json(const Arch& a, const std::string& origin) {
  Json derived = Json::object();
  for (const Derived& d : derived_figures(a)) derived[d.key] = json_number(d.value, d.integer);
  print_json(
      Json{{"arch", a.name}, {"params", table_json(params_table(a, origin))}, {"derived", derived}});
}

void print_text(const Arch& a, const std::string& origin) {
  bool is_file = a.name != origin;
  fmt::print("arch: {}{}\n\nparameters:\n", a.name, is_file ? " (" + origin + ")" : "");
  print_table(params_table(a, origin), TableFormat::text);
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
    print_json(Json{{"presets", arch::preset_names()}});
    return 0;
  }
  for (const std::string& name : arch::preset_names()) fmt::print("{}\n", name);
  return 0;
}

// The keys a file of `kind` takes (arch, model or system): unit, range, meaning, source.
std::vector<ParamDoc> key_docs(const std::string& kind) {
  if (kind == "model") return describe(estimate::model_params());
  if (kind == "system") return describe(estimate::system_params());
  std::vector<ParamDoc> docs = describe(arch::arch_params());
  const std::vector<std::string> presets = arch::preset_names();
  for (size_t i = 0; i < docs.size(); ++i) {
    docs[i].source.clear();
    for (const std::string& name : presets)
      docs[i].source += (docs[i].source.empty() ? "" : "; ") + name + ": " +
                        arch::param_source(arch::arch_params()[i], name);
  }
  return docs;
}

int list_keys(const std::string& kind, TableFormat format) {
  Table t = param_docs_table(key_docs(kind));
  if (format == TableFormat::json)
    print_json(Json{{"file", kind}, {"keys", table_json(t)}});
  else
    print_table(t, format);
  return 0;
}

int run_info(const InfoOptions& opts) {
  const TableFormat format = chosen_format(opts.format, opts.json, TableFormat::text);
  if (opts.list) return list_presets(format == TableFormat::json);
  if (!opts.keys.empty()) return list_keys(opts.keys, format);
  Expected<Arch> a = arch::load_arch(opts.arch);
  if (!a) return report_error(a.status());
  switch (format) {
    case TableFormat::json: print_arch_json(*a, opts.arch); break;
    case TableFormat::text: print_text(*a, opts.arch); break;
    default: print_table(params_table(*a, opts.arch), format); break;
  }
  return 0;
}

}  // namespace

void add_info(CLI::App& app, Runner& run) {
  auto opts = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand("info", "show every machine parameter of an arch");
  cmd->add_option("--arch", opts->arch, "preset name (wse2, wse3) or arch file (.toml, .json)")
      ->capture_default_str();
  add_format_flags(*cmd, opts->format, opts->json, "text");
  cmd->add_flag("--list", opts->list, "list the preset names");
  cmd->add_option("--keys", opts->keys,
                  "list the keys of an arch, model or system file: unit, range, meaning, source")
      ->check(choice_validator({"arch", "model", "system"}));
  cmd->callback([&run, opts] { run = [opts] { return run_info(*opts); }; });
}

}  // namespace wafer::cli
