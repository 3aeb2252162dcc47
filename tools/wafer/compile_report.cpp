// The compiler's reports: one JSON object per report, and its text from that object (so the
// text and --json always agree). Layer tables print through table.hpp.
#include "compile_report.hpp"

#include <fmt/format.h>

#include "table.hpp"

namespace wafer::cli {

Throughput throughput_of(const graph::Graph& g) {
  if (g.inputs.empty()) return {};
  const graph::Shape& s = g.values[size_t(g.inputs[0])].shape;
  if (s.size() == 3) return {s[0] * s[1], "tokens"};
  return {s.empty() ? 1 : s[0], "samples"};
}

namespace {

Json rect_json(const ir::Rect& r) { return {r.x, r.y, r.w, r.h}; }

std::string rect_cell(const Json& v) {
  return fmt::format("{}x{} at ({},{})", v[2].get<int>(), v[3].get<int>(), v[0].get<int>(), v[1].get<int>());
}

std::string error_cell(const Json& v) { return v.is_null() ? "-" : fmt::format("{:.2e}", v.get<double>()); }

}  // namespace

Json plan_json(const graph::Graph& g, const compiler::Plan& plan, const std::string& dtype) {
  Json layers = Json::array();
  for (const compiler::Layer& l : plan.layers)
    layers.push_back({{"name", l.name},
                      {"op", l.op},
                      {"kernel", l.kernel},
                      {"rect", rect_json(l.rect)},
                      {"pes", l.rect.area()},
                      {"sram_bytes_per_pe", l.sram_bytes_per_pe},
                      {"colors", l.colors},
                      {"tasks", l.tasks},
                      {"weight_bytes", l.weight_bytes},
                      {"weight_io_cycles", l.weight_io_cycles},
                      {"relayout_io_cycles", l.relayout_io_cycles},
                      {"estimated_cycles", l.estimated_cycles}});
  // PEs in use: the grid, or (pipelined) every layer's rectangle (the moves cross them).
  int64_t pes = int64_t(plan.grid_w) * plan.grid_h;
  if (plan.mode == compiler::Mode::pipelined) {
    pes = 0;
    for (const compiler::Layer& l : plan.layers)
      if (l.op != "move") pes += l.rect.area();
  }
  const double seconds = plan.arch.seconds(plan.estimated_interval);
  const Throughput tp = throughput_of(g);
  return {{"arch", plan.arch.name},
          {"mode", compiler::mode_name(plan.mode)},
          {"mode_reason", plan.mode_reason},
          {"grid", fmt::format("{}x{}", plan.grid_w, plan.grid_h)},
          {"dtype", dtype},
          {"pes_used", pes},
          {"active_pes_percent", 100.0 * double(pes) / double(plan.arch.pe_count())},
          {"views", plan.views},
          {"max_sram_bytes_per_pe", plan.max_sram_bytes_per_pe},
          {"sram_bytes_per_pe", plan.arch.sram_bytes},
          {"layers", layers},
          {"estimated_cycles", plan.estimated_cycles},
          {"estimated_interval_cycles", plan.estimated_interval},
          {"estimated_seconds", plan.arch.seconds(plan.estimated_cycles)},
          {tp.unit + "_per_s", seconds > 0 ? Json(double(tp.items) / seconds) : Json()}};
}

std::string grid_text(const Json& p) {
  return p["grid"].get<std::string>() + (p["mode"] == "pipelined" ? " PEs or more a layer" : " PEs");
}

void print_plan(const Json& p) {
  fmt::print("plan: {} mode on {} of {} ({:.4f}% of the fabric), {}; {} layers, {} views\n",
             p["mode"].get<std::string>(), grid_text(p), p["arch"].get<std::string>(),
             p["active_pes_percent"].get<double>(), p["dtype"].get<std::string>(), p["layers"].size(),
             p["views"].get<int>());
  if (!p["mode_reason"].get<std::string>().empty())
    fmt::print("mode: {} ({})\n", p["mode"].get<std::string>(), p["mode_reason"].get<std::string>());
  const Table t{{{"name", "layer"},
                 {"kernel", "kernel"},
                 {"rect", "PEs", rect_cell},
                 {"sram_bytes_per_pe", "SRAM B/PE"},
                 {"colors", "colors"},
                 {"weight_bytes", "weight B"},
                 {"weight_io_cycles", "weight I/O cyc"},
                 {"relayout_io_cycles", "relayout I/O cyc"},
                 {"estimated_cycles", "est. cycles"}},
                {p["layers"].begin(), p["layers"].end()}};
  print_table(t, TableFormat::text);
  fmt::print("estimated: {} cycles a batch ({:.3g} s), one every {} cycles", p["estimated_cycles"].get<uint64_t>(),
             p["estimated_seconds"].get<double>(), p["estimated_interval_cycles"].get<uint64_t>());
  for (const char* unit : {"samples_per_s", "tokens_per_s"})
    if (p.contains(unit) && !p[unit].is_null()) fmt::print(", {:.4g} {}", p[unit].get<double>(), unit);
  fmt::print("; SRAM per PE at most {} of {} bytes\n", p["max_sram_bytes_per_pe"].get<int64_t>(),
             p["sram_bytes_per_pe"].get<int64_t>());
}

Json run_json(const graph::Graph& g, const compiler::Plan& plan, const compiler::ModelRun& run,
              const std::string& dtype) {
  Json j = plan_json(g, plan, dtype);
  for (size_t i = 0; i < run.layers.size(); ++i) {
    const compiler::LayerRun& l = run.layers[i];
    Json& row = j["layers"][i];
    row["cycles"] = l.cycles;
    row["compute_cycles"] = l.compute_cycles;
    row["weight_io_cycles"] = l.weight_io_cycles;
    row["relayout_io_cycles"] = l.relayout_io_cycles;
    row["max_rel_error"] = l.max_rel_error;
  }
  const double seconds = plan.arch.seconds(run.cycles), interval = plan.arch.seconds(run.interval);
  const Throughput tp = throughput_of(g);
  j["cycles"] = run.cycles;
  j["interval_cycles"] = run.interval;
  j["fabric_cycles"] = run.total.cycles;
  j["seconds"] = seconds;
  j[tp.unit + "_per_s"] = interval > 0 ? Json(double(tp.items) / interval) : Json();
  j["sim_wall_seconds"] = run.total.wall_seconds;
  return j;
}

void print_run_layers(const Json& r) {
  const Table t{{{"name", "layer"},
                 {"kernel", "kernel"},
                 {"rect", "PEs", rect_cell},
                 {"estimated_cycles", "est. cycles"},
                 {"cycles", "cycles"},
                 {"compute_cycles", "compute"},
                 {"weight_io_cycles", "weight I/O"},
                 {"relayout_io_cycles", "relayout I/O"},
                 {"max_rel_error", "max rel err", error_cell}},
                {r["layers"].begin(), r["layers"].end()}};
  print_table(t, TableFormat::text);
  const std::string unit = r.contains("tokens_per_s") ? "tokens_per_s" : "samples_per_s";
  const bool pipelined = r["mode"].get<std::string>() == "pipelined";
  fmt::print("cycles: {} a batch {} ({} on the fabric), {:.4g} s, one batch every {} cycles",
             r["cycles"].get<uint64_t>(), pipelined ? "through the pipeline, weights resident" : "with weight streaming",
             r["fabric_cycles"].get<uint64_t>(), r["seconds"].get<double>(), r["interval_cycles"].get<uint64_t>());
  if (!r[unit].is_null()) fmt::print(", {:.4g} {}", r[unit].get<double>(), unit);
  fmt::print("; estimated {} cycles\n", r["estimated_cycles"].get<uint64_t>());
}

}  // namespace wafer::cli
