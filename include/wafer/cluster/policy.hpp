// Scheduling and routing policies of the cluster simulator; the objectives, as formulas with
// their sources, are in docs/cluster.md.
//
// A training policy orders the jobs (priority(): lower first, ties by job id) and places a
// job on a pool (choose_pool()). Heterogeneity-aware versions use each job's throughput on
// each pool (from the matrix); agnostic versions, Gavel's baseline, treat every accelerator as
// equal: the job's throughput is its reference pool's everywhere in the priority, and a job
// takes the pool with the most free groups where it fits (ties: fleet order).
//
//   fifo      arrival time; no preemption
//   las       least attained service (Gavel's max-min fairness over effective throughput):
//             aware: tokens trained / best throughput (seconds on the job's best pool);
//             agnostic: seconds run; preempts at round boundaries
//   ftf       finish-time fairness (Themis): the largest rho = (now - arrival + remaining /
//             r) / (tokens / r) first, r the best (aware) or reference (agnostic) rate; preempts
//   makespan  minimum makespan, longest remaining work first (LPT); no preemption
//   cost      cost-normalised throughput with deadlines: earliest deadline first, placed on the
//             pool with the lowest $ per token among those that finish before the deadline
//             (else the fastest); no preemption
//
// Aware placement (fifo, las, ftf, makespan) takes the pool with the earliest finish,
// start + remaining / rate, where a full pool starts when its queue clears: a job may wait
// for a faster pool rather than start on a slow one (list scheduling by earliest finish time,
// as HEFT does); each job that waits adds its run time over the pool's groups to that pool's
// queue, and a job that could run elsewhere also counts the captive work of waiting jobs that
// fit only that pool, so it leaves a scarce pool to the jobs that have no other.
//
// Routing: `slo` sends a request to the replica with the largest headroom
// min((SLO_ttft - TTFT') / SLO_ttft, (SLO_tpot - TPOT') / SLO_tpot), TTFT' and TPOT'
// predicted with the replica's queue; `round-robin` cycles over replicas.
// A policy name is TRAIN[-agnostic][+ROUTE] or ROUTE alone (training under fifo); a training
// name alone routes by slo.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wafer/support/error.hpp"

namespace wafer::cluster {

enum class TrainPolicy { fifo, las, ftf, makespan, cost };
enum class RoutePolicy { slo, round_robin };

struct Policy {
  std::string name;  // as given
  TrainPolicy train = TrainPolicy::fifo;
  bool aware = true;
  RoutePolicy route = RoutePolicy::slo;
};

// Every name parse_policy accepts on its own, for help and "did you mean".
std::vector<std::string> policy_names();
// An unknown name is an error with a suggestion from policy_names().
Expected<Policy> parse_policy(const std::string& text);
bool preempts(const Policy& p);

// What a policy sees of a training job.
struct JobView {
  int64_t id = 0;
  double arrival = 0, tokens = 0, remaining = 0;
  double attained_work_seconds = 0;  // tokens trained / best rate
  double attained_seconds = 0;       // wall seconds run
  double deadline = 0;
  double best_rate = 0, reference_rate = 0;  // tokens/s
  const std::vector<double>* rates = nullptr;  // per pool; 0: does not fit
};

// Per pool: when a group is next expected free (the earliest finish of the jobs running or
// just placed there), the groups, the queue (seconds per group that jobs waiting for the pool
// in this pass need) and the captive work (seconds per group that waiting jobs which fit only
// this pool need of it).
struct PoolQueues {
  std::vector<double> ready;
  std::vector<int64_t> groups;
  std::vector<double> queued;
  std::vector<double> captive;
};

// Lower runs first.
double priority(const Policy& p, const JobView& job, double now);
// The pool the job starts on now (free[pool] > 0), or -1 when it waits (no pool free where it
// fits, or aware placement chose to wait for a faster pool, noted in `queues`);
// `dollars_per_second[pool]` is one group's price.
int choose_pool(const Policy& p, const JobView& job, const std::vector<int64_t>& free,
                PoolQueues& queues, const std::vector<double>& dollars_per_second, double now);

}  // namespace wafer::cluster
