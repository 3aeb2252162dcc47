// The deterministic discrete-event simulator of a hybrid cluster over time.
//
// build_cluster_model() asks the matrix once for everything the simulator needs: each
// training job type's tokens/s on one group of each pool (0 where it does not fit), and for
// each serving pool a replica's profile for the inference model: the time per output token at
// batches 1, 2, 4, ... up to the largest that fits (the batch limit), and the prefill time as
// a line a + c x prompt tokens through the TTFT at prompts of 256 and 4096 tokens. The
// Simulator then runs events in (time, submission order), so a seed and a workload give one
// result on every run:
//
// Training. A job arrives and waits; the policy (policy.hpp) orders the waiting jobs and
// places each on a free group of a pool where it fits (or lets it wait for a faster one), at
// that pool's rate, after arrivals and completions; a preemptive policy also re-plans every
// round, stopping running jobs that lost their group (a preemption) and resuming them later
// after `checkpoint_seconds` with no progress. A job finishes when its tokens are trained.
//
// Inference. A request is routed to a replica (one group of a serving pool) and queues.
// A replica runs continuous batching one iteration at a time: when requests wait and the
// batch has room, an iteration prefills all it admits (a + c x their prompt tokens; the first
// token comes out at its end); otherwise one decode step of TPOT(b) at the current batch b
// (linear between the profiled powers of two) gives every running request a token. With
// disaggregated serving a prefill replica hands the request to a decode replica after the
// KV-cache transfer: prompt tokens x KV bytes per token / the link's bandwidth.
//
// submit_job() / submit_request() add arrivals at or after now() (a request with no serving
// replica is counted as rejected); advance_to(t) runs every
// event up to t; run() runs until nothing is left; snapshot() gives what was observed so far.
// job_status(id) answers for one job (its state, pool, start and finish once known, the
// dollars of the group time it has held so far); cancel_job(id) withdraws a job now, freeing
// its group. route_request() routes a request at its arrival time through the routing
// policy at once and returns the replica chosen with the TTFT and TPOT the policy predicted.
// The simulator holds no forecast: a caller that wants a job's predicted finish copies the
// simulator and runs the copy (a copy shares the model).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "wafer/cluster/fleet.hpp"
#include "wafer/cluster/policy.hpp"
#include "wafer/cluster/report.hpp"
#include "wafer/cluster/workload.hpp"

namespace wafer::cluster {

struct ReplicaProfile {
  bool fits = false;
  std::string why;             // when it does not fit
  int64_t batch_limit = 0;     // a power of two
  std::vector<double> tpot;    // seconds at batch 2^k
  double prefill_fixed = 0, prefill_per_token = 0;  // seconds, seconds per prompt token
  double kv_bytes_per_token = 0;
};

struct ServingPool {
  int pool = 0;
  int64_t replicas = 0;
  ServeRole role = ServeRole::both;
};

struct ClusterModel {
  Fleet fleet;
  std::vector<Job> types;                       // training job types
  std::vector<std::vector<double>> train_rate;  // [type][pool] tokens/s on one group; 0: no fit
  std::vector<int64_t> training_groups;         // per pool: groups not serving
  std::vector<double> group_dollars_per_second; // per pool
  Job inference;
  std::vector<ReplicaProfile> profiles;         // per pool; fits only where it serves
  std::vector<ServingPool> serving;
  double checkpoint_seconds = 60, round_seconds = 360;
  double kv_link_bytes_per_second = 50e9;
};

// Reads the serving pools from `spec`, the rates and profiles from the matrix. `ref_prompt`
// and `ref_output` are the request shape the decode steps are priced at (the trace's means).
Expected<ClusterModel> build_cluster_model(const Fleet& fleet, const WorkloadSpec& spec,
                                           const std::vector<Job>& types, const Job& inference,
                                           int64_t ref_prompt, int64_t ref_output);
// Types that fit at least one pool with training groups.
std::vector<int> trainable_types(const ClusterModel& model);
// The first pool in fleet order where the type fits: generated durations are on it.
int reference_pool(const ClusterModel& model, int type);
// Seconds per decode step at batch b (linear between the profiled powers of two).
double tpot_at(const ReplicaProfile& p, int64_t batch);

enum class JobPhase { queued, running, finished, cancelled, rejected };
const char* to_string(JobPhase p);

struct JobStatus {
  JobPhase phase = JobPhase::queued;
  int pool = -1;        // where it runs, or last ran; -1 before it first starts
  std::optional<double> start, finish;  // the first start; the finish once finished
  double cost_usd = 0;  // the group's $/s x the seconds it held the group so far
};

// The routing policy's prediction for one replica taking a new request.
struct RoutePrediction {
  int replica = -1, pool = -1;
  double ttft = 0, tpot = 0, headroom = 0;  // seconds; headroom against the SLOs given
};

struct RouteResult {
  RoutePrediction chosen;
  std::vector<RoutePrediction> options;  // every replica taking new requests, serving order
};

class Simulator {
 public:
  // `model` is read, not copied: it must outlive the simulator.
  Simulator(const ClusterModel& model, Policy policy);

