// `wafer estimate train|infer|compare`: flags to options, the estimate, and its report.
//
// train and infer price one model on one system (a table, or the JSON contract with
// --json); compare runs the training estimate for several `system:count` pairs and prints
// them side by side as markdown, CSV or JSON (the table module, table.hpp), optionally
// drawing a bar chart (--plot, checked for writability before the estimates). Flag values
// are checked while parsing, so that a bad one is a usage error naming the flag.
// Models and systems are zoo names or files; --arch rebuilds a wafer system from an arch.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "compare_plot.hpp"
#include "estimate_report.hpp"
#include "output_path.hpp"
#include "run_flags.hpp"
#include "table.hpp"

namespace wafer::cli {

namespace {

using estimate::Model;
using estimate::System;

// What every estimate command shares.
struct Common {
  std::string model;
  estimate::ModelShape shape;  // shape flags: a model of their own, or --seq alone
  std::string precision = "bf16";
  std::optional<double> dollars_per_hour;
  std::string arch;
  bool json = false;
};

struct TrainFlags {
  Common common;
  std::string system;
  int64_t count = 1;
  std::string tokens;
  int64_t global_batch = 0;
  std::optional<int64_t> tp, pp, dp, micro_batch, interleave;
  std::string recompute;
  int zero = 1;
};

struct InferFlags {
  Common common;
  std::string system;
  estimate::InferOptions options;
};

struct CompareFlags {
  TrainFlags train;
  std::string systems;
  std::string format;
  bool json = false;
  std::string plot;
};

Expected<Model> load_model(const Common& c) { return model_from_flags(c.model, c.shape); }

Expected<System> load_system(const std::string& name, const Common& c) {
  if (name.empty()) return make_error("--system is required (a zoo name or a system file)");
  Expected<System> s = estimate::load_system(name);
  if (!s || c.arch.empty()) return s;
  Expected<System> rebuilt = estimate::with_arch(*s, c.arch);
  if (!rebuilt) return rebuilt.status();
  WAFER_TRY(estimate::validate(*rebuilt).with_context("--arch " + c.arch));
  return rebuilt;
}

Expected<estimate::TrainOptions> train_options(const TrainFlags& f) {
  estimate::TrainOptions o;
  o.count = f.count;
  if (!f.tokens.empty()) {
    Expected<double> t = parse_count(f.tokens, "--tokens");
    if (!t) return t.status();
    o.tokens = *t;
  }
  o.global_batch = f.global_batch;
  o.tp = f.tp;
  o.pp = f.pp;
  o.dp = f.dp;
  o.micro_batch = f.micro_batch;
  o.interleave = f.interleave;
  if (!f.recompute.empty()) {
    Expected<estimate::Recompute> r = estimate::parse_recompute(f.recompute);
    if (!r) return r.status().with_context("--recompute");
    o.recompute = *r;
  }
  if (f.zero < 0 || f.zero > 3) return make_error("--zero must be 0, 1, 2 or 3, got {}", f.zero);
  o.zero = f.zero;
  Expected<estimate::Precision> p = estimate::parse_precision(f.common.precision);
  if (!p) return p.status().with_context("--precision");
  o.precision = *p;
  o.dollars_per_hour = f.common.dollars_per_hour;
  return o;
}

Expected<estimate::TrainEstimate> train(const TrainFlags& f, const Model& m,
                                        const std::string& system) {
  Expected<System> s = load_system(system, f.common);
  if (!s) return s.status();
  Expected<estimate::TrainOptions> o = train_options(f);
  if (!o) return o.status();
  Expected<estimate::TrainEstimate> e = estimate::estimate_training(m, *s, *o);
  const double step_tokens = e ? double(e->global_batch) * double(e->seq) : 0;
  if (e && o->tokens && *o->tokens < step_tokens)
    return make_error("--tokens {} is less than one step of {} sequences x {} tokens; give at least {:.0f}",
                      f.tokens, e->global_batch, e->seq, step_tokens);
  return e;
}

int run_train(const TrainFlags& f) {
  if (!f.tokens.empty()) {
    Expected<double> tokens = parse_count(f.tokens, "--tokens");
    if (!tokens) return report_usage_error(tokens.status());
  }
  Expected<Model> m = load_model(f.common);
  if (!m) return report_error(m.status());
  Expected<estimate::TrainEstimate> e = train(f, *m, f.system);
  if (!e) return report_error(e.status());
  if (f.common.json)
    print_json(train_json(*e));
  else
    print_train(*e);
  return 0;
}

int run_infer(const InferFlags& f) {
  Expected<Model> m = load_model(f.common);
  if (!m) return report_error(m.status());
  Expected<System> s = load_system(f.system, f.common);
  if (!s) return report_error(s.status());
  estimate::InferOptions o = f.options;
  Expected<estimate::Precision> p = estimate::parse_precision(f.common.precision);
  if (!p) return report_error(p.status().with_context("--precision"));
  o.precision = *p;
  o.dollars_per_hour = f.common.dollars_per_hour;
  Expected<estimate::InferEstimate> e = estimate::estimate_inference(*m, *s, o);
  if (!e) return report_error(e.status());
  if (f.common.json)
    print_json(infer_json(*e));
  else
    print_infer(*e);
  return 0;
}

struct SystemCount {
  std::string system;
  int64_t count = 1;
};

// "cs3:1,h100:1024" -> {{cs3, 1}, {h100, 1024}}; a bare name means one device.
Expected<std::vector<SystemCount>> parse_systems(const std::string& text) {
  std::vector<SystemCount> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? comma : comma - start);
    size_t colon = item.rfind(':');
    SystemCount sc{item, 1};
    if (colon != std::string::npos) {
      sc.system = item.substr(0, colon);
      Expected<double> n = parse_count(item.substr(colon + 1), "--systems '" + item + "'");
      if (!n) return n.status();
      if (*n != double(int64_t(*n)))
        return make_error("--systems '{}': the count must be a whole number", item);
      sc.count = int64_t(*n);
    }
    if (sc.system.empty())
      return make_error("--systems: empty system name in '{}' (expected NAME:COUNT,...)", text);
    out.push_back(sc);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string duration_cell(const Json& days) { return days.is_null() ? "-" : duration(days.get<double>() * 86400); }
std::string g4_cell(const Json& v) { return v.is_null() ? "-" : fmt::format("{:.4g}", v.get<double>()); }
std::string f1_cell(const Json& v) { return v.is_null() ? "-" : fmt::format("{:.1f}", v.get<double>()); }
std::string percent_cell(const Json& v) { return v.is_null() ? "-" : fmt::format("{:.1f}%", 100 * v.get<double>()); }

// Markdown shows times in readable units; CSV and JSON keep a number of days.
std::vector<Column> compare_columns() {
  return {{"system", "system"},
          {"count", "count"},
          {"mode", "mode"},
          {"parallelism", "parallelism"},
          {"time_to_train_days", "time to train", duration_cell},
          {"tokens_per_second", "tokens/s", g4_cell},
          {"tflops_per_device", "TFLOP/s/device", f1_cell},
          {"mfu", "MFU", percent_cell},
          {"limiter", "limiter"},
          {"energy_mwh", "energy MWh", g4_cell},
          {"cost_dollars", "cost $", g4_cell}};
}

// One system of a comparison: its estimate, or why it has none (it does not fit).
struct CompareEntry {
  SystemCount sc;
  std::optional<estimate::TrainEstimate> estimate;
  std::string error;
};

// A system that has no estimate (it does not fit, or its flags are wrong for it): the row
// says so, the reason goes under the table.
Json missing_row(const CompareEntry& c) {
  return {{"system", c.sc.system}, {"count", c.sc.count}, {"mode", "no estimate"}};
}

Json compare_row(const estimate::TrainEstimate& e) {
  const estimate::Parallelism& p = e.par;
  std::string par = e.mode == "3d-parallel"
                        ? fmt::format("tp{} pp{} dp{} mb{} {}", p.tp, p.pp, p.dp, p.micro_batch,
                                      to_string(p.recompute))
                        : fmt::format("dp{} mb{} {}", p.dp, p.micro_batch, to_string(p.recompute));
  const double seconds = e.time_to_train_seconds.value_or(e.step_seconds);
  return {{"system", e.system}, {"count", e.count}, {"mode", e.mode}, {"parallelism", par},
          {"time_to_train_days", seconds / 86400}, {"tokens_per_second", e.tokens_per_second},
          {"tflops_per_device", e.tflops_per_device}, {"mfu", e.mfu}, {"limiter", to_string(e.limiter)},
          {"energy_mwh", e.energy_joules / 3.6e9}, {"cost_dollars", e.cost_dollars}};
}

int run_compare(const CompareFlags& f) {
  if (f.train.tokens.empty()) return report_usage_error("--tokens is required for compare");
  Expected<double> tokens = parse_count(f.train.tokens, "--tokens");
  if (!tokens) return report_usage_error(tokens.status());
  if (Status ok = check_output_path("--plot", f.plot, ".png"); !ok) return report_error(ok);
  Expected<Model> m = load_model(f.train.common);
  if (!m) return report_error(m.status());
  Expected<std::vector<SystemCount>> systems = parse_systems(f.systems);
  if (!systems) return report_usage_error(systems.status());
  std::vector<CompareEntry> entries;
  std::vector<estimate::TrainEstimate> estimates;  // those that fit, for the plot
  std::vector<std::string> no_estimate;           // the others, named as in the plot's bars
  for (const SystemCount& sc : *systems) {
    TrainFlags one = f.train;
    one.count = sc.count;
    Expected<estimate::TrainEstimate> e = train(one, *m, sc.system);
    if (e) estimates.push_back(*e);
    else no_estimate.push_back(fmt::format("{} x{}", sc.system, sc.count));
    entries.push_back({sc, e ? std::optional(*e) : std::nullopt, e ? "" : e.message()});
  }
  if (estimates.empty()) {
    for (const CompareEntry& c : entries)
      report_error(fmt::format("{}:{}: {}", c.sc.system, c.sc.count, c.error));
    return 1;
  }
  const TableFormat format = chosen_format(f.format, f.json, TableFormat::markdown);
  if (format == TableFormat::json) {
    Json list = Json::array();
    for (const CompareEntry& c : entries) {
      Json one = c.estimate ? train_json(*c.estimate)
                            : Json{{"system", c.sc.system}, {"count", c.sc.count},
                                   {"error", c.error}};
      one["fits"] = c.estimate.has_value();
      list.push_back(one);
    }
    print_json(Json({{"model", m->name}, {"tokens", *tokens}, {"systems", list}}));
  } else {
    const bool human = format != TableFormat::csv;
    Table table{compare_columns(), {}};
    for (const CompareEntry& c : entries)
      table.rows.push_back(c.estimate ? compare_row(*c.estimate) : missing_row(c));
    print_table(table, format);
    for (const CompareEntry& c : entries)
      if (!c.estimate && human) fmt::print("\n{}:{}: {}\n", c.sc.system, c.sc.count, c.error);
  }
  if (!f.plot.empty()) {
    Status written = write_compare_plot(f.plot, m->name, f.train.tokens, estimates, no_estimate);
    if (!written) return report_error(written);
    std::fflush(stdout);  // the table before the note, even on one terminal
    fmt::print(stderr, "wafer: wrote plot {}\n", f.plot);
  }
  return 0;
}

void add_common(CLI::App& cmd, Common& c) {
  cmd.add_option("--model", c.model, "zoo model name or model file (wafer estimate models)");
  add_shape_flags(cmd, c.shape);
  cmd.add_option("--precision", c.precision, "bf16, fp16 or fp8 (default bf16)")
      ->check(check_validator("bf16|fp16|fp8", [](const std::string& t) {
        auto p = estimate::parse_precision(t);
        return p ? Status::ok() : p.status();
      }));
  cmd.add_option("--dollars-per-hour", c.dollars_per_hour, "price per device-hour")->check(number_validator(0));
  cmd.add_option("--arch", c.arch, "wafer systems: arch preset or file to build the wafer from");
}

// The workload: what a comparison keeps the same on every system.
void add_workload_flags(CLI::App& cmd, TrainFlags& f) {
  add_common(cmd, f.common);
  cmd.add_option("--tokens", f.tokens, "tokens to train on (260e9, 260B, 1.4T)");
  cmd.add_option("--global-batch", f.global_batch, "sequences per step (default ~4M tokens)")
      ->check(count_validator(1));
}

void add_parallel_flags(CLI::App& cmd, TrainFlags& f) {
  cmd.add_option("--tp", f.tp, "tensor-parallel size (default: searched)");
  cmd.add_option("--pp", f.pp, "pipeline-parallel size (default: searched)");
  cmd.add_option("--dp", f.dp, "data-parallel size (default: searched)");
  cmd.add_option("--micro-batch", f.micro_batch, "sequences per micro-batch (default: searched)");
  cmd.add_option("--interleave", f.interleave, "virtual pipeline stages (default: searched)");
  cmd.add_option("--recompute", f.recompute, "none, selective or full (default: searched)")
      ->check(check_validator("none|selective|full", [](const std::string& t) {
        auto r = estimate::parse_recompute(t);
        return r ? Status::ok() : r.status();
      }));
  cmd.add_option("--zero", f.zero, "ZeRO stage 0-3 (default 1: sharded optimizer)")->check(count_validator(0, 3));
}

void add_train(CLI::App& estimate, Runner& run) {
  auto f = std::make_shared<TrainFlags>();
  CLI::App* cmd = estimate.add_subcommand("train", "time to train a model on a system");
  add_workload_flags(*cmd, *f);
  add_parallel_flags(*cmd, *f);
  cmd->add_option("--system", f->system, "zoo system name or system file");
  cmd->add_option("--count", f->count, "devices (GPUs, wafer systems)");
  cmd->add_flag("--json", f->common.json, "print one JSON object");
  cmd->callback([&run, f] { run = [f] { return run_train(*f); }; });
}

void add_infer(CLI::App& estimate, Runner& run) {
  auto f = std::make_shared<InferFlags>();
  CLI::App* cmd = estimate.add_subcommand("infer", "serving latency and throughput");
  add_common(*cmd, f->common);
  cmd->add_option("--system", f->system, "zoo system name or system file");
  cmd->add_option("--count", f->options.count, "devices (default: the fewest that hold it)");
  cmd->add_option("--batch", f->options.batch, "concurrent sequences (default 1)")
      ->check(count_validator(1));
  cmd->add_option("--prompt", f->options.prompt, "prompt tokens (default 2048)")
      ->check(count_validator(1));
  cmd->add_option("--output", f->options.output, "generated tokens (default 256)");
  cmd->add_flag("--json", f->common.json, "print one JSON object");
  cmd->callback([&run, f] { run = [f] { return run_infer(*f); }; });
}

void add_compare(CLI::App& estimate, Runner& run) {
  auto f = std::make_shared<CompareFlags>();
  CLI::App* cmd = estimate.add_subcommand("compare", "time to train on several systems");
  add_workload_flags(*cmd, f->train);
  cmd->add_option("--systems", f->systems, "NAME:COUNT,... e.g. cs3:1,h100:1024,a100:2048")
      ->required();
  add_format_flags(*cmd, f->format, f->json, "md");
  cmd->add_option("--plot", f->plot, "draw the comparison into this PNG file");
  cmd->callback([&run, f] { run = [f] { return run_compare(*f); }; });
}

}  // namespace

void add_estimate_runs(CLI::App& estimate, Runner& run) {
  add_train(estimate, run);
  add_infer(estimate, run);
  add_compare(estimate, run);
}

}  // namespace wafer::cli
