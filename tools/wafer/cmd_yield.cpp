// `wafer yield`: Monte Carlo yield of the wafer-scale fabric with repair, beside diced dies.
//
// The arch gives the logical fabric; fabric::default_geometry adds the spare columns and rows.
// Without --load-map, N wafers are drawn from the defect model and repaired with each scheme;
// --save-map writes wafer 0's map, which --load-map replays as a one-wafer report. The
// top-level figures (repaired_fraction, ...) are the last requested scheme's: shift-2d with
// --scheme all; every scheme's figures are under "schemes". The diced comparison and the
// costs use the same defect density and model. --sweep repeats the Monte Carlo run for each
// of a list of densities and prints one row per density (a CSV table by default; --format
// md|text, or one JSON report per density with --json); --plot draws those yields as a PNG.
// --map draws wafer 0 (or the loaded map) repaired by the last requested scheme. Every default
// is the fabric library's (its option structs); flag values are checked before any wafer is
// drawn, and a value out of range is a usage error naming the range. On a terminal, stderr
// shows how many wafers are done while a run lasts.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "defect_flags.hpp"
#include "output_path.hpp"
#include "run_flags.hpp"
#include "table.hpp"
#include "wafer/arch/arch.hpp"
#include "wafer/fabric/yield.hpp"
#include "wafer/support/raster.hpp"
#include "yield_pictures.hpp"

namespace wafer::cli {

namespace {

using namespace wafer::fabric;

struct YieldFlags {
  std::string arch = "wse3";
  double density = DefectModel{}.density_per_mm2;
  std::string model = model_kind_name(DefectModel{}.kind);
  std::optional<double> alpha;  // unset: the library's
  int wafers = YieldOptions{}.wafers;
  std::string scheme = "all";  // YieldOptions' schemes
  uint64_t seed = YieldOptions{}.seed;
  int threads = YieldOptions{}.threads;
  int window = YieldOptions{}.window;
  double core_area = WaferGeometry{}.core_area_mm2;
  int segment = WaferGeometry{}.segment_logical;
  int segment_spares = WaferGeometry{}.segment_spares;
  int spare_rows = WaferGeometry{}.spare_rows;
  double die_area = DicedOptions{}.die_area_mm2;
  double wafer_cost = kDefaultWaferCostUsd;
  std::string format;  // default: text for a report, csv for a sweep
  bool json = false;
  std::string save_map;
  std::string load_map;
  std::string sweep;  // "defect-density=D1,D2,..."
  std::string plot;   // PNG of the sweep
  std::string map;    // PNG of wafer 0 or the loaded map
};

struct Inputs {
  std::string arch_name;
  YieldOptions options;
  DicedOptions diced;
};

Expected<std::vector<RepairScheme>> schemes_of(const std::string& name) {
  if (name == "all")
    return std::vector<RepairScheme>{RepairScheme::row_shift, RepairScheme::shift_2d};
  auto s = parse_scheme(name);
  if (!s) return s.status();
  return std::vector<RepairScheme>{*s};
}

// Ranges the library's validate() cannot know: the cores must fit on the wafer, and a row
// segment within a row.
Status check_fits_wafer(const WaferGeometry& g, const DicedOptions& d) {
  const double radius = d.wafer_diameter_mm / 2;
  const double wafer_mm2 = 3.141592653589793 * radius * radius;
  if (double(g.physical_count()) * g.core_area_mm2 > wafer_mm2)
    return make_error("--core-area {} mm²: {} PEs cover {:.0f} mm², more than a {} mm wafer's {:.0f} mm² "
                      "(at most {:.4g} mm² per PE)",
                      g.core_area_mm2, g.physical_count(), double(g.physical_count()) * g.core_area_mm2,
                      d.wafer_diameter_mm, wafer_mm2, wafer_mm2 / double(g.physical_count()));
  if (g.segment_logical > g.logical_width)
    return make_error("--segment {} is longer than a row of {} logical columns (must be 1..{})",
                      g.segment_logical, g.logical_width, g.logical_width);
  return Status::ok();
}

// Every flag value checked: an error here is a usage error.
Expected<Inputs> inputs_of(const YieldFlags& f, const arch::Arch& a) {
  Inputs in;
  in.arch_name = a.name;
  YieldOptions& o = in.options;
  o.geometry = default_geometry(a);
  o.geometry.core_area_mm2 = f.core_area;
  o.geometry.segment_logical = f.segment;
  o.geometry.segment_spares = f.segment_spares;
  o.geometry.spare_rows = f.spare_rows;
  auto kind = parse_model_kind(f.model);
  if (!kind) return kind.status();
  o.model.kind = *kind;
  o.model.density_per_mm2 = f.density;
  o.model.alpha = f.alpha.value_or(o.model.alpha);
  auto schemes = schemes_of(f.scheme);
  if (!schemes) return schemes.status();
  o.schemes = *schemes;
  o.window = f.window;
  o.wafers = f.wafers;
  o.seed = f.seed;
  o.threads = f.threads;
  if (!(f.wafer_cost >= 0) || !std::isfinite(f.wafer_cost))
    return make_error("--wafer-cost {} must be finite and >= 0", f.wafer_cost);
  in.diced.die_area_mm2 = f.die_area;
  WAFER_TRY(validate(o));
  WAFER_TRY(validate(in.diced));
  WAFER_TRY(check_fits_wafer(o.geometry, in.diced));
  if (!f.load_map.empty()) o.wafers = 1;
  return in;
}

// "[wafer] yield: 340/1000 wafers" on stderr while a run lasts, only when stderr is a
// terminal (as the simulator's progress), at most twice a second; cleared when it ends.
class ProgressLine {
 public:
  explicit ProgressLine(std::string label) : on_(isatty(STDERR_FILENO) != 0), label_(std::move(label)) {}
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  ~ProgressLine() {
    if (printed_) std::fprintf(stderr, "\r\033[K");
  }

