// The request handling of `wafer cluster serve` (service.hpp has the model: the clock, the
// one simulator of training and serving, the fleet's split).
//
// handle() turns the wall-clock time into the service clock, advances the simulator to it,
// then dispatches on the path and method. Request bodies are read by a
// FieldReader that checks each field's type and range and stops at the first problem, which
// becomes a 400 naming the field; unknown fields are refused the same way. Writes go to the
// store before the reply is built, so an answered job is on disk. The web page is one HTML
// document with its script inline: the fleet's pools are written into it by the server (so
// a page that never runs its script still shows them) and refreshed from /v1/fleet and
// /v1/jobs every second.
#include "wafer/cluster/service.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <numeric>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "wafer/cluster/matrix.hpp"
#include "wafer/support/suggest.hpp"

namespace wafer::cluster {

namespace {

using Json = nlohmann::ordered_json;

constexpr size_t kMaxBody = 1 << 20;
constexpr size_t kRecentRoutes = 20;
constexpr int64_t kRefPrompt = 1024, kRefOutput = 256;
constexpr double kMaxTokens = 1e18, kMaxRequestTokens = 1e7;

struct ApiError {
  int status = 400;
  std::string message, field;
};

// Invalid UTF-8 a client sent (echoed in an error) is replaced, never thrown on.
std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

HttpResponse json_response(int status, const Json& body) {
  HttpResponse r;
  r.status = status;
  r.body = dump(body);
  return r;
}

HttpResponse error_response(const ApiError& e) {
  return json_response(e.status, {{"error", {{"message", e.message},
                                             {"field", e.field.empty() ? Json() : Json(e.field)}}}});
}

// Reads typed fields of a JSON object; the first problem is kept in `error`.
class FieldReader {
 public:
  FieldReader(const Json& body, std::vector<std::string> known) : body_(body) {
    for (const auto& [key, value] : body.items())
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        fail(key, fmt::format("unknown field '{}' (fields: {})", key, fmt::join(known, ", ")));
        return;
      }
  }

  std::string string(const std::string& name) {
    const Json* v = get(name, true);
    if (!v) return "";
    if (!v->is_string()) return fail(name, fmt::format("'{}' must be a string", name)), "";
    return v->get<std::string>();
  }

  // A positive number (an integer when `integer`) up to `max`; nullopt when absent.
  std::optional<double> number(const std::string& name, bool required, double max,
                               bool integer = false) {
    const Json* v = get(name, required);
    if (!v) return std::nullopt;
    if (!v->is_number() || (integer && !v->is_number_integer()))
      return fail(name, fmt::format("'{}' must be {}", name, integer ? "an integer" : "a number")),
             std::nullopt;
    return checked(name, v->get<double>(), max);
  }

  std::optional<double> checked(const std::string& name, double value, double max) {
    if (!(value > 0) || !std::isfinite(value) || value > max)
      return fail(name, fmt::format("'{}' must be positive and at most {:g}, not {:g}", name, max,
                                    value)),
             std::nullopt;
    return value;
  }

  void fail(const std::string& field, std::string message, int status = 400) {
    if (!error) error = ApiError{status, std::move(message), field};
  }

  std::optional<ApiError> error;

 private:
  const Json* get(const std::string& name, bool required) {
    if (error) return nullptr;
    auto it = body_.find(name);
    if (it == body_.end() || it->is_null()) {
      if (required) fail(name, fmt::format("'{}' is required", name));
      return nullptr;
    }
    return &*it;
  }

