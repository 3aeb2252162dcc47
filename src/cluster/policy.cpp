// The policies' priorities and placements (the objectives are in policy.hpp and
// docs/cluster.md). Each is a few arithmetic operations on a JobView, so a scheduling pass
// costs a sort of the jobs and one scan of the pools per job.
#include "wafer/cluster/policy.hpp"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "wafer/support/suggest.hpp"

namespace wafer::cluster {

namespace {

struct TrainName {
  const char* name;
  TrainPolicy policy;
};
constexpr TrainName kTrainNames[] = {{"fifo", TrainPolicy::fifo},
                                     {"las", TrainPolicy::las},
                                     {"ftf", TrainPolicy::ftf},
                                     {"makespan", TrainPolicy::makespan},
                                     {"cost", TrainPolicy::cost}};
constexpr const char* kAgnostic = "-agnostic";

bool parse_route(const std::string& s, RoutePolicy& out) {
  if (s == "slo") out = RoutePolicy::slo;
  else if (s == "round-robin") out = RoutePolicy::round_robin;
  else return false;
  return true;
}

bool parse_train(const std::string& s, Policy& out) {
  for (const TrainName& t : kTrainNames) {
    if (s == t.name) {
      out.train = t.policy;
      return true;
    }
    if (s == std::string(t.name) + kAgnostic) {
      out.train = t.policy;
      out.aware = false;
      return true;
    }
  }
  return false;
}

Status unknown_policy(const std::string& part) {
  std::vector<std::string> names = policy_names();
  std::vector<std::string_view> views(names.begin(), names.end());
  return make_error("unknown policy '{}'{} (policies: {}; TRAIN+ROUTE combines them)", part,
                    suggestion(part, views), fmt::join(names, ", "));
}

// The rate the policy believes the job gets: its best (aware) or its reference (agnostic).
double believed_rate(const Policy& p, const JobView& j) {
  return p.aware ? j.best_rate : j.reference_rate;
}

// Devices are interchangeable to an agnostic scheduler: it spreads jobs over the pool with
// the most free groups (ties: fleet order), wherever the job fits.
int most_free(const JobView& j, const std::vector<int64_t>& free) {
  int best = -1;
  for (size_t i = 0; i < free.size(); ++i)
    if (free[i] > 0 && (*j.rates)[i] > 0 && (best < 0 || free[i] > free[best])) best = int(i);
  return best;
}

int fastest_free(const JobView& j, const std::vector<int64_t>& free) {
  int best = -1;
  for (size_t i = 0; i < free.size(); ++i)
    if (free[i] > 0 && (*j.rates)[i] > 0 && (best < 0 || (*j.rates)[i] > (*j.rates)[best]))
      best = int(i);
  return best;
}

// Earliest finish: the pool where start + remaining / rate is least, a full pool starting when
// its queue clears (ready). A job that chooses a full pool waits, and the pool's queue grows by
// its run time over the pool's groups, so later jobs see it; -1 then (no start now).
int earliest_finish(const JobView& j, const std::vector<int64_t>& free, PoolQueues& queues,
                    double now) {
  int best = -1;
  double best_finish = std::numeric_limits<double>::infinity();
  const bool has_choice =
      std::count_if(j.rates->begin(), j.rates->end(), [](double r) { return r > 0; }) > 1;
  for (size_t i = 0; i < free.size(); ++i) {
    const double rate = (*j.rates)[i];
    if (rate <= 0) continue;
    const double start = free[i] > 0 ? now
                                     : std::max(now, queues.ready[i]) + queues.queued[i] +
                                           (has_choice ? queues.captive[i] : 0.0);
    if (start + j.remaining / rate < best_finish) {
      best_finish = start + j.remaining / rate;
      best = int(i);
    }
  }
  if (best < 0 || free[best] > 0) return best;
  queues.queued[best] += j.remaining / (*j.rates)[best] / double(queues.groups[best]);
  return -1;
}

// The cheapest $ per token among free pools that finish before the deadline; else the fastest.
int cheapest_in_time(const JobView& j, const std::vector<int64_t>& free,
                     const std::vector<double>& dollars_per_second, double now) {
  int best = -1;
  double best_cost = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < free.size(); ++i) {
    const double rate = (*j.rates)[i];
    if (free[i] <= 0 || rate <= 0 || now + j.remaining / rate > j.deadline) continue;
    const double cost = dollars_per_second[i] / rate;
    if (cost < best_cost) {
      best_cost = cost;
      best = int(i);
    }
  }
  return best >= 0 ? best : fastest_free(j, free);
}

}  // namespace

std::vector<std::string> policy_names() {
  std::vector<std::string> out;
  for (const TrainName& t : kTrainNames) {
    out.push_back(t.name);
    out.push_back(std::string(t.name) + kAgnostic);
  }
  out.push_back("slo");
  out.push_back("round-robin");
  return out;
}

Expected<Policy> parse_policy(const std::string& text) {
  Policy p;
  p.name = text;
  const size_t plus = text.find('+');
  const std::string first = text.substr(0, plus);
  if (plus != std::string::npos) {
    const std::string second = text.substr(plus + 1);
    if (!parse_train(first, p)) return unknown_policy(first);
    if (!parse_route(second, p.route)) return unknown_policy(second);
    return p;
  }
  if (parse_train(first, p) || parse_route(first, p.route)) return p;
  return unknown_policy(first);
}

bool preempts(const Policy& p) {
  return p.train == TrainPolicy::las || p.train == TrainPolicy::ftf;
}

double priority(const Policy& p, const JobView& j, double now) {
  const double rate = believed_rate(p, j);
  switch (p.train) {
    case TrainPolicy::fifo: return j.arrival;
    case TrainPolicy::las: return p.aware ? j.attained_work_seconds : j.attained_seconds;
    case TrainPolicy::ftf:
      return -(now - j.arrival + j.remaining / rate) / (j.tokens / rate);
    case TrainPolicy::makespan: return -j.remaining / rate;
    case TrainPolicy::cost: return j.deadline;
  }
  return 0;
}

int choose_pool(const Policy& p, const JobView& j, const std::vector<int64_t>& free,
                PoolQueues& queues, const std::vector<double>& dollars_per_second, double now) {
  if (!p.aware) return most_free(j, free);
  if (p.train == TrainPolicy::cost) return cheapest_in_time(j, free, dollars_per_second, now);
  return earliest_finish(j, free, queues, now);
}

}  // namespace wafer::cluster
