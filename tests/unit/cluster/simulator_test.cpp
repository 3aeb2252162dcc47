// The cluster simulator on models whose rates and profiles are set by hand, so each expected
// time is derived in a comment: FIFO completion times, a preemption with its checkpoint cost,
// continuous batching's TTFT and TPOT, a disaggregated request's KV-cache transfer; then the
// properties: the same scenario twice gives the same result, and at high load the
// heterogeneity-aware policies beat their agnostic versions on mean job completion time.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "wafer/cluster/scenario.hpp"

namespace wafer::cluster {
namespace {

Pool pool(const std::string& name, int64_t count, int64_t group) {
  Expected<estimate::System> s = estimate::load_system("h100");
  EXPECT_TRUE(s) << s.message();
  return {name, *s, count, group};
}

// One training type with the given rate on each pool (tokens/s per group).
ClusterModel training_model(const std::vector<int64_t>& groups, const std::vector<double>& rates) {
  ClusterModel m;
  for (size_t i = 0; i < groups.size(); ++i) {
    m.fleet.pools.push_back(pool("p" + std::to_string(i), groups[i] * 8, 8));
    m.training_groups.push_back(groups[i]);
    m.group_dollars_per_second.push_back(1);
  }
  m.types.resize(1);
  m.train_rate = {rates};
  m.profiles.resize(groups.size());
  return m;
}

TrainArrival job(int64_t id, double arrival, double tokens) {
  TrainArrival a;
  a.id = id;
  a.arrival_seconds = arrival;
  a.tokens = tokens;
  return a;
}

Request request(int64_t id, double t, int64_t prompt, int64_t output) {
  return {id, t, prompt, output};
}

Policy policy(const std::string& name) {
  Expected<Policy> p = parse_policy(name);
  EXPECT_TRUE(p) << p.message();
  return *p;
}

TEST(ClusterSimulator, FifoRunsTwoJobsOnOneGroupInArrivalOrder) {
  // Rate 100 tokens/s. A (1000 tokens, t=0) runs 0..10; B (500, t=2) waits, runs 10..15.
  ClusterModel m = training_model({1}, {100});
  Simulator sim(m, policy("fifo"));
  sim.submit_job(job(0, 0, 1000));
  sim.submit_job(job(1, 2, 500));
  sim.run();
  Observations o = sim.snapshot();
  EXPECT_EQ(o.job_completion_seconds, (std::vector<double>{10, 13}));
  Summary s = summarise("fifo", o);
  EXPECT_DOUBLE_EQ(s.avg_jct, 11.5);
  EXPECT_DOUBLE_EQ(s.makespan, 15);
  // One group of 8 devices busy all 15 s of the 15 s horizon.
  EXPECT_DOUBLE_EQ(s.utilisation.at("gpu"), 1.0);
}

TEST(ClusterSimulator, LasPreemptsAtTheRoundAndTheResumePaysTheCheckpoint) {
  // Rate 1 token/s, rounds of 10 s, checkpoint 3 s. A (100 tokens, t=0) runs; B (10, t=5)
  // waits. At the round (t=10) A has attained 10 s and B 0, so B takes the group: 10..20.
  // A resumes at 20, restores until 23 and trains its last 90 tokens: done at 113.
  ClusterModel m = training_model({1}, {1});
  m.round_seconds = 10;
  m.checkpoint_seconds = 3;
  Simulator sim(m, policy("las"));
  sim.submit_job(job(0, 0, 100));
  sim.submit_job(job(1, 5, 10));
  sim.run();
  Observations o = sim.snapshot();
  EXPECT_EQ(o.job_completion_seconds, (std::vector<double>{15, 113}));
  EXPECT_EQ(o.preemptions, 1);
  // FIFO never preempts: A done at 100, B at 110.
  Simulator fifo(m, policy("fifo"));
  fifo.submit_job(job(0, 0, 100));
  fifo.submit_job(job(1, 5, 10));
  fifo.run();
  EXPECT_EQ(fifo.snapshot().job_completion_seconds, (std::vector<double>{100, 105}));
  // No pool serves: a request is counted, not routed.
  fifo.submit_request(request(0, 0, 10, 10));
  EXPECT_EQ(fifo.snapshot().requests_rejected, 1);
}

TEST(ClusterSimulator, CostTakesTheCheapestPoolThatMeetsTheDeadline) {
  // Pool 0: 1 token/s at $1/s; pool 1: 10 tokens/s at $100/s ($1 against $10 per token).
  // Job 0 (100 tokens, deadline 200) fits the cheap pool's 100 s: done at 100. Job 1 (100
  // tokens, deadline 50) would miss it there (the cheap pool is busy anyway): the fast pool,
  // done at 10.
  ClusterModel m = training_model({1, 1}, {1, 10});
  m.group_dollars_per_second = {1, 100};
  Simulator sim(m, policy("cost"));
  TrainArrival a = job(0, 0, 100), b = job(1, 0, 100);
  a.deadline_seconds = 200;
  b.deadline_seconds = 50;
  sim.submit_job(a);
  sim.submit_job(b);
  sim.run();
  Observations o = sim.snapshot();
  EXPECT_EQ(o.job_completion_seconds, (std::vector<double>{10, 100}));
  EXPECT_EQ(o.deadlines_missed, 0);
  // Busy: 100 s on pool 0 and 10 s on pool 1, 8 devices each at the h100's $/device-hour.
  Summary s = summarise("cost", o);
  EXPECT_NEAR(s.dollars, 8 * 110 / 3600.0 * m.fleet.pools[0].system.dollars_per_hour, 1e-9);
}

TEST(ClusterSimulator, AwarePlacementWaitsForTheFasterPoolWhenThatFinishesSooner) {
  // One group at 1 token/s (pool 0) and one at 4 (pool 1). Jobs of 400, 80 and 40 tokens
  // arrive at t=0 in that order. 400 takes pool 1 (finish 100 against 400). 80 would finish
  // at 80 on pool 0 or at 100 + 20 behind it on pool 1: pool 0, done at 80. 40 would finish at
  // 80 + 40 = 120 on pool 0 or 100 + 10 = 110 on pool 1: it waits for pool 1, done at 110.
  ClusterModel m = training_model({1, 1}, {1, 4});
  Simulator sim(m, policy("makespan"));
  sim.submit_job(job(0, 0, 400));
  sim.submit_job(job(1, 0, 80));
  sim.submit_job(job(2, 0, 40));
  sim.run();
  EXPECT_EQ(sim.snapshot().job_completion_seconds, (std::vector<double>{80, 100, 110}));
  // The agnostic version starts a job wherever most groups are free (ties: fleet order):
  // 400 on pool 0 (400 s), 80 on pool 1 (20 s), then 40 on pool 1 (20 + 10 s).
  Simulator agnostic(m, policy("makespan-agnostic"));
  agnostic.submit_job(job(0, 0, 400));
  agnostic.submit_job(job(1, 0, 80));
  agnostic.submit_job(job(2, 0, 40));
  agnostic.run();
  EXPECT_EQ(agnostic.snapshot().job_completion_seconds, (std::vector<double>{20, 30, 400}));
}

TEST(ClusterSimulator, AdvancesIncrementally) {
  // The FIFO case above, driven step by step: at t=5 job A is half done and B not yet there.
  ClusterModel m = training_model({1}, {100});
  Simulator sim(m, policy("fifo"));
  sim.submit_job(job(0, 0, 1000));
  sim.advance_to(5);
  EXPECT_DOUBLE_EQ(sim.now(), 5);
  EXPECT_TRUE(sim.snapshot().job_completion_seconds.empty());
  sim.submit_job(job(1, 2, 500));  // in the past: arrives now, t=5; runs 10..15
  sim.advance_to(100);
  EXPECT_EQ(sim.snapshot().job_completion_seconds, (std::vector<double>{10, 10}));
}

ReplicaProfile tiny_profile() {
  ReplicaProfile p;
  p.fits = true;
  p.batch_limit = 2;
  p.tpot = {0.1, 0.15};
  p.prefill_fixed = 0.05;
  p.prefill_per_token = 0.001;
  p.kv_bytes_per_token = 1e6;
  return p;
}

ClusterModel serving_model(const std::vector<ServeRole>& roles) {
  ClusterModel m = training_model(std::vector<int64_t>(roles.size(), 1),
                                  std::vector<double>(roles.size(), 0));
  m.types.clear();
  m.train_rate.clear();
  m.inference.slo_ttft_seconds = 0.5;
  m.inference.slo_tpot_seconds = 0.2;
  m.kv_link_bytes_per_second = 1e9;
  for (size_t i = 0; i < roles.size(); ++i) {
    m.profiles[i] = tiny_profile();
    m.training_groups[i] = 0;
    m.serving.push_back({int(i), 1, roles[i]});
  }
  return m;
}

TEST(ClusterSimulator, ContinuousBatchingGivesExactTtftAndTpot) {
  // Batch limit 2, TPOT 0.1 s at 1 and 0.15 s at 2, prefill 0.05 + 0.001 x prompt tokens.
  //   0.00 r0 (prompt 100, output 3) prefills until 0.15: first token, TTFT 0.15
  //   0.10 r1 (200, 2), 0.12 r2 (100, 1) queue behind it
  //   0.15 r1 prefills (0.25 s) until 0.40: TTFT 0.30
  //   0.40 the batch is full (2): a decode step of 0.15 s; at 0.55 r1 has its 2 tokens, TPOT 0.15
  //   0.55 r2 prefills until 0.70: its only token, TTFT 0.58
  //   0.70 r0 alone decodes 0.1 s: its third token at 0.80, TPOT (0.80 - 0.15) / 2 = 0.325
  ClusterModel m = serving_model({ServeRole::both});
  Simulator sim(m, policy("slo"));
  sim.submit_request(request(0, 0, 100, 3));
  sim.submit_request(request(1, 0.1, 200, 2));
  sim.submit_request(request(2, 0.12, 100, 1));
  sim.run();
  Observations o = sim.snapshot();
  ASSERT_EQ(o.ttft_seconds.size(), 3u);  // in completion order: r1, r2, r0
  EXPECT_NEAR(o.ttft_seconds[0], 0.30, 1e-12);
  EXPECT_NEAR(o.ttft_seconds[1], 0.58, 1e-12);
  EXPECT_NEAR(o.ttft_seconds[2], 0.15, 1e-12);
  EXPECT_NEAR(o.tpot_seconds[0], 0.15, 1e-12);
  EXPECT_EQ(o.tpot_seconds[1], 0);
  EXPECT_NEAR(o.tpot_seconds[2], 0.325, 1e-12);
  // SLO 0.5 s / 0.2 s: r1 meets it; r2's TTFT and r0's TPOT do not.
  EXPECT_EQ(o.requests_in_slo, 1);
}

TEST(ClusterSimulator, DisaggregatedRequestPaysTheKvTransfer) {
  // Prefill 0.05 + 0.1 = 0.15 s (first token); 100 tokens x 1 MB over 1 GB/s = 0.1 s; then
  // two decode steps of 0.1 s on the decode replica: done at 0.45, TPOT (0.45 - 0.15) / 2.
  ClusterModel m = serving_model({ServeRole::prefill, ServeRole::decode});
  Simulator sim(m, policy("slo"));
  sim.submit_request(request(0, 0, 100, 3));
  sim.run();
  Observations o = sim.snapshot();
  ASSERT_EQ(o.ttft_seconds.size(), 1u);
  EXPECT_NEAR(o.ttft_seconds[0], 0.15, 1e-12);
  EXPECT_NEAR(o.tpot_seconds[0], 0.15, 1e-12);
  EXPECT_NEAR(o.last_request_finish, 0.45, 1e-12);
}

TEST(ClusterSimulator, RoundRobinAlternatesAndSloRoutingAvoidsTheBusyReplica) {
  // Two replicas; r0 and r1 arrive together. Round-robin: one each. SLO routing: r1 sees r0
  // queued on replica 0 and takes replica 1 too, so both start prefill at 0 with TTFT 0.15.
  ClusterModel m = serving_model({ServeRole::both, ServeRole::both});
  for (const char* name : {"round-robin", "slo"}) {
    Simulator sim(m, policy(name));
    sim.submit_request(request(0, 0, 100, 1));
    sim.submit_request(request(1, 0, 100, 1));
    sim.run();
    Observations o = sim.snapshot();
    EXPECT_NEAR(o.ttft_seconds[0], 0.15, 1e-12) << name;
    EXPECT_NEAR(o.ttft_seconds[1], 0.15, 1e-12) << name;
  }
}

TEST(ClusterSimulator, JobStatusFollowsAJobAndACancellationFreesItsGroup) {
  // One group at 100 tokens/s and $1/s. A (1000 tokens, t=0) starts at 0; B (500, t=2) waits.
  // At 5 A is running with 5 s held ($5); cancelling it then starts B at 5, done at 10 ($5).
  ClusterModel m = training_model({1}, {100});
  Simulator sim(m, policy("fifo"));
  sim.submit_job(job(1, 0, 1000));
  sim.submit_job(job(2, 2, 500));
  sim.advance_to(5);
  std::optional<JobStatus> a = sim.job_status(1);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->phase, JobPhase::running);
  EXPECT_EQ(a->pool, 0);
  EXPECT_EQ(a->start, 0.0);
  EXPECT_FALSE(a->finish);
  EXPECT_EQ(a->cost_usd, 5.0);
  EXPECT_EQ(sim.job_status(2)->phase, JobPhase::queued);
  EXPECT_EQ(sim.job_status(2)->pool, -1);
  EXPECT_TRUE(sim.cancel_job(1));
  EXPECT_FALSE(sim.cancel_job(1));   // already cancelled
  EXPECT_FALSE(sim.cancel_job(99));  // no such job
  EXPECT_FALSE(sim.job_status(99));
  sim.run();
  a = sim.job_status(1);
  EXPECT_EQ(a->phase, JobPhase::cancelled);
  EXPECT_EQ(a->pool, 0);
  EXPECT_EQ(a->cost_usd, 5.0);
  const JobStatus b = *sim.job_status(2);
  EXPECT_EQ(b.phase, JobPhase::finished);
  EXPECT_EQ(b.start, 5.0);
  EXPECT_EQ(b.finish, 10.0);
  EXPECT_EQ(b.cost_usd, 5.0);
  EXPECT_FALSE(sim.cancel_job(2));  // finished
}

TEST(ClusterSimulator, RouteRequestReturnsThePredictionThatChoseTheReplica) {
  // Two idle replicas (prefill 0.05 + 0.001 x prompt, TPOT 0.1 s at batch 1), SLOs 0.5 / 0.2 s.
  // r0 (prompt 100): TTFT 0.15, TPOT 0.1 on both: headroom min(0.35 / 0.5, 0.1 / 0.2) = 0.5,
  // the first replica. r1 (prompt 100, same time): replica 0 is prefilling until 0.15, so
  // TTFT 0.15 + 0.15 = 0.3 and headroom min(0.2 / 0.5, 0.5) = 0.4; replica 1 still 0.5.
  // The model's own TTFT SLO is loosened to 10 s, under which both replicas would tie at 0.5
  // for r1 and the first would win: the call routes by the SLOs it is given.
  ClusterModel m = serving_model({ServeRole::both, ServeRole::both});
  m.inference.slo_ttft_seconds = 10;
  Simulator sim(m, policy("slo"));
  ASSERT_TRUE(sim.serves());
  RouteResult first = sim.route_request(request(0, 0, 100, 1), 0.5, 0.2);
  EXPECT_EQ(first.chosen.replica, 0);
  EXPECT_NEAR(first.chosen.ttft, 0.15, 1e-12);
  EXPECT_NEAR(first.chosen.tpot, 0.1, 1e-12);
  EXPECT_NEAR(first.chosen.headroom, 0.5, 1e-12);
  RouteResult second = sim.route_request(request(1, 0, 100, 1), 0.5, 0.2);
  ASSERT_EQ(second.options.size(), 2u);
  EXPECT_NEAR(second.options[0].ttft, 0.3, 1e-12);
  EXPECT_NEAR(second.options[0].headroom, 0.4, 1e-12);
  EXPECT_EQ(second.chosen.replica, 1);
  EXPECT_EQ(second.chosen.pool, 1);
  EXPECT_EQ(sim.requests_in_flight(), (std::vector<int64_t>{1, 1}));
  sim.run();
  EXPECT_EQ(sim.requests_in_flight(), (std::vector<int64_t>{0, 0}));
  const Observations o = sim.snapshot();
  ASSERT_EQ(o.ttft_seconds.size(), 2u);
  EXPECT_NEAR(o.ttft_seconds[1], 0.15, 1e-12);
}

TEST(ClusterSimulator, TpotIsLinearBetweenProfiledBatches) {
  ReplicaProfile p;
  p.batch_limit = 4;
  p.tpot = {0.010, 0.012, 0.020};  // batches 1, 2, 4
  EXPECT_DOUBLE_EQ(tpot_at(p, 2), 0.012);
  EXPECT_DOUBLE_EQ(tpot_at(p, 3), 0.016);  // halfway from 2 to 4
  EXPECT_DOUBLE_EQ(tpot_at(p, 9), 0.020);  // clamped to the limit
}

// 400 Gavel-style jobs at 60/h on a slow pool of 8 groups (1 token/s) and a fast one of 2
// (10 tokens/s), listed slow first. Durations are on the slow (reference) pool: minutes to
// days of work for a fleet that clears about 28 jobs' worth of rate per hour at most.
std::vector<double> mean_jct(const std::vector<std::string>& names) {
  ClusterModel m = training_model({8, 2}, {1, 10});
  WorkloadSpec spec;
  spec.train_jobs = 400;
  spec.train_rate_per_hour = 60;
  std::vector<TrainArrival> jobs = generate_training(spec, {0}, 7);
  std::vector<double> out;
  for (const std::string& name : names) {
    Simulator sim(m, policy(name));
    for (const TrainArrival& j : jobs) sim.submit_job(j);
    sim.run();
    out.push_back(summarise(name, sim.snapshot()).avg_jct);
  }
  return out;
}

TEST(ClusterSimulator, AwareBeatsAgnosticOnMeanJctAtHighLoad) {
  std::vector<double> jct =
      mean_jct({"fifo", "fifo-agnostic", "las", "las-agnostic", "ftf", "ftf-agnostic"});
  EXPECT_LT(jct[0], jct[1]);
  EXPECT_LT(jct[2], jct[3]);
  EXPECT_LT(jct[4], jct[5]);
}

TEST(ClusterSimulator, SameSeedSameResult) {
  const std::string dir = WAFER_SOURCE_DIR;
  Expected<Fleet> fleet = load_fleet(dir + "/examples/fleets/hybrid.toml");
  ASSERT_TRUE(fleet) << fleet.message();
  Expected<WorkloadSpec> spec = load_workload_spec(dir + "/examples/workloads/small.toml");
  ASSERT_TRUE(spec) << spec.message();
  Expected<Scenario> a = load_scenario(*fleet, *spec, 3);
  Expected<Scenario> b = load_scenario(*fleet, *spec, 3);
  ASSERT_TRUE(a && b) << a.message();
  for (const char* name : {"las", "cost+round-robin"}) {
    Summary x = simulate(*a, policy(name)), y = simulate(*b, policy(name));
    EXPECT_EQ(x.avg_jct, y.avg_jct) << name;
    EXPECT_EQ(x.ttft_p99, y.ttft_p99) << name;
    EXPECT_EQ(x.dollars, y.dollars) << name;
    EXPECT_EQ(x.events, y.events) << name;
    EXPECT_GT(x.jobs_done, 0) << name;
    EXPECT_GT(x.requests, 0) << name;
  }
}

}  // namespace
}  // namespace wafer::cluster
