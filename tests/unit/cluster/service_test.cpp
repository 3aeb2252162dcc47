// The cluster service's handlers without a socket: a job's exact object on the hybrid fleet
// (its pool, times and cost derived from the matrix), the exact errors of bad requests, the
// simulator's placement under a deadline and a budget, routing through the same simulator,
// no group both training and serving, the store across two Service objects on one file (a restart), and random bytes
// that never crash the handlers or leave the 4xx range.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "wafer/cluster/matrix.hpp"
#include "wafer/cluster/service.hpp"

namespace wafer::cluster {
namespace {

using Json = nlohmann::json;

constexpr double kStart = 1000;  // the unix time each test opens its service at

Fleet hybrid() {
  Expected<Fleet> f = load_fleet(std::string(WAFER_SOURCE_DIR) + "/examples/fleets/hybrid.toml");
  EXPECT_TRUE(f) << f.message();
  return *f;
}

std::string fresh_db(const std::string& name) {
  const std::string path = ::testing::TempDir() + "/" + name + ".db";
  std::remove(path.c_str());
  return path;
}

// examples/workloads/hybrid-serve.toml: llama3-70b on 1 wafer group, 4 GPU groups, 1 LPU group.
WorkloadSpec hybrid_serve() {
  Expected<WorkloadSpec> w = load_workload_spec(std::string(WAFER_SOURCE_DIR) +
                                                "/examples/workloads/hybrid-serve.toml");
  EXPECT_TRUE(w) << w.message();
  return *w;
}

std::unique_ptr<Service> open_service(const std::string& db, double scale = 1,
                                      double unix_now = kStart,
                                      const WorkloadSpec& workload = {}) {
  Expected<std::unique_ptr<Service>> s = Service::open(hybrid(), workload, db, scale, unix_now);
  EXPECT_TRUE(s) << s.message();
  return std::move(*s);
}

HttpResponse call(Service& s, const std::string& method, const std::string& path,
                  const std::string& body = "", double unix_now = kStart,
                  std::map<std::string, std::string> headers = {}) {
  return s.handle({method, path, body, std::move(headers)}, unix_now);
}

Json error_of(const HttpResponse& r) { return Json::parse(r.body)["error"]; }

Job training_job(const std::string& model) {
  for (const Job& j : zoo_jobs())
    if (j.kind == JobKind::train && j.model.name == model) return j;
  ADD_FAILURE() << model;
  return {};
}

TEST(ClusterService, JobObjectOnTheHybridFleet) {
  std::unique_ptr<Service> s = open_service(fresh_db("job_object"));
  HttpResponse r = call(*s, "POST", "/v1/jobs", R"({"model": "llama3-8b", "tokens": 1e10})");
  ASSERT_EQ(r.status, 200) << r.body;
  // Every group is free at clock 0; with no deadline the simulator's cost policy takes the
  // cheapest pool in $ per token and starts the job now; its cost is tokens / (tokens/s of
  // one group) x the group's $/s. The H100 group (8 x $2.50/h = $20/h) beats a 4-CS-3 tree
  // ($380/h) and a 640-LPU rack ($512/h).
  const Fleet fleet = hybrid();
  const Job job = training_job("llama3-8b");
  auto cost = [&](int p) {
    const Pool& pool = fleet.pools[p];
    const double rate = *matrix_cell(job, pool, pool.group).tokens_per_second;
    return 1e10 / rate * (pool.system.dollars_per_hour * double(pool.group) / 3600);
  };
  ASSERT_LT(cost(1), cost(0));
  ASSERT_LT(cost(1), cost(2));
  const double rate = *matrix_cell(job, fleet.pools[1], 8).tokens_per_second;
  const Json expected = {{"id", "job-1"}, {"object", "training.job"}, {"status", "running"},
                         {"model", "llama3-8b"}, {"tokens", 1e10}, {"pool", "gpus"},
                         {"system", "h100"}, {"family", "gpu"}, {"devices", 8},
                         {"predicted_start", 0.0}, {"predicted_finish", 1e10 / rate},
                         {"cost_usd", cost(1)}, {"deadline", nullptr}, {"meets_deadline", true},
                         {"budget_usd", nullptr}, {"created_at", 1000},
                         {"created_seconds", 0.0}, {"cancelled_at", nullptr}, {"error", nullptr}};
  EXPECT_EQ(Json::parse(r.body), expected);
  EXPECT_EQ(Json::parse(call(*s, "GET", "/v1/jobs/job-1").body), expected);
  const Json list = Json::parse(call(*s, "GET", "/v1/jobs").body);
  EXPECT_EQ(list["object"], "list");
  ASSERT_EQ(list["data"].size(), 1u);
  EXPECT_EQ(list["data"][0], expected);
  // The simulator (cost policy) runs it on the same pool: one of the 128 H100 groups busy
  // for the first second, a busy fraction of 1/128.
  const Json fleet_now = Json::parse(call(*s, "GET", "/v1/fleet", "", kStart + 1).body);
  EXPECT_EQ(fleet_now["pools"][1]["simulated"], Json({{"busy_groups", 1}, {"utilisation", 1.0 / 128}}));
  EXPECT_EQ(fleet_now["pools"][1]["training"], Json({{"running_jobs", 1}, {"queued_jobs", 0}}));
  EXPECT_EQ(fleet_now["pools"][0]["simulated"]["busy_groups"], 0);
  // Past the predicted finish (scale 1: wall seconds are clock seconds) it has succeeded.
  const Json later = Json::parse(call(*s, "GET", "/v1/jobs/job-1", "", kStart + 1e10 / rate).body);
  EXPECT_EQ(later["status"], "succeeded");
}

TEST(ClusterService, DeadlineAndBudgetChooseThePool) {
  std::unique_ptr<Service> s = open_service(fresh_db("deadline"));
  const Fleet fleet = hybrid();
  const Job job = training_job("llama3-8b");
  const double gpu_seconds = 1e12 / *matrix_cell(job, fleet.pools[1], 8).tokens_per_second;
  const double wafer_seconds = 1e12 / *matrix_cell(job, fleet.pools[0], 4).tokens_per_second;
  ASSERT_LT(wafer_seconds, gpu_seconds);
  // A deadline between the two run times leaves only the faster wafer tree in time.
  const double hours = (wafer_seconds + gpu_seconds) / 2 / 3600;
  Json in_time = Json::parse(call(*s, "POST", "/v1/jobs",
                                  Json({{"model", "llama3-8b"}, {"tokens", 1e12},
                                        {"deadline_hours", hours}}).dump()).body);
  EXPECT_EQ(in_time["pool"], "wafers");
  EXPECT_EQ(in_time["meets_deadline"], true);
  // A budget of one dollar buys no placement: 422 naming the field.
  HttpResponse poor = call(*s, "POST", "/v1/jobs",
                           R"({"model": "llama3-8b", "tokens": 1e12, "budget_usd": 1})");
  EXPECT_EQ(poor.status, 422);
  EXPECT_EQ(error_of(poor)["field"], "budget_usd");
  EXPECT_EQ(Json::parse(call(*s, "GET", "/v1/jobs").body)["data"].size(), 1u);
}

TEST(ClusterService, BadRequestsNameTheField) {
  std::unique_ptr<Service> s = open_service(fresh_db("errors"), 1, kStart, hybrid_serve());
  struct Case {
    std::string method, path, body;
    int status;
    Json field;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"POST", "/v1/jobs", R"({"model": "llama3-8b", "tokens": "many"})", 400, "tokens",
       "'tokens' must be a number"},
      {"POST", "/v1/jobs", R"({"model": "llama3-8b", "tokens": -5})", 400, "tokens",
       "'tokens' must be positive and at most 1e+18, not -5"},
      {"POST", "/v1/jobs", R"({"tokens": 5})", 400, "model", "'model' is required"},
      {"POST", "/v1/jobs", R"({"model": 7, "tokens": 5})", 400, "model",
       "'model' must be a string"},
      {"POST", "/v1/jobs", R"({"model": "llama3-8b", "tokens": 5, "gpus": 2})", 400, "gpus",
       "unknown field 'gpus' (fields: model, tokens, deadline_hours, budget_usd)"},
      {"POST", "/v1/jobs", R"({"model": "llama3-8b", "tokens": 5, "deadline_hours": 0})", 400,
       "deadline_hours", "'deadline_hours' must be positive and at most 1e+06, not 0"},
      {"POST", "/v1/jobs", "[1, 2]", 400, nullptr, "the body must be a JSON object"},
      {"POST", "/v1/route", R"({"model": "llama3-8b", "prompt_tokens": 1.5,
         "max_output_tokens": 4})", 400, "prompt_tokens", "'prompt_tokens' must be an integer"},
      {"POST", "/v1/route", R"({"model": "llama3-8b", "prompt_tokens": 8,
         "max_output_tokens": 4})", 422, "model",
       "this service serves llama3-70b, not llama3-8b (the workload's 'model')"},
      {"GET", "/v1/jobs/job-9", "", 404, "id", "no job 'job-9'"},
      {"DELETE", "/v1/jobs/nonsense", "", 404, "id", "no job 'nonsense'"},
      {"PUT", "/v1/jobs", "{}", 405, nullptr, "/v1/jobs does not take PUT (allowed: GET, POST)"},
      {"GET", "/v1/route", "", 405, nullptr, "/v1/route does not take GET (allowed: POST)"},
      {"GET", "/v2/things", "", 404, nullptr, "no such path: /v2/things"},
  };
  for (const Case& c : cases) {
    HttpResponse r = call(*s, c.method, c.path, c.body);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.path << " " << c.body;
    EXPECT_EQ(error_of(r), Json({{"message", c.message}, {"field", c.field}})) << c.body;
  }
  HttpResponse malformed = call(*s, "POST", "/v1/jobs", R"({"model": )");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(error_of(malformed)["message"].get<std::string>().rfind("malformed JSON: ", 0), 0u);
  HttpResponse unknown = call(*s, "POST", "/v1/jobs", R"({"model": "llama3-8c", "tokens": 1})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(error_of(unknown)["field"], "model");
  EXPECT_EQ(error_of(unknown)["message"].get<std::string>().rfind("unknown model 'llama3-8c'", 0),
            0u);
  EXPECT_EQ(call(*s, "PUT", "/v1/jobs").allow, "GET, POST");
  HttpResponse header = call(*s, "POST", "/v1/route",
                             R"({"model": "llama3-8b", "prompt_tokens": 8, "max_output_tokens": 4})",
                             kStart, {{"x-slo-ttft-ms", "soon"}});
  EXPECT_EQ(header.status, 400);
  EXPECT_EQ(error_of(header), Json({{"message", "header x-slo-ttft-ms must be a number of "
                                                "milliseconds, not 'soon'"},
                                    {"field", "x-slo-ttft-ms"}}));
}

