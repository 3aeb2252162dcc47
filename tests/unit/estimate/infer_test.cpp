// Tests of the inference estimate: weight and KV-cache bytes and the devices that hold them
// (checked by hand), GPU decode memory bound at batch 1 and compute bound at large batch,
// wafer decode bounded by the SRAM bandwidth and the peak and moved by the arch, LPU chip
// counts, the breakdown adding up, energy and cost per token, and the errors for bad inputs.
#include <cmath>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "wafer/estimate/infer.hpp"

namespace wafer::estimate {
namespace {

Model zoo(const std::string& name) { return *zoo_model(name); }
System sys(const std::string& name) { return *zoo_system(name); }

InferEstimate must(const Model& m, const System& s, const InferOptions& o) {
  Expected<InferEstimate> e = estimate_inference(m, s, o);
  EXPECT_TRUE(e.has_value()) << (e ? "" : e.message());
  return e ? *e : InferEstimate{};
}

std::string error_of(const Model& m, const System& s, const InferOptions& o) {
  Expected<InferEstimate> e = estimate_inference(m, s, o);
  EXPECT_FALSE(e.has_value());
  return e ? "" : e.message();
}

bool has_part(const InferEstimate& e, const std::string& name) {
  for (const Part& p : e.breakdown)
    if (p.name == name) return true;
  return false;
}

InferOptions tokens(int64_t batch, int64_t prompt, int64_t output) {
  InferOptions o;
  o.batch = batch;
  o.prompt = prompt;
  o.output = output;
  return o;
}

TEST(InferMemory, KvCacheOfLlama2_7b) {
  // K and V x 32 layers x kv_dim 4096 x 2 bytes x 4096 tokens = 2,147,483,648 bytes.
  InferEstimate e = must(zoo("llama2-7b"), sys("h100"), tokens(1, 2048, 2048));
  EXPECT_DOUBLE_EQ(e.kv_cache_bytes, 2'147'483'648.0);
  // 6,738,415,616 parameters x 2 bytes.
  EXPECT_DOUBLE_EQ(e.weight_bytes, 13'476'831'232.0);
  // Twice the batch, twice the cache; fp8 halves both.
  EXPECT_DOUBLE_EQ(must(zoo("llama2-7b"), sys("h100"), tokens(2, 2048, 2048)).kv_cache_bytes,
                   2 * 2'147'483'648.0);
  InferOptions fp8 = tokens(1, 2048, 2048);
  fp8.precision = Precision::fp8;
  EXPECT_DOUBLE_EQ(must(zoo("llama2-7b"), sys("h100"), fp8).kv_cache_bytes, 1'073'741'824.0);
}

TEST(InferMemory, Llama3_70bNeedsTwoH100s) {
  // Weights 141,107,412,992 bytes; KV 2 x 80 x 1024 x 2 x 2304 tokens = 754,974,720 bytes;
  // 141,862,387,712 / (80e9 x 0.9) = 1.97 -> 2 GPUs, a power of two.
  InferEstimate e = must(zoo("llama3-70b"), sys("h100"), InferOptions{});
  EXPECT_DOUBLE_EQ(e.weight_bytes, 141'107'412'992.0);
  EXPECT_DOUBLE_EQ(e.kv_cache_bytes, 754'974'720.0);
  EXPECT_EQ(e.devices_for_weights, 2);
  EXPECT_EQ(e.count, 2);
  EXPECT_DOUBLE_EQ(e.memory_capacity_bytes, 72e9);
  EXPECT_DOUBLE_EQ(e.memory_per_device_bytes, 141'862'387'712.0 / 2);
  // fp8: 70.9 GB fits one.
  InferOptions fp8;
  fp8.precision = Precision::fp8;
  EXPECT_EQ(must(zoo("llama3-70b"), sys("h100"), fp8).devices_for_weights, 1);
}

TEST(InferMemory, GpuCountsRoundToPowersOfTwoThenNodes) {
  // Llama 3.1 405B: 810.2 GB + 1.2 GB KV / 72 GB = 11.3 -> 12 -> two nodes of 8.
  InferEstimate e = must(zoo("llama3.1-405b"), sys("h100"), InferOptions{});
  EXPECT_EQ(e.devices_for_weights, 12);
  EXPECT_EQ(e.count, 16);
  // Llama 2 7B, sequences of 2560 tokens (1.34 GB of KV each) next to 13.5 GB of weights:
  // 40 of them need 67.2 GB / 72 GB -> 1 GPU; 48 need 77.9 GB / 72 GB -> 2.
  EXPECT_EQ(must(zoo("llama2-7b"), sys("h100"), tokens(40, 2048, 512)).count, 1);
  EXPECT_EQ(must(zoo("llama2-7b"), sys("h100"), tokens(48, 2048, 512)).count, 2);
}

TEST(InferGpu, DecodeAtBatchOneIsHbmBound) {
  // One H100: every step reads the 13,476,831,232 weight bytes and the KV cache of the mean
  // context 128 + 128 / 2 = 192 tokens (524,288 bytes each) at 0.8 x 3.35 TB/s (the assumed
  // memory_efficiency): 13,577,494,528 / 2.68e12 = 5.066 ms; the 2 x 6.5e9 FLOPs take 20 us
  // at 633 TFLOP/s.
  InferEstimate e = must(zoo("llama2-7b"), sys("h100"), tokens(1, 128, 128));
  EXPECT_EQ(e.count, 1);
  const double weights_only = 13'476'831'232.0 / 2.68e12;
  EXPECT_NEAR(e.time_per_output_token_seconds, 13'577'494'528.0 / 2.68e12, 1e-12);
  EXPECT_LT(std::fabs(e.time_per_output_token_seconds / weights_only - 1), 0.05);
  EXPECT_EQ(e.limiter, Limiter::memory_bandwidth);
  EXPECT_TRUE(has_part(e, "decode_weight_reads"));
  EXPECT_DOUBLE_EQ(e.tokens_per_second_per_user, 1 / e.time_per_output_token_seconds);
  EXPECT_DOUBLE_EQ(e.aggregate_tokens_per_second, e.tokens_per_second_per_user);
}

TEST(InferGpu, LargeBatchIsComputeBound) {
  // Llama 3 8B, 1024 sequences of 32 tokens on one H100: a step multiplies 1024 tokens by the
  // ~7.5e9 matmul parameters (15.4 TFLOP, 24 ms at 633 TFLOP/s) but reads only 16 GB of
  // weights and 3.2 GB of KV cache (5.7 ms at 3.35 TB/s).
  const Model m = zoo("llama3-8b");
  InferEstimate e = must(m, sys("h100"), tokens(1024, 16, 16));
  EXPECT_EQ(e.count, 1);
  EXPECT_EQ(e.limiter, Limiter::compute);
  EXPECT_TRUE(has_part(e, "decode_compute"));
  EXPECT_FALSE(has_part(e, "decode_weight_reads"));
  const double matmul_step = 1024 * 2 * double(matmul_params(m)) / (989e12 * 0.64);
  EXPECT_GT(e.time_per_output_token_seconds, matmul_step);
  EXPECT_LT(e.time_per_output_token_seconds, matmul_step * 1.01);
  // Batching still multiplies the aggregate throughput over batch 1.
  InferEstimate one = must(m, sys("h100"), tokens(1, 16, 16));
  EXPECT_GT(e.aggregate_tokens_per_second, 100 * one.aggregate_tokens_per_second);
}

TEST(InferGpu, TensorAndPipelineParallel) {
  // Two H100s: tensor parallel, all-reduces on NVLink; each GPU reads half the weights.
  InferEstimate tp = must(zoo("llama3-70b"), sys("h100"), tokens(1, 128, 128));
  EXPECT_TRUE(has_part(tp, "decode_tensor_parallel_comm"));
  EXPECT_GT(tp.time_per_output_token_seconds, 141'107'412'992.0 / 2 / 3.35e12);
  // Sixteen H100s for 405B: tp 8 within a node, 2 pipeline stages; a token's round trip
  // reads 1/8 of the weights per GPU (101 GB / 3.35 TB/s = 30 ms) and hops between nodes.
  InferEstimate pp = must(zoo("llama3.1-405b"), sys("h100"), tokens(1, 128, 128));
  EXPECT_EQ(pp.count, 16);
  EXPECT_GT(pp.time_per_output_token_seconds, pp.weight_bytes / 8 / 3.35e12);
  EXPECT_TRUE(has_part(pp, "decode_pipeline_hops"));
  // Two sequences fill the two stages: the same step time, twice the throughput.
  InferEstimate two = must(zoo("llama3.1-405b"), sys("h100"), tokens(2, 128, 128));
  EXPECT_NEAR(two.time_per_output_token_seconds / pp.time_per_output_token_seconds, 1, 0.01);
  EXPECT_NEAR(two.aggregate_tokens_per_second / pp.aggregate_tokens_per_second, 2, 0.02);
}

TEST(InferRequest, BreakdownSumsToTheRequest) {
  for (const char* system : {"a100", "h100", "h200", "b200", "cs2", "cs3", "lpu"}) {
    for (int64_t batch : {1, 7, 64}) {
      InferEstimate e = must(zoo("llama2-13b"), sys(system), tokens(batch, 1000, 300));
      double sum = 0;
      for (const Part& p : e.breakdown) sum += p.seconds;
      const double request = e.ttft_seconds + 299 * e.time_per_output_token_seconds;
      EXPECT_NEAR(sum / request, 1, 1e-9) << system << " batch " << batch;
      EXPECT_GE(e.count, e.devices_for_weights) << system;
      EXPECT_LE(e.memory_per_device_bytes, e.memory_capacity_bytes) << system;
      EXPECT_FALSE(e.notes.empty());
    }
  }
}

TEST(InferRequest, EnergyAndCostPerToken) {
  // One H100 (0.7 kW) for the request, over batch x output = 4 x 100 tokens; $10/hour.
  InferOptions o = tokens(4, 500, 100);
  o.dollars_per_hour = 10;
  InferEstimate e = must(zoo("llama2-7b"), sys("h100"), o);
  const double request = e.ttft_seconds + 99 * e.time_per_output_token_seconds;
  EXPECT_DOUBLE_EQ(e.energy_joules_per_token, 700 * request / 400);
  EXPECT_DOUBLE_EQ(e.dollars_per_million_tokens, 10 * request / 3600 / 400 * 1e6);
}

TEST(InferWafer, Llama3_70bNeedsFourCs3s) {
  // 893,064 PEs x 48 KiB = 43.9 GB, 39.5 GB usable; 141.86 GB / 39.5 GB = 3.59 -> 4.
  InferEstimate e = must(zoo("llama3-70b"), sys("cs3"), InferOptions{});
  EXPECT_EQ(e.devices_for_weights, 4);
  EXPECT_EQ(e.count, 4);
  EXPECT_TRUE(has_part(e, "decode_pipeline_hops"));
  bool capacity_note = false;
  for (const std::string& n : e.notes) capacity_note |= n.find("4 wafers needed") == 0;
  EXPECT_TRUE(capacity_note);
  // A smaller model fits one wafer (16.1 GB + 0.3 GB of KV).
  EXPECT_EQ(must(zoo("llama3-8b"), sys("cs3"), InferOptions{}).count, 1);
}

TEST(InferWafer, DecodeWithinSramBandwidthAndPeak) {
  const Model m = zoo("llama3-8b");
  const System s = sys("cs3");
  for (int64_t batch : {1, 16, 256, 4096}) {
    InferEstimate e = must(m, s, tokens(batch, 512, 128));
    // A token passes every wafer, each reading its share of the weights from SRAM.
    EXPECT_GE(e.time_per_output_token_seconds, e.weight_bytes / (s.memory_tb_per_s * 1e12))
        << batch;
    const double step_flops = double(batch) * 2 * double(matmul_params(m));
    EXPECT_LE(step_flops / e.time_per_output_token_seconds,
              double(e.count) * peak_flops(s, Precision::bf16))
        << batch;
  }
  // At batch 1 the GEMVs' trips across the fabric dominate: 4 fused GEMVs (qkv, output,
  // gate+up, down) x 32 layers + the head = 129 crossings of (762 + 1172) x 2 cycles at
  // 1.1 GHz = 0.454 ms per token.
  InferEstimate one = must(m, s, tokens(1, 512, 128));
  EXPECT_NEAR(one.time_per_output_token_seconds, 129 * 3868 / 1.1e9, 0.01e-3);
  EXPECT_EQ(one.limiter, Limiter::network);
}

TEST(InferWafer, PipelineServesOneMicroBatchPerWafer) {
  // Four wafers, four sequences: each wafer works on a different sequence at once.
  InferEstimate one = must(zoo("llama3-70b"), sys("cs3"), tokens(1, 256, 64));
  InferEstimate four = must(zoo("llama3-70b"), sys("cs3"), tokens(4, 256, 64));
  ASSERT_EQ(four.count, 4);
  EXPECT_NEAR(four.time_per_output_token_seconds / one.time_per_output_token_seconds, 1, 0.01);
  EXPECT_NEAR(four.aggregate_tokens_per_second / one.aggregate_tokens_per_second, 4, 0.04);
}

TEST(InferWafer, ArchChangesTheEstimate) {
  // Half the clock: the fabric latency, the SRAM bandwidth and the compute rate all halve, so
  // on one wafer (no I/O hops) every time doubles.
  const std::string path = ::testing::TempDir() + "/infer_slow_wse3.toml";
  std::ofstream(path) << "base = \"wse3\"\nclock_ghz = 0.55\n";
  Expected<System> slow = with_arch(sys("cs3"), path);
  ASSERT_TRUE(slow.has_value()) << slow.message();
  InferEstimate fast = must(zoo("llama2-7b"), sys("cs3"), InferOptions{});
  InferEstimate half = must(zoo("llama2-7b"), *slow, InferOptions{});
  ASSERT_EQ(fast.count, 1);
  ASSERT_EQ(half.count, 1);
  EXPECT_NEAR(half.time_per_output_token_seconds / fast.time_per_output_token_seconds, 2, 1e-9);
  EXPECT_NEAR(half.ttft_seconds / fast.ttft_seconds, 2, 1e-9);
}

TEST(InferLpu, ChipsHoldTheWeights) {
  // Llama 3 8B: 16,060,522,496 weight bytes + 2 tokens x 131,072 bytes of KV over 230 MB
  // chips: 16,060,784,640 / 230e6 = 69.8 -> 70 = ceil(weights / 0.23e9).
  InferEstimate e = must(zoo("llama3-8b"), sys("lpu"), tokens(1, 1, 1));
  EXPECT_EQ(e.devices_for_weights, 70);
  EXPECT_EQ(e.devices_for_weights, int64_t(std::ceil(e.weight_bytes / 0.23e9)));
  EXPECT_EQ(e.count, 70);
  // A token crosses all 70 chips: their SRAM reads (16 GB / 80 TB/s = 201 us) and 70 link
  // latencies of 1 us (69 hops and the sampled token back to the first chip); the reads
  // outweigh the hops and the prefill.
  InferEstimate d = must(zoo("llama3-8b"), sys("lpu"), tokens(1, 128, 128));
  EXPECT_GT(d.time_per_output_token_seconds, d.weight_bytes / 80e12 + 70e-6);
  EXPECT_EQ(d.limiter, Limiter::memory_bandwidth);
}

TEST(InferLpu, PrefillStreamsChunksThroughTheChips) {
  // Llama 3 70B on 617 chips: one chip at a time, the 2048-token prompt would take
  // 2048 x 2 x matmul_params / (188 TFLOP/s x 0.8) = 1.9 s; streamed in chunks every chip
  // works at once, and no faster than all 617 chips at their rate.
  const Model m = zoo("llama3-70b");
  InferEstimate e = must(m, sys("lpu"), InferOptions{});
  const double one_chip = 2048 * 2 * double(matmul_params(m)) / (188e12 * 0.8);
  EXPECT_LT(e.ttft_seconds, one_chip / 20);
  EXPECT_GT(e.ttft_seconds, one_chip / double(e.count));
}

TEST(InferErrors, BadInputsNameTheFlag) {
  const Model m = zoo("llama2-7b");
  const System h100 = sys("h100");
  EXPECT_NE(error_of(m, h100, tokens(0, 128, 128)).find("--batch"), std::string::npos);
  EXPECT_NE(error_of(m, h100, tokens(1, 0, 128)).find("--prompt"), std::string::npos);
  EXPECT_NE(error_of(m, h100, tokens(1, 128, 0)).find("--output"), std::string::npos);
  EXPECT_NE(error_of(m, h100, tokens(1, int64_t(1) << 24, 1)).find("--prompt + --output"),
            std::string::npos);
  InferOptions o;
  o.count = -1;
  EXPECT_NE(error_of(m, h100, o).find("--count"), std::string::npos);
  o.count = h100.max_count + 1;
  EXPECT_NE(error_of(m, h100, o).find("--count"), std::string::npos);
  o.count = 12;  // more than a node and not whole nodes
  EXPECT_NE(error_of(m, h100, o).find("multiple of 8"), std::string::npos);
  EXPECT_NE(error_of(zoo("bert-large"), h100, InferOptions{}).find("encoder-only"),
            std::string::npos);
}

TEST(InferErrors, TooFewDevicesSaysHowManyFit) {
  InferOptions o;
  o.count = 1;
  std::string gpu = error_of(zoo("llama3-70b"), sys("h100"), o);
  EXPECT_NE(gpu.find("needs 141.86 GB"), std::string::npos) << gpu;
  EXPECT_NE(gpu.find("holds 72.00 GB"), std::string::npos) << gpu;
  EXPECT_NE(gpu.find("--count 2 would fit"), std::string::npos) << gpu;
  o.count = 3;
  std::string wafer = error_of(zoo("llama3-70b"), sys("cs3"), o);
  EXPECT_NE(wafer.find("--count 4 would fit"), std::string::npos) << wafer;
}

TEST(InferGpu, MemoryEfficiencyScalesDecode) {
  // Batch-1 decode is HBM-bound: from the assumed 0.8 of the datasheet to all of it, the
  // time per token falls by 0.8.
  System full = sys("h100");
  EXPECT_DOUBLE_EQ(full.memory_efficiency, 0.8);
  const InferEstimate assumed = must(zoo("llama2-7b"), full, tokens(1, 128, 128));
  full.memory_efficiency = 1;
  const InferEstimate ideal = must(zoo("llama2-7b"), full, tokens(1, 128, 128));
  EXPECT_NEAR(ideal.time_per_output_token_seconds / assumed.time_per_output_token_seconds, 0.8,
              1e-9);
  bool noted = false;
  for (const std::string& n : assumed.notes) noted |= n.find("memory_efficiency 0.8") != n.npos;
  EXPECT_TRUE(noted);
  // SRAM systems read at their full bandwidth.
  EXPECT_DOUBLE_EQ(sys("cs3").memory_efficiency, 1);
  EXPECT_DOUBLE_EQ(sys("lpu").memory_efficiency, 1);
}

TEST(InferWafer, PublishedServingComparison) {
  // docs/estimator.md's table: Llama 3.1 8B, 70B (Llama 3 shapes) and 405B on CS-3 at batch
  // 1, 2,048-token prompts, 256 generated tokens.
  const System s = sys("cs3");
  const InferEstimate small = must(zoo("llama3.1-8b"), s, InferOptions{});
  const InferEstimate mid = must(zoo("llama3.1-70b"), s, InferOptions{});
  const InferEstimate large = must(zoo("llama3.1-405b"), s, InferOptions{});
  EXPECT_EQ(small.count, 1);
  EXPECT_EQ(mid.count, 4);
  EXPECT_EQ(large.count, 21);
  EXPECT_NEAR(small.tokens_per_second_per_user, 2195, 5);
  EXPECT_NEAR(mid.tokens_per_second_per_user, 857, 5);
  EXPECT_NEAR(large.tokens_per_second_per_user, 504, 5);
}

TEST(InferErrors, PrecisionWithoutAPeakIsAnError) {
  InferOptions o;
  o.precision = Precision::fp8;
  EXPECT_EQ(error_of(zoo("llama3-8b"), sys("cs3"), o),
            "cs3 has no fp8 peak: it supports bf16 and fp16 (set peak_tflops_fp8 in a system "
            "file to give it one)");
  EXPECT_NE(error_of(zoo("llama3-8b"), sys("a100"), o).find("a100 has no fp8 peak"),
            std::string::npos);
  EXPECT_EQ(must(zoo("llama3-8b"), sys("h100"), o).weight_bytes, 8'030'261'248.0);
}

}  // namespace
}  // namespace wafer::estimate