  std::function<void(int, int)> callback() {
    if (!on_) return {};
    return [this](int done, int total) { show(done, total); };
  }

 private:
  void show(int done, int total) {
    const auto now = std::chrono::steady_clock::now();
    if (printed_ && now - last_ < std::chrono::milliseconds(500)) return;
    last_ = now;
    printed_ = true;
    std::fprintf(stderr, "\r\033[K[wafer] %s: %d/%d wafers", label_.c_str(), done, total);
  }

  bool on_;
  std::string label_;
  bool printed_ = false;
  std::chrono::steady_clock::time_point last_;
};

Expected<YieldReport> run_with_progress(YieldOptions o, const std::string& label) {
  ProgressLine line(label);
  o.progress = line.callback();
  return run_yield(o);
}

Expected<YieldReport> report_for(const YieldFlags& f, const YieldOptions& o) {
  if (!f.load_map.empty()) {
    auto map = load_defect_map(f.load_map, o.geometry);
    if (!map) return map.status();
    return yield_of_map(o, *map);
  }
  if (!f.save_map.empty())
    WAFER_TRY(
        save_defect_map(generate_defects(o.geometry, o.model, wafer_seed(o.seed, 0)), f.save_map));
  return run_with_progress(o, "yield");
}

// Wafer 0 of the run (the map --save-map writes), or the loaded map.
Expected<DefectMap> first_wafer(const YieldFlags& f, const YieldOptions& o) {
  if (!f.load_map.empty()) return load_defect_map(f.load_map, o.geometry);
  return generate_defects(o.geometry, o.model, wafer_seed(o.seed, 0));
}

std::string map_title(const YieldFlags& f, const Inputs& in, const DefectMap& map,
                      const Expected<RepairResult>& r) {
  const std::string which =
      f.load_map.empty() ? fmt::format("wafer 0 of seed {}", in.options.seed) : "loaded map";
  const std::string outcome = r ? fmt::format("{} dead PEs, {} retired rows", r->dead_pes,
                                              r->retired_rows)
                                : std::string("unrepairable");
  return fmt::format("{} {}: {} defects; {}: {}", in.arch_name, which, map.defects.size(),
                     scheme_name(in.options.schemes.back()), outcome);
}

void say_wrote(const char* what, const std::string& path, const Image& img) {
  fmt::print(stderr, "wafer: wrote {} {} ({}x{} px)\n", what, path, img.width(), img.height());
}

// --map: the first wafer repaired by the last requested scheme (shift-2d with --scheme all).
Status write_map(const YieldFlags& f, const Inputs& in) {
  auto map = first_wafer(f, in.options);
  if (!map) return map.status();
  const WaferGeometry& g = in.options.geometry;
  auto r = repair(g, *map, RepairOptions{in.options.schemes.back(), in.options.window});
  const Image img = render_wafer_map(g, *map, r ? &*r : nullptr, map_title(f, in, *map, r));
  WAFER_TRY(write_png(f.map, img));
  say_wrote("map", f.map, img);
  return Status::ok();
}

// "defect-density=D1,D2,...": the densities, each a number (range checks come later).
Expected<std::vector<double>> parse_sweep(const std::string& text) {
  const std::string key = "defect-density=";
  if (text.rfind(key, 0) != 0)
    return make_error("expected defect-density=D1,D2,... (the only sweepable parameter), got '{}'",
                      text);
  std::vector<double> values;
  std::stringstream list(text.substr(key.size()));
  for (std::string item; std::getline(list, item, ',');) {
    char* end = nullptr;
    double v = std::strtod(item.c_str(), &end);
    if (item.empty() || *end != '\0') return make_error("'{}' in '{}' is not a number", item, text);
    values.push_back(v);
  }
  if (values.empty()) return make_error("no densities in '{}'", text);
  return values;
}

Json quantiles_json(const Quantiles& q) {
  return {{"min", q.min}, {"p50", q.p50}, {"p95", q.p95}, {"max", q.max}};
}

Json scheme_json(const SchemeYield& s) {
  Json j = {{"scheme", scheme_name(s.scheme)},
            {"repaired", s.repaired},
            {"repaired_fraction", s.repaired_fraction},
            {"mean_spares_left", s.mean_spares_left},
            {"spares_left", quantiles_json(s.spares_left)},
            {"mean_retired_rows", s.mean_retired_rows},
            {"mean_longer_links", s.mean_longer_links},
            {"repair_extra_hops_max", s.extra_hops_max},
            {"repair_extra_hops_mean", s.extra_hops_mean}};
  if (s.first_failed_wafer >= 0)
    j["first_failure"] = {{"wafer", s.first_failed_wafer}, {"reason", s.first_failure}};
  return j;
}

Json finite(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

Json report_json(const Inputs& in, const YieldReport& r, const DicedYield& d, const CostReport& c) {
  const YieldOptions& o = in.options;
  const SchemeYield& top = r.schemes.back();
  Json schemes = Json::array();
  for (const SchemeYield& s : r.schemes) schemes.push_back(scheme_json(s));
  Json out = {
      {"arch", in.arch_name},
      {"logical", {{"width", o.geometry.logical_width}, {"height", o.geometry.logical_height}}},
      {"physical",
       {{"width", o.geometry.physical_width()},
        {"height", o.geometry.physical_height()},
        {"pes", o.geometry.physical_count()}}},
      {"model", model_kind_name(o.model.kind)},
      {"defect_density_per_mm2", o.model.density_per_mm2},
      {"alpha", o.model.alpha},
      {"core_area_mm2", o.geometry.core_area_mm2},
      {"segment", {{"logical", o.geometry.segment_logical}, {"spares", o.geometry.segment_spares}}},
      {"spare_rows", o.geometry.spare_rows},
      {"seed", o.seed},
      {"wafers", r.wafers},
      {"scheme", scheme_name(top.scheme)},
      {"repaired_fraction", top.repaired_fraction},
      {"mean_defects", r.mean_defects},
      {"mean_dead_cores", r.mean_dead_pes},
      {"dead_cores", quantiles_json(r.dead_pes)},
      {"mean_spares_left", top.mean_spares_left},
      {"repair_extra_hops_max", top.extra_hops_max},
      {"repair_extra_hops_mean", top.extra_hops_mean},
      {"schemes", schemes},
      {"closed_form",
       {{"segment_failure_probability",
         segment_failure_probability(o.geometry, o.model.density_per_mm2)},
        {"row_shift_yield", row_shift_yield(o.geometry, o.model.density_per_mm2)}}},
      {"diced",
       {{"die_area_mm2", d.die_area_mm2},
        {"dies_per_wafer", d.dies_per_wafer},
        {"poisson", d.poisson},
        {"murphy", d.murphy},
        {"negbin", d.negbin},
        {"good_dies_per_wafer", d.good_dies_per_wafer},
        {"sm_132_of_144_yield", d.redundant_yield},
        {"sm_132_of_144_good_dies_per_wafer", d.good_redundant_dies_per_wafer}}},
      {"cost",
       {{"wafer_cost_usd", c.wafer_cost_usd},
        {"wafer_per_good_core", finite(c.wafer_per_good_core)},
        {"wafer_per_good_mm2", finite(c.wafer_per_good_mm2)},
        {"diced_per_good_die", finite(c.diced_per_good_die)},
        {"diced_per_good_mm2", finite(c.diced_per_good_mm2)},
        {"sm_132_of_144_per_good_die", finite(c.redundant_per_good_die)}}}};
  return out;
}

std::string percent_cell(const Json& v) { return v.is_null() ? "-" : fmt::format("{:.2f}%", 100 * v.get<double>()); }
std::string g3_cell(const Json& v) { return v.is_null() ? "-" : fmt::format("{:.3g}", v.get<double>()); }

// The schemes of a report, one row each.
Table scheme_table(const YieldReport& r) {
  Table t{{{"scheme", "scheme"},
           {"repaired_fraction", "repaired", percent_cell},
           {"mean_spares_left", "spares left"},
           {"mean_retired_rows", "retired"},
           {"mean_longer_links", "longer links"},
           {"repair_extra_hops_max", "hops max"},
           {"repair_extra_hops_mean", "hops mean", g3_cell}},
          {}};
  for (const SchemeYield& s : r.schemes) t.rows.push_back(scheme_json(s));
  return t;
}

// A sweep: one row per density, the yield of each scheme and of the diced dies.
Table sweep_columns(const YieldOptions& o) {
  Table t{{{"defect_density", "defect density /mm²", g3_cell}, {"model", "model"}, {"alpha", "alpha", g3_cell},
           {"wafers", "wafers"}, {"mean_defects", "mean defects"}, {"mean_dead_cores", "mean dead cores"}},
          {}};
  for (RepairScheme s : o.schemes) {
    const std::string name = scheme_name(s);
    std::string key = name;
    std::replace(key.begin(), key.end(), '-', '_');
    t.columns.push_back({key + "_repaired_fraction", name + " repaired", percent_cell});
    t.columns.push_back({key + "_extra_hops_max", name + " hops max"});
    t.columns.push_back({key + "_extra_hops_mean", name + " hops mean", g3_cell});
  }
  for (const char* key : {"row_shift_closed_form", "diced_poisson", "diced_murphy", "diced_negbin"})
    t.columns.push_back({key, key, percent_cell});
  t.columns.push_back({"diced_good_dies_per_wafer", "diced good dies per wafer"});
  t.columns.push_back({"sm_132_of_144_yield", "132-of-144 yield", percent_cell});
  return t;
}

Json sweep_row(const YieldOptions& o, const YieldReport& r, const DicedYield& d) {
  const DefectModel& m = o.model;
  Json row = {{"defect_density", m.density_per_mm2}, {"model", model_kind_name(m.kind)}, {"alpha", m.alpha},
              {"wafers", r.wafers}, {"mean_defects", r.mean_defects}, {"mean_dead_cores", r.mean_dead_pes}};
  for (const SchemeYield& s : r.schemes) {
    std::string key = scheme_name(s.scheme);
    std::replace(key.begin(), key.end(), '-', '_');
    row[key + "_repaired_fraction"] = s.repaired_fraction;
    row[key + "_extra_hops_max"] = s.extra_hops_max;
    row[key + "_extra_hops_mean"] = s.extra_hops_mean;
  }
  row["row_shift_closed_form"] = row_shift_yield(o.geometry, m.density_per_mm2);
  row["diced_poisson"] = d.poisson;
  row["diced_murphy"] = d.murphy;
  row["diced_negbin"] = d.negbin;
  row["diced_good_dies_per_wafer"] = d.good_dies_per_wafer;
  row["sm_132_of_144_yield"] = d.redundant_yield;
  return row;
}

void print_text(const Inputs& in, const YieldReport& r, const DicedYield& d, const CostReport& c) {
  const YieldOptions& o = in.options;
  const WaferGeometry& g = o.geometry;
  fmt::print(
      "wafer yield: {} logical {}x{} on physical {}x{} ({} PEs, {:.1f}% enabled), {} mm² cores\n",
      in.arch_name, g.logical_width, g.logical_height, g.physical_width(), g.physical_height(),
      g.physical_count(), 100.0 * double(g.logical_count()) / double(g.physical_count()),
      g.core_area_mm2);
  fmt::print("spares: row segments of {} + {} spare columns, {} spare rows\n", g.segment_logical,
             g.segment_spares, g.spare_rows);
  fmt::print(
      "defects: {} model, {} /mm², {} wafer(s), seed {}: mean {:.2f} defects, {:.2f} dead PEs "
      "(min {}, median {}, p95 {}, max {})\n",
      o.model.kind == DefectModelKind::poisson ? "poisson"
                                               : fmt::format("negbin alpha {}", o.model.alpha),
      o.model.density_per_mm2, r.wafers, o.seed, r.mean_defects, r.mean_dead_pes, r.dead_pes.min,
      r.dead_pes.p50, r.dead_pes.p95, r.dead_pes.max);
  fmt::print("closed form (poisson): segment failure {:.3g}, row-shift yield {:.4f}\n",
             segment_failure_probability(g, o.model.density_per_mm2),
             row_shift_yield(g, o.model.density_per_mm2));
  print_table(scheme_table(r), TableFormat::text);
  for (const SchemeYield& s : r.schemes)
    if (s.first_failed_wafer >= 0)
      fmt::print("  {} first failure: wafer {}: {}\n", scheme_name(s.scheme), s.first_failed_wafer,
                 s.first_failure);
  fmt::print(
      "diced {} mm² dies, {} per 300 mm wafer: yield poisson {:.3f}, murphy {:.3f}, negbin {:.3f}; "
      "{:.1f} good dies\n",
      d.die_area_mm2, d.dies_per_wafer, d.poisson, d.murphy, d.negbin, d.good_dies_per_wafer);
  fmt::print("  needing 132 of 144 SMs (6 mm² each): yield {:.3f}, {:.1f} good dies\n",
             d.redundant_yield, d.good_redundant_dies_per_wafer);
  auto money = [](double v) {
    return std::isfinite(v) ? fmt::format("${:.4g}", v) : std::string("n/a");
  };
  fmt::print(
      "cost (wafer ${:.0f}, assumed): wafer-scale {}/good core, {}/good mm²; diced {}/good die, "
      "{}/good mm²; 132-of-144 {}/good die\n",
      c.wafer_cost_usd, money(c.wafer_per_good_core), money(c.wafer_per_good_mm2),
      money(c.diced_per_good_die), money(c.diced_per_good_mm2), money(c.redundant_per_good_die));
}

// A loaded map that no requested scheme repairs is an error (after the report), with the
// strongest scheme's reason.
int map_status(const YieldReport& r, const std::string& path) {
  for (const SchemeYield& s : r.schemes)
    if (s.repaired) return 0;
  const SchemeYield& last = r.schemes.back();
  return report_error(fmt::format("{}: unrepairable by {}: {}", path, scheme_name(last.scheme),
                                  last.first_failure));
}

YieldPlot empty_plot(const YieldFlags& f, const Inputs& in, const std::vector<double>& densities) {
  const DefectModel& m = in.options.model;
  YieldPlot p;
  p.title = fmt::format("{}: yield vs defect density, {} wafers per point, {} defects", in.arch_name,
                        f.wafers, model_kind_name(m.kind));
  p.densities = densities;
  for (RepairScheme s : in.options.schemes) p.series.push_back({scheme_name(s), {}});
  for (const char* model : {"poisson", "murphy", "negbin"})
    p.series.push_back({fmt::format("diced {} mm2 {}", f.die_area, model), {}});
  return p;
}

void add_plot_points(YieldPlot& p, const YieldReport& r, const DicedYield& d) {
  size_t i = 0;
  for (const SchemeYield& s : r.schemes) p.series[i++].y.push_back(s.repaired_fraction);
  for (double y : {d.poisson, d.murphy, d.negbin}) p.series[i++].y.push_back(y);
}

Status write_plot(const std::string& path, const YieldPlot& p) {
  const Image img = render_yield_plot(p);
  WAFER_TRY(write_png(path, img));
  say_wrote("plot", path, img);
  return Status::ok();
}

// One Monte Carlo run per density: a table on stdout (CSV by default), or {"sweep": [reports]}
// with --json.
int run_sweep(const YieldFlags& f, Inputs in) {
  if (!f.load_map.empty() || !f.save_map.empty() || !f.map.empty())
    return report_usage_error("--sweep cannot be combined with --load-map, --save-map or --map");
  auto densities = parse_sweep(f.sweep);
  if (!densities) return report_usage_error(densities.status().with_context("--sweep"));
  for (double density : *densities) {
    in.options.model.density_per_mm2 = density;
    Status ok = validate(in.options);
    if (!ok)
      return report_usage_error(ok.with_context(fmt::format("--sweep defect-density={}", density)));
  }
  Json reports = Json::array();
  Table table = sweep_columns(in.options);
  YieldPlot plot = empty_plot(f, in, *densities);
  for (double density : *densities) {
    in.options.model.density_per_mm2 = density;
    auto r = run_with_progress(in.options, fmt::format("yield at {} /mm²", density));
    if (!r)
      return report_error(
          r.status().with_context(fmt::format("--sweep defect-density={}", density)));
    DicedYield d = diced_yield(in.diced, in.options.model);
    CostReport c =
        cost_report(f.wafer_cost, in.options.geometry, r->schemes.back().repaired_fraction, d);
    add_plot_points(plot, *r, d);
    reports.push_back(report_json(in, *r, d, c));
    table.rows.push_back(sweep_row(in.options, *r, d));
  }
  const TableFormat format = chosen_format(f.format, f.json, TableFormat::csv);
  if (format == TableFormat::json)
    print_json(Json({{"sweep", reports}}));
  else
    print_table(table, format);
  if (!f.plot.empty()) {
    Status ok = write_plot(f.plot, plot);
    if (!ok) return report_error(ok);
  }
  return 0;
}

// The output paths, before any wafer is drawn; --alpha where it does nothing.
Status check_outputs(const YieldFlags& f) {
  WAFER_TRY(check_output_path("--save-map", f.save_map));
  WAFER_TRY(check_output_path("--plot", f.plot, ".png"));
  WAFER_TRY(check_output_path("--map", f.map, ".png"));
  if (f.alpha && f.model != "negbin") warn("--alpha has no effect without --defect-model negbin");
  return Status::ok();
}

// The report's text, or with --format md|csv its scheme table (markdown after the summary).
void print_report(const YieldFlags& f, const Inputs& in, const YieldReport& r, const DicedYield& d,
                  const CostReport& c) {
  const TableFormat format = chosen_format(f.format, f.json, TableFormat::text);
  if (format == TableFormat::json)
    print_json(report_json(in, r, d, c));
  else if (format == TableFormat::text)
    print_text(in, r, d, c);
  else
    print_table(scheme_table(r), format);
}

int run_yield_cmd(const YieldFlags& f) {
  auto a = arch::load_arch(f.arch);
  if (!a) return report_error(a.status());
  auto in = inputs_of(f, *a);
  if (!in) return report_usage_error(in.status());
  if (Status ok = check_outputs(f); !ok) return report_error(ok);
  if (!f.sweep.empty()) return run_sweep(f, *in);
  if (!f.map.empty()) {
    Status ok = write_map(f, *in);
    if (!ok) return report_error(ok);
  }
  auto r = report_for(f, in->options);
  if (!r) return report_error(r.status());
  DicedYield d = diced_yield(in->diced, in->options.model);
  CostReport c =
      cost_report(f.wafer_cost, in->options.geometry, r->schemes.back().repaired_fraction, d);
  print_report(f, *in, *r, d, c);
  return f.load_map.empty() ? 0 : map_status(*r, f.load_map);
}

}  // namespace

void add_yield(CLI::App& app, Runner& run) {
  auto f = std::make_shared<YieldFlags>();
  CLI::App* cmd =
      app.add_subcommand("yield", "Monte Carlo wafer yield with defect repair, beside diced dies");
  cmd->add_option("--arch", f->arch, "preset name (wse2, wse3) or arch file (.toml, .json)")
      ->capture_default_str();
  cmd->add_option("--defect-density", f->density, "defects per mm²")->capture_default_str();
  CLI::Option* model = cmd->add_option("--defect-model", f->model, "defect model: poisson or negbin")
                           ->check(choice_validator({"poisson", "negbin"}))
                           ->capture_default_str();
  cmd->add_option("--model", f->model, "deprecated spelling of --defect-model")
      ->check(choice_validator({"poisson", "negbin"}))
      ->excludes(model)
      ->group("");
  cmd->add_option("--alpha", f->alpha,
                  fmt::format("negative binomial clustering parameter (> 0; default {})", DefectModel{}.alpha));
  cmd->add_option("--wafers", f->wafers, "Monte Carlo wafers")->capture_default_str();
  cmd->add_option("--scheme", f->scheme, "repair scheme: row-shift, shift-2d or all")
      ->check(choice_validator({"row-shift", "shift-2d", "all"}))
      ->capture_default_str();
  cmd->add_option("--window", f->window, "shift-2d: columns a PE may move from home")
      ->capture_default_str();
  cmd->add_option("--seed", f->seed, "random seed")
      ->check(count_validator())
      ->capture_default_str();
  cmd->add_option("--threads", f->threads, "host threads (0: all cores)")
      ->check(count_validator())
      ->capture_default_str();
  cmd->add_option("--core-area", f->core_area, "area of one PE in mm²")->capture_default_str();
  cmd->add_option("--segment", f->segment, "logical columns per row segment")
      ->capture_default_str();
  cmd->add_option("--segment-spares", f->segment_spares, "spare columns per row segment")
      ->capture_default_str();
  cmd->add_option("--spare-rows", f->spare_rows, "spare rows below the logical rows")
      ->capture_default_str();
  cmd->add_option("--die-area", f->die_area, "diced comparison die area in mm²")
      ->capture_default_str();
  cmd->add_option("--wafer-cost", f->wafer_cost,
                  "cost of one wafer in USD (default: an assumption)")
      ->capture_default_str();
  add_format_flags(*cmd, f->format, f->json, "text; csv with --sweep");
  cmd->add_option("--save-map", f->save_map, "write wafer 0's defect map to FILE")
      ->option_text("FILE");
  cmd->add_option("--load-map", f->load_map, "repair this defect map instead of drawing wafers")
      ->option_text("FILE");
  CLI::Option* sweep = cmd->add_option("--sweep", f->sweep,
                  "one run per density: defect-density=D1,D2,... (CSV, or JSON with --json)")
      ->check(CLI::Validator(
          [](std::string& t) {
            auto r = parse_sweep(t);
            return r ? std::string() : r.message();
          },
          "defect-density=LIST"));
  cmd->add_option("--plot", f->plot, "with --sweep: draw yield against density as a PNG")
      ->option_text("FILE.png")
      ->needs(sweep);
  cmd->add_option("--map", f->map, "draw wafer 0 (or --load-map's map) and its repair as a PNG")
      ->option_text("FILE.png");
  cmd->callback([&run, f] { run = [f] { return run_yield_cmd(*f); }; });
}

}  // namespace wafer::cli