  void submit_job(const TrainArrival& job);
  void submit_request(const Request& request);
  // The job submitted with this id; nullopt when there is none.
  std::optional<JobStatus> job_status(int64_t id) const;
  // Withdraws a queued or running job now; false when there is no such job or it has
  // finished, been cancelled or been rejected.
  bool cancel_job(int64_t id);
  // Advances to the request's arrival, routes it by the policy with these SLOs (seconds) and
  // queues it on the replica chosen. Needs a serving replica (serves() is true).
  RouteResult route_request(const Request& request, double slo_ttft, double slo_tpot);
  bool serves() const { return !front_.empty(); }
  // Per pool: requests routed there and not finished.
  std::vector<int64_t> requests_in_flight() const;
  void advance_to(double t);
  void run();
  double now() const { return now_; }
  // Observations so far, busy intervals still open closed at now().
  Observations snapshot() const;

 private:
  enum class EventKind { job_arrival, job_finish, round, request_arrival, step_end, kv_arrival };
  struct Event {
    double time;
    uint64_t seq;
    EventKind kind;
    int64_t index;
    uint64_t version;
    bool operator>(const Event& o) const {
      return time != o.time ? time > o.time : seq > o.seq;
    }
  };
  struct JobState {
    TrainArrival arrival;
    double tokens = 0, remaining = 0, best_rate = 0, reference_rate = 0;
    int pool = -1;
    double segment_start = 0, progress_from = 0, wall_from = 0;
    double attained_work = 0, attained_wall = 0;
    uint64_t version = 0;
    bool started = false, cancelled = false, rejected = false;
    int last_pool = -1;
    double first_start = -1, finish_time = -1, held_dollars = 0;
  };
  struct RequestState {
    Request request;
    double first_token = -1;
    int decode_replica = -1;
  };
  struct Replica {
    int pool = 0;
    ServeRole role = ServeRole::both;
    std::deque<int64_t> queue;
    int64_t queued_prompt_tokens = 0;
    std::vector<int64_t> prefilling;
    // Running requests by the decode step at which they finish (min-heap).
    std::priority_queue<std::pair<int64_t, int64_t>, std::vector<std::pair<int64_t, int64_t>>,
                        std::greater<>> running;
    int64_t decode_steps = 0;
    bool in_step = false, prefill_step = false;
    double step_end = 0, busy_since = -1;
  };

  void push(double time, EventKind kind, int64_t index, uint64_t version = 0);
  void handle(const Event& e);
  // Training.
  void job_arrives(int64_t j);
  void job_finishes(int64_t j);
  void settle(JobState& job);
  void start_job(int64_t j, int pool);
  void stop_job(JobState& job);
  void schedule(bool replan);
  // Jobs to plan (waiting ones; all on a re-plan), progress settled, in the policy's order.
  std::vector<int64_t> ranked_jobs(bool replan);
  JobView view(const JobState& job) const;
  PoolQueues pool_queues() const;
  void ensure_round();
  // Inference.
  int route(const Request& r, bool decode_hop, double slo_ttft, double slo_tpot);
  RoutePrediction predict(int replica, int64_t prompt, bool decode_hop, double slo_ttft,
                          double slo_tpot) const;
  int64_t job_index(int64_t id) const;
  double predicted_tpot(const Replica& r) const;
  void enqueue(int replica, int64_t request);
  void start_step(int replica);
  void step_ends(int replica);
  void complete(int64_t request);

  const ClusterModel& model_;
  Policy policy_;
  double now_ = 0;
  uint64_t seq_ = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::vector<JobState> jobs_;
  std::vector<int64_t> active_;  // arrived, not finished
  std::vector<int64_t> free_;    // free training groups per pool
  bool round_pending_ = false;
  std::vector<RequestState> requests_;
  std::vector<Replica> replicas_;
  std::vector<int> front_, back_;  // replicas taking new requests; decode replicas
  size_t round_robin_[2] = {0, 0};
  Observations obs_;
};

}  // namespace wafer::cluster