TEST(ClusterService, RoutesToTheLargestHeadroomAndCountsTheLoad) {
  std::unique_ptr<Service> s = open_service(fresh_db("route"), 1, kStart, hybrid_serve());
  HttpResponse r = call(*s, "POST", "/v1/route",
                        R"({"model": "llama3-70b", "prompt_tokens": 1000, "max_output_tokens": 200})",
                        kStart, {{"x-slo-tpot-ms", "20"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const Json route = Json::parse(r.body);
  EXPECT_EQ(route["slo_tpot_ms"], 20.0);
  EXPECT_EQ(route["slo_ttft_ms"], 1000.0);
  // The chosen pool is the candidate with the largest headroom, and the pool then holds the
  // request in flight.
  double best = -1e9;
  std::string pool;
  for (const Json& c : route["candidates"])
    if (c["headroom"].get<double>() > best) best = c["headroom"], pool = c["pool"];
  EXPECT_EQ(route["pool"], pool);
  EXPECT_EQ(route["headroom"], best);  // the replica chosen is that pool's best
  EXPECT_EQ(route["meets_slo"], best >= 0);
  const Json fleet = Json::parse(call(*s, "GET", "/v1/fleet").body);
  for (const Json& p : fleet["pools"])
    EXPECT_EQ(p["serving"]["in_flight_requests"], p["name"] == pool ? 1 : 0) << p["name"];
  EXPECT_EQ(fleet["recent_routes"][0]["pool"], pool);
  // The serving simulator finishes the request (a prefill and 199 decode steps, well under
  // 1,000 s on any pool), after which no pool has it in flight.
  const Json later = Json::parse(call(*s, "GET", "/v1/fleet", "", kStart + 1000).body);
  for (const Json& p : later["pools"])
    EXPECT_EQ(p["serving"]["in_flight_requests"], 0) << p["name"];
}

// Without a workload no group serves, so a route is refused and names the pools to split.
TEST(ClusterService, NoServingPoolsRefuseRoutes) {
  std::unique_ptr<Service> s = open_service(fresh_db("no_serving"));
  HttpResponse r = call(*s, "POST", "/v1/route",
                        R"({"model": "llama3-70b", "prompt_tokens": 8, "max_output_tokens": 4})");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_of(r), Json({{"message", "no group of fleet 'hybrid' serves inference: start "
                                           "the service with --workload FILE whose [[serve]] "
                                           "tables name the serving pools (of wafers, gpus, lpus)"},
                               {"field", nullptr}}));
}

// A workload with arrivals is refused: the service's jobs and requests come over HTTP.
TEST(ClusterService, WorkloadWithArrivalsIsRefused) {
  WorkloadSpec w = hybrid_serve();
  w.origin = "w.toml";
  w.train_jobs = 3;
  Expected<std::unique_ptr<Service>> s =
      Service::open(hybrid(), w, fresh_db("arrivals"), 1, kStart);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message(), "w.toml: cluster serve takes a workload's [[serve]] tables and model, "
                         "not arrivals (key train_jobs): jobs and requests come over HTTP");
}

// One simulator splits the fleet: with all 128 GPU groups serving, the job that would take
// the cheapest pool, an H100 group (JobObjectOnTheHybridFleet), trains elsewhere, while
// requests still go to the GPU replicas; the GPU pool shows 0 training groups and 128 replicas.
TEST(ClusterService, NoGroupBothTrainsAndServes) {
  WorkloadSpec w = hybrid_serve();
  w.serve = {{"gpus", 128, ServeRole::both}};
  std::unique_ptr<Service> s = open_service(fresh_db("split"), 1, kStart, w);
  HttpResponse job = call(*s, "POST", "/v1/jobs", R"({"model": "llama3-8b", "tokens": 1e10})");
  ASSERT_EQ(job.status, 200) << job.body;
  EXPECT_EQ(Json::parse(job.body)["pool"], "wafers");
  HttpResponse r = call(*s, "POST", "/v1/route",
                        R"({"model": "llama3-70b", "prompt_tokens": 1000, "max_output_tokens": 200})",
                        kStart + 1);
  ASSERT_EQ(r.status, 200) << r.body;
  const Json route = Json::parse(r.body);
  EXPECT_EQ(route["pool"], "gpus");
  EXPECT_EQ(route["candidates"].size(), 1u);
  const Json fleet = Json::parse(call(*s, "GET", "/v1/fleet", "", kStart + 1).body);
  EXPECT_EQ(fleet["pools"][1]["groups"], 0);
  EXPECT_EQ(fleet["pools"][1]["serving"], Json({{"replicas", 128}, {"in_flight_requests", 1}}));
  EXPECT_EQ(fleet["pools"][1]["training"], Json({{"running_jobs", 0}, {"queued_jobs", 0}}));
  EXPECT_EQ(fleet["pools"][0]["training"], Json({{"running_jobs", 1}, {"queued_jobs", 0}}));
  EXPECT_EQ(fleet["pools"][0]["serving"]["replicas"], 0);
}

TEST(ClusterService, AcceptedJobsSurviveARestart) {
  const std::string db = fresh_db("restart");
  Json before;
  {
    std::unique_ptr<Service> a = open_service(db, 10);
    ASSERT_EQ(call(*a, "POST", "/v1/jobs", R"({"model": "llama3-8b", "tokens": 1e10})").status,
              200);
    ASSERT_EQ(call(*a, "POST", "/v1/jobs", R"({"model": "gpt3-1.3b", "tokens": 1e9})", kStart + 1)
                  .status,
              200);
    // Clock: (1002 - 1000) x 10 = 20 s.
    const Json cancelled = Json::parse(call(*a, "DELETE", "/v1/jobs/job-2", "", kStart + 2).body);
    EXPECT_EQ(cancelled["status"], "cancelled");
    EXPECT_EQ(cancelled["cancelled_at"], 20.0);
    before = Json::parse(call(*a, "GET", "/v1/jobs", "", kStart + 2).body);
  }
  // The second service goes on from the first one's clock: 0 + (1100 - 1000) x 10 = 1000 s.
  std::unique_ptr<Service> b = open_service(db, 10, kStart + 100);
  EXPECT_EQ(b->clock_seconds(kStart + 100), 1000.0);
  const Json after = Json::parse(call(*b, "GET", "/v1/jobs", "", kStart + 100).body);
  EXPECT_EQ(after, before);
  EXPECT_EQ(Json::parse(call(*b, "POST", "/v1/jobs", R"({"model": "gpt3-1.3b", "tokens": 1e9})",
                             kStart + 100).body)["id"],
            "job-3");
}

TEST(ClusterService, StoreRoundTripsAJob) {
  Expected<Store> store = Store::open(":memory:");
  ASSERT_TRUE(store) << store.message();
  const StoredJob job{4, "gpt2", 1e9, 7200.0, std::nullopt, 10, 1234, std::nullopt};
  ASSERT_TRUE(store->insert_job(job));
  EXPECT_FALSE(store->insert_job(job));  // the same id twice
  ASSERT_TRUE(store->cancel_job(4, 11));
  EXPECT_FALSE(store->cancel_job(5, 11));
  Expected<std::vector<StoredJob>> jobs = store->jobs();
  ASSERT_TRUE(jobs);
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].deadline_seconds, 7200.0);
  EXPECT_FALSE((*jobs)[0].budget_usd);
  EXPECT_EQ((*jobs)[0].cancelled_seconds, 11.0);
}

