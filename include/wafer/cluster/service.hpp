// The request handling of `wafer cluster serve`: a JSON API over a fleet, as pure functions
// of a request and the wall-clock time, so unit tests drive it without a socket
// (tools/wafer/cmd_cluster_serve.cpp puts it behind cpp-httplib; docs/cluster.md, "The
// service", lists the API).
//
// The clock. Simulated seconds run at `time_scale` times the wall clock from a base kept in
// the store, so a restart goes on where the last run stopped: now = base_seconds +
// (unix - base_unix) x scale, and every start re-bases at its own unix time.
//
// One simulator. A single discrete-event Simulator (simulator.hpp) holds both the training
// jobs and the routed requests, so no group does both: the fleet's groups are split as `cluster
// simulate` splits them, by the [[serve]] tables of the workload given with --workload (their
// replicas serve its `model`; every other group trains). A workload with arrivals (trace,
// train_jobs, train_csv) is refused: jobs and requests come over HTTP. Without a workload no
// group serves and every group trains; POST /v1/route then answers 409. Its policy trains by
// `cost` (earliest deadline first, each job on the cheapest pool that finishes by its
// deadline, else the fastest) and routes by `slo`. It is advanced to the clock before each
// request.
//
// Training jobs. POST /v1/jobs submits the job at the clock's now; GET answers from the
// simulator: the status, pool and start (and finish once done) are its state now, and the
// predicted start, finish and cost come from a copy run to the end (the simulator keeps no
// forecast), so they assume no later job. A budget is checked against that copy: a job whose
// predicted cost is over its budget is refused (422) and not stored. DELETE cancels the job,
// which frees its group at once. A restart replays the stored acceptances and cancellations
// into a fresh simulator in the order of their times, which gives the same job objects;
// routed requests are not stored, so a restart forgets those in flight.
//
// Routing. POST /v1/route routes a request of the workload's model at the clock's now to the
// serving replica with the largest headroom min((SLO_ttft - TTFT') / SLO_ttft, (SLO_tpot -
// TPOT') / SLO_tpot) under the request's SLOs, with the replica's queue and batch, and the
// request then runs there in the same simulator. Another model is refused (422).
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

class Service {
 public:
  // Splits the fleet by `workload`'s [[serve]] tables (none: every group trains), reads the
  // rates and replica profiles from the matrix, the jobs from the store, re-bases the clock.
  static Expected<std::unique_ptr<Service>> open(const Fleet& fleet, const WorkloadSpec& workload,
                                                 const std::string& db_path, double time_scale,
                                                 double unix_now);
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
  void replay(std::vector<StoredJob> jobs);
  HttpResponse dispatch(const HttpRequest& request, double now, double unix_now);
  HttpResponse create_job(const std::string& body, double now, double unix_now);
  HttpResponse get_job(const std::string& id) const;
  HttpResponse list_jobs() const;
  HttpResponse cancel_job(const std::string& id, double now);
  HttpResponse route(const HttpRequest& request, double now);
  HttpResponse fleet_view() const;
  HttpResponse page() const;
  void advance(double now);
  // A copy of the simulator run to the end: the predictions.
  Simulator forecast() const;
  const StoredJob* find_job(const std::string& id) const;
  std::string job_json(const StoredJob& job, const Simulator& forecast) const;

  ClusterModel model_;
  Store store_;
  double time_scale_, base_unix_, base_seconds_;
  double now_ = 0;
  std::vector<StoredJob> jobs_;  // in id order
  std::unique_ptr<Simulator> simulator_;
  std::deque<RouteDecision> recent_routes_;
  int64_t next_route_ = 1;
};

}  // namespace wafer::cluster
