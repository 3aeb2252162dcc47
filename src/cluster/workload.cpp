// Workload files, training arrivals and inference traces; the models are in workload.hpp.
//
// The TOML reader sets the top-level keys and each `[[serve]]` table through parameter tables
// (config_tables.hpp, as the fleet reader does), then checks what only the whole file shows:
// training arrivals come from a CSV or a generator, not both. The CSV readers split lines on
// commas and convert each field with from_chars, so an error reads
// "FILE:LINE:COL: column 'tokens': 'abc' is not a number". Azure timestamps
// ("2023-11-16 18:15:46.6805900") become seconds through the civil-date day count.
#include "wafer/cluster/workload.hpp"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <set>
#include <string_view>

#include <fmt/format.h>

#include "config_tables.hpp"
#include "wafer/support/text_file.hpp"

namespace wafer::cluster {

namespace {

// Gavel's duration mix: 10^x minutes, x uniform in [1.5, 3] with probability 0.8, else [3, 4].
constexpr double kShortJobShare = 0.8;

Status check_serve(const Serve& s, const ConfigTable& t, const Places& places,
                   std::set<std::string>& pools) {
  WAFER_TRY(require_keys(t, places, {"pool"}));
  if (!pools.insert(s.pool).second)
    return make_error("{}: a second [[serve]] of pool '{}' (one per pool)",
                      key_place(places, t, "pool"), s.pool);
  return Status::ok();
}

Status check_spec(const WorkloadSpec& w, const Places& places) {
  if (!w.train_csv.empty() && places.count("train_jobs"))
    return make_error("{}: key 'train_jobs': give either train_csv or train_jobs, not both",
                      places.at("train_jobs"));
  if (w.train_jobs > 0 && w.train_rate_per_hour <= 0)
    return make_error("{}: key 'train_jobs' needs key 'train_rate_per_hour' (Poisson arrivals)",
                      places.at("train_jobs"));
  return Status::ok();
}

// One CSV line split on commas, each field with its 1-based column.
struct Field {
  std::string_view text;
  int column = 0;
};

std::vector<Field> split_fields(std::string_view line) {
  std::vector<Field> out;
  size_t start = 0;
  while (true) {
    size_t comma = line.find(',', start);
    std::string_view f = line.substr(start, comma == std::string_view::npos ? line.npos
                                                                            : comma - start);
    out.push_back({f, int(start) + 1});
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return s;
}

template <typename Num>
Expected<Num> field_number(const Field& f, const std::string& place, const char* column) {
  std::string_view s = trimmed(f.text);
  Num v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty())
    return make_error("{}:{}: column '{}': '{}' is not a number", place, f.column, column, s);
  if (v < 0) return make_error("{}:{}: column '{}': {} is negative", place, f.column, column, v);
  return v;
}

int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// "YYYY-MM-DD HH:MM:SS[.fraction]" in seconds since 1970.
Expected<double> timestamp_seconds(const Field& f, const std::string& place) {
  std::string_view s = trimmed(f.text);
  int y = 0, mo = 0, d = 0, h = 0, mi = 0;
  double sec = 0;
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' ||
      s[16] != ':')
    return make_error("{}:{}: column 'TIMESTAMP': '{}' is not YYYY-MM-DD HH:MM:SS", place,
                      f.column, s);
  auto num = [&](size_t at, size_t len, auto& out) {
    auto r = std::from_chars(s.data() + at, s.data() + at + len, out);
    return r.ec == std::errc() && r.ptr == s.data() + at + len;
  };
  if (!num(0, 4, y) || !num(5, 2, mo) || !num(8, 2, d) || !num(11, 2, h) || !num(14, 2, mi) ||
      !num(17, s.size() - 17, sec))
    return make_error("{}:{}: column 'TIMESTAMP': '{}' is not YYYY-MM-DD HH:MM:SS", place,
                      f.column, s);
  return double(days_from_civil(y, mo, d)) * 86400 + h * 3600.0 + mi * 60.0 + sec;
}

// The data lines of a CSV with the given header; `visit(fields, place)` reads each.
template <typename Visit>
Status for_each_row(const std::string& text, const std::string& origin,
                    const std::vector<std::string>& header, size_t required, Visit visit) {
  std::string_view rest = text;
  int line_no = 0;
  bool seen_header = false;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = trimmed(rest.substr(0, nl));
    rest = nl == rest.npos ? std::string_view() : rest.substr(nl + 1);
    ++line_no;
    if (line.empty()) continue;
    const std::string place = fmt::format("{}:{}", origin, line_no);
    std::vector<Field> fields = split_fields(line);
    if (!seen_header) {
      seen_header = true;
      for (size_t i = 0; i < header.size() && i < fields.size(); ++i)
        if (trimmed(fields[i].text) != header[i])
          return make_error("{}:{}: header column {} is '{}', expected '{}' (header: {})", place,
                            fields[i].column, i + 1, trimmed(fields[i].text), header[i],
                            fmt::join(header, ","));
      if (fields.size() < required)
        return make_error("{}: the header has {} columns, expected {}", place, fields.size(),
                          fmt::join(header, ","));
      continue;
    }
    if (fields.size() < required || fields.size() > header.size())
      return make_error("{}: {} columns, expected {} to {} ({})", place, fields.size(), required,
                        header.size(), fmt::join(header, ","));
    WAFER_TRY(visit(fields, place));
  }
  if (!seen_header) return make_error("{}: empty file (expected a header: {})", origin,
                                      fmt::join(header, ","));
  return Status::ok();
}

