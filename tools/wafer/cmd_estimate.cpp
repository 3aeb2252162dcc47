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

std::string grouped_cell(const Json& v) { return grouped(v.get<int64_t>()); }
std::string billions_cell(const Json& v) { return fmt::format("{:.3f}B", v.get<double>()); }
std::string flops_cell(const Json& v) { return flops(v.get<int64_t>()); }

int list_models(TableFormat format) {
  if (format == TableFormat::json) {
    Json list = Json::array();
    for (const Model& m : estimate::model_zoo()) {
      Json entry = shape_json(m);
      int64_t total = count_params(m).total();
      entry["params"] = total;
      entry["params_billions"] = double(total) / 1e9;
      entry["training_flops_per_token"] = flops_per_token(m).training();
      list.push_back(entry);
    }
    print_json(Json{{"models", list}});
    return 0;
  }
  Table t{{{"model", "model"}, {"layers", "layers"}, {"hidden", "hidden"},
           {"heads_kv", "heads/kv"}, {"ffn", "ffn"}, {"vocab", "vocab"}, {"seq", "seq"},
           {"params", "params", grouped_cell}, {"params_billions", "billions", billions_cell},
           {"training_flops_per_token", "train FLOP/token", flops_cell}},
          {}};
  for (const Model& m : estimate::model_zoo()) {
    int64_t total = count_params(m).total();
    t.rows.push_back({{"model", m.name}, {"layers", m.layers}, {"hidden", m.hidden},
                      {"heads_kv", fmt::format("{}/{}", m.heads, m.kv_heads)}, {"ffn", m.ffn},
                      {"vocab", m.vocab}, {"seq", m.seq}, {"params", total},
                      {"params_billions", double(total) / 1e9},
                      {"training_flops_per_token", flops_per_token(m).training()}});
  }
  print_table(t, format);
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

std::string whole_cell(const Json& v) { return fmt::format("{:.0f}", v.get<double>()); }
std::string four_digits_cell(const Json& v) { return fmt::format("{:.4g}", v.get<double>()); }
std::string shortest_cell(const Json& v) { return fmt::format("{:g}", v.get<double>()); }

int list_systems(TableFormat format) {
  if (format == TableFormat::json) {
    Json list = Json::array();
    for (const estimate::System& s : estimate::system_zoo()) list.push_back(system_json(s));
    print_json(Json{{"systems", list}});
    return 0;
  }
  Table t{{{"system", "system"}, {"kind", "kind"},
           {"peak_tflops_bf16", "peak bf16 TFLOP/s", whole_cell},
           {"memory_gb", "memory GB", four_digits_cell},
           {"memory_tb_per_s", "memory TB/s", four_digits_cell},
           {"scale_up", "scale-up"},
           {"scale_out_gb_per_s", "scale-out GB/s", whole_cell},
           {"power_kw", "power kW", shortest_cell},
           {"dollars_per_hour", "$/h", shortest_cell},
           {"max_count", "max count"}},
          {}};
  for (const estimate::System& s : estimate::system_zoo()) {
    t.rows.push_back({{"system", s.name}, {"kind", to_string(s.kind)},
                      {"peak_tflops_bf16", s.peak_tflops_bf16}, {"memory_gb", s.memory_gb},
                      {"memory_tb_per_s", s.memory_tb_per_s},
                      {"scale_up", s.scale_up_size > 1 ? fmt::format("{} x {:.0f} GB/s", s.scale_up_size,
                                                                   s.scale_up_gb_per_s)
                                                       : std::string("-")},
                      {"scale_out_gb_per_s", s.scale_out_gb_per_s}, {"power_kw", s.power_kw},
                      {"dollars_per_hour", s.dollars_per_hour}, {"max_count", s.max_count}});
  }
  print_table(t, format);
  if (format != TableFormat::text) return 0;
  for (const estimate::System& s : estimate::system_zoo())
    for (const std::string& note : estimate::system_notes(s))
      fmt::print("note: {}: {}\n", s.name, note);
  return 0;
}

// --format/--json on a listing verb that prints `list` in the chosen format.
void add_listing(CLI::App& estimate, Runner& run, const char* name, const char* help,
                 int (*list)(TableFormat)) {
  struct Flags {
    std::string format;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = estimate.add_subcommand(name, help);
  add_format_flags(*cmd, f->format, f->json, "text");
  cmd->callback([&run, f, list] {
    run = [f, list] { return list(chosen_format(f->format, f->json, TableFormat::text)); };
  });
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
  add_listing(*cmd, run, "models", "list the model zoo with parameter counts", list_models);
  add_model(*cmd, run);
  add_listing(*cmd, run, "systems", "list the systems (GPUs, wafers, LPU)", list_systems);
  add_estimate_runs(*cmd, run);
}

}  // namespace wafer::cli
