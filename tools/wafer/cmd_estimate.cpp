// `wafer estimate`: the estimator's commands. `models` lists the model zoo with parameter
// and training-FLOP counts; `model` prints one model's breakdown (parameters per component,
// FLOPs per token forward and in training) for a zoo name, a config file or shape flags;
// `systems` lists the systems. Each prints a table, or one JSON object with --json.
// train, infer and compare are in cmd_estimate_run.cpp.
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "estimate_report.hpp"
#include "table.hpp"
#include "wafer/estimate/model.hpp"
#include "wafer/estimate/system.hpp"
#include "wafer/support/json_text.hpp"

namespace wafer::cli {

namespace {

using estimate::Model;
using estimate::Recompute;

struct ModelFlags {
  std::string name;
  std::string config;
  estimate::ModelShape shape;
  bool json = false;
};

// 6738415616 -> "6,738,415,616".
std::string grouped(int64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string billions(int64_t n) { return fmt::format("{:.3f}B", double(n) / 1e9); }

std::string flops(int64_t n) { return fmt::format("{:.4g}", double(n)); }

Json shape_json(const Model& m) {
  return {{"name", m.name},           {"layers", m.layers},
          {"hidden", m.hidden},       {"heads", m.heads},
          {"kv_heads", m.kv_heads},   {"ffn", m.ffn},
          {"vocab", m.vocab},         {"seq", m.seq},
          {"mlp", to_string(m.mlp)},  {"norm", to_string(m.norm)},
          {"position", to_string(m.position)},
          {"tied_embeddings", m.tied_embeddings},
          {"attention_bias", m.attention_bias},
          {"mlp_bias", m.mlp_bias},   {"final_norm", m.final_norm},
          {"embedding_norm", m.embedding_norm},
          {"type_vocab", m.type_vocab},
          {"pooler", m.pooler},       {"encoder_only", m.encoder_only},
          {"source", m.source}};
}

Json params_json(const estimate::ParamCounts& p) {
  return {{"embedding", p.embedding},
          {"embedding_norm", p.embedding_norm},
          {"per_layer",
           {{"attention", p.layer.attention},
            {"mlp", p.layer.mlp},
            {"norms", p.layer.norms},
            {"total", p.layer.total()}}},
          {"layers", p.layers},
          {"all_layers", p.all_layers()},
          {"final_norm", p.final_norm},
          {"lm_head", p.lm_head},
          {"pooler", p.pooler},
          {"total", p.total()}};
}

Json flops_json(const estimate::FlopCounts& f) {
  return {{"matmul_forward", f.matmul_forward},
          {"attention_forward", f.attention_forward},
          {"forward", f.forward()},
          {"training", f.training(Recompute::none)},
          {"training_selective_recompute", f.training(Recompute::selective)},
          {"training_full_recompute", f.training(Recompute::full)}};
}

int list_models(bool json) {
  if (json) {
    Json list = Json::array();
    for (const Model& m : estimate::model_zoo()) {
      Json entry = shape_json(m);
      int64_t total = count_params(m).total();
      entry["params"] = total;
      entry["params_billions"] = double(total) / 1e9;
      entry["training_flops_per_token"] = flops_per_token(m).training();
      list.push_back(entry);
    }
    fmt::print("{}\n", json_text(Json({{"models", list}}), 2));
    return 0;
  }
  TableRows rows = {{"model", "layers", "hidden", "heads/kv", "ffn", "vocab", "seq", "params",
                     "billions", "train FLOP/token"}};
  for (const Model& m : estimate::model_zoo()) {
    int64_t total = count_params(m).total();
    rows.push_back({m.name, std::to_string(m.layers), std::to_string(m.hidden),
                    fmt::format("{}/{}", m.heads, m.kv_heads), std::to_string(m.ffn),
                    std::to_string(m.vocab), std::to_string(m.seq), grouped(total),
                    billions(total), flops(flops_per_token(m).training())});
  }
  print_table(rows);
  return 0;
}

const char* head_kind(const Model& m) {
  if (m.encoder_only) return "encoder-only (no LM head)";
  return m.tied_embeddings ? "LM head tied to the embedding" : "untied LM head";
}

void print_breakdown(const Model& m) {
  estimate::ParamCounts p = count_params(m);
  estimate::FlopCounts f = flops_per_token(m);
  fmt::print("model: {}\nshape: {} layers, hidden {}, {} heads ({} kv), ffn {}, vocab {}, seq {}\n",
             m.name, m.layers, m.hidden, m.heads, m.kv_heads, m.ffn, m.vocab, m.seq);
  fmt::print("kind: {} mlp, {}, {} positions, {}\nsource: {}\n\nparameters:\n",
             to_string(m.mlp), to_string(m.norm), to_string(m.position), head_kind(m),
             m.source.empty() ? "-" : m.source);
  print_table({{"embedding", grouped(p.embedding)},
               {"embedding norm", grouped(p.embedding_norm)},
               {"attention per layer", grouped(p.layer.attention)},
               {"mlp per layer", grouped(p.layer.mlp)},
               {"norms per layer", grouped(p.layer.norms)},
               {fmt::format("all {} layers", p.layers), grouped(p.all_layers())},
               {"final norm", grouped(p.final_norm)},
               {"lm head", grouped(p.lm_head)},
               {"pooler", grouped(p.pooler)},
               {"total", fmt::format("{} ({})", grouped(p.total()), billions(p.total()))}});
  fmt::print("\nFLOPs per token (seq {}):\n", m.seq);
  print_table({{"matmul forward", grouped(f.matmul_forward)},
               {"attention forward", grouped(f.attention_forward)},
               {"forward", grouped(f.forward())},
               {"training", grouped(f.training(Recompute::none))},
               {"training, selective recompute", grouped(f.training(Recompute::selective))},
               {"training, full recompute", grouped(f.training(Recompute::full))}});
}

bool has_shape(const estimate::ModelShape& s) {
  return s.layers || s.hidden || s.heads || s.kv_heads || s.ffn || s.vocab || s.mlp;
}

// A name, a file or shape flags; --seq overrides a named or read model's sequence.
Expected<Model> resolve_model(const ModelFlags& f) {
  int sources = !f.name.empty() + !f.config.empty() + has_shape(f.shape);
  if (sources != 1)
    return make_error("give exactly one of a model name, --config FILE or shape flags "
                      "(--layers --hidden --heads ...); zoo: wafer estimate models");
  if (!f.name.empty()) {
    Expected<Model> m = estimate::zoo_model(f.name);
    if (!m) return m;
  }
  return model_from_flags(f.name.empty() ? f.config : f.name, f.shape);
}

int run_model(const ModelFlags& f) {
  Expected<Model> m = resolve_model(f);
  if (!m) return report_error(m.status());
  if (f.json) {
    Json out = {{"model", shape_json(*m)},
                {"params", params_json(count_params(*m))},
                {"flops_per_token", flops_json(flops_per_token(*m))}};
    fmt::print("{}\n", json_text(out, 2));
  } else {
    print_breakdown(*m);
  }
  return 0;
}

Json system_json(const estimate::System& s) {
  return {{"name", s.name},
          {"kind", to_string(s.kind)},
          {"peak_tflops_bf16", s.peak_tflops_bf16},
          {"peak_tflops_fp8", s.peak_tflops_fp8},
          {"memory_gb", s.memory_gb},
          {"memory_tb_per_s", s.memory_tb_per_s},
          {"scale_up_size", s.scale_up_size},
          {"scale_up_gb_per_s", s.scale_up_gb_per_s},
          {"scale_out_gb_per_s", s.scale_out_gb_per_s},
          {"io_gb_per_s", s.io_gb_per_s},
          {"power_kw", s.power_kw},
          {"dollars_per_hour", s.dollars_per_hour},
          {"max_count", s.max_count},
          {"arch", s.arch},
          {"memory_efficiency", s.memory_efficiency},
          {"source", s.source},
          {"notes", estimate::system_notes(s)}};
}

int list_systems(bool json) {
  if (json) {
    Json list = Json::array();
    for (const estimate::System& s : estimate::system_zoo()) list.push_back(system_json(s));
    fmt::print("{}\n", json_text(Json({{"systems", list}}), 2));
    return 0;
  }
  TableRows rows = {{"system", "kind", "peak bf16 TFLOP/s", "memory GB", "memory TB/s",
                     "scale-up", "scale-out GB/s", "power kW", "$/h", "max count"}};
  for (const estimate::System& s : estimate::system_zoo())
    rows.push_back({s.name, to_string(s.kind), fmt::format("{:.0f}", s.peak_tflops_bf16),
                    fmt::format("{:.4g}", s.memory_gb), fmt::format("{:.4g}", s.memory_tb_per_s),
                    s.scale_up_size > 1 ? fmt::format("{} x {:.0f} GB/s", s.scale_up_size,
                                                      s.scale_up_gb_per_s)
                                        : std::string("-"),
                    fmt::format("{:.0f}", s.scale_out_gb_per_s), fmt::format("{:g}", s.power_kw),
                    fmt::format("{:g}", s.dollars_per_hour), std::to_string(s.max_count)});
  print_table(rows);
  for (const estimate::System& s : estimate::system_zoo())
    for (const std::string& note : estimate::system_notes(s))
      fmt::print("note: {}: {}\n", s.name, note);
  return 0;
}

void add_systems(CLI::App& estimate, Runner& run) {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = estimate.add_subcommand("systems", "list the systems (GPUs, wafers, LPU)");
  cmd->add_flag("--json", *json, "print one JSON object instead of a table");
  cmd->callback([&run, json] { run = [json] { return list_systems(*json); }; });
}

void add_models(CLI::App& estimate, Runner& run) {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = estimate.add_subcommand("models", "list the model zoo with parameter counts");
  cmd->add_flag("--json", *json, "print one JSON object instead of a table");
  cmd->callback([&run, json] { run = [json] { return list_models(*json); }; });
}

void add_model(CLI::App& estimate, Runner& run) {
  auto f = std::make_shared<ModelFlags>();
  CLI::App* cmd = estimate.add_subcommand("model", "one model's parameters and FLOPs per token");
  cmd->add_option("name", f->name, "zoo model name (see wafer estimate models)");
  cmd->add_option("--config", f->config, "model file (.toml, .json; docs/estimator.md)");
  add_shape_flags(*cmd, f->shape);
  cmd->add_flag("--json", f->json, "print one JSON object instead of tables");
  cmd->callback([&run, f] { run = [f] { return run_model(*f); }; });
}

}  // namespace

void add_estimate(CLI::App& app, Runner& run) {
  CLI::App* cmd = app.add_subcommand("estimate", "training and inference estimates, model sizes and FLOPs");
  cmd->require_subcommand(1);
  add_models(*cmd, run);
  add_model(*cmd, run);
  add_systems(*cmd, run);
  add_estimate_runs(*cmd, run);
}

}  // namespace wafer::cli
