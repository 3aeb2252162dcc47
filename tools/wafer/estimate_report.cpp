// JSON and tables for training and inference estimates (see estimate_report.hpp). The JSON
// keys are the contract of docs/estimator.md: other tools read them, so keys are only added.
#include "estimate_report.hpp"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "run_flags.hpp"
#include "table.hpp"

namespace wafer::cli {

namespace {

using estimate::Part;

Json breakdown_json(const std::vector<Part>& parts, double total) {
  Json out = Json::object();
  for (const Part& p : parts)
    out[p.name] = {{"seconds", p.seconds},
                   {"fraction", total > 0 ? p.seconds / total : 0.0},
                   {"resource", to_string(p.resource)}};
  return out;
}

void print_breakdown(const std::vector<Part>& parts, double total, const char* what) {
  TableRows rows = {{what, "seconds", "share", "resource"}};
  for (const Part& p : parts)
    rows.push_back({p.name, fmt::format("{:.4g}", p.seconds),
                    fmt::format("{:.1f}%", total > 0 ? 100 * p.seconds / total : 0.0),
                    to_string(p.resource)});
  print_table(rows);
}

void print_notes(const std::vector<std::string>& notes) {
  for (const std::string& n : notes) fmt::print("note: {}\n", n);
}

std::string gb(double bytes) { return fmt::format("{:.2f} GB", bytes / 1e9); }

// Joules in the unit that reads best: kWh under 1 MWh, else MWh.
std::string energy_text(double joules) {
  if (joules < 3.6e9) return fmt::format("{:.4g} kWh", joules / 3.6e6);
  return fmt::format("{:.4g} MWh", joules / 3.6e9);
}

}  // namespace

std::string duration(double s) {
  if (s >= 86400 * 365 * 2) return fmt::format("{:.1f} years", s / (86400 * 365));
  if (s >= 86400 * 2) return fmt::format("{:.3g} days", s / 86400);
  if (s >= 3600 * 2) return fmt::format("{:.3g} hours", s / 3600);
  if (s >= 120) return fmt::format("{:.3g} min", s / 60);
  if (s >= 1) return fmt::format("{:.3g} s", s);
  if (s >= 1e-3) return fmt::format("{:.3g} ms", s * 1e3);
  return fmt::format("{:.3g} us", s * 1e6);
}

// Sizes of 0 are usage errors here; the estimator checks the upper bounds (model.cpp).
void add_shape_flags(CLI::App& cmd, estimate::ModelShape& shape) {
  cmd.add_option("--layers", shape.layers, "transformer layers (with --hidden --heads: a model)")
      ->check(count_validator(1));
  cmd.add_option("--hidden", shape.hidden, "hidden size")->check(count_validator(1));
  cmd.add_option("--heads", shape.heads, "attention (query) heads")->check(count_validator(1));
  cmd.add_option("--kv-heads", shape.kv_heads, "key/value heads (default: heads)")
      ->check(count_validator(1));
  cmd.add_option("--ffn", shape.ffn, "MLP inner size (default: from hidden and --mlp)")
      ->check(count_validator(1));
  cmd.add_option("--vocab", shape.vocab, "vocabulary size (default 50257)")->check(count_validator(1));
  cmd.add_option("--seq", shape.seq, "sequence length (default: the model's, or 2048)")
      ->check(count_validator(1));
  cmd.add_option("--mlp", shape.mlp, "MLP kind: gelu or swiglu (default gelu)")
      ->check(choice_validator({"gelu", "swiglu"}));
}

Expected<estimate::Model> model_from_flags(const std::string& name_or_file,
                                           const estimate::ModelShape& shape) {
  const bool shaped = shape.layers || shape.hidden || shape.heads || shape.kv_heads ||
                      shape.ffn || shape.vocab || shape.mlp;
  if (shaped && !name_or_file.empty())
    return make_error("give a model ('{}') or shape flags (--layers --hidden --heads ...), not "
                      "both", name_or_file);
  if (shaped) return estimate::model_from_shape(shape);
  if (name_or_file.empty())
    return make_error("a model is required: a zoo name, a model file, or shape flags (--layers "
                      "--hidden --heads ...); zoo: wafer estimate models");
  Expected<estimate::Model> m = estimate::load_model(name_or_file);
  if (!m || !shape.seq) return m;
  if (*shape.seq < 1 || *shape.seq > 10'000'000)
    return make_error("--seq must be between 1 and 10000000, got {}", *shape.seq);
  m->seq = *shape.seq;
  return m;
}

Expected<double> parse_count(const std::string& text, const std::string& flag) {
  if (text.empty()) return make_error("{}: expected a number, got ''", flag);
  double scale = 1;
  std::string digits = text;
  switch (text.back()) {
    case 'K': case 'k': scale = 1e3; break;
    case 'M': case 'm': scale = 1e6; break;
    case 'B': case 'b': case 'G': case 'g': scale = 1e9; break;
    case 'T': case 't': scale = 1e12; break;
    default: break;
  }
  if (scale != 1) digits.pop_back();
  char* end = nullptr;
  double v = std::strtod(digits.c_str(), &end);
  if (digits.empty() || end != digits.c_str() + digits.size() || !std::isfinite(v) || v <= 0)
    return make_error("{}: expected a positive number (like 260e9 or 260B), got '{}'", flag,
                      text);
  return v * scale;
}

Json train_json(const estimate::TrainEstimate& e) {
  const estimate::Parallelism& p = e.par;
  Json out = {
      {"model", e.model},
      {"system", e.system},
      {"count", e.count},
      {"mode", e.mode},
      {"parallelism",
       {{"tp", p.tp}, {"pp", p.pp}, {"dp", p.dp}, {"micro_batch", p.micro_batch},
        {"recompute", to_string(p.recompute)}, {"interleave", p.interleave}, {"zero", p.zero}}},
      {"global_batch", e.global_batch},
      {"seq", e.seq},
      {"step_seconds", e.step_seconds},
      {"tokens_per_second", e.tokens_per_second}};
  if (e.time_to_train_seconds) {
    out["time_to_train_seconds"] = *e.time_to_train_seconds;
    out["time_to_train_days"] = *e.time_to_train_seconds / 86400;
  }
  out["tflops_per_device"] = e.tflops_per_device;
  out["mfu"] = e.mfu;
  out["memory_per_device_bytes"] = e.memory.total();
  out["memory_capacity_bytes"] = e.memory_capacity_bytes;
  out["memory"] = {{"weights", e.memory.weights}, {"gradients", e.memory.gradients},
                   {"optimizer", e.memory.optimizer}, {"activations", e.memory.activations},
                   {"other", e.memory.other}};
  out["limiter"] = to_string(e.limiter);
  out["breakdown"] = breakdown_json(e.breakdown, e.step_seconds);
  out["energy_joules"] = e.energy_joules;
  out["cost_dollars"] = e.cost_dollars;
  out["energy_and_cost_of"] = e.time_to_train_seconds ? "tokens" : "step";
  out["configs_searched"] = e.configs_searched;
  Json sensitivity = Json::object();
  for (const auto& [resource, gain] : e.sensitivity) sensitivity[to_string(resource)] = gain;
  out["sensitivity"] = sensitivity;
  out["notes"] = e.notes;
  return out;
}

void print_train(const estimate::TrainEstimate& e) {
  const estimate::Parallelism& p = e.par;
  fmt::print("training {} on {} x {} ({})\n", e.model, e.count, e.system, e.mode);
  fmt::print("parallelism: tp {} pp {} dp {}, micro-batch {}, interleave {}, recompute {}, "
             "zero {}; global batch {} x {} tokens\n",
             p.tp, p.pp, p.dp, p.micro_batch, p.interleave, to_string(p.recompute), p.zero,
             e.global_batch, e.seq);
  TableRows rows = {{"step", duration(e.step_seconds)},
                    {"tokens/s", fmt::format("{:.4g}", e.tokens_per_second)}};
  if (e.time_to_train_seconds)
    rows.push_back({"time to train", duration(*e.time_to_train_seconds)});
  rows.push_back({"TFLOP/s per device", fmt::format("{:.1f}", e.tflops_per_device)});
  rows.push_back({"MFU", fmt::format("{:.1f}%", 100 * e.mfu)});
  rows.push_back({"memory per device", fmt::format("{} of {} (weights {}, gradients {}, "
                                                   "optimizer {}, activations {})",
                                                   gb(e.memory.total()),
                                                   gb(e.memory_capacity_bytes),
                                                   gb(e.memory.weights), gb(e.memory.gradients),
                                                   gb(e.memory.optimizer),
                                                   gb(e.memory.activations))});
  rows.push_back({"limiter", to_string(e.limiter)});
  const char* of = e.time_to_train_seconds ? "" : " per step";
  rows.push_back({fmt::format("energy{}", of), energy_text(e.energy_joules)});
  rows.push_back({fmt::format("cost{}", of), fmt::format("${:.4g}", e.cost_dollars)});
  print_table(rows);
  fmt::print("\nstep breakdown:\n");
  print_breakdown(e.breakdown, e.step_seconds, "part");
  print_notes(e.notes);
}

Json infer_json(const estimate::InferEstimate& e) {
  double request = e.ttft_seconds + double(e.output - 1) * e.time_per_output_token_seconds;
  return {{"model", e.model},
          {"system", e.system},
          {"count", e.count},
          {"batch", e.batch},
          {"prompt", e.prompt},
          {"output", e.output},
          {"ttft_seconds", e.ttft_seconds},
          {"time_per_output_token_seconds", e.time_per_output_token_seconds},
          {"tokens_per_second_per_user", e.tokens_per_second_per_user},
          {"aggregate_tokens_per_second", e.aggregate_tokens_per_second},
          {"devices_for_weights", e.devices_for_weights},
          {"weight_bytes", e.weight_bytes},
          {"kv_cache_bytes", e.kv_cache_bytes},
          {"memory_per_device_bytes", e.memory_per_device_bytes},
          {"memory_capacity_bytes", e.memory_capacity_bytes},
          {"limiter", to_string(e.limiter)},
          {"breakdown", breakdown_json(e.breakdown, request)},
          {"energy_joules_per_token", e.energy_joules_per_token},
          {"dollars_per_million_tokens", e.dollars_per_million_tokens},
          {"notes", e.notes}};
}

void print_infer(const estimate::InferEstimate& e) {
  fmt::print("serving {} on {} x {}: batch {}, prompt {}, output {} tokens\n", e.model, e.count,
             e.system, e.batch, e.prompt, e.output);
  print_table({{"time to first token", duration(e.ttft_seconds)},
               {"time per output token", duration(e.time_per_output_token_seconds)},
               {"tokens/s per user", fmt::format("{:.4g}", e.tokens_per_second_per_user)},
               {"aggregate tokens/s", fmt::format("{:.4g}", e.aggregate_tokens_per_second)},
               {"devices for weights + KV", std::to_string(e.devices_for_weights)},
               {"weights / KV cache", fmt::format("{} / {}", gb(e.weight_bytes),
                                                  gb(e.kv_cache_bytes))},
               {"memory per device", fmt::format("{} of {}", gb(e.memory_per_device_bytes),
                                                 gb(e.memory_capacity_bytes))},
               {"limiter", to_string(e.limiter)},
               {"energy per token", fmt::format("{:.4g} J", e.energy_joules_per_token)},
               {"cost", fmt::format("${:.4g} per million tokens", e.dollars_per_million_tokens)}});
  double request = e.ttft_seconds + double(e.output - 1) * e.time_per_output_token_seconds;
  fmt::print("\nrequest breakdown:\n");
  print_breakdown(e.breakdown, request, "part");
  print_notes(e.notes);
}

}  // namespace wafer::cli
