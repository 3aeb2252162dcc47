// `wafer cluster matrix`: the job-by-system matrix of a fleet (src/cluster/, docs/cluster.md).
//
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
#include "table.hpp"
#include "wafer/cluster/matrix.hpp"

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

}  // namespace

void add_cluster(CLI::App& app, Runner& run) {
  CLI::App* cmd = app.add_subcommand("cluster", "hybrid clusters of wafers, GPUs and LPUs");
  cmd->require_subcommand(1);
  add_matrix(*cmd, run);
}

}  // namespace wafer::cli