  const Json& body_;
};

// The body as a JSON object, or the error that says why it is not one.
std::optional<Json> parse_object(const std::string& body, std::optional<ApiError>& error) {
  if (body.size() > kMaxBody) {
    error = ApiError{413, fmt::format("the body has {} bytes; the limit is {}", body.size(),
                                      kMaxBody), ""};
    return std::nullopt;
  }
  Json parsed;
  try {
    parsed = Json::parse(body);
  } catch (const Json::exception& e) {
    error = ApiError{400, fmt::format("malformed JSON: {}", e.what()), ""};
    return std::nullopt;
  }
  if (!parsed.is_object()) {
    error = ApiError{400, "the body must be a JSON object", ""};
    return std::nullopt;
  }
  return parsed;
}

// The zoo's name of `name`, or the 400 that names the field.
std::optional<std::string> zoo_name(const std::string& name, FieldReader& fields) {
  if (fields.error) return std::nullopt;
  std::optional<std::string> canonical = estimate::zoo_model_name(name);
  if (canonical) return canonical;
  std::vector<std::string> names = estimate::model_names();
  std::vector<std::string_view> views(names.begin(), names.end());
  fields.fail("model", fmt::format("unknown model '{}'{} (wafer estimate models lists them)", name,
                                   suggestion(name, views)));
  return std::nullopt;
}

int type_of(const ClusterModel& model, const std::string& name) {
  for (size_t t = 0; t < model.types.size(); ++t)
    if (model.types[t].model.name == name) return int(t);
  return -1;
}

// Why the type trains on no pool: every group serves, or the matrix's words.
std::string why_no_pool(const ClusterModel& model, int type) {
  std::vector<std::string> reasons;
  for (size_t i = 0; i < model.fleet.pools.size(); ++i) {
    const Pool& p = model.fleet.pools[i];
    const std::string why = model.training_groups[i] == 0
                                ? "every group serves inference ([[serve]])"
                                : matrix_cell(model.types[type], p, p.group).why;
    reasons.push_back(fmt::format("{}: {}", p.name, why));
  }
  return fmt::format("{} trains on no pool of fleet '{}' ({})", model.types[type].model.name,
                     model.fleet.name, fmt::join(reasons, "; "));
}

bool model_trains_nowhere(const ClusterModel& model, int type) {
  const std::vector<double>& r = model.train_rate[type];
  return std::none_of(r.begin(), r.end(), [](double x) { return x > 0; });
}

TrainArrival arrival_of(const StoredJob& job, int type) {
  return {job.id, type, job.created_seconds, job.tokens, 0,
          job.deadline_seconds.value_or(kNoDeadline)};
}

const char* status_name(const std::optional<JobStatus>& s) {
  if (!s || s->phase == JobPhase::rejected) return "failed";
  return s->phase == JobPhase::finished ? "succeeded" : to_string(s->phase);
}

const char* kPageHead = R"(<!doctype html>
<html><head><meta charset="utf-8"><title>wafer cluster serve</title>
<style>
body{font-family:sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin-bottom:1.5em}
td,th{border:1px solid #bbb;padding:.25em .6em;text-align:right}
th{background:#eee}td:first-child{text-align:left}
#clock{color:#555}
</style></head><body>
)";

const char* kPageScript = R"(<script>
function cell(v){const td=document.createElement('td');td.textContent=v;return td}
function fill(id,rows){const t=document.getElementById(id);
  while(t.rows.length>1)t.deleteRow(1);
  for(const r of rows){const tr=t.insertRow();for(const v of r)tr.appendChild(cell(v))}}
function f(x,d){return x===null||x===undefined?'-':Number(x).toFixed(d)}
async function refresh(){
  try{
    const fleet=await (await fetch('/v1/fleet')).json();
    const jobs=await (await fetch('/v1/jobs')).json();
    document.getElementById('clock').textContent='clock '+f(fleet.clock.now_seconds/3600,2)+
      ' h (x'+fleet.clock.time_scale+'); simulator: '+fleet.simulator.jobs_done+' jobs done';
    fill('pools',fleet.pools.map(p=>[p.name,p.system,p.family,p.devices,p.groups,
      p.training.running_jobs,p.training.queued_jobs,p.simulated.busy_groups,p.serving.in_flight_requests]));
    fill('jobs',jobs.data.filter(j=>j.status!=='succeeded'||jobs.data.length<30).slice(-30).map(j=>
      [j.id,j.status,j.model,j.pool||'-',f(j.predicted_start/3600,2),f(j.predicted_finish/3600,2),
       f(j.cost_usd,0)]));
    fill('routes',fleet.recent_routes.map(r=>[r.id,r.model,r.pool,f(r.predicted_ttft_ms,1),
      f(r.predicted_tpot_ms,1),r.meets_slo?'yes':'no']));
  }catch(e){document.getElementById('clock').textContent='server unreachable: '+e}
}
refresh();setInterval(refresh,1000);
</script></body></html>
)";

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// The simulator's view of pool p at now: groups busy (its open intervals end at now) and the
// busy fraction of the pool's groups since clock 0.
Json simulated_pool(const PoolUsage& usage, double now) {
  int64_t busy = 0;
  double busy_seconds = 0;
  for (const BusyInterval& b : usage.busy) {
    busy += b.end == now ? 1 : 0;
    busy_seconds += b.end - b.start;
  }
  const double groups = double(usage.devices / usage.group);
  return {{"busy_groups", busy}, {"utilisation", now > 0 ? busy_seconds / (groups * now) : 0.0}};
}

struct RouteAsk {
  std::string model;
  int64_t prompt = 0, output = 0;
  double slo_ttft = 0, slo_tpot = 0;  // seconds
};

// An SLO from its body field, else its header, else the default (milliseconds).
double read_slo(const HttpRequest& r, FieldReader& fields, const std::string& field,
                const std::string& header, double fallback_ms) {
  std::optional<double> v = fields.number(field, false, 1e7);
  auto h = r.headers.find(header);
  if (v || fields.error || h == r.headers.end()) return v.value_or(fallback_ms);
  char* end = nullptr;
  const double parsed = std::strtod(h->second.c_str(), &end);
  if (h->second.empty() || *end != '\0') {
    fields.fail(header, fmt::format("header {} must be a number of milliseconds, not '{}'", header,
                                    h->second));
    return fallback_ms;
  }
  return fields.checked(header, parsed, 1e7).value_or(fallback_ms);
}

std::optional<RouteAsk> read_route(const HttpRequest& r, std::optional<ApiError>& error) {
  std::optional<Json> object = parse_object(r.body, error);
  if (!object) return std::nullopt;
  FieldReader fields(*object, {"model", "prompt_tokens", "max_output_tokens", "slo_ttft_ms",
                               "slo_tpot_ms"});
  const std::string model_text = fields.string("model");
  std::optional<std::string> model = zoo_name(model_text, fields);
  std::optional<double> prompt = fields.number("prompt_tokens", true, kMaxRequestTokens, true);
  std::optional<double> output = fields.number("max_output_tokens", true, kMaxRequestTokens, true);
  const double ttft_ms = read_slo(r, fields, "slo_ttft_ms", "x-slo-ttft-ms", kDefaultSloTtftMs);
  const double tpot_ms = read_slo(r, fields, "slo_tpot_ms", "x-slo-tpot-ms", kDefaultSloTpotMs);
  if (fields.error) {
    error = fields.error;
    return std::nullopt;
  }
  return RouteAsk{*model, int64_t(*prompt), int64_t(*output), ttft_ms / 1e3, tpot_ms / 1e3};
}

// The service takes a workload's split and model, not its arrivals: those come over HTTP.
Status check_no_arrivals(const WorkloadSpec& w) {
  std::vector<std::string> keys;
  if (!w.trace.empty()) keys.push_back("trace");
  if (w.train_jobs > 0) keys.push_back("train_jobs");
  if (!w.train_csv.empty()) keys.push_back("train_csv");
  if (keys.empty()) return {};
  return make_error(
      "{}: cluster serve takes a workload's [[serve]] tables and model, not arrivals (key {}): "
      "jobs and requests come over HTTP",
      w.origin, fmt::join(keys, ", "));
}

// One model of the fleet split by the workload's [[serve]] tables (none: every group trains).
Expected<ClusterModel> service_model(const Fleet& fleet, const WorkloadSpec& workload) {
  WAFER_TRY(check_no_arrivals(workload));
  std::vector<Job> types;
  for (const Job& j : zoo_jobs())
    if (j.kind == JobKind::train) types.push_back(j);
  Job inference;
  if (!workload.serve.empty()) {
    Expected<Job> job = inference_job(workload);
    if (!job) return job.status();
    inference = *job;
  }
  return build_cluster_model(fleet, workload, types, inference, kRefPrompt, kRefOutput);
}

std::string pool_names(const Fleet& fleet) {
  std::vector<std::string> names;
  for (const Pool& p : fleet.pools) names.push_back(p.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

Expected<std::unique_ptr<Service>> Service::open(const Fleet& fleet, const WorkloadSpec& workload,
                                                 const std::string& db_path, double time_scale,
                                                 double unix_now) {
  Expected<ClusterModel> model = service_model(fleet, workload);
  if (!model) return model.status();
  Expected<Store> store = Store::open(db_path);
  if (!store) return store.status();
  Expected<std::optional<double>> base_unix = store->meta("base_unix");
  Expected<std::optional<double>> base_seconds = store->meta("base_seconds");
  Expected<std::optional<double>> old_scale = store->meta("time_scale");
  if (!base_unix) return base_unix.status();
  if (!base_seconds) return base_seconds.status();
  if (!old_scale) return old_scale.status();
  double now = 0;
  if (base_unix->has_value() && base_seconds->has_value() && old_scale->has_value())
    now = **base_seconds + std::max(0.0, unix_now - **base_unix) * **old_scale;
  WAFER_TRY(store->set_meta(
      {{"base_unix", unix_now}, {"base_seconds", now}, {"time_scale", time_scale}}));
  std::unique_ptr<Service> service(
      new Service(std::move(*model), std::move(*store), time_scale, unix_now, now));
  Expected<std::vector<StoredJob>> jobs = service->store_.jobs();
  if (!jobs) return jobs.status();
  service->replay(std::move(*jobs));
  service->now_ = now;
  service->simulator_->advance_to(now);
  return service;
}

Service::Service(ClusterModel model, Store store, double time_scale, double base_unix,
                 double base_seconds)
    : model_(std::move(model)),
      store_(std::move(store)),
      time_scale_(time_scale),
      base_unix_(base_unix),
      base_seconds_(base_seconds) {
  Expected<Policy> policy = parse_policy("cost");
  WAFER_CHECK(policy.has_value());
  simulator_ = std::make_unique<Simulator>(model_, *policy);
}

double Service::clock_seconds(double unix_now) const {
  return base_seconds_ + std::max(0.0, unix_now - base_unix_) * time_scale_;
}

// Acceptances and cancellations in the order of their times (an acceptance before a
// cancellation at the same time, then by id), each at its time and each followed by an
// advance to that time, as create_job and cancel_job do.
void Service::replay(std::vector<StoredJob> jobs) {
  struct Event {
    double time;
    bool cancel;
    size_t index;
  };
  std::vector<Event> events;
  for (size_t i = 0; i < jobs.size(); ++i) {
    events.push_back({jobs[i].created_seconds, false, i});
    if (jobs[i].cancelled_seconds) events.push_back({*jobs[i].cancelled_seconds, true, i});
  }
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return std::tie(a.time, a.cancel, a.index) < std::tie(b.time, b.cancel, b.index);
  });
  for (const Event& e : events) {
    const StoredJob& job = jobs[e.index];
    simulator_->advance_to(e.time);
    const int type = type_of(model_, job.model);
    if (type < 0) continue;  // answered as failed
    if (e.cancel) simulator_->cancel_job(job.id);
    else simulator_->submit_job(arrival_of(job, type));
    simulator_->advance_to(e.time);
  }
  jobs_ = std::move(jobs);
}

void Service::advance(double now) {
  now_ = std::max(now_, now);
  simulator_->advance_to(now_);
}

Simulator Service::forecast() const {
  Simulator copy = *simulator_;
  copy.run();
  return copy;
}

HttpResponse Service::handle(const HttpRequest& request, double unix_now) {
  try {
    advance(clock_seconds(unix_now));
    return dispatch(request, now_, unix_now);
  } catch (const std::exception& e) {
    return error_response({500, fmt::format("internal error: {}", e.what()), ""});
  } catch (...) {
    return error_response({500, "internal error", ""});
  }
}

HttpResponse Service::dispatch(const HttpRequest& r, double now, double unix_now) {
  const std::string path = r.path.substr(0, r.path.find('?'));
  auto wrong_method = [&](const char* allow) {
    HttpResponse out = error_response(
        {405, fmt::format("{} does not take {} (allowed: {})", path, r.method, allow), ""});
    out.allow = allow;
    return out;
  };
  const std::string jobs_prefix = "/v1/jobs/";
  if (path == "/") return r.method == "GET" ? page() : wrong_method("GET");
  if (path == "/v1/fleet") return r.method == "GET" ? fleet_view() : wrong_method("GET");
  if (path == "/v1/route") return r.method == "POST" ? route(r, now) : wrong_method("POST");
  if (path == "/v1/jobs") {
    if (r.method == "GET") return list_jobs();
    if (r.method == "POST") return create_job(r.body, now, unix_now);
    return wrong_method("GET, POST");
  }
  if (path.rfind(jobs_prefix, 0) == 0 && path.size() > jobs_prefix.size()) {
    const std::string id = path.substr(jobs_prefix.size());
    if (r.method == "GET") return get_job(id);
    if (r.method == "DELETE") return cancel_job(id, now);
    return wrong_method("GET, DELETE");
  }
  return error_response({404, fmt::format("no such path: {}", path), ""});
}

std::string Service::job_json(const StoredJob& j, const Simulator& forecast) const {
  const std::optional<JobStatus> now = simulator_->job_status(j.id);
  const std::optional<JobStatus> ahead = forecast.job_status(j.id);
  const bool placed = ahead && ahead->pool >= 0;
  auto opt = [](const std::optional<double>& v) { return v ? Json(*v) : Json(); };
  const Pool* pool = placed ? &model_.fleet.pools[ahead->pool] : nullptr;
  const std::optional<double> finish = ahead ? ahead->finish : std::nullopt;
  const bool meets = !j.deadline_seconds || !finish || *finish <= *j.deadline_seconds;
  std::string error;
  const int type = type_of(model_, j.model);
  if (type < 0) error = fmt::format("{} is not a training job type of this service", j.model);
  else if (!now || now->phase == JobPhase::rejected) error = why_no_pool(model_, type);
  Json out = {{"id", fmt::format("job-{}", j.id)},
              {"object", "training.job"},
              {"status", status_name(now)},
              {"model", j.model},
              {"tokens", j.tokens},
              {"pool", placed ? Json(pool->name) : Json()},
              {"system", placed ? Json(pool->system.name) : Json()},
              {"family", placed ? Json(to_string(pool->system.kind)) : Json()},
              {"devices", placed ? Json(pool->group) : Json()},
              {"predicted_start", placed ? opt(ahead->start) : Json()},
              {"predicted_finish", opt(finish)},
              {"cost_usd", placed ? Json(ahead->cost_usd) : Json()},
              {"deadline", opt(j.deadline_seconds)},
              {"meets_deadline", meets},
              {"budget_usd", opt(j.budget_usd)},
              {"created_at", j.created_unix},
              {"created_seconds", j.created_seconds},
              {"cancelled_at", opt(j.cancelled_seconds)},
              {"error", error.empty() ? Json() : Json(error)}};
  return dump(out);
}

const StoredJob* Service::find_job(const std::string& id) const {
  for (const StoredJob& j : jobs_)
    if (fmt::format("job-{}", j.id) == id) return &j;
  return nullptr;
}

HttpResponse Service::get_job(const std::string& id) const {
  const StoredJob* j = find_job(id);
  if (!j) return error_response({404, fmt::format("no job '{}'", id), "id"});
  return {200, "application/json", job_json(*j, forecast()), ""};
}

HttpResponse Service::list_jobs() const {
  const Simulator ahead = forecast();
  std::string body = R"({"object":"list","data":[)";
  for (size_t i = 0; i < jobs_.size(); ++i) body += (i ? "," : "") + job_json(jobs_[i], ahead);
  return {200, "application/json", body + "]}", ""};
}

HttpResponse Service::create_job(const std::string& body, double now, double unix_now) {
  std::optional<ApiError> error;
  std::optional<Json> object = parse_object(body, error);
  if (!object) return error_response(*error);
  FieldReader fields(*object, {"model", "tokens", "deadline_hours", "budget_usd"});
  const std::string model_text = fields.string("model");
  std::optional<std::string> model = zoo_name(model_text, fields);
  std::optional<double> tokens = fields.number("tokens", true, kMaxTokens);
  std::optional<double> hours = fields.number("deadline_hours", false, 1e6);
  std::optional<double> budget = fields.number("budget_usd", false, 1e12);
  if (fields.error) return error_response(*fields.error);
  StoredJob job{jobs_.empty() ? 1 : jobs_.back().id + 1, *model, *tokens,
                hours ? std::optional<double>(now + *hours * 3600) : std::nullopt, budget, now,
                int64_t(std::floor(unix_now)), std::nullopt};
  const int type = type_of(model_, job.model);
  if (type < 0)
    return error_response(
        {422, fmt::format("{} is not a training job type of this service", job.model), "model"});
  if (model_trains_nowhere(model_, type))
    return error_response({422, why_no_pool(model_, type), "model"});
  // The budget is checked against the simulator's own placement, run to the end.
  Simulator trial = *simulator_;
  trial.submit_job(arrival_of(job, type));
  trial.run();
  const JobStatus predicted = *trial.job_status(job.id);
  if (budget && predicted.cost_usd > *budget)
    return error_response(
        {422, fmt::format("the budget ${:.2f} is below the predicted cost, ${:.2f} on pool '{}'",
                          *budget, predicted.cost_usd, model_.fleet.pools[predicted.pool].name),
         "budget_usd"});
  if (Status ok = store_.insert_job(job); !ok) return error_response({503, ok.message(), ""});
  jobs_.push_back(job);
  simulator_->submit_job(arrival_of(job, type));
  simulator_->advance_to(now);
  return {200, "application/json", job_json(job, trial), ""};
}

HttpResponse Service::cancel_job(const std::string& id, double now) {
  auto j = std::find_if(jobs_.begin(), jobs_.end(),
                        [&](const StoredJob& s) { return fmt::format("job-{}", s.id) == id; });
  if (j == jobs_.end()) return error_response({404, fmt::format("no job '{}'", id), "id"});
  if (j->cancelled_seconds) return get_job(id);
  const std::optional<JobStatus> status = simulator_->job_status(j->id);
  if (status && status->phase == JobPhase::finished)
    return error_response(
        {409, fmt::format("{} already succeeded at {:.0f} s", id, *status->finish), "id"});
  if (Status ok = store_.cancel_job(j->id, now); !ok)
    return error_response({503, ok.message(), ""});
  j->cancelled_seconds = now;
  simulator_->cancel_job(j->id);
  return get_job(id);
}

HttpResponse Service::route(const HttpRequest& r, double now) {
  std::optional<ApiError> error;
  std::optional<RouteAsk> ask = read_route(r, error);
  if (!ask) return error_response(*error);
  if (!simulator_->serves())
    return error_response(
        {409, fmt::format("no group of fleet '{}' serves inference: start the service with "
                          "--workload FILE whose [[serve]] tables name the serving pools (of {})",
                          model_.fleet.name, pool_names(model_.fleet)), ""});
  if (ask->model != model_.inference.model.name)
    return error_response({422, fmt::format("this service serves {}, not {} (the workload's "
                                            "'model')", model_.inference.model.name, ask->model),
                           "model"});
  const RouteResult routed = simulator_->route_request(
      {next_route_, now, ask->prompt, ask->output}, ask->slo_ttft, ask->slo_tpot);
  const RoutePrediction& best = routed.chosen;
  // Per pool, the replica the policy rated highest (the first of equals, as it chooses).
  std::vector<const RoutePrediction*> per_pool(model_.fleet.pools.size(), nullptr);
  for (const RoutePrediction& o : routed.options)
    if (!per_pool[o.pool] || o.headroom > per_pool[o.pool]->headroom) per_pool[o.pool] = &o;
  const double finish = now + best.ttft + double(ask->output - 1) * best.tpot;
  RouteDecision d{next_route_++, ask->model, best.pool, now, best.ttft, best.tpot,
                  best.headroom >= 0};
  recent_routes_.push_front(d);
  if (recent_routes_.size() > kRecentRoutes) recent_routes_.pop_back();
  const Pool& pool = model_.fleet.pools[best.pool];
  Json candidates = Json::array();
  for (const RoutePrediction* o : per_pool)
    if (o)
      candidates.push_back({{"pool", model_.fleet.pools[o->pool].name},
                            {"predicted_ttft_ms", o->ttft * 1e3},
                            {"predicted_tpot_ms", o->tpot * 1e3}, {"headroom", o->headroom}});
  Json out = {{"id", fmt::format("route-{}", d.id)}, {"object", "route"}, {"model", ask->model},
              {"pool", pool.name}, {"system", pool.system.name},
              {"family", to_string(pool.system.kind)}, {"predicted_ttft_ms", best.ttft * 1e3},
              {"predicted_tpot_ms", best.tpot * 1e3}, {"predicted_finish", finish},
              {"meets_slo", d.meets_slo}, {"headroom", best.headroom},
              {"slo_ttft_ms", ask->slo_ttft * 1e3}, {"slo_tpot_ms", ask->slo_tpot * 1e3},
              {"candidates", candidates}};
  return json_response(200, out);
}

HttpResponse Service::fleet_view() const {
  const Observations obs = simulator_->snapshot();
  const Simulator ahead = forecast();
  const size_t n = model_.fleet.pools.size();
  std::vector<int64_t> running(n, 0), queued(n, 0), replicas(n, 0);
  const std::vector<int64_t> in_flight = simulator_->requests_in_flight();
  for (const ServingPool& s : model_.serving) replicas[s.pool] = s.replicas;
  for (const StoredJob& j : jobs_) {
    const std::optional<JobStatus> s = simulator_->job_status(j.id);
    const std::optional<JobStatus> later = ahead.job_status(j.id);
    if (s && s->phase == JobPhase::running) ++running[s->pool];
    if (s && s->phase == JobPhase::queued && later && later->pool >= 0) ++queued[later->pool];
  }
  Json pools = Json::array();
  for (size_t p = 0; p < n; ++p) {
    const Pool& pool = model_.fleet.pools[p];
    pools.push_back({{"name", pool.name}, {"system", pool.system.name},
                     {"family", to_string(pool.system.kind)}, {"devices", pool.count},
                     {"group", pool.group}, {"groups", model_.training_groups[p]},
                     {"dollars_per_group_hour", model_.group_dollars_per_second[p] * 3600},
                     {"training", {{"running_jobs", running[p]}, {"queued_jobs", queued[p]}}},
                     {"simulated", simulated_pool(obs.pools[p], now_)},
                     {"serving", {{"replicas", replicas[p]}, {"in_flight_requests", in_flight[p]}}}});
  }
  Json routes = Json::array();
  for (const RouteDecision& d : recent_routes_)
    routes.push_back({{"id", fmt::format("route-{}", d.id)}, {"model", d.model},
                      {"pool", model_.fleet.pools[d.pool].name}, {"at", d.at},
                      {"predicted_ttft_ms", d.ttft * 1e3}, {"predicted_tpot_ms", d.tpot * 1e3},
                      {"meets_slo", d.meets_slo}});
  const std::vector<double>& jct = obs.job_completion_seconds;
  const double mean_jct =
      jct.empty() ? 0.0 : std::accumulate(jct.begin(), jct.end(), 0.0) / double(jct.size());
  Json out = {{"object", "fleet"}, {"name", model_.fleet.name},
              {"clock", {{"now_seconds", now_}, {"time_scale", time_scale_}}},
              {"pools", pools},
              {"simulator", {{"policy", "cost+slo"}, {"jobs_done", jct.size()},
                             {"avg_jct_seconds", jct.empty() ? Json() : Json(mean_jct)},
                             {"preemptions", obs.preemptions}, {"events", obs.events}}},
              {"recent_routes", routes}};
  return json_response(200, out);
}

HttpResponse Service::page() const {
  std::string html = kPageHead;
  html += fmt::format("<h1>Fleet {}</h1><p id=\"clock\">clock {:.2f} h</p>\n",
                      html_escape(model_.fleet.name), now_ / 3600);
  html += "<table id=\"pools\"><tr><th>pool</th><th>system</th><th>family</th><th>devices</th>"
          "<th>training groups</th><th>running jobs</th><th>queued jobs</th><th>simulated busy groups</th><th>requests in flight</th></tr>\n";
  for (size_t i = 0; i < model_.fleet.pools.size(); ++i) {
    const Pool& p = model_.fleet.pools[i];
    html += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                        "<td></td><td></td><td></td><td></td></tr>\n",
                        html_escape(p.name), html_escape(p.system.name),
                        to_string(p.system.kind), p.count, model_.training_groups[i]);
  }
  html += "</table>\n<h2>Queue</h2><table id=\"jobs\"><tr><th>job</th><th>status</th>"
          "<th>model</th><th>pool</th><th>start h</th><th>finish h</th><th>$</th></tr></table>\n"
          "<h2>Recent routing decisions</h2><table id=\"routes\"><tr><th>route</th><th>model</th>"
          "<th>pool</th><th>TTFT ms</th><th>TPOT ms</th><th>in SLO</th></tr></table>\n";
  html += kPageScript;
  return {200, "text/html; charset=utf-8", html, ""};
}

}  // namespace wafer::cluster