// Random bytes and byte-flipped valid bodies on every path: always a JSON answer, never a
// 5xx (the handlers catch everything, so a crash would end the test binary).
TEST(ClusterService, FuzzedRequestsGetJsonErrors) {
  std::unique_ptr<Service> s = open_service(fresh_db("fuzz"));
  SplitMix rng(15);
  const std::vector<std::string> paths = {"/v1/jobs", "/v1/route", "/v1/jobs/job-1",
                                          "/v1/fleet", "/v1/jobs/", "/"};
  const std::vector<std::string> methods = {"GET", "POST", "DELETE", "PATCH"};
  const std::vector<std::string> valid = {
      R"({"model": "llama3-8b", "tokens": 1e9, "deadline_hours": 3, "budget_usd": 5000})",
      R"({"model": "llama3-70b", "prompt_tokens": 100, "max_output_tokens": 20})"};
  for (int i = 0; i < 3000; ++i) {
    std::string body;
    if (i % 2 == 0) {
      body.resize(rng.next() % 64);
      for (char& c : body) c = char(rng.next() % 256);
    } else {
      body = valid[rng.next() % 2];
      for (int flips = 1 + int(rng.next() % 3); flips > 0; --flips)
        body[rng.next() % body.size()] = char(rng.next() % 256);
    }
    const std::string& path = paths[rng.next() % paths.size()];
    const std::string& method = i % 3 ? "POST" : methods[rng.next() % methods.size()];
    HttpResponse r = call(*s, method, path, body, kStart + i);
    ASSERT_LT(r.status, 500) << method << " " << path << " " << r.body;
    if (r.content_type == "application/json") {
      EXPECT_TRUE(Json::accept(r.body)) << r.body;
    }
  }
}

}  // namespace
}  // namespace wafer::cluster