Expected<int> type_named(const std::vector<Job>& types, const Field& f, const std::string& place) {
  std::string_view name = trimmed(f.text);
  std::vector<std::string> names;
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i].name == name) return int(i);
    names.push_back(types[i].name);
  }
  return make_error("{}:{}: column 'job': no training job type '{}' (types: {})", place, f.column,
                    name, fmt::join(names, ", "));
}

}  // namespace

const char* to_string(ServeRole r) {
  switch (r) {
    case ServeRole::both: return "both";
    case ServeRole::prefill: return "prefill";
    case ServeRole::decode: return "decode";
  }
  return "?";
}

const ParamTable<WorkloadSpec>& workload_params() {
  using W = WorkloadSpec;
  static const ParamTable<W> table = {
      {"name", &W::name, "", "the workload's name (default: the file's stem)"},
      {"jobs", &W::jobs, "", "jobs file of training job types (default: the zoo's models)"},
      {"train_csv", &W::train_csv, "",
       "training arrivals: arrival_seconds,job,tokens[,deadline_seconds]"},
      {"train_jobs", &W::train_jobs, "jobs", "generated training jobs (Gavel's model)", {0, 1e7}},
      {"train_rate_per_hour", &W::train_rate_per_hour, "1/h", "Poisson arrival rate", {0, 1e9}},
      {"deadline_factor", &W::deadline_factor, "",
       "generated deadline: arrival + factor x duration on the reference pool (0: none)", {0, 1e6}},
      {"trace", &W::trace, "", "inference trace, Azure LLM inference 2023 CSV format"},
      {"trace_requests", &W::trace_requests, "requests", "first N requests (0: all)", {0, 1e9}},
      {"trace_speedup", &W::trace_speedup, "", "arrival times divided by this", {1e-6, 1e6}},
      {"model", &W::model, "", "the inference model (zoo name or model file)"},
      {"slo_ttft_ms", &W::slo_ttft_ms, "ms", "time-to-first-token objective", {1e-3, 1e9}},
      {"slo_tpot_ms", &W::slo_tpot_ms, "ms", "time-per-output-token objective", {1e-3, 1e9}},
      {"checkpoint_seconds", &W::checkpoint_seconds, "s",
       "time a preempted job loses when it resumes (save + restore)", {0, 1e9}},
      {"round_seconds", &W::round_seconds, "s",
       "scheduling round of the preemptive policies (Gavel: 360)", {1, 1e9}},
      {"kv_link_gbps", &W::kv_link_gbps, "Gbit/s",
       "link between prefill and decode pools (KV-cache transfer)", {1e-3, 1e9}},
      {"seed", &W::seed, "", "default seed (--seed overrides)", {0, 9e15}},
  };
  return table;
}

