// The cluster layer: fleet and jobs files (every error with its exact message) and the
// job-by-system matrix, whose numbers must be the estimator's own: each expected value below
// is what `wafer estimate train|infer` prints for the same model, system and count.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "wafer/cluster/matrix.hpp"
#include "wafer/estimate/infer.hpp"
#include "wafer/estimate/train.hpp"

namespace wafer::cluster {
namespace {

const char* const kFleet = R"(name = "test"
[[pool]]
name = "gpus"
system = "h100"
count = 16

[[pool]]
system = "cs3"
count = 4
group = 4

[[pool]]
system = "lpu"
count = 640
group = 640
)";

Fleet fleet() {
  Expected<Fleet> f = parse_fleet_toml(kFleet, "fleet.toml");
  EXPECT_TRUE(f) << f.message();
  return *f;
}

Job one_job(const std::string& text) {
  Expected<std::vector<Job>> jobs = parse_jobs_toml(text, "jobs.toml");
  EXPECT_TRUE(jobs) << jobs.message();
  EXPECT_EQ(jobs->size(), 1u);
  return jobs->front();
}

std::string fleet_error(const std::string& text) {
  Expected<Fleet> f = parse_fleet_toml(text, "fleet.toml");
  EXPECT_FALSE(f);
  return f ? "" : f.message();
}

std::string jobs_error(const std::string& text) {
  Expected<std::vector<Job>> j = parse_jobs_toml(text, "jobs.toml");
  EXPECT_FALSE(j);
  return j ? "" : j.message();
}

TEST(ClusterFleet, ReadsPoolsWithTheirGroups) {
  Fleet f = fleet();
  EXPECT_EQ(f.name, "test");
  ASSERT_EQ(f.pools.size(), 3u);
  EXPECT_EQ(f.pools[0].name, "gpus");
  EXPECT_EQ(f.pools[0].system.name, "h100");
  EXPECT_EQ(f.pools[0].count, 16);
  EXPECT_EQ(f.pools[0].group, 8);  // the default: the h100's NVLink domain (scale_up_size 8)
  EXPECT_EQ(f.pools[1].name, "cs3");  // the default name: the system's
  EXPECT_EQ(f.pools[1].group, 4);
  EXPECT_EQ(matrix_counts(f.pools[0]), (std::vector<int64_t>{8, 16}));
  EXPECT_EQ(matrix_counts(f.pools[2]), (std::vector<int64_t>{640}));
}

TEST(ClusterFleet, ErrorsNameFileLineAndKey) {
  EXPECT_EQ(fleet_error("[[pool]]\nsystem = \"h100\"\ncount = 0\n"),
            "fleet.toml:3:9: key 'count': value 0 out of range (must be in 1..1000000)");
  EXPECT_EQ(fleet_error("[[pool]]\nsystem = \"h100\"\ncount = \"8\"\n"),
            "fleet.toml:3:9: key 'count': must be a whole number, got string");
  EXPECT_EQ(fleet_error("[[pool]]\nsystem = \"h100\"\ncuont = 12\n"),
            "fleet.toml:3:9: unknown key 'cuont' (valid: name, system, count, group)");
  EXPECT_EQ(fleet_error("[[pool]]\nsystem = \"h100\"\n"), "fleet.toml:1:1: [[pool]] needs key 'count'");
  EXPECT_EQ(fleet_error("[[pools]]\nsystem = \"h100\"\n"),
            "fleet.toml:1:1: unknown table [[pools]] (valid: [[pool]])");
  EXPECT_EQ(fleet_error("name = \"x\"\n"), "fleet.toml: no [[pool]] tables: give at least one");
  EXPECT_EQ(fleet_error("name = 3\n[[pool]]\nsystem = \"h100\"\ncount = 8\n"),
            "fleet.toml:1:8: key 'name': must be a string, got number");
  EXPECT_EQ(fleet_error("[[pool]]\nsystem = \"h100\"\ncount = 12\n"),
            "fleet.toml:1:1: key 'group': groups of 8 (the default: h100's scale-up size) do not "
            "divide the pool's 12 devices");
  EXPECT_EQ(fleet_error("[[pool]]\nsystem = \"h100\"\ncount = 12\ngroup = 5\n"),
            "fleet.toml:4:9: key 'group': groups of 5 do not divide the pool's 12 devices");
  EXPECT_EQ(fleet_error("[[pool]]\nsystem = \"cs3\"\ncount = 4096\n"),
            "fleet.toml:3:9: key 'count': 4096 devices of cs3 exceed its largest cluster, 2048");
  EXPECT_EQ(fleet_error("[[pool]]\nsystem = \"h100\"\ncount = 8\n[[pool]]\nsystem = \"h100\"\ncount = 16\n"),
            "fleet.toml:4:1: a second pool named 'h100' (names must be unique; set key 'name')");
  EXPECT_EQ(fleet_error("[[pool]]\nsystem = \"h1000\"\ncount = 8\n"),
            "fleet.toml:2:10: key 'system': unknown system 'h1000' (did you mean 'h100'?) (valid: "
            "a100, h100, h200, b200, cs2, cs3, lpu, or a .toml/.json system file)");
  EXPECT_EQ(fleet_error("[[pool]]\nsystem = \"h100\"\ncount = 8\n[pool"),
            "fleet.toml:4:6: error while parsing table header: encountered end-of-file");
}

TEST(ClusterJobs, ReadsJobsWithDefaults) {
  Job j = one_job("slo_ttft_ms = 500\n[[job]]\nkind = \"infer\"\nmodel = \"llama3-8b\"\nbatch = 4\n"
                  "slo_tpot_ms = 20\n");
  EXPECT_EQ(j.name, "llama3-8b infer");
  EXPECT_EQ(j.kind, JobKind::infer);
  EXPECT_EQ(j.batch, 4);
  EXPECT_EQ(j.prompt, 2048);  // the estimator's defaults
  EXPECT_EQ(j.output, 256);
  EXPECT_DOUBLE_EQ(j.slo_ttft_seconds, 0.5);   // the file's default
  EXPECT_DOUBLE_EQ(j.slo_tpot_seconds, 0.02);  // the job's own
  Job t = one_job("[[job]]\nkind = \"train\"\nmodel = \"llama3-8b\"\ntokens = 2e9\n");
  EXPECT_EQ(*t.tokens, 2e9);
  EXPECT_EQ(zoo_jobs().size(), 2 * estimate::model_zoo().size());
}

TEST(ClusterJobs, ErrorsNameFileLineAndKey) {
  EXPECT_EQ(jobs_error("[[job]]\nkind = \"train\"\nmodel = \"llama3-8b\"\nprompt = 5\n"),
            "jobs.toml:4:10: key 'prompt' is for inference jobs (kind = \"infer\")");
  EXPECT_EQ(jobs_error("[[job]]\nkind = \"infer\"\nmodel = \"llama3-8b\"\ntokens = 5\n"),
            "jobs.toml:4:10: key 'tokens' is for training jobs (kind = \"train\")");
  EXPECT_EQ(jobs_error("[[job]]\nkind = \"serve\"\nmodel = \"llama3-8b\"\n"),
            "jobs.toml:2:8: key 'kind': must be one of train, infer, got 'serve'");
  EXPECT_EQ(jobs_error("[[job]]\nkind = \"infer\"\n"), "jobs.toml:1:1: [[job]] needs key 'model'");
  EXPECT_EQ(jobs_error("slo_ttft_ms = -1\n[[job]]\nkind = \"infer\"\nmodel = \"llama3-8b\"\n"),
            "jobs.toml:1:15: key 'slo_ttft_ms': value -1 out of range (must be in 0.001..1000000000)");
  EXPECT_EQ(jobs_error("[[job]]\nkind = \"infer\"\nmodel = \"llama3-8b\"\nprecision = \"fp4\"\n"),
            "jobs.toml:4:13: key 'precision': must be one of bf16, fp16, fp8, got 'fp4'");
}

TEST(ClusterMatrix, RateBatchesArePowersOfTwoThenTheBatch) {
  EXPECT_EQ(rate_batches(1), (std::vector<int64_t>{1}));
  EXPECT_EQ(rate_batches(8), (std::vector<int64_t>{1, 2, 4, 8}));
  EXPECT_EQ(rate_batches(20), (std::vector<int64_t>{1, 2, 4, 8, 16, 20}));
}

TEST(ClusterMatrix, TrainingCellIsTheEstimatorsEstimate) {
  Fleet f = fleet();
  Job job = one_job("[[job]]\nkind = \"train\"\nmodel = \"llama3-8b\"\ntokens = 2e9\n");
  Cell c = matrix_cell(job, f.pools[0], 8);
  // `wafer estimate train --model llama3-8b --system h100 --count 8 --tokens 2e9 --json`:
  // tokens_per_second 61427.489, time_to_train_seconds 32558.713, limiter compute.
  ASSERT_TRUE(c.fits) << c.why;
  EXPECT_NEAR(*c.tokens_per_second, 61427.489, 0.01);
  EXPECT_NEAR(*c.time_to_train_seconds, 32558.713, 0.01);
  EXPECT_EQ(c.limiter, "compute");
  EXPECT_EQ(c.why, "3d-parallel");
  // 8 x the h100's $2.5/h and 0.7 kW (wafer estimate systems).
  EXPECT_DOUBLE_EQ(*c.dollars_per_hour, 20);
  EXPECT_DOUBLE_EQ(*c.kilowatts, 5.6);
}

TEST(ClusterMatrix, InferenceRateIsTheBestBatchWithinTheSlo) {
  Fleet f = fleet();
  Job job = one_job("[[job]]\nkind = \"infer\"\nmodel = \"llama3-70b\"\nprompt = 1024\n"
                    "output = 256\nbatch = 32\n");
  Cell c = matrix_cell(job, f.pools[0], 8);
  // `wafer estimate infer --model llama3-70b --system h100 --count 8 --prompt 1024 --output 256
  // --batch B`: B = 32 gives TTFT 1.32657 s (over the 1 s SLO), TPOT 8.3527 ms; B = 16 gives
  // TTFT 0.663684 s, TPOT 7.8671 ms, both within it: 16 / (0.663684 + 255 x 0.0078671) = 5.99297.
  ASSERT_TRUE(c.fits) << c.why;
  EXPECT_NEAR(*c.ttft_seconds, 1.326568, 1e-6);
  EXPECT_NEAR(*c.tpot_seconds, 0.0083527, 1e-7);
  EXPECT_EQ(c.rate_batch, 16);
  EXPECT_NEAR(*c.max_rate_per_second, 5.99297, 1e-5);
  EXPECT_EQ(c.limiter, "memory_bandwidth");
  // And the same from the estimator here, at the batch the search chose.
  estimate::InferOptions o;
  o.count = 8;
  o.batch = 16;
  o.prompt = 1024;
  o.output = 256;
  Expected<estimate::InferEstimate> e = estimate::estimate_inference(job.model, f.pools[0].system, o);
  ASSERT_TRUE(e);
  EXPECT_DOUBLE_EQ(*c.max_rate_per_second,
                   16 / (e->ttft_seconds + 255 * e->time_per_output_token_seconds));
}

TEST(ClusterMatrix, NoBatchWithinTheSloIsARateOfZero) {
  Fleet f = fleet();
  // TPOT at batch 1 is 7.41 ms on 8 h100s (above): a 1 ms objective is never met.
  Job job = one_job("[[job]]\nkind = \"infer\"\nmodel = \"llama3-70b\"\nprompt = 1024\n"
                    "slo_tpot_ms = 1\n");
  Cell c = matrix_cell(job, f.pools[0], 8);
  ASSERT_TRUE(c.fits);
  EXPECT_EQ(*c.max_rate_per_second, 0);
  EXPECT_EQ(c.rate_batch, 0);
}

TEST(ClusterMatrix, CellsThatDoNotFitSayWhyInTheEstimatorsWords) {
  Fleet f = fleet();
  Job train = one_job("[[job]]\nkind = \"train\"\nmodel = \"llama3-8b\"\n");
  Cell lpu = matrix_cell(train, f.pools[2], 640);
  EXPECT_FALSE(lpu.fits);
  EXPECT_EQ(lpu.why, "lpu is an inference chip: it has no training model (use a gpu or wafer "
                     "system, or `wafer estimate infer`)");
  EXPECT_TRUE(lpu.limiter.empty());
  EXPECT_FALSE(lpu.tokens_per_second);
  Job infer = one_job("[[job]]\nkind = \"infer\"\nmodel = \"llama3-70b\"\nprompt = 1024\nbatch = 32\n");
  Cell small = matrix_cell(infer, f.pools[2], 640);
  EXPECT_FALSE(small.fits);
  estimate::InferOptions o;
  o.count = 640;
  o.batch = 32;
  o.prompt = 1024;
  EXPECT_EQ(small.why, estimate::estimate_inference(infer.model, f.pools[2].system, o).message());
}

TEST(ClusterMatrix, PriceAndPowerNotKnownWhereTheSystemHasNone) {
  Fleet f = fleet();
  Pool pool = f.pools[0];
  pool.system.dollars_per_hour = 0;
  pool.system.power_kw = 0;
  Cell c = matrix_cell(one_job("[[job]]\nkind = \"train\"\nmodel = \"gpt3-125m\"\n"), pool, 8);
  EXPECT_FALSE(c.dollars_per_hour);
  EXPECT_FALSE(c.kilowatts);
  EXPECT_TRUE(c.fits);
}

TEST(ClusterMatrix, EveryJobOnEveryPoolAtEachCount) {
  Fleet f = fleet();
  std::vector<Job> jobs = zoo_jobs();
  std::vector<Cell> cells = build_matrix(f, jobs);
  // Counts: gpus 8 and 16, cs3 4, lpu 640: four cells per job.
  ASSERT_EQ(cells.size(), 4 * jobs.size());
  EXPECT_EQ(cells[0].job, "gpt3-125m train");
  EXPECT_EQ(cells[0].pool, "gpus");
  EXPECT_EQ(cells[1].count, 16);
  EXPECT_EQ(cells[2].pool, "cs3");
}

}  // namespace
}  // namespace wafer::cluster
