// The request handling of `wafer cluster serve`: a JSON API over a fleet, as pure functions
// of a request and the wall-clock time, so unit tests drive it without a socket
// (tools/wafer/cmd_cluster_serve.cpp puts it behind cpp-httplib; docs/cluster.md, "The
// service", lists the API).
//
// The clock. Simulated seconds run at `time_scale` times the wall clock from a base kept in
// the store, so a restart goes on where the last run stopped: now = base_seconds +
// (unix - base_unix) x scale, and every start re-bases at its own unix time.
//
// Training jobs. POST /v1/jobs places a job the moment it is accepted (a reservation): on each
// pool where the model trains, it starts when the pool's earliest group is free and runs
// tokens / the group's tokens/s (the matrix); among pools that finish by the deadline (all
// pools without one) and cost at most the budget, it takes the lowest cost (tokens / rate x
// the group's $/s), ties to the earlier finish; with a deadline no pool meets, the earliest
// finish within the budget, flagged. A cancellation frees the job's group from that moment
// when no later reservation follows it on the group. The plan is a function of the stored
// jobs in the order of their events (acceptances and cancellations by time), so a restart
// recomputes the same job objects. The status is read off the clock: queued before the
// predicted start, running until the predicted finish, then succeeded (or cancelled).
// Every accepted job also goes to a discrete-event Simulator (simulator.hpp, the `cost`
// policy) advanced to now before each request; GET /v1/fleet reports what it observed. It
// is rebuilt from the store on start and on a cancellation (it has no way to withdraw a job).
//
// Routing. POST /v1/route prices the request on one replica (one group) of every pool where
// the model serves (a replica profile from the matrix, as the simulator's): TTFT = the
// prefill line at the prompt, plus the wait for the earliest routed request to finish when
// every replica of the pool is at its batch limit; TPOT at the batch the pool's routed
// requests in flight give each replica. It picks the largest headroom min((SLO_ttft -
// TTFT) / SLO_ttft, (SLO_tpot - TPOT) / SLO_tpot), the simulator's slo routing, and keeps the
// request in flight on that pool until its predicted finish. Training and serving share the
// fleet's groups in this model (a simplification the simulator's [[serve]] split avoids).
//
// Errors: 4xx with {"error": {"message", "field"}}; handle() catches every exception, so no
// input ends the server.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "wafer/cluster/simulator.hpp"
#include "wafer/cluster/store.hpp"

namespace wafer::cluster {

struct HttpRequest {
  std::string method, path, body;
  std::map<std::string, std::string> headers;  // names in lower case
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string allow;  // the methods a 405 names
};

// Where a stored job runs in the plan; pool -1 and `why` where it could not be placed (its
// model trains on no pool, or no pool is within its budget).
struct PlannedJob {
  StoredJob job;
  int type = -1;
  int pool = -1, group = -1;
  double start = 0, finish = 0, cost_usd = 0;
  double group_free_before = 0;  // when the group was free before this reservation
  bool meets_deadline = true;
  std::string why, why_field;   // why_field: the request field to blame ("model", "budget_usd")
};

// The stored jobs' reservations (see above), in id order.
std::vector<PlannedJob> plan_jobs(const ClusterModel& model, const std::vector<StoredJob>& jobs);

class Service {
 public:
  // Reads the fleet's rates from the matrix, the jobs from the store, re-bases the clock.
  static Expected<std::unique_ptr<Service>> open(const Fleet& fleet, const std::string& db_path,
                                                 double time_scale, double unix_now);
  // Advances the simulator to the clock at `unix_now`, then answers. Never throws.
  HttpResponse handle(const HttpRequest& request, double unix_now);
  double clock_seconds(double unix_now) const;

 private:
  struct RouteDecision {
    int64_t id = 0;
    std::string model;
    int pool = -1;
    double at = 0, ttft = 0, tpot = 0;
    bool meets_slo = false;
  };

  Service(ClusterModel model, Store store, double time_scale, double base_unix,
          double base_seconds);
  HttpResponse dispatch(const HttpRequest& request, double now, double unix_now);
  HttpResponse create_job(const std::string& body, double now, double unix_now);
  HttpResponse get_job(const std::string& id) const;
  HttpResponse list_jobs() const;
  HttpResponse cancel_job(const std::string& id, double now);
  HttpResponse route(const HttpRequest& request, double now);
  HttpResponse fleet_view() const;
  HttpResponse page() const;
  void rebuild_simulator();
  void advance(double now);
  const std::vector<ReplicaProfile>& profiles_for(const Job& inference);
  const PlannedJob* find_job(const std::string& id) const;
  std::string job_json(const PlannedJob& job) const;

  ClusterModel model_;
  Store store_;
  double time_scale_, base_unix_, base_seconds_;
  double now_ = 0;
  std::vector<PlannedJob> plan_;
  std::unique_ptr<Simulator> simulator_;
  std::map<std::string, std::vector<ReplicaProfile>> profiles_;  // by model
  std::vector<std::vector<double>> in_flight_;  // per pool: predicted finishes
  std::deque<RouteDecision> recent_routes_;
  int64_t next_route_ = 1;
};

}  // namespace wafer::cluster
