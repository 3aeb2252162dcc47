// Scenario loading and one run per policy (see scenario.hpp). Files are read once per
// scenario; each policy's run shares the matrix's rates and profiles.
#include "wafer/cluster/scenario.hpp"

#include <cmath>

#include <fmt/format.h>

#include "wafer/support/text_file.hpp"

namespace wafer::cluster {

namespace {

constexpr int64_t kDefaultPrompt = 1024, kDefaultOutput = 256;

int64_t rounded_mean(const std::vector<Request>& requests, int64_t Request::*field,
                     int64_t fallback) {
  if (requests.empty()) return fallback;
  double sum = 0;
  for (const Request& r : requests) sum += double(r.*field);
  return std::max<int64_t>(1, std::llround(sum / double(requests.size())));
}

Expected<std::vector<Request>> read_requests(const WorkloadSpec& spec) {
  if (spec.trace.empty()) return std::vector<Request>{};
  Expected<std::string> text = read_text_file(spec.trace, "trace file");
  if (!text) return text.status().with_context(fmt::format("{}: key 'trace'", spec.origin));
  return parse_trace_csv(*text, spec.trace, spec.trace_requests, spec.trace_speedup);
}

Expected<std::vector<TrainArrival>> read_training(const Scenario& s, uint64_t seed) {
  if (s.spec.train_csv.empty()) return generate_training(s.spec, trainable_types(s.model), seed);
  Expected<std::string> text = read_text_file(s.spec.train_csv, "training CSV");
  if (!text) return text.status().with_context(fmt::format("{}: key 'train_csv'", s.spec.origin));
  return parse_training_csv(*text, s.spec.train_csv, s.model.types);
}

}  // namespace

Expected<Scenario> load_scenario(const Fleet& fleet, const WorkloadSpec& spec, uint64_t seed) {
  Scenario s;
  s.spec = spec;
  Expected<std::vector<Job>> types = training_types(spec);
  if (!types) return types.status();
  Expected<Job> inference = inference_job(spec);
  if (!inference) return inference.status();
  Expected<std::vector<Request>> requests = read_requests(spec);
  if (!requests) return requests.status();
  s.requests = std::move(*requests);
  if (!s.requests.empty() && spec.serve.empty())
    return make_error("{}: a trace needs at least one [[serve]] pool", spec.origin);
  Expected<ClusterModel> model = build_cluster_model(
      fleet, spec, *types, *inference, rounded_mean(s.requests, &Request::prompt, kDefaultPrompt),
      rounded_mean(s.requests, &Request::output, kDefaultOutput));
  if (!model) return model.status();
  s.model = std::move(*model);
  Expected<std::vector<TrainArrival>> jobs = read_training(s, seed);
  if (!jobs) return jobs.status();
  s.jobs = std::move(*jobs);
  return s;
}

Summary simulate(const Scenario& scenario, const Policy& policy, int buckets) {
  Simulator sim(scenario.model, policy);
  for (const TrainArrival& j : scenario.jobs) sim.submit_job(j);
  for (const Request& r : scenario.requests) sim.submit_request(r);
  sim.run();
  return summarise(policy.name, sim.snapshot(), buckets);
}

}  // namespace wafer::cluster
