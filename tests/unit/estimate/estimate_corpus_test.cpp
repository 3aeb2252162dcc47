// The fuzzer's corpus for the estimator's file readers (fuzz/corpus/estimate_files), replayed
// on every test run as fuzz/fuzz_estimate_files.cpp runs it: the first byte picks the reader
// (byte % 4: model TOML, model JSON, system TOML, system JSON), the rest is the text. Each
// file parses, or fails with a message that starts with the origin or names a key; what
// parses feeds the same estimates, whose numbers must be finite and non-negative. Then one
// regression test per bug the fuzzer's inputs found.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "wafer/estimate/infer.hpp"
#include "wafer/estimate/model.hpp"
#include "wafer/estimate/system.hpp"
#include "wafer/estimate/train.hpp"

namespace wafer::estimate {
namespace {

const char* const kOrigin = "corpus";

void expect_error_message(const Status& s, const std::string& file) {
  const std::string& m = s.message();
  EXPECT_FALSE(m.empty()) << file;
  EXPECT_TRUE(m.rfind(kOrigin, 0) == 0 || m.find("key '") != std::string::npos)
      << file << ": " << m;
}

void expect_number(double v, const std::string& what) {
  EXPECT_TRUE(std::isfinite(v) && v >= 0) << what << " = " << v;
}

void expect_sane(const Expected<TrainEstimate>& e, const std::string& what) {
  if (!e) {
    EXPECT_FALSE(e.message().empty()) << what;
    return;
  }
  expect_number(e->step_seconds, what + ": step_seconds");
  EXPECT_GT(e->step_seconds, 0) << what;
  expect_number(e->tokens_per_second, what + ": tokens_per_second");
  expect_number(e->tflops_per_device, what + ": tflops_per_device");
  expect_number(e->mfu, what + ": mfu");
  expect_number(e->memory.total(), what + ": memory");
  expect_number(e->memory_capacity_bytes, what + ": memory_capacity_bytes");
  for (const Part& p : e->breakdown) expect_number(p.seconds, what + ": " + p.name);
  expect_number(e->energy_joules, what + ": energy_joules");
  expect_number(e->cost_dollars, what + ": cost_dollars");
}

void expect_sane(const Expected<InferEstimate>& e, const std::string& what) {
  if (!e) {
    EXPECT_FALSE(e.message().empty()) << what;
    return;
  }
  expect_number(e->ttft_seconds, what + ": ttft_seconds");
  expect_number(e->time_per_output_token_seconds, what + ": time_per_output_token_seconds");
  expect_number(e->tokens_per_second_per_user, what + ": tokens_per_second_per_user");
  expect_number(e->aggregate_tokens_per_second, what + ": aggregate_tokens_per_second");
  expect_number(e->weight_bytes, what + ": weight_bytes");
  expect_number(e->kv_cache_bytes, what + ": kv_cache_bytes");
  expect_number(e->memory_per_device_bytes, what + ": memory_per_device_bytes");
  for (const Part& p : e->breakdown) expect_number(p.seconds, what + ": " + p.name);
  expect_number(e->energy_joules_per_token, what + ": energy_joules_per_token");
  expect_number(e->dollars_per_million_tokens, what + ": dollars_per_million_tokens");
}

TrainOptions on(int64_t count) {
  TrainOptions o;
  o.count = count;
  return o;
}

InferOptions fewest() {
  InferOptions o;
  o.count = 0;
  o.batch = 1;
  return o;
}

// What the fuzzer does with one input; returns whether the file parsed.
bool replay(const std::string& file, const std::string& bytes) {
  if (bytes.empty()) return false;
  const std::string text = bytes.substr(1);
  const int reader = static_cast<unsigned char>(bytes[0]) % 4;
  if (reader < 2) {
    Expected<Model> m = reader == 0 ? parse_model_toml(text, kOrigin)
                                    : parse_model_json(text, kOrigin);
    if (!m) {
      expect_error_message(m.status(), file);
      return false;
    }
    EXPECT_GT(count_params(*m).total(), 0) << file;
    EXPECT_GT(flops_per_token(*m).forward(), 0) << file;
    // The fuzzer's bound on the work per input (fuzz/fuzz_estimate_files.cpp).
    if (m->layers > 1000 || m->hidden > 65536) return true;
    const System h100 = *zoo_system("h100"), cs3 = *zoo_system("cs3");
    expect_sane(estimate_training(*m, h100, on(8)), file + ": train on h100");
    expect_sane(estimate_training(*m, cs3, on(1)), file + ": train on cs3");
    expect_sane(estimate_inference(*m, h100, fewest()), file + ": infer on h100");
    expect_sane(estimate_inference(*m, cs3, fewest()), file + ": infer on cs3");
    return true;
  }
  Expected<System> s = reader == 2 ? parse_system_toml(text, kOrigin)
                                   : parse_system_json(text, kOrigin);
  if (!s) {
    expect_error_message(s.status(), file);
    return false;
  }
  const Model gpt3 = *zoo_model("gpt3-125m");
  expect_sane(estimate_training(gpt3, *s, on(std::min<int64_t>(8, s->max_count))),
              file + ": train");
  expect_sane(estimate_inference(gpt3, *s, fewest()), file + ": infer");
  return true;
}

TEST(EstimateCorpus, EveryFileParsesOrFailsWithAMessage) {
  const std::filesystem::path dir =
      std::filesystem::path(WAFER_SOURCE_DIR) / "fuzz/corpus/estimate_files";
  int files = 0, parsed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ++files;
    const std::string file = entry.path().filename().string();
    bool ok = false;
    EXPECT_NO_THROW(ok = replay(file, bytes)) << file;
    parsed += ok;
  }
  EXPECT_GE(files, 100);
  EXPECT_GE(parsed, 20);
}

// Regressions: each input below once produced a NaN, an infinity or undefined behaviour.

Expected<System> system_toml(const std::string& text) { return parse_system_toml(text, "s.toml"); }

std::string error_of(const std::string& text) {
  Expected<System> s = system_toml(text);
  return s ? std::string("(parsed)") : s.message();
}

// train_gpu.cpp tp_allreduce: tp = 1 priced 0 bytes x ring factor 0 over a scale-up
// bandwidth of 0 (one GPU per node, no NVLink: valid) as 0 / 0 = NaN.
TEST(EstimateRegression, OneGpuPerNodeWithoutNvlinkTrains) {
  Expected<System> s = system_toml("base = \"h100\"\nscale_up_size = 1\nscale_up_gb_per_s = 0\n");
  ASSERT_TRUE(s.has_value()) << s.message();
  Expected<TrainEstimate> e = estimate_training(*zoo_model("gpt3-125m"), *s, on(8));
  ASSERT_TRUE(e.has_value()) << e.message();
  EXPECT_TRUE(std::isfinite(e->step_seconds) && e->step_seconds > 0) << e->step_seconds;
  EXPECT_EQ(e->par.tp, 1);
  for (const Part& p : e->breakdown) EXPECT_NE(p.name, "tensor_parallel_comm");
}

// system.cpp validate: inf, nan and 1e308 passed the sign checks and made infinite or NaN
// costs, energies and step times; now every real value has a bound and its error names it.
TEST(EstimateRegression, SystemValuesAreBounded) {
  EXPECT_EQ(error_of("base = \"h100\"\ndollars_per_hour = inf\n"),
            "s.toml: dollars_per_hour must be 0 or between 0 and 1e+09, got inf");
  EXPECT_EQ(error_of("base = \"h100\"\npower_kw = 1e308\n"),
            "s.toml: power_kw must be between 1e-06 and 1e+09, got 1e+308");
  EXPECT_EQ(error_of("base = \"h100\"\nlayer_overhead_us = 1e308\n"),
            "s.toml: layer_overhead_us must be 0 or between 0 and 1e+09, got 1e+308");
  EXPECT_EQ(error_of("base = \"h100\"\ngemm_half_width = nan\n"),
            "s.toml: gemm_half_width must be 0 or between 0 and 1e+09, got nan");
  EXPECT_EQ(error_of("base = \"h100\"\nlink_latency_us = nan\n"),
            "s.toml: link_latency_us must be 0 or between 0 and 1e+09, got nan");
  EXPECT_EQ(error_of("base = \"h100\"\npeak_tflops_bf16 = inf\n"),
            "s.toml: peak_tflops_bf16 must be between 1e-06 and 1e+09, got inf");
  EXPECT_EQ(error_of("base = \"h100\"\npeak_tflops_fp8 = 1e-300\n"),
            "s.toml: peak_tflops_fp8 must be 0 or between 1e-06 and 1e+09, got 1e-300");
  EXPECT_EQ(error_of("base = \"h100\"\ngemm_efficiency = 1e-300\n"),
            "s.toml: gemm_efficiency must be a fraction in [0.001, 1], got 1e-300");
  EXPECT_EQ(error_of("base = \"h100\"\nattention_efficiency = 1e-9\n"),
            "s.toml: attention_efficiency must be 0 or a fraction in [0.001, 1], got 1e-09");
  EXPECT_EQ(error_of("base = \"h100\"\ntp_overlap = nan\n"),
            "s.toml: tp_overlap must be a fraction in [0, 1], got nan");
  EXPECT_EQ(error_of("base = \"cs3\"\nio_gb_per_s = inf\n"),
            "s.toml: io_gb_per_s must be between 1e-06 and 1e+09, got inf");
  // The documented meanings of 0 still hold: no fp8, free, no flash attention, no overlap.
  EXPECT_EQ(error_of("base = \"b200\"\npeak_tflops_fp8 = 0\ndollars_per_hour = 0\n"
                     "attention_efficiency = 0\ntp_overlap = 0\nlink_latency_us = 0\n"),
            "(parsed)");
}

// infer.cpp devices_holding: (weights + KV cache) / usable bytes was converted to int64
// unchecked; 1e-300 GB of memory (then valid) made it ~1e299, undefined behaviour. The
// bounds above stop that input; the count itself is now capped, so even a valid system
// with 1 usable byte and a huge KV cache gives an error rather than a wrapped count.
TEST(EstimateRegression, DevicesNeededBeyondInt64IsAnError) {
  EXPECT_EQ(error_of("base = \"h100\"\nmemory_gb = 1e-300\n"),
            "s.toml: memory_gb must be between 1e-06 and 1e+09, got 1e-300");
  EXPECT_EQ(error_of("base = \"lpu\"\nmemory_usable = 1e-300\n"),
            "s.toml: memory_usable must be a fraction in [0.001, 1], got 1e-300");

  Expected<System> tiny = system_toml("base = \"h100\"\nmemory_gb = 1e-6\nmemory_usable = 0.001\n");
  ASSERT_TRUE(tiny.has_value()) << tiny.message();
  Model big = *zoo_model("llama3.1-405b");
  big.layers = 10'000;
  big.kv_heads = big.heads;
  ASSERT_TRUE(validate(big)) << validate(big).message();
  InferOptions o = fewest();
  o.batch = int64_t(1) << 20;
  o.prompt = (int64_t(1) << 24) - 256;
  Expected<InferEstimate> e = estimate_inference(big, *tiny, o);
  ASSERT_FALSE(e.has_value());
  EXPECT_NE(e.message().find("1000000000000000000 devices of s, more than its largest "
                             "cluster (100000)"),
            std::string::npos)
      << e.message();
}

// system.cpp validate: `kind = "wafer"` on a GPU base left the arch empty (0 PEs, 0 GHz),
// and the wafer model divided by it.
TEST(EstimateRegression, WaferKindNeedsAnArch) {
  EXPECT_EQ(error_of("base = \"h100\"\nkind = \"wafer\"\nio_gb_per_s = 1\n"
                     "external_memory_tb = 1\n"),
            "s.toml: a wafer system needs an arch: set key 'arch' (a preset: wse2, wse3; or an "
            "arch file)");
  // `kind` applies before `arch`, and `arch` before the values that override it, whatever
  // their order in the file (the readers sort keys by name: "arch" came before "kind").
  Expected<System> s = system_toml("base = \"h100\"\nio_gb_per_s = 100\narch = \"wse3\"\n"
                                   "kind = \"wafer\"\nexternal_memory_tb = 12\n");
  ASSERT_TRUE(s.has_value()) << s.message();
  EXPECT_EQ(s->kind, DeviceKind::wafer);
  EXPECT_EQ(s->arch, "wse3");
  EXPECT_DOUBLE_EQ(s->io_gb_per_s, 100);  // the file's value, not the arch's 150
  EXPECT_DOUBLE_EQ(s->external_memory_tb, 12);
  Expected<TrainEstimate> e = estimate_training(*zoo_model("gpt3-125m"), *s, on(1));
  ASSERT_TRUE(e.has_value()) << e.message();
  EXPECT_TRUE(std::isfinite(e->step_seconds) && e->step_seconds > 0);
}

}  // namespace
}  // namespace wafer::estimate
