// Workload files, the training CSV, the Azure trace format, the Gavel-style generator and the
// policy names: values read back exactly, and each error with its file, line and column.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "wafer/cluster/policy.hpp"
#include "wafer/cluster/workload.hpp"

namespace wafer::cluster {
namespace {

std::vector<Job> types() {
  Expected<std::vector<Job>> jobs = parse_jobs_toml(
      "[[job]]\nname = \"ft\"\nkind = \"train\"\nmodel = \"llama3-8b\"\n", "jobs.toml");
  EXPECT_TRUE(jobs) << jobs.message();
  return *jobs;
}

TEST(ClusterWorkload, ReadsKeysAndServeTables) {
  Expected<WorkloadSpec> w = parse_workload_toml(
      "train_jobs = 5\ntrain_rate_per_hour = 10\ntrace = \"t.csv\"\n"
      "[[serve]]\npool = \"gpus\"\nreplicas = 2\nrole = \"prefill\"\n",
      "dir/w.toml", "dir");
  ASSERT_TRUE(w) << w.message();
  EXPECT_EQ(w->name, "w");
  EXPECT_EQ(w->trace, "dir/t.csv");
  EXPECT_EQ(w->model, "llama3-70b");
  ASSERT_EQ(w->serve.size(), 1u);
  EXPECT_EQ(w->serve[0].replicas, 2);
  EXPECT_EQ(w->serve[0].role, ServeRole::prefill);
}

TEST(ClusterWorkload, FileErrorsNameTheKey) {
  Expected<WorkloadSpec> w = parse_workload_toml("train_jobs = 5\n", "w.toml");
  EXPECT_EQ(w.message(), "w.toml:1:14: key 'train_jobs' needs key 'train_rate_per_hour' (Poisson arrivals)");
  w = parse_workload_toml("[[serve]]\nreplicas = 1\n", "w.toml");
  EXPECT_EQ(w.message(), "w.toml:1:1: [[serve]] needs key 'pool'");
  w = parse_workload_toml("[[pools]]\npool = \"x\"\n", "w.toml");
  EXPECT_EQ(w.message(), "w.toml:1:1: unknown table [[pools]] (valid: [[serve]])");
}

TEST(ClusterWorkload, TrainingCsvRowsAndErrors) {
  Expected<std::vector<TrainArrival>> jobs = parse_training_csv(
      "arrival_seconds,job,tokens,deadline_seconds\n0,ft,1e9,\n30.5,ft,2e9,900\n", "t.csv",
      types());
  ASSERT_TRUE(jobs) << jobs.message();
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ((*jobs)[1].arrival_seconds, 30.5);
  EXPECT_EQ((*jobs)[1].tokens, 2e9);
  EXPECT_EQ((*jobs)[1].deadline_seconds, 900);
  EXPECT_EQ((*jobs)[0].deadline_seconds, kNoDeadline);
  jobs = parse_training_csv("arrival_seconds,job,tokens\n0,ft,abc\n", "t.csv", types());
  EXPECT_EQ(jobs.message(), "t.csv:2:6: column 'tokens': 'abc' is not a number");
  jobs = parse_training_csv("arrival_seconds,job,tokens\n0,pt,1\n", "t.csv", types());
  EXPECT_EQ(jobs.message(), "t.csv:2:3: column 'job': no training job type 'pt' (types: ft)");
  jobs = parse_training_csv("arrival,job,tokens\n", "t.csv", types());
  EXPECT_EQ(jobs.message(),
            "t.csv:1:1: header column 1 is 'arrival', expected 'arrival_seconds' (header: "
            "arrival_seconds,job,tokens,deadline_seconds)");
}

TEST(ClusterWorkload, AzureTraceArrivalsAreSecondsAfterTheFirst) {
  Expected<std::vector<Request>> r = parse_trace_csv(
      "TIMESTAMP,ContextTokens,GeneratedTokens\n"
      "2023-11-16 23:59:59.5000000,374,44\n2023-11-17 00:00:01.0000000,396,109\n",
      "trace.csv");
  ASSERT_TRUE(r) << r.message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_NEAR((*r)[1].arrival_seconds, 1.5, 1e-9);  // across midnight
  EXPECT_EQ((*r)[1].prompt, 396);
  EXPECT_EQ((*r)[1].output, 109);
  r = parse_trace_csv("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 10:00,1,1\n", "t.csv");
  EXPECT_EQ(r.message(), "t.csv:2:1: column 'TIMESTAMP': '2023-11-16 10:00' is not YYYY-MM-DD HH:MM:SS");
}

TEST(ClusterWorkload, GavelGeneratorIsSeededAndInRange) {
  WorkloadSpec spec;
  spec.train_jobs = 2000;
  spec.train_rate_per_hour = 10;
  spec.deadline_factor = 2;
  std::vector<TrainArrival> a = generate_training(spec, {0, 3}, 11);
  std::vector<TrainArrival> b = generate_training(spec, {0, 3}, 11);
  ASSERT_EQ(a.size(), 2000u);
  int short_jobs = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].arrival_seconds, b[i].arrival_seconds);
    EXPECT_TRUE(a[i].type == 0 || a[i].type == 3);
    // 10^1.5 to 10^4 minutes.
    EXPECT_GE(a[i].duration_seconds, 60 * std::pow(10, 1.5));
    EXPECT_LE(a[i].duration_seconds, 60 * 1e4);
    EXPECT_DOUBLE_EQ(a[i].deadline_seconds, a[i].arrival_seconds + 2 * a[i].duration_seconds);
    short_jobs += a[i].duration_seconds <= 60 * 1e3;
  }
  // 2000 gaps of mean 360 s: the last arrival near 720,000 s (3 standard deviations: 4.5%).
  EXPECT_NEAR(a.back().arrival_seconds, 720000, 0.045 * 720000);
  // 80% short (3 sigma of a binomial(2000, 0.8): 2.7%).
  EXPECT_NEAR(short_jobs / 2000.0, 0.8, 0.027);
  EXPECT_NE(generate_training(spec, {0}, 12)[0].arrival_seconds, a[0].arrival_seconds);
}

TEST(ClusterPolicy, NamesCombineAndSuggest) {
  Expected<Policy> p = parse_policy("las-agnostic+round-robin");
  ASSERT_TRUE(p) << p.message();
  EXPECT_EQ(p->train, TrainPolicy::las);
  EXPECT_FALSE(p->aware);
  EXPECT_EQ(p->route, RoutePolicy::round_robin);
  p = parse_policy("round-robin");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->train, TrainPolicy::fifo);
  p = parse_policy("fifp");
  EXPECT_NE(p.message().find("unknown policy 'fifp' (did you mean 'fifo'?)"), std::string::npos)
      << p.message();
}

}  // namespace
}  // namespace wafer::cluster
