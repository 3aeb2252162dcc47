// `wafer cluster matrix` and `wafer cluster simulate` (src/cluster/, docs/cluster.md).
//
// matrix: the job-by-system matrix of a fleet.
// Reads the fleet file (--fleet) and the jobs file (--jobs; default: every zoo model as a
// training and an inference job), builds the matrix from the estimator and prints it through
// the table module: aligned text by default, markdown, CSV or JSON with --format/--json.
// Text and markdown leave out the long columns (why a job does not fit, the SLO) and list
// the reasons under the table; CSV and JSON keep every column, in seconds and days. A file
// that cannot be read or is invalid exits 1, a usage error 2.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "estimate_report.hpp"
#include "cluster_plot.hpp"
#include "cmd_cluster_serve.hpp"
#include "output_path.hpp"
#include "table.hpp"
#include "wafer/cluster/matrix.hpp"
#include "wafer/cluster/scenario.hpp"

namespace wafer::cli {

namespace {

using cluster::Cell;
using cluster::Job;
using cluster::JobKind;

struct MatrixFlags {
  std::string fleet;
  std::string jobs;
  std::string format;
  bool json = false;
};

// Four significant digits of value x scale, or `missing` for null.
std::string g4(const Json& v, const char* missing, double scale = 1) {
  return v.is_null() ? missing : fmt::format("{:.4g}", v.get<double>() * scale);
}
std::string g4_cell(const Json& v) { return g4(v, "-"); }
std::string ms_cell(const Json& v) { return g4(v, "-", 1e3); }
// $/h and kW: null is a system with no figure.
std::string known_cell(const Json& v) { return g4(v, "not known"); }
std::string days_cell(const Json& v) { return v.is_null() ? "-" : duration(v.get<double>() * 86400); }

std::vector<Column> matrix_columns(bool human) {
  std::vector<Column> columns = {
      {"job", "job"}, {"kind", "kind"}, {"pool", "pool"}, {"system", "system"},
      {"family", "family"}, {"count", "count"}, {"fits", "fits"},
      {"tokens_per_second", "tokens/s", g4_cell},
      {"time_to_train_days", "time to train", days_cell},
      {"ttft_seconds", "TTFT ms", ms_cell}, {"tpot_seconds", "TPOT ms", ms_cell},
      {"max_requests_per_second", "max req/s in SLO", g4_cell},
      {"dollars_per_hour", "$/h", known_cell}, {"kilowatts", "kW", known_cell},
      {"limiter", "limiter"}};
  if (human) return columns;
  for (Column c : std::vector<Column>{{"rate_batch", "rate batch"},
                                      {"slo_ttft_seconds", "SLO TTFT"},
                                      {"slo_tpot_seconds", "SLO TPOT"},
                                      {"why", "why"}})
    columns.push_back(c);
  return columns;
}

Json optional_json(const std::optional<double>& v) { return v ? Json(*v) : Json(); }

Json cell_row(const Cell& c, const Job& job) {
  const bool infer = c.kind == JobKind::infer;
  Json row = {{"job", c.job}, {"kind", to_string(c.kind)}, {"pool", c.pool},
              {"system", c.system}, {"family", to_string(c.family)}, {"count", c.count},
              {"fits", c.fits ? "yes" : "no"},
              {"tokens_per_second", optional_json(c.tokens_per_second)},
              {"time_to_train_days",
               c.time_to_train_seconds ? Json(*c.time_to_train_seconds / 86400) : Json()},
              {"ttft_seconds", optional_json(c.ttft_seconds)},
              {"tpot_seconds", optional_json(c.tpot_seconds)},
              {"max_requests_per_second", optional_json(c.max_rate_per_second)},
              {"dollars_per_hour", optional_json(c.dollars_per_hour)},
              {"kilowatts", optional_json(c.kilowatts)},
              {"limiter", c.limiter.empty() ? Json() : Json(c.limiter)},
              {"rate_batch", c.rate_batch > 0 ? Json(c.rate_batch) : Json()},
              {"slo_ttft_seconds", infer ? Json(job.slo_ttft_seconds) : Json()},
              {"slo_tpot_seconds", infer ? Json(job.slo_tpot_seconds) : Json()},
              {"why", c.why}};
  return row;
}

const Job& job_named(const std::vector<Job>& jobs, const std::string& name) {
  return *std::find_if(jobs.begin(), jobs.end(), [&](const Job& j) { return j.name == name; });
}

Json fleet_json(const cluster::Fleet& fleet) {
  Json pools = Json::array();
  for (const cluster::Pool& p : fleet.pools)
    pools.push_back({{"name", p.name}, {"system", p.system.name},
                     {"family", to_string(p.system.kind)}, {"count", p.count}, {"group", p.group}});
  return {{"name", fleet.name}, {"pools", pools}};
}

int run_matrix(const MatrixFlags& f) {
  Expected<cluster::Fleet> fleet = cluster::load_fleet(f.fleet);
  if (!fleet) return report_error(fleet.status());
  std::vector<Job> jobs = cluster::zoo_jobs();
  if (!f.jobs.empty()) {
    Expected<std::vector<Job>> read = cluster::load_jobs(f.jobs);
    if (!read) return report_error(read.status());
    jobs = *read;
  }
  const std::vector<Cell> cells = cluster::build_matrix(*fleet, jobs);
  const TableFormat format = chosen_format(f.format, f.json, TableFormat::text);
  const bool human = format == TableFormat::text || format == TableFormat::markdown;
  Table table{matrix_columns(human), {}};
  for (const Cell& c : cells) table.rows.push_back(cell_row(c, job_named(jobs, c.job)));
  if (format == TableFormat::json) {
    print_json({{"fleet", fleet_json(*fleet)}, {"matrix", table_json(table)}});
    return 0;
  }
  print_table(table, format);
  if (!human) return 0;
  for (const Cell& c : cells)
    if (!c.fits) fmt::print("\n{} on {} x{}: {}", c.job, c.pool, c.count, c.why);
  fmt::print("\n");
  return 0;
}

void add_matrix(CLI::App& cluster, Runner& run) {
  auto f = std::make_shared<MatrixFlags>();
  CLI::App* cmd = cluster.add_subcommand(
      "matrix", "every job type on every pool of a fleet: throughput, latency, SLO rate, $/h, kW");
  cmd->add_option("--fleet", f->fleet, "fleet file (.toml; examples/fleets/)")->required();
  cmd->add_option("--jobs", f->jobs, "jobs file (.toml; default: the zoo's models, train and infer)");
  add_format_flags(*cmd, f->format, f->json, "text");
  cmd->callback([&run, f] { run = [f] { return run_matrix(*f); }; });
}


struct SimulateFlags {
  std::string fleet;
  std::string workload;
  std::string policies = "fifo";
  int64_t seed = -1;
  std::string format;
  bool json = false;
  std::string plot;
};

std::string seconds_cell(const Json& v) { return v.is_null() ? "-" : duration(v.get<double>()); }
std::string percent_cell(const Json& v) { return g4(v, "-", 100); }
std::string dollars_cell(const Json& v) {
  return v.is_null() ? "-" : fmt::format("{:.0f}", v.get<double>());
}

std::vector<std::string> families(const cluster::Fleet& fleet) {
  std::vector<std::string> out;
  for (const cluster::Pool& p : fleet.pools) {
    std::string f = to_string(p.system.kind);
    if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
  }
  return out;
}

// Text and markdown leave out the counts that CSV and JSON add at the end.
std::vector<Column> simulate_columns(const std::vector<std::string>& fams, bool human) {
  std::vector<Column> columns = {{"policy", "policy"},
                                 {"jobs_done", "jobs"},
                                 {"avg_jct_seconds", "avg JCT", seconds_cell},
                                 {"p99_jct_seconds", "p99 JCT", seconds_cell},
                                 {"makespan_seconds", "makespan", seconds_cell}};
  for (const std::string& f : fams)
    columns.push_back({"utilisation_" + f, f + " util %", percent_cell});
  for (Column c : std::vector<Column>{{"ttft_p50_seconds", "TTFT p50 ms", ms_cell},
                                      {"ttft_p99_seconds", "TTFT p99 ms", ms_cell},
                                      {"tpot_p50_seconds", "TPOT p50 ms", ms_cell},
                                      {"tpot_p99_seconds", "TPOT p99 ms", ms_cell},
                                      {"goodput_per_second", "goodput req/s", g4_cell},
                                      {"dollars", "$", dollars_cell},
                                      {"energy_kwh", "kWh", g4_cell},
                                      {"preemptions", "preempt"}})
    columns.push_back(c);
  if (human) return columns;
  for (const char* key :
       {"jobs_rejected", "deadlines_missed", "requests", "requests_in_slo", "events"})
    columns.push_back({key, key});
  return columns;
}

Json summary_row(const cluster::Summary& s, const std::vector<std::string>& fams) {
  const bool jobs = s.jobs_done > 0;
  const bool reqs = s.requests > 0;
  auto when = [](bool ok, double v) { return ok ? Json(v) : Json(); };
  Json row = {{"policy", s.policy},
              {"jobs_done", s.jobs_done},
              {"avg_jct_seconds", when(jobs, s.avg_jct)},
              {"p99_jct_seconds", when(jobs, s.p99_jct)},
              {"makespan_seconds", when(jobs, s.makespan)}};
  for (const std::string& f : fams) row["utilisation_" + f] = s.utilisation.at(f);
  row["ttft_p50_seconds"] = when(reqs, s.ttft_p50);
  row["ttft_p99_seconds"] = when(reqs, s.ttft_p99);
  row["tpot_p50_seconds"] = when(reqs, s.tpot_p50);
  row["tpot_p99_seconds"] = when(reqs, s.tpot_p99);
  row["goodput_per_second"] = when(reqs, s.goodput);
  row["dollars"] = s.dollars;
  row["energy_kwh"] = s.energy_kwh;
  row["preemptions"] = s.preemptions;
  row["jobs_rejected"] = s.jobs_rejected;
  row["deadlines_missed"] = s.deadlines_missed;
  row["requests"] = s.requests;
  row["requests_in_slo"] = s.requests_in_slo;
  row["events"] = s.events;
  return row;
}

Json series_json(const cluster::Summary& s) {
  Json by_family = Json::object();
  for (const auto& [family, values] : s.series) by_family[family] = values;
  return {{"policy", s.policy}, {"start_seconds", s.series_start},
          {"bucket_seconds", s.series_width}, {"utilisation", by_family}};
}

Expected<std::vector<cluster::Policy>> parse_policies(const std::string& text) {
  std::vector<cluster::Policy> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string name = text.substr(start, comma == std::string::npos ? comma : comma - start);
    Expected<cluster::Policy> p = cluster::parse_policy(name);
    if (!p) return p.status().with_context("--policy");
    out.push_back(*p);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

int run_simulate(const SimulateFlags& f) {
  Expected<std::vector<cluster::Policy>> policies = parse_policies(f.policies);
  if (!policies) return report_usage_error(policies.status());
  if (!f.plot.empty())
    if (Status ok = check_output_path("--plot", f.plot, ".png"); !ok) return report_error(ok);
  Expected<cluster::Fleet> fleet = cluster::load_fleet(f.fleet);
  if (!fleet) return report_error(fleet.status());
  Expected<cluster::WorkloadSpec> spec = cluster::load_workload_spec(f.workload);
  if (!spec) return report_error(spec.status());
  const uint64_t seed = uint64_t(f.seed >= 0 ? f.seed : spec->seed);
  Expected<cluster::Scenario> scenario = cluster::load_scenario(*fleet, *spec, seed);
  if (!scenario) return report_error(scenario.status());
  const std::vector<std::string> fams = families(*fleet);
  const TableFormat format = chosen_format(f.format, f.json, TableFormat::text);
  const bool human = format == TableFormat::text || format == TableFormat::markdown;
  std::vector<cluster::Summary> summaries;
  Table table{simulate_columns(fams, human), {}};
  for (const cluster::Policy& p : *policies) {
    summaries.push_back(cluster::simulate(*scenario, p));
    table.rows.push_back(summary_row(summaries.back(), fams));
  }
  if (format == TableFormat::json) {
    Json series = Json::array();
    for (const cluster::Summary& s : summaries) series.push_back(series_json(s));
    print_json({{"fleet", fleet_json(*fleet)},
                {"workload", {{"name", spec->name}, {"seed", seed},
                              {"training_jobs", scenario->jobs.size()},
                              {"requests", scenario->requests.size()},
                              {"model", scenario->model.inference.model.name}}},
                {"runs", table_json(table)},
                {"utilisation_over_time", series}});
  } else {
    if (format == TableFormat::text)
      fmt::print("{} on {}: {} training jobs, {} requests{}, seed {}\n", spec->name,
                 fleet->name, scenario->jobs.size(), scenario->requests.size(),
                 scenario->requests.empty()
                     ? ""
                     : fmt::format(" ({})", scenario->model.inference.model.name),
                 seed);
    print_table(table, format);
  }
  if (f.plot.empty()) return 0;
  if (Status written = write_simulate_plot(f.plot, spec->name, summaries); !written)
    return report_error(written);
  fmt::print(stderr, "wafer: wrote plot {}\n", f.plot);
  return 0;
}

void add_simulate(CLI::App& cluster, Runner& run) {
  auto f = std::make_shared<SimulateFlags>();
  CLI::App* cmd = cluster.add_subcommand(
      "simulate", "a fleet over time under a workload, one row per policy");
  cmd->add_option("--fleet", f->fleet, "fleet file (.toml; examples/fleets/)")->required();
  cmd->add_option("--workload", f->workload, "workload file (.toml; examples/workloads/)")
      ->required();
  cmd->add_option("--policy", f->policies,
                  fmt::format("policies, comma-separated; TRAIN+ROUTE combines two ({})",
                              fmt::join(cluster::policy_names(), ", ")))
      ->capture_default_str();
  cmd->add_option("--seed", f->seed, "seed of the generated training jobs (default: the file's)")
      ->check(CLI::Range(int64_t(0), int64_t(9e15)));
  add_format_flags(*cmd, f->format, f->json, "text");
  cmd->add_option("--plot", f->plot, "draw the metrics and utilisation over time into this PNG");
  cmd->callback([&run, f] { run = [f] { return run_simulate(*f); }; });
}

}  // namespace

void add_cluster(CLI::App& app, Runner& run) {
  CLI::App* cmd = app.add_subcommand("cluster", "hybrid clusters of wafers, GPUs and LPUs");
  cmd->require_subcommand(1);
  add_matrix(*cmd, run);
  add_simulate(*cmd, run);
  add_cluster_serve(*cmd, run);
}

}  // namespace wafer::cli
