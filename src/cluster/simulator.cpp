// The cluster simulator (the model is in simulator.hpp).
//
// Events sit in one min-heap ordered by (time, sequence number); a job's finish event carries
// the job's version, bumped whenever the job starts or stops, so a stale finish is skipped
// rather than searched for. A scheduling pass settles the running jobs' progress, sorts the
// candidates by the policy's priority (then id) and hands out groups in that order from the
// free groups (an ordinary pass: waiting jobs only) or from all training groups (a round's
// re-plan: running jobs keep their group while their priority earns it, else move or stop).
// A replica's running requests sit in a min-heap of the decode step at which each finishes, so
// a decode step costs O(1) plus O(log b) per finished request. A job's status is kept as it
// goes (first start, finish, the dollars of each finished segment on a group), so a query by
// id is a lookup; routing a request directly (route_request) is the arrival event's routing
// done at once, with the prediction that chose the replica returned.
#include "wafer/cluster/simulator.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "wafer/cluster/matrix.hpp"
#include "wafer/estimate/infer.hpp"
#include "wafer/support/suggest.hpp"

namespace wafer::cluster {

namespace {

constexpr int64_t kMaxProfiledBatch = 256;
constexpr int64_t kPrefillPromptLo = 256, kPrefillPromptHi = 4096;

Job shaped(const Job& inference, int64_t prompt, int64_t output, int64_t batch) {
  Job j = inference;
  j.prompt = prompt;
  j.output = output;
  j.batch = batch;
  return j;
}

double kv_bytes_per_token(const Job& job, const Pool& pool) {
  estimate::InferOptions o;
  o.count = pool.group;
  o.prompt = job.prompt;
  o.output = job.output;
  o.precision = job.precision;
  Expected<estimate::InferEstimate> e = estimate::estimate_inference(job.model, pool.system, o);
  return e ? e->kv_cache_bytes / double(job.prompt + job.output) : 0;
}

ReplicaProfile replica_profile(const Job& inference, const Pool& pool, int64_t prompt,
                               int64_t output) {
  ReplicaProfile p;
  for (int64_t b = 1; b <= kMaxProfiledBatch; b *= 2) {
    Cell c = matrix_cell(shaped(inference, prompt, output, b), pool, pool.group);
    if (!c.fits) {
      if (b == 1) p.why = c.why;
      break;
    }
    p.tpot.push_back(*c.tpot_seconds);
    p.batch_limit = b;
  }
  if (p.tpot.empty()) return p;
  Cell lo = matrix_cell(shaped(inference, kPrefillPromptLo, output, 1), pool, pool.group);
  Cell hi = matrix_cell(shaped(inference, kPrefillPromptHi, output, 1), pool, pool.group);
  if (!lo.fits || !hi.fits) {
    p.why = lo.fits ? hi.why : lo.why;
    return p;
  }
  const double span = double(kPrefillPromptHi - kPrefillPromptLo);
  p.prefill_per_token = std::max(0.0, (*hi.ttft_seconds - *lo.ttft_seconds) / span);
  p.prefill_fixed = std::max(0.0, *lo.ttft_seconds - p.prefill_per_token * kPrefillPromptLo);
  p.kv_bytes_per_token = kv_bytes_per_token(shaped(inference, prompt, output, 1), pool);
  p.fits = true;
  return p;
}

Expected<int> pool_index(const Fleet& fleet, const std::string& name, const std::string& origin) {
  std::vector<std::string_view> names;
  for (size_t i = 0; i < fleet.pools.size(); ++i) {
    if (fleet.pools[i].name == name) return int(i);
    names.push_back(fleet.pools[i].name);
  }
  return make_error("{}: [[serve]] pool '{}' is not in fleet '{}'{}", origin, name, fleet.name,
                    suggestion(name, names));
}

Status check_roles(const std::vector<ServingPool>& serving, const std::string& origin) {
  bool prefill = false, decode = false;
  for (const ServingPool& s : serving) {
    prefill |= s.role == ServeRole::prefill;
    decode |= s.role == ServeRole::decode;
  }
  if (prefill != decode)
    return make_error("{}: disaggregated serving needs both a role = \"prefill\" and a "
                      "role = \"decode\" [[serve]]",
                      origin);
  return Status::ok();
}

}  // namespace

const char* to_string(JobPhase p) {
  switch (p) {
    case JobPhase::queued: return "queued";
    case JobPhase::running: return "running";
    case JobPhase::finished: return "finished";
    case JobPhase::cancelled: return "cancelled";
    case JobPhase::rejected: return "rejected";
  }
  return "?";
}

double tpot_at(const ReplicaProfile& p, int64_t batch) {
  batch = std::clamp<int64_t>(batch, 1, p.batch_limit);
  int k = 0;
  while ((int64_t(1) << (k + 1)) <= batch) ++k;
  const double lo = double(int64_t(1) << k);
  if (double(batch) == lo || size_t(k + 1) >= p.tpot.size()) return p.tpot[k];
  return p.tpot[k] + (p.tpot[k + 1] - p.tpot[k]) * (double(batch) - lo) / lo;
}

Expected<ClusterModel> build_cluster_model(const Fleet& fleet, const WorkloadSpec& spec,
                                           const std::vector<Job>& types, const Job& inference,
                                           int64_t ref_prompt, int64_t ref_output) {
  ClusterModel m;
  m.fleet = fleet;
  m.types = types;
  m.inference = inference;
  m.checkpoint_seconds = spec.checkpoint_seconds;
  m.round_seconds = spec.round_seconds;
  m.kv_link_bytes_per_second = spec.kv_link_gbps * 1e9 / 8;
  m.profiles.resize(fleet.pools.size());
  for (const Pool& p : fleet.pools) {
    m.training_groups.push_back(p.count / p.group);
    m.group_dollars_per_second.push_back(p.system.dollars_per_hour * double(p.group) / 3600);
  }
  for (const Serve& s : spec.serve) {
    Expected<int> i = pool_index(fleet, s.pool, spec.origin);
    if (!i) return i.status();
    const Pool& pool = fleet.pools[*i];
    if (s.replicas > m.training_groups[*i])
      return make_error("{}: [[serve]] pool '{}': {} replicas, but it has {} groups of {}",
                        spec.origin, s.pool, s.replicas, m.training_groups[*i], pool.group);
    m.profiles[*i] = replica_profile(inference, pool, ref_prompt, ref_output);
    if (!m.profiles[*i].fits)
      return make_error("{}: [[serve]] pool '{}': {} does not serve on {} x{}: {}", spec.origin,
                        s.pool, inference.model.name, pool.system.name, pool.group,
                        m.profiles[*i].why);
    m.training_groups[*i] -= s.replicas;
    m.serving.push_back({*i, s.replicas, s.role});
  }
  WAFER_TRY(check_roles(m.serving, spec.origin));
  for (const Job& t : types) {
    std::vector<double> rates;
    for (size_t i = 0; i < fleet.pools.size(); ++i) {
      const Pool& pool = fleet.pools[i];
      Cell c = matrix_cell(t, pool, pool.group);
      rates.push_back(m.training_groups[i] > 0 && c.fits ? *c.tokens_per_second : 0.0);
    }
    m.train_rate.push_back(rates);
  }
  return m;
}

int reference_pool(const ClusterModel& model, int type) {
  const std::vector<double>& r = model.train_rate[type];
  for (size_t i = 0; i < r.size(); ++i)
    if (r[i] > 0) return int(i);
  return -1;
}

std::vector<int> trainable_types(const ClusterModel& model) {
  std::vector<int> out;
  for (size_t t = 0; t < model.types.size(); ++t)
    if (reference_pool(model, int(t)) >= 0) out.push_back(int(t));
  return out;
}

Simulator::Simulator(const ClusterModel& model, Policy policy)
    : model_(model), policy_(std::move(policy)), free_(model.training_groups) {
  for (const Pool& p : model.fleet.pools)
    obs_.pools.push_back({to_string(p.system.kind), p.count, p.group, p.system.dollars_per_hour,
                          p.system.power_kw, {}});
  for (const ServingPool& s : model.serving)
    for (int64_t i = 0; i < s.replicas; ++i) {
      Replica r;
      r.pool = s.pool;
      r.role = s.role;
      (s.role == ServeRole::decode ? back_ : front_).push_back(int(replicas_.size()));
      replicas_.push_back(std::move(r));
    }
}

void Simulator::push(double time, EventKind kind, int64_t index, uint64_t version) {
  events_.push({time, seq_++, kind, index, version});
}

void Simulator::submit_job(const TrainArrival& job) {
  JobState s;
  s.arrival = job;
  s.arrival.arrival_seconds = std::max(job.arrival_seconds, now_);
  jobs_.push_back(s);
  push(s.arrival.arrival_seconds, EventKind::job_arrival, int64_t(jobs_.size()) - 1);
}

void Simulator::submit_request(const Request& request) {
  if (front_.empty()) {  // no pool serves
    ++obs_.requests_rejected;
    return;
  }
  RequestState s;
  s.request = request;
  s.request.arrival_seconds = std::max(request.arrival_seconds, now_);
  requests_.push_back(s);
  push(s.request.arrival_seconds, EventKind::request_arrival, int64_t(requests_.size()) - 1);
}

int64_t Simulator::job_index(int64_t id) const {
  for (size_t j = 0; j < jobs_.size(); ++j)
    if (jobs_[j].arrival.id == id) return int64_t(j);
  return -1;
}

std::optional<JobStatus> Simulator::job_status(int64_t id) const {
  const int64_t j = job_index(id);
  if (j < 0) return std::nullopt;
  const JobState& job = jobs_[j];
  JobStatus s;
  s.pool = job.pool >= 0 ? job.pool : job.last_pool;
  if (job.first_start >= 0) s.start = job.first_start;
  if (job.finish_time >= 0) s.finish = job.finish_time;
  s.cost_usd = job.held_dollars;
  if (job.pool >= 0)
    s.cost_usd += (now_ - job.segment_start) * model_.group_dollars_per_second[job.pool];
  s.phase = job.rejected    ? JobPhase::rejected
            : job.cancelled ? JobPhase::cancelled
            : s.finish      ? JobPhase::finished
            : job.pool >= 0 ? JobPhase::running
                            : JobPhase::queued;
  return s;
}

bool Simulator::cancel_job(int64_t id) {
  const int64_t j = job_index(id);
  if (j < 0) return false;
  JobState& job = jobs_[j];
  if (job.cancelled || job.rejected || job.finish_time >= 0) return false;
  job.cancelled = true;
  auto active = std::find(active_.begin(), active_.end(), j);
  if (active == active_.end()) return true;  // its arrival is still ahead: it will be skipped
  if (job.pool >= 0) stop_job(job);
  active_.erase(active);
  schedule(false);
  return true;
}

RouteResult Simulator::route_request(const Request& request, double slo_ttft, double slo_tpot) {
  WAFER_CHECK(!front_.empty());
  advance_to(request.arrival_seconds);
  RouteResult out;
  for (int c : front_) out.options.push_back(predict(c, request.prompt, false, slo_ttft, slo_tpot));
  const int replica = route(request, false, slo_ttft, slo_tpot);
  out.chosen = predict(replica, request.prompt, false, slo_ttft, slo_tpot);
  RequestState s;
  s.request = request;
  s.request.arrival_seconds = now_;
  requests_.push_back(s);
  if (obs_.first_request_arrival < 0) obs_.first_request_arrival = now_;
  enqueue(replica, int64_t(requests_.size()) - 1);
  return out;
}

std::vector<int64_t> Simulator::requests_in_flight() const {
  std::vector<int64_t> out(model_.fleet.pools.size(), 0);
  for (const Replica& r : replicas_)
    out[r.pool] += int64_t(r.queue.size() + r.prefilling.size() + r.running.size());
  return out;
}

void Simulator::advance_to(double t) {
  while (!events_.empty() && events_.top().time <= t) {
    Event e = events_.top();
    events_.pop();
    now_ = e.time;
    ++obs_.events;
    handle(e);
  }
  now_ = std::max(now_, t);
}

void Simulator::run() { advance_to(std::numeric_limits<double>::infinity()); }

void Simulator::handle(const Event& e) {
  obs_.horizon_end = std::max(obs_.horizon_end, e.time);
  switch (e.kind) {
    case EventKind::job_arrival: return job_arrives(e.index);
    case EventKind::job_finish:
      if (jobs_[e.index].version == e.version) job_finishes(e.index);
      return;
    case EventKind::round:
      round_pending_ = false;
      schedule(true);
      ensure_round();
      return;
    case EventKind::request_arrival: {
      const int r = route(requests_[e.index].request, false, model_.inference.slo_ttft_seconds,
                          model_.inference.slo_tpot_seconds);
      if (obs_.first_request_arrival < 0) obs_.first_request_arrival = now_;
      return enqueue(r, e.index);
    }
    case EventKind::step_end: return step_ends(int(e.index));
    case EventKind::kv_arrival: return enqueue(requests_[e.index].decode_replica, e.index);
  }
}

// ---- Training ----

void Simulator::job_arrives(int64_t j) {
  JobState& job = jobs_[j];
  if (job.cancelled) return;
  const int ref = reference_pool(model_, job.arrival.type);
  if (obs_.first_job_arrival < 0) obs_.first_job_arrival = now_;
  if (ref < 0) {
    job.rejected = true;
    ++obs_.jobs_rejected;
    return;
  }
  const std::vector<double>& rates = model_.train_rate[job.arrival.type];
  job.best_rate = *std::max_element(rates.begin(), rates.end());
  job.reference_rate = rates[ref];
  job.tokens = job.arrival.tokens > 0 ? job.arrival.tokens
                                      : job.arrival.duration_seconds * job.reference_rate;
  job.remaining = job.tokens;
  active_.push_back(j);
  schedule(false);
  ensure_round();
}

void Simulator::settle(JobState& job) {
  if (job.pool < 0) return;
  if (now_ > job.progress_from) {
    const double done = model_.train_rate[job.arrival.type][job.pool] * (now_ - job.progress_from);
    job.remaining = std::max(0.0, job.remaining - done);
    job.attained_work += done / job.best_rate;
    job.progress_from = now_;
  }
  job.attained_wall += now_ - job.wall_from;
  job.wall_from = now_;
}

void Simulator::start_job(int64_t j, int pool) {
  JobState& job = jobs_[j];
  --free_[pool];
  job.pool = pool;
  job.segment_start = now_;
  job.wall_from = now_;
  job.progress_from = now_ + (job.started ? model_.checkpoint_seconds : 0);
  if (!job.started) job.first_start = now_;
  job.started = true;
  ++job.version;
  const double rate = model_.train_rate[job.arrival.type][pool];
  push(job.progress_from + job.remaining / rate, EventKind::job_finish, j, job.version);
}

void Simulator::stop_job(JobState& job) {
  settle(job);
  obs_.pools[job.pool].busy.push_back({job.segment_start, now_});
  job.held_dollars += (now_ - job.segment_start) * model_.group_dollars_per_second[job.pool];
  ++free_[job.pool];
  job.last_pool = job.pool;
  job.pool = -1;
  ++job.version;
}

void Simulator::job_finishes(int64_t j) {
  JobState& job = jobs_[j];
  stop_job(job);
  job.remaining = 0;
  job.finish_time = now_;
  obs_.job_completion_seconds.push_back(now_ - job.arrival.arrival_seconds);
  obs_.last_job_finish = std::max(obs_.last_job_finish, now_);
  if (now_ > job.arrival.deadline_seconds) ++obs_.deadlines_missed;
  active_.erase(std::find(active_.begin(), active_.end(), j));
  schedule(false);
}

JobView Simulator::view(const JobState& job) const {
  JobView v;
  v.id = job.arrival.id;
  v.arrival = job.arrival.arrival_seconds;
  v.tokens = job.tokens;
  v.remaining = job.remaining;
  v.attained_work_seconds = job.attained_work;
  v.attained_seconds = job.attained_wall;
  v.deadline = job.arrival.deadline_seconds;
  v.best_rate = job.best_rate;
  v.reference_rate = job.reference_rate;
  v.rates = &model_.train_rate[job.arrival.type];
  return v;
}

std::vector<int64_t> Simulator::ranked_jobs(bool replan) {
  struct Candidate {
    double priority;
    int64_t id, job;
  };
  std::vector<Candidate> order;
  for (int64_t j : active_) {
    JobState& job = jobs_[j];
    settle(job);
    if (replan || job.pool < 0)
      order.push_back({priority(policy_, view(job), now_), job.arrival.id, j});
  }
  std::sort(order.begin(), order.end(), [](const Candidate& a, const Candidate& b) {
    return a.priority != b.priority ? a.priority < b.priority : a.id < b.id;
  });
  std::vector<int64_t> out;
  for (const Candidate& c : order) out.push_back(c.job);
  return out;
}

void Simulator::schedule(bool replan) {
  const bool any_free = std::any_of(free_.begin(), free_.end(), [](int64_t f) { return f > 0; });
  if (!replan && !any_free) return;
  std::vector<int64_t> left = replan ? model_.training_groups : free_;
  PoolQueues queues = pool_queues();
  std::vector<std::pair<int64_t, int>> starts, stops;
  for (int64_t j : ranked_jobs(replan)) {
    const JobState& job = jobs_[j];
    if (job.pool >= 0 && left[job.pool] > 0) {  // keeps its group
      --left[job.pool];
      continue;
    }
    const int pool =
        choose_pool(policy_, view(job), left, queues, model_.group_dollars_per_second, now_);
    if (job.pool >= 0) stops.push_back({j, job.pool});
    if (pool < 0) continue;
    --left[pool];
    starts.push_back({j, pool});
    const double restore = job.started ? model_.checkpoint_seconds : 0;
    const double rate = model_.train_rate[job.arrival.type][pool];
    queues.ready[pool] = std::min(queues.ready[pool], now_ + restore + job.remaining / rate);
  }
  for (auto [j, pool] : stops) {
    stop_job(jobs_[j]);
    ++obs_.preemptions;
  }
  for (auto [j, pool] : starts) start_job(j, pool);
}

PoolQueues Simulator::pool_queues() const {
  const size_t n = free_.size();
  PoolQueues q{std::vector<double>(n, std::numeric_limits<double>::infinity()),
               model_.training_groups, std::vector<double>(n, 0.0), std::vector<double>(n, 0.0)};
  for (int64_t j : active_) {
    const JobState& job = jobs_[j];
    const std::vector<double>& rates = model_.train_rate[job.arrival.type];
    if (job.pool >= 0) {
      const double rate = rates[job.pool];
      q.ready[job.pool] = std::min(q.ready[job.pool], job.progress_from + job.remaining / rate);
    } else if (std::count_if(rates.begin(), rates.end(), [](double r) { return r > 0; }) == 1) {
      const int only = reference_pool(model_, job.arrival.type);
      q.captive[only] += job.remaining / rates[only] / double(q.groups[only]);
    }
  }
  return q;
}

void Simulator::ensure_round() {
  if (!preempts(policy_) || round_pending_ || active_.empty()) return;
  round_pending_ = true;
  push(now_ + model_.round_seconds, EventKind::round, 0);
}

// ---- Inference ----

double Simulator::predicted_tpot(const Replica& r) const {
  const ReplicaProfile& p = model_.profiles[r.pool];
  const int64_t batch = int64_t(r.running.size() + r.queue.size()) + 1;
  return tpot_at(p, std::min(batch, p.batch_limit));
}

RoutePrediction Simulator::predict(int replica, int64_t prompt, bool decode_hop,
                                   double slo_ttft, double slo_tpot) const {
  const Replica& r = replicas_[replica];
  const ReplicaProfile& p = model_.profiles[r.pool];
  RoutePrediction out{replica, r.pool, 0, predicted_tpot(r), 0};
  if (decode_hop) {
    out.headroom = (slo_tpot - out.tpot) / slo_tpot;
    return out;
  }
  if (r.role == ServeRole::prefill) {
    out.tpot = std::numeric_limits<double>::infinity();
    for (int d : back_) out.tpot = std::min(out.tpot, predicted_tpot(replicas_[d]));
  }
  out.ttft = (r.in_step ? r.step_end - now_ : 0) + p.prefill_fixed +
             p.prefill_per_token * double(r.queued_prompt_tokens + prompt);
  const int64_t waiting = int64_t(r.running.size() + r.queue.size()) + 1;
  if (r.role == ServeRole::both && waiting > p.batch_limit && !r.running.empty())
    out.ttft += double(r.running.top().first - r.decode_steps) * tpot_at(p, p.batch_limit);
  out.headroom = std::min((slo_ttft - out.ttft) / slo_ttft, (slo_tpot - out.tpot) / slo_tpot);
  return out;
}

int Simulator::route(const Request& r, bool decode_hop, double slo_ttft, double slo_tpot) {
  const std::vector<int>& choices = decode_hop ? back_ : front_;
  if (policy_.route == RoutePolicy::round_robin)
    return choices[round_robin_[decode_hop]++ % choices.size()];
  int best = choices[0];
  double best_headroom = -std::numeric_limits<double>::infinity();
  for (int c : choices) {
    const double h = predict(c, r.prompt, decode_hop, slo_ttft, slo_tpot).headroom;
    if (h > best_headroom) {
      best_headroom = h;
      best = c;
    }
  }
  return best;
}

void Simulator::enqueue(int replica, int64_t request) {
  Replica& r = replicas_[replica];
  r.queue.push_back(request);
  r.queued_prompt_tokens += requests_[request].request.prompt;
  if (!r.in_step) start_step(replica);
}

void Simulator::start_step(int replica) {
  Replica& r = replicas_[replica];
  const ReplicaProfile& p = model_.profiles[r.pool];
  double duration = 0;
  int64_t room = p.batch_limit - int64_t(r.running.size());
  if (r.role == ServeRole::decode) {
    for (; room > 0 && !r.queue.empty(); --room) {
      const int64_t q = r.queue.front();
      r.queue.pop_front();
      r.queued_prompt_tokens -= requests_[q].request.prompt;
      r.running.push({r.decode_steps + requests_[q].request.output - 1, q});
    }
  } else if (room > 0 && !r.queue.empty()) {
    int64_t tokens = 0;
    for (; room > 0 && !r.queue.empty(); --room) {
      const int64_t q = r.queue.front();
      r.queue.pop_front();
      tokens += requests_[q].request.prompt;
      r.prefilling.push_back(q);
    }
    r.queued_prompt_tokens -= tokens;
    duration = p.prefill_fixed + p.prefill_per_token * double(tokens);
  }
  r.prefill_step = !r.prefilling.empty();
  if (!r.prefill_step && !r.running.empty()) duration = tpot_at(p, int64_t(r.running.size()));
  r.in_step = r.prefill_step || !r.running.empty();
  if (!r.in_step) {
    if (r.busy_since >= 0) obs_.pools[r.pool].busy.push_back({r.busy_since, now_});
    r.busy_since = -1;
    return;
  }
  if (r.busy_since < 0) r.busy_since = now_;
  r.step_end = now_ + duration;
  push(r.step_end, EventKind::step_end, replica);
}

void Simulator::step_ends(int replica) {
  Replica& r = replicas_[replica];
  if (r.prefill_step) {
    std::vector<int64_t> done;
    done.swap(r.prefilling);
    for (int64_t q : done) {
      RequestState& s = requests_[q];
      s.first_token = now_;
      if (s.request.output <= 1) {
        complete(q);
      } else if (r.role == ServeRole::prefill) {
        s.decode_replica = route(s.request, true, model_.inference.slo_ttft_seconds,
                                 model_.inference.slo_tpot_seconds);
        const double bytes =
            double(s.request.prompt) * model_.profiles[r.pool].kv_bytes_per_token;
        push(now_ + bytes / model_.kv_link_bytes_per_second, EventKind::kv_arrival, q);
      } else {
        r.running.push({r.decode_steps + s.request.output - 1, q});
      }
    }
  } else {
    ++r.decode_steps;
    while (!r.running.empty() && r.running.top().first <= r.decode_steps) {
      complete(r.running.top().second);
      r.running.pop();
    }
  }
  r.in_step = false;
  start_step(replica);
}

void Simulator::complete(int64_t request) {
  const RequestState& s = requests_[request];
  const double ttft = s.first_token - s.request.arrival_seconds;
  const double tpot =
      s.request.output > 1 ? (now_ - s.first_token) / double(s.request.output - 1) : 0;
  obs_.ttft_seconds.push_back(ttft);
  obs_.tpot_seconds.push_back(tpot);
  if (ttft <= model_.inference.slo_ttft_seconds && tpot <= model_.inference.slo_tpot_seconds)
    ++obs_.requests_in_slo;
  obs_.last_request_finish = std::max(obs_.last_request_finish, now_);
}

Observations Simulator::snapshot() const {
  Observations o = obs_;
  for (const JobState& job : jobs_)
    if (job.pool >= 0) o.pools[job.pool].busy.push_back({job.segment_start, now_});
  for (const Replica& r : replicas_)
    if (r.busy_since >= 0) o.pools[r.pool].busy.push_back({r.busy_since, now_});
  double start = std::numeric_limits<double>::infinity();
  if (o.first_job_arrival >= 0) start = o.first_job_arrival;
  if (o.first_request_arrival >= 0) start = std::min(start, o.first_request_arrival);
  o.horizon_start = std::isfinite(start) ? start : 0;
  o.horizon_end = std::max(o.horizon_end, o.horizon_start);
  return o;
}

}  // namespace wafer::cluster