const ParamTable<Serve>& serve_params() {
  using S = Serve;
  static const ParamTable<S> table = {
      {"pool", &S::pool, "", "the fleet's pool that serves"},
      {"replicas", &S::replicas, "groups", "groups serving inference (the rest train)", {1, 1e6}},
      {"role", choice(&S::role, {ServeRole::both, ServeRole::prefill, ServeRole::decode}), "",
       "both, or prefill / decode for disaggregated serving"},
  };
  return table;
}

Expected<WorkloadSpec> parse_workload_toml(const std::string& text, const std::string& origin,
                                           const std::string& dir) {
  Expected<ConfigDocument> doc = parse_toml_tables(text, origin);
  if (!doc) return doc.status();
  WorkloadSpec w;
  w.origin = origin;
  Places places;
  WAFER_TRY(apply_table(w, workload_params(), doc->top, places));
  if (w.name.empty()) w.name = std::filesystem::path(origin).stem().string();
  for (std::string* path : {&w.jobs, &w.train_csv, &w.trace})
    if (!path->empty()) *path = beside(dir, *path, false);
  w.model = beside(dir, w.model);
  std::set<std::string> pools;
  for (const ConfigTable& t : doc->tables) {
    if (t.array != "serve")
      return make_error("{}: unknown table [[{}]] (valid: [[serve]])", t.where, t.array);
    Serve s;
    Places serve_places;
    WAFER_TRY(apply_table(s, serve_params(), t.entries, serve_places));
    WAFER_TRY(check_serve(s, t, serve_places, pools));
    w.serve.push_back(s);
  }
  WAFER_TRY(check_spec(w, places));
  return w;
}

Expected<WorkloadSpec> load_workload_spec(const std::string& path) {
  Expected<std::string> text = read_text_file(path, "workload file");
  if (!text) return text.status();
  return parse_workload_toml(*text, path, std::filesystem::path(path).parent_path().string());
}

Expected<std::vector<Job>> training_types(const WorkloadSpec& spec) {
  std::vector<Job> all = zoo_jobs();
  if (!spec.jobs.empty()) {
    Expected<std::vector<Job>> read = load_jobs(spec.jobs);
    if (!read) return read.status().with_context(fmt::format("{}: key 'jobs'", spec.origin));
    all = *read;
  }
  std::vector<Job> out;
  for (const Job& j : all)
    if (j.kind == JobKind::train) out.push_back(j);
  if (out.empty()) return make_error("{}: key 'jobs': no training job types", spec.origin);
  return out;
}

Expected<Job> inference_job(const WorkloadSpec& spec) {
  Expected<estimate::Model> m = estimate::load_model(spec.model);
  if (!m) return m.status().with_context(fmt::format("{}: key 'model'", spec.origin));
  Job job;
  job.name = fmt::format("{} infer", m->name);
  job.kind = JobKind::infer;
  job.model = *m;
  job.slo_ttft_seconds = spec.slo_ttft_ms / 1e3;
  job.slo_tpot_seconds = spec.slo_tpot_ms / 1e3;
  return job;
}

uint64_t SplitMix::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double SplitMix::uniform() { return double(next() >> 11) * 0x1.0p-53; }

double SplitMix::exponential(double mean) { return -mean * std::log1p(-uniform()); }

