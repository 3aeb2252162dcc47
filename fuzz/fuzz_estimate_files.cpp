// libFuzzer target for the estimator's file readers and the estimates they feed
// (fuzz/README.md).
//
// The first input byte picks the reader (byte % 4): 0 model TOML, 1 model JSON, 2 system
// TOML, 3 system JSON (parse_model_toml/json, parse_system_toml/json with origin "fuzz");
// the rest of the input is the file's text.
//
// A failure must carry a non-empty message that starts with the origin ("fuzz") or names a
// key ("key '...'"). A model that parses goes through count_params and flops_per_token, and
// estimate_training (h100 x 8, and cs3 x 1 for the wafer model) and estimate_inference
// (h100 and cs3, count 0 = the fewest that fit, batch 1) must return without crashing. A
// system that parses prices gpt3-125m: estimate_training on min(8, max_count) devices and
// estimate_inference (count 0, batch 1). Every number of a successful estimate must be
// finite and non-negative; anything else aborts (a missing bound in validation, usually).
//
// Bounded work per input: the estimates are skipped for models with more than 1000 layers
// or a hidden size above 65536 (validation allows 10000 and 1,000,000; the parameter
// search then takes long enough to look like a hang), so an input runs in milliseconds.
// Sanitizers (address, undefined, leak) catch the rest. Note that a system file's `arch`
// key may name an arch file: the fuzzer may read (never write) files relative to its
// working directory.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "wafer/estimate/infer.hpp"
#include "wafer/estimate/model.hpp"
#include "wafer/estimate/system.hpp"
#include "wafer/estimate/train.hpp"

namespace {

using namespace wafer;
using namespace wafer::estimate;

constexpr int64_t kMaxFuzzLayers = 1000;
constexpr int64_t kMaxFuzzHidden = 65536;

std::string g_input;  // the current input, for the abort message

[[noreturn]] void die(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_estimate_files: %s\n%s\ninput:\n%s\n", what, detail.c_str(),
               g_input.c_str());
  std::abort();
}

void check_error(const Status& s) {
  const std::string& m = s.message();
  if (m.empty()) die("empty error message", "");
  if (m.rfind("fuzz", 0) != 0 && m.find("key '") == std::string::npos)
    die("error that neither starts with the origin nor names a key", m);
}

void check_number(const char* what, double v, const std::string& where) {
  if (!std::isfinite(v) || v < 0)
    die("estimate with a non-finite or negative number",
        where + ": " + what + " = " + std::to_string(v));
}

void check_whole(const char* what, int64_t v, const std::string& where) {
  if (v < 0) die("estimate with a negative count", where + ": " + what + " = " + std::to_string(v));
}

void check_memory(const Memory& m, const std::string& where) {
  check_number("memory.weights", m.weights, where);
  check_number("memory.gradients", m.gradients, where);
  check_number("memory.optimizer", m.optimizer, where);
  check_number("memory.activations", m.activations, where);
  check_number("memory.other", m.other, where);
}

void check_training(const Model& m, const System& s, int64_t count) {
  TrainOptions o;
  o.count = count;
  const std::string where = "train " + m.name + " on " + std::to_string(count) + " x " + s.name;
  Expected<TrainEstimate> e = estimate_training(m, s, o);
  if (!e) {
    if (e.message().empty()) die("empty training error", where);
    return;
  }
  check_whole("count", e->count, where);
  check_whole("global_batch", e->global_batch, where);
  check_whole("seq", e->seq, where);
  check_whole("tp", e->par.tp, where);
  check_whole("pp", e->par.pp, where);
  check_whole("dp", e->par.dp, where);
  check_whole("micro_batch", e->par.micro_batch, where);
  check_whole("interleave", e->par.interleave, where);
  check_number("step_seconds", e->step_seconds, where);
  check_number("tokens_per_second", e->tokens_per_second, where);
  if (e->time_to_train_seconds) check_number("time_to_train", *e->time_to_train_seconds, where);
  check_number("tflops_per_device", e->tflops_per_device, where);
  check_number("mfu", e->mfu, where);
  check_memory(e->memory, where);
  check_number("memory_capacity_bytes", e->memory_capacity_bytes, where);
  for (const Part& p : e->breakdown) check_number(p.name.c_str(), p.seconds, where);
  check_number("energy_joules", e->energy_joules, where);
  check_number("cost_dollars", e->cost_dollars, where);
  if (!(e->step_seconds > 0)) die("training step of zero seconds", where);
}

void check_inference(const Model& m, const System& s) {
  InferOptions o;
  o.count = 0;
  o.batch = 1;
  const std::string where = "infer " + m.name + " on " + s.name;
  Expected<InferEstimate> e = estimate_inference(m, s, o);
  if (!e) {
    if (e.message().empty()) die("empty inference error", where);
    return;
  }
  check_whole("count", e->count, where);
  check_whole("devices_for_weights", e->devices_for_weights, where);
  check_number("ttft_seconds", e->ttft_seconds, where);
  check_number("time_per_output_token_seconds", e->time_per_output_token_seconds, where);
  check_number("tokens_per_second_per_user", e->tokens_per_second_per_user, where);
  check_number("aggregate_tokens_per_second", e->aggregate_tokens_per_second, where);
  check_number("weight_bytes", e->weight_bytes, where);
  check_number("kv_cache_bytes", e->kv_cache_bytes, where);
  check_number("memory_per_device_bytes", e->memory_per_device_bytes, where);
  check_number("memory_capacity_bytes", e->memory_capacity_bytes, where);
  for (const Part& p : e->breakdown) check_number(p.name.c_str(), p.seconds, where);
  check_number("energy_joules_per_token", e->energy_joules_per_token, where);
  check_number("dollars_per_million_tokens", e->dollars_per_million_tokens, where);
}

void run_model(const Expected<Model>& m) {
  if (!m) return check_error(m.status());
  const ParamCounts c = count_params(*m);
  const FlopCounts f = flops_per_token(*m);
  if (c.total() <= 0 || f.forward() <= 0 || f.training(Recompute::full) < f.forward())
    die("non-positive parameter or FLOP count", m->name);
  if (m->layers > kMaxFuzzLayers || m->hidden > kMaxFuzzHidden) return;
  static const System h100 = *zoo_system("h100");
  static const System cs3 = *zoo_system("cs3");
  check_training(*m, h100, 8);
  check_training(*m, cs3, 1);
  check_inference(*m, h100);
  check_inference(*m, cs3);
}

void run_system(const Expected<System>& s) {
  if (!s) return check_error(s.status());
  static const Model gpt3 = *zoo_model("gpt3-125m");
  check_training(gpt3, *s, std::min<int64_t>(8, s->max_count));
  check_inference(gpt3, *s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  g_input = text;
  switch (data[0] % 4) {
    case 0: run_model(parse_model_toml(text, "fuzz")); break;
    case 1: run_model(parse_model_json(text, "fuzz")); break;
    case 2: run_system(parse_system_toml(text, "fuzz")); break;
    case 3: run_system(parse_system_json(text, "fuzz")); break;
  }
  return 0;
}
