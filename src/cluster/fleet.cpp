// Fleet and jobs files: TOML arrays of tables set through parameter tables.
//
// Both readers go the same way: parse_toml_tables() splits the document into top-level keys
// and `[[pool]]`/`[[job]]` tables; each table's keys are set on a spec struct by its
// parameter table (apply_entry: type checks, unknown keys with the valid ones) and range-
// checked where they are written (check_number), so an error reads
// "FILE:LINE:COL: key 'count': value 0 out of range (must be in 1..1000000)". Then the spec
// is resolved: the system or model named (the estimator's zoo, or a file read relative to the
// fleet or jobs file), the defaults filled (a pool's group from the system's scale-up size,
// a job's name and SLO) and the cross-key rules checked (group divides count, inference keys
// only on inference jobs, names unique).
#include "wafer/cluster/fleet.hpp"

#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "config_tables.hpp"
#include "wafer/support/flat_config.hpp"
#include "wafer/support/text_file.hpp"

namespace wafer::cluster {

namespace {

using estimate::Precision;

constexpr double kMaxDevices = 1'000'000;

// The table arrays a file may hold: any other is an error at its header.
Status check_arrays(const ConfigDocument& doc, const std::string& origin, const char* valid) {
  for (const ConfigTable& t : doc.tables)
    if (t.array != valid)
      return make_error("{}: unknown table [[{}]] (valid: [[{}]])", t.where, t.array, valid);
  if (doc.tables.empty())
    return make_error("{}: no [[{}]] tables: give at least one", origin, valid);
  return Status::ok();
}

Expected<Pool> resolve_pool(const PoolSpec& spec, const ConfigTable& t, const Places& places,
                            const std::string& dir) {
  Expected<estimate::System> s = estimate::load_system(beside(dir, spec.system));
  if (!s) return s.status().with_context(key_place(places, t, "system"));
  Pool pool{spec.name.empty() ? s->name : spec.name, *s, spec.count, spec.group};
  if (pool.group == 0) pool.group = std::min(s->scale_up_size, spec.count);
  if (pool.count > s->max_count)
    return make_error("{}: {} devices of {} exceed its largest cluster, {}",
                      key_place(places, t, "count"), pool.count, s->name, s->max_count);
  const std::string defaulted =
      spec.group == 0 ? fmt::format(" (the default: {}'s scale-up size)", s->name) : "";
  if (pool.count % pool.group != 0)
    return make_error("{}: groups of {}{} do not divide the pool's {} devices",
                      key_place(places, t, "group"), pool.group, defaulted, pool.count);
  return pool;
}

Status unique_name(std::set<std::string>& names, const std::string& name, const std::string& where,
                   const char* what) {
  if (!names.insert(name).second)
    return make_error("{}: a second {} named '{}' (names must be unique; set key 'name')", where,
                      what, name);
  return Status::ok();
}

Expected<ConfigDocument> read_document(const std::string& text, const std::string& origin,
                                       const char* array) {
  Expected<ConfigDocument> doc = parse_toml_tables(text, origin);
  if (!doc) return doc;
  WAFER_TRY(check_arrays(*doc, origin, array));
  return doc;
}

// The jobs file's top-level keys: the default SLO.
struct JobDefaults {
  double slo_ttft_ms = kDefaultSloTtftMs;
  double slo_tpot_ms = kDefaultSloTpotMs;
};

const ParamTable<JobDefaults>& job_default_params() {
  using D = JobDefaults;
  static const ParamTable<D> table = {
      {"slo_ttft_ms", &D::slo_ttft_ms, "ms", "default time-to-first-token objective", {1e-3, 1e9}},
      {"slo_tpot_ms", &D::slo_tpot_ms, "ms", "default time-per-output-token objective",
       {1e-3, 1e9}},
  };
  return table;
}

bool is_inference_key(const std::string& key) {
  static const std::set<std::string> kKeys = {"prompt", "output", "batch", "slo_ttft_ms",
                                              "slo_tpot_ms"};
  return kKeys.count(key) > 0;
}

// Inference keys on a training job, or tokens on an inference job.
Status check_kind_keys(const JobSpec& spec, const Places& places) {
  for (const auto& [key, where] : places) {
    if (spec.kind == JobKind::train && is_inference_key(key))
      return make_error("{}: key '{}' is for inference jobs (kind = \"infer\")", where, key);
    if (spec.kind == JobKind::infer && key == "tokens")
      return make_error("{}: key 'tokens' is for training jobs (kind = \"train\")", where);
  }
  return Status::ok();
}

Expected<Job> resolve_job(const JobSpec& spec, const JobDefaults& defaults, const ConfigTable& t,
                          const Places& places, const std::string& dir) {
  WAFER_TRY(check_kind_keys(spec, places));
  Expected<estimate::Model> m = estimate::load_model(beside(dir, spec.model));
  if (!m) return m.status().with_context(key_place(places, t, "model"));
  Job job;
  job.name = spec.name.empty() ? fmt::format("{} {}", m->name, to_string(spec.kind)) : spec.name;
  job.kind = spec.kind;
  job.model = *m;
  job.precision = spec.precision;
  if (spec.tokens > 0) job.tokens = spec.tokens;
  job.prompt = spec.prompt;
  job.output = spec.output;
  job.batch = spec.batch;
  job.slo_ttft_seconds = (spec.slo_ttft_ms > 0 ? spec.slo_ttft_ms : defaults.slo_ttft_ms) / 1e3;
  job.slo_tpot_seconds = (spec.slo_tpot_ms > 0 ? spec.slo_tpot_ms : defaults.slo_tpot_ms) / 1e3;
  return job;
}

}  // namespace

const char* to_string(JobKind k) { return k == JobKind::train ? "train" : "infer"; }

const ParamTable<PoolSpec>& pool_params() {
  using P = PoolSpec;
  static const ParamTable<P> table = {
      {"name", &P::name, "", "the pool's name in the matrix (default: the system's)"},
      {"system", &P::system, "", "estimator system: a zoo name (wafer estimate systems) or file"},
      {"count", &P::count, "devices", "devices in the pool (GPUs, wafer systems, LPU chips)",
       {1, kMaxDevices}},
      {"group", &P::group, "devices",
       "devices per group, the unit a job is placed on (NVLink domain, SwarmX tree, LPU rack); "
       "must divide count (default: the system's scale-up size)",
       {1, kMaxDevices}},
  };
  return table;
}

const ParamTable<JobSpec>& job_params() {
  using J = JobSpec;
  static const ParamTable<J> table = {
      {"name", &J::name, "", "the job type's name (default: '<model> <kind>')"},
      {"kind", choice(&J::kind, {JobKind::train, JobKind::infer}), "", "training or inference"},
      {"model", &J::model, "", "estimator model: a zoo name (wafer estimate models) or file"},
      {"precision", choice(&J::precision, {Precision::bf16, Precision::fp16, Precision::fp8}), "",
       "weights and activations (default bf16)"},
      {"tokens", &J::tokens, "tokens", "training tokens, for the time to train", {1, 1e16}},
      {"prompt", &J::prompt, "tokens", "prompt tokens per sequence (default 2048)",
       {1, 10'000'000}},
      {"output", &J::output, "tokens", "generated tokens per sequence (default 256)",
       {1, 10'000'000}},
      {"batch", &J::batch, "sequences", "the largest batch of concurrent sequences (default 1)",
       {1, 1'000'000}},
      {"slo_ttft_ms", &J::slo_ttft_ms, "ms", "time-to-first-token objective (default: the file's)",
       {1e-3, 1e9}},
      {"slo_tpot_ms", &J::slo_tpot_ms, "ms",
       "time-per-output-token objective (default: the file's)",
       {1e-3, 1e9}},
  };
  return table;
}

Expected<Fleet> parse_fleet_toml(const std::string& text, const std::string& origin,
                                 const std::string& dir) {
  Expected<ConfigDocument> doc = read_document(text, origin, "pool");
  if (!doc) return doc.status();
  Fleet fleet;
  for (const ConfigEntry& e : doc->top) {
    if (e.key != "name") return unknown_key(e, {"name", "[[pool]]"});
    if (e.type != ConfigEntry::Type::string)
      return wrong_type(e, "a string").with_context(e.where + ": key 'name'");
    fleet.name = e.text;
  }
  if (fleet.name.empty()) fleet.name = std::filesystem::path(origin).stem().string();
  std::set<std::string> names;
  for (const ConfigTable& t : doc->tables) {
    PoolSpec spec;
    Places places;
    WAFER_TRY(apply_table(spec, pool_params(), t.entries, places));
    WAFER_TRY(require_keys(t, places, {"system", "count"}));
    Expected<Pool> pool = resolve_pool(spec, t, places, dir);
    if (!pool) return pool.status();
    WAFER_TRY(unique_name(names, pool->name, t.where, "pool"));
    fleet.pools.push_back(*pool);
  }
  return fleet;
}

Expected<Fleet> load_fleet(const std::string& path) {
  Expected<std::string> text = read_text_file(path, "fleet file");
  if (!text) return text.status();
  return parse_fleet_toml(*text, path, std::filesystem::path(path).parent_path().string());
}

Expected<std::vector<Job>> parse_jobs_toml(const std::string& text, const std::string& origin,
                                           const std::string& dir) {
  Expected<ConfigDocument> doc = read_document(text, origin, "job");
  if (!doc) return doc.status();
  JobDefaults defaults;
  Places top_places;
  WAFER_TRY(apply_table(defaults, job_default_params(), doc->top, top_places));
  std::vector<Job> jobs;
  std::set<std::string> names;
  for (const ConfigTable& t : doc->tables) {
    JobSpec spec;
    Places places;
    WAFER_TRY(apply_table(spec, job_params(), t.entries, places));
    WAFER_TRY(require_keys(t, places, {"kind", "model"}));
    Expected<Job> job = resolve_job(spec, defaults, t, places, dir);
    if (!job) return job.status();
    WAFER_TRY(unique_name(names, job->name, t.where, "job"));
    jobs.push_back(*job);
  }
  return jobs;
}

Expected<std::vector<Job>> load_jobs(const std::string& path) {
  Expected<std::string> text = read_text_file(path, "jobs file");
  if (!text) return text.status();
  return parse_jobs_toml(*text, path, std::filesystem::path(path).parent_path().string());
}

std::vector<Job> zoo_jobs() {
  std::vector<Job> jobs;
  for (const estimate::Model& m : estimate::model_zoo())
    for (JobKind kind : {JobKind::train, JobKind::infer}) {
      Job job;
      job.name = fmt::format("{} {}", m.name, to_string(kind));
      job.kind = kind;
      job.model = m;
      job.slo_ttft_seconds = kDefaultSloTtftMs / 1e3;
      job.slo_tpot_seconds = kDefaultSloTpotMs / 1e3;
      jobs.push_back(job);
    }
  return jobs;
}

}  // namespace wafer::cluster