std::vector<TrainArrival> generate_training(const WorkloadSpec& spec,
                                            const std::vector<int>& eligible, uint64_t seed) {
  std::vector<TrainArrival> jobs;
  if (eligible.empty() || spec.train_jobs <= 0) return jobs;
  SplitMix rng(seed);
  const double mean_gap = 3600 / spec.train_rate_per_hour;
  double t = 0;
  for (int64_t i = 0; i < spec.train_jobs; ++i) {
    TrainArrival a;
    a.id = i;
    t += rng.exponential(mean_gap);
    a.arrival_seconds = t;
    a.type = eligible[rng.next() % eligible.size()];
    const bool short_job = rng.uniform() < kShortJobShare;
    const double x = short_job ? 1.5 + 1.5 * rng.uniform() : 3 + rng.uniform();
    a.duration_seconds = 60 * std::pow(10.0, x);
    if (spec.deadline_factor > 0)
      a.deadline_seconds = a.arrival_seconds + spec.deadline_factor * a.duration_seconds;
    jobs.push_back(a);
  }
  return jobs;
}

Expected<std::vector<TrainArrival>> parse_training_csv(const std::string& text,
                                                       const std::string& origin,
                                                       const std::vector<Job>& types) {
  std::vector<TrainArrival> jobs;
  Status s = for_each_row(
      text, origin, {"arrival_seconds", "job", "tokens", "deadline_seconds"}, 3,
      [&](const std::vector<Field>& f, const std::string& place) -> Status {
        TrainArrival a;
        a.id = int64_t(jobs.size());
        Expected<double> arrival = field_number<double>(f[0], place, "arrival_seconds");
        if (!arrival) return arrival.status();
        Expected<int> type = type_named(types, f[1], place);
        if (!type) return type.status();
        Expected<double> tokens = field_number<double>(f[2], place, "tokens");
        if (!tokens) return tokens.status();
        if (*tokens <= 0)
          return make_error("{}:{}: column 'tokens': must be > 0", place, f[2].column);
        a.arrival_seconds = *arrival;
        a.type = *type;
        a.tokens = *tokens;
        if (f.size() > 3 && !trimmed(f[3].text).empty()) {
          Expected<double> deadline = field_number<double>(f[3], place, "deadline_seconds");
          if (!deadline) return deadline.status();
          a.deadline_seconds = *deadline;
        }
        if (!jobs.empty() && a.arrival_seconds < jobs.back().arrival_seconds)
          return make_error("{}:{}: column 'arrival_seconds': {} is before the previous row's {}",
                            place, f[0].column, a.arrival_seconds, jobs.back().arrival_seconds);
        jobs.push_back(a);
        return Status::ok();
      });
  if (!s) return s;
  return jobs;
}

Expected<std::vector<Request>> parse_trace_csv(const std::string& text, const std::string& origin,
                                               int64_t limit, double speedup) {
  std::vector<Request> requests;
  double first = 0;
  Status s = for_each_row(
      text, origin, {"TIMESTAMP", "ContextTokens", "GeneratedTokens"}, 3,
      [&](const std::vector<Field>& f, const std::string& place) -> Status {
        if (limit > 0 && int64_t(requests.size()) >= limit) return Status::ok();
        Expected<double> t = timestamp_seconds(f[0], place);
        if (!t) return t.status();
        Expected<int64_t> prompt = field_number<int64_t>(f[1], place, "ContextTokens");
        if (!prompt) return prompt.status();
        Expected<int64_t> output = field_number<int64_t>(f[2], place, "GeneratedTokens");
        if (!output) return output.status();
        if (requests.empty()) first = *t;
        if (*t < first)
          return make_error("{}:{}: column 'TIMESTAMP': before the first request", place,
                            f[0].column);
        Request r;
        r.id = int64_t(requests.size());
        r.arrival_seconds = (*t - first) / speedup;
        r.prompt = std::max<int64_t>(1, *prompt);
        r.output = std::max<int64_t>(1, *output);
        requests.push_back(r);
        return Status::ok();
      });
  if (!s) return s;
  return requests;
}

}  // namespace wafer::cluster
