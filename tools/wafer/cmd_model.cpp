// `wafer compile MODEL.onnx` and `wafer run MODEL.onnx`: the graph compiler's verbs.
//
// Both import the model (onnx/import.hpp: checker, shape inference, every unsupported op and
// dynamic dimension listed at once, constant folding). `compile` prints what the model is:
// opset, producer, inputs and outputs with shapes, parameters, the op histogram before and
// after folding, and with `--emit graph` the graph IR's text. `run` evaluates it: inputs from
// --input NAME=FILE (.npy, or an ONNX TensorProto .pb as libonnx-testdata stores them),
// float inputs not given are seeded random values in [-1, 1); every output is written as
// DIR/NAME.npy with --output-dir and, with --expect NAME=FILE, compared against the file
// (max absolute and normwise relative error, `verified` within --tolerance). The engine today
// is the reference interpreter (double precision, or rounded to --dtype after every node);
// lowering onto the kernels and the simulator is the compiler's next layer.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "wafer/graph/npy.hpp"
#include "wafer/kernels/kernels.hpp"
#include "wafer/onnx/import.hpp"
#include "wafer/support/json_text.hpp"
#include "wafer/support/numeric.hpp"
#include "wafer/support/suggest.hpp"

namespace wafer::cli {

namespace {

using Json = nlohmann::ordered_json;

struct ModelFlags {
  std::string model;
  std::vector<std::string> dims;  // NAME=N
  bool json = false;
};

struct CompileFlags {
  ModelFlags m;
  std::string emit;
};

struct RunFlags {
  ModelFlags m;
  std::vector<std::string> inputs, expects;  // NAME=FILE
  std::string output_dir;
  std::string dtype = "fp64";
  std::string engine = "reference";
  double tolerance = 1e-3;
  uint64_t seed = 1;
};

// "NAME=VALUE" split at the last '=' (names may contain '=' in no exported model, paths may).
Expected<std::pair<std::string, std::string>> key_value(const std::string& flag, const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    return make_error("{} '{}': expected NAME=VALUE", flag, text);
  return std::make_pair(text.substr(0, eq), text.substr(eq + 1));
}

Expected<onnx_import::ImportOptions> import_options(const ModelFlags& f) {
  onnx_import::ImportOptions o;
  for (const std::string& d : f.dims) {
    auto kv = key_value("--dim", d);
    if (!kv) return kv.status();
    try {
      size_t used = 0;
      const long long n = std::stoll(kv->second, &used);
      if (used != kv->second.size() || n < 1) throw std::invalid_argument("size");
      o.dims[kv->first] = n;
    } catch (const std::exception&) {
      return make_error("--dim '{}': the size '{}' is not a positive integer", d, kv->second);
    }
  }
  return o;
}

void add_model_flags(CLI::App* c, ModelFlags& f) {
  c->add_option("model", f.model, "the ONNX model (.onnx), as torch.onnx.export writes it")->required();
  c->add_option("--dim", f.dims,
                "a size for a symbolic dimension, by its name or as INPUT:AXIS (batch=1, x:0=1); repeatable");
  c->add_flag("--json", f.json, "print one JSON object");
}

// Imports the model; a bad --dim is a usage error (exit 2), a model that does not import a
// failed run (exit 1).
std::optional<graph::Graph> load(const ModelFlags& f, onnx_import::ImportReport& report, int& exit_code) {
  auto options = import_options(f);
  if (!options) {
    exit_code = report_usage_error(options.status());
    return std::nullopt;
  }
  auto g = onnx_import::import_model(f.model, *options, &report);
  if (!g) {
    exit_code = report_error(g.status());
    return std::nullopt;
  }
  return std::move(*g);
}

std::map<std::string, int> op_histogram(const graph::Graph& g) {
  std::map<std::string, int> ops;
  for (const graph::Node& n : g.nodes) ++ops[n.op];
  return ops;
}

Json value_json(const graph::Value& v) {
  return {{"name", v.name}, {"type", std::string(graph::elem_name(v.type))}, {"shape", v.shape}};
}

Json model_json(const graph::Graph& g, const onnx_import::ImportReport& r, const std::string& path) {
  int64_t parameters = 0;
  for (const graph::Value& v : g.values)
    if (v.constant && graph::elem_is_float(v.type)) parameters += graph::element_count(v.shape);
  Json inputs = Json::array(), outputs = Json::array();
  for (int id : g.inputs) inputs.push_back(value_json(g.values[size_t(id)]));
  for (int id : g.outputs) outputs.push_back(value_json(g.values[size_t(id)]));
  return {{"model", path},         {"opset", r.opset},       {"producer", r.producer},
          {"onnx_nodes", r.onnx_nodes}, {"constant_nodes", r.constant_nodes}, {"folded", r.folded},
          {"nodes", g.nodes.size()},
          {"parameters", parameters}, {"inputs", inputs},     {"outputs", outputs},
          {"ops", op_histogram(g)}};
}

void print_model(const Json& j) {
  fmt::print("model {} (opset {}, {})\n", j["model"].get<std::string>(), j["opset"].get<int>(),
             j["producer"].get<std::string>());
  for (const char* side : {"inputs", "outputs"})
    for (const Json& v : j[side])
      fmt::print("  {:7} {} {}{}\n", std::string(side).substr(0, std::string(side).size() - 1),
                 v["name"].get<std::string>(), v["type"].get<std::string>(),
                 graph::shape_text(v["shape"].get<graph::Shape>()));
  fmt::print("  parameters {}\n  nodes {} ({} in the file: {} Constant nodes became values, {} folded)\n",
             j["parameters"].get<int64_t>(), j["nodes"].get<size_t>(), j["onnx_nodes"].get<int>(),
             j["constant_nodes"].get<int>(), j["folded"].get<int>());
  fmt::print("ops:\n");
  for (const auto& [op, count] : j["ops"].items()) fmt::print("  {:24} {}\n", op, count.get<int>());
}

int run_compile(const CompileFlags& f) {
  if (!f.emit.empty() && f.emit != "graph")
    return report_usage_error(fmt::format("--emit '{}': only 'graph' is built yet{}", f.emit, suggestion(f.emit, {"graph"})));
  onnx_import::ImportReport report;
  int exit_code = 0;
  auto g = load(f.m, report, exit_code);
  if (!g) return exit_code;
  if (f.emit == "graph") {
    fmt::print("{}", graph::print(*g));
    return 0;
  }
  const Json j = model_json(*g, report, f.m.model);
  if (f.m.json)
    fmt::print("{}\n", json_text(j, 2));
  else
    print_model(j);
  return 0;
}

Expected<graph::Tensor> read_tensor_file(const std::string& path) {
  if (path.size() >= 3 && path.compare(path.size() - 3, 3, ".pb") == 0) return onnx_import::read_tensor_pb(path);
  return graph::read_npy(path);
}

// The inputs by name: from files, or seeded random values for float inputs not given.
Expected<std::map<std::string, graph::Tensor>> run_inputs(const graph::Graph& g, const RunFlags& f) {
  std::map<std::string, graph::Tensor> in;
  std::vector<std::string_view> names;
  for (int id : g.inputs) names.push_back(g.values[size_t(id)].name);
  for (const std::string& spec : f.inputs) {
    auto kv = key_value("--input", spec);
    if (!kv) return kv.status();
    if (g.find_value(kv->first) < 0 || g.values[size_t(g.find_value(kv->first))].constant)
      return make_error("--input '{}': the model has no input '{}'{}", spec, kv->first, suggestion(kv->first, names));
    auto t = read_tensor_file(kv->second);
    if (!t) return t.status();
    in[kv->first] = std::move(*t);
  }
  uint64_t stream = 0;
  for (int id : g.inputs) {
    const graph::Value& v = g.values[size_t(id)];
    ++stream;
    if (in.count(v.name)) continue;
    if (!graph::elem_is_float(v.type))
      return make_error("input '{}' is {} {}: give it with --input {}=FILE.npy (only float inputs get random values)",
                        v.name, graph::elem_name(v.type), graph::shape_text(v.shape), v.name);
    graph::Tensor t{v.type, v.shape, {}};
    const int64_t n = graph::element_count(v.shape);
    t.values.reserve(size_t(n));
    for (int64_t i = 0; i < n; ++i) t.values.push_back(kernels::random_value(f.seed ^ (stream << 40), uint64_t(i)));
    in[v.name] = std::move(t);
  }
  return in;
}

struct Comparison {
  double max_abs = 0, max_rel = 0;
  bool verified = false;
};

Expected<Comparison> compare(const graph::Tensor& got, const graph::Tensor& want, const std::string& name,
                             double tolerance) {
  if (got.shape != want.shape)
    return make_error("--expect '{}': the file's shape is {}, the output's {}", name, graph::shape_text(want.shape),
                      graph::shape_text(got.shape));
  Comparison c;
  double ref_max = 0;
  for (size_t i = 0; i < got.values.size(); ++i) {
    c.max_abs = std::max(c.max_abs, std::abs(got.values[i] - want.values[i]));
    ref_max = std::max(ref_max, std::abs(want.values[i]));
  }
  c.max_rel = ref_max > 0 ? c.max_abs / ref_max : c.max_abs;
  c.verified = c.max_rel <= tolerance;
  return c;
}

int run_run(const RunFlags& f) {
  if (f.engine != "reference")
    return report_usage_error(fmt::format(
        "--engine '{}': only the reference interpreter is built yet (lowering onto the simulated wafer is "
        "the compiler's next layer){}", f.engine, suggestion(f.engine, {"reference"})));
  graph::EvalOptions eval;
  if (f.dtype != "fp64") {
    const std::optional<DType> t = parse_dtype(f.dtype);
    if (!t || !dtype_is_float(*t))
      return report_usage_error(fmt::format("--dtype '{}': expected fp64, fp32, fp16 or bf16{}", f.dtype,
                                            suggestion(f.dtype, {"fp64", "fp32", "fp16", "bf16"})));
    eval.round_to = *t;
  }
  std::map<std::string, std::string> expects;
  for (const std::string& e : f.expects) {
    auto kv = key_value("--expect", e);
    if (!kv) return report_usage_error(kv.status());
    expects[kv->first] = kv->second;
  }
  if (!f.output_dir.empty() && !std::filesystem::is_directory(f.output_dir))
    return report_usage_error(fmt::format("--output-dir '{}': not a directory", f.output_dir));
  onnx_import::ImportReport report;
  int exit_code = 0;
  auto g = load(f.m, report, exit_code);
  if (!g) return exit_code;
  auto in = run_inputs(*g, f);
  if (!in) return report_usage_error(in.status());
  auto out = graph::evaluate(*g, *in, eval);
  if (!out) return report_error(out.status());
  Json outputs = Json::object();
  bool all_verified = true;
  for (const auto& [name, t] : *out) {
    Json o = {{"shape", t.shape}};
    if (!f.output_dir.empty()) {
      const std::string path = (std::filesystem::path(f.output_dir) / (name + ".npy")).string();
      if (Status s = graph::write_npy(path, t); !s) return report_error(s);
      o["file"] = path;
    }
    if (auto e = expects.find(name); e != expects.end()) {
      auto want = read_tensor_file(e->second);
      if (!want) return report_error(want.status());
      auto c = compare(t, *want, name, f.tolerance);
      if (!c) return report_error(c.status());
      o["max_abs_error"] = c->max_abs;
      o["max_rel_error"] = c->max_rel;
      o["verified"] = c->verified;
      all_verified = all_verified && c->verified;
    }
    outputs[name] = o;
  }
  for (const auto& [name, file] : expects)
    if (!out->count(name)) return report_usage_error(fmt::format("--expect '{}': the model has no output '{}'", name, name));
  const Json j = {{"model", f.m.model}, {"engine", f.engine}, {"dtype", f.dtype}, {"outputs", outputs},
                  {"verified", expects.empty() ? Json() : Json(all_verified)}};
  if (f.m.json) {
    fmt::print("{}\n", json_text(j, 2));
  } else {
    fmt::print("model {} on the {} interpreter ({})\n", f.m.model, f.engine, f.dtype);
    for (const auto& [name, o] : outputs.items()) {
      fmt::print("  output {} {}", name, graph::shape_text(o["shape"].get<graph::Shape>()));
      if (o.contains("verified"))
        fmt::print(": max abs error {:.3g}, max rel error {:.3g}, verified: {}", o["max_abs_error"].get<double>(),
                   o["max_rel_error"].get<double>(), o["verified"].get<bool>());
      if (o.contains("file")) fmt::print(" -> {}", o["file"].get<std::string>());
      fmt::print("\n");
    }
  }
  return all_verified ? 0 : 1;
}

}  // namespace

void add_compile(CLI::App& app, Runner& run) {
  auto flags = std::make_shared<CompileFlags>();
  CLI::App* c = app.add_subcommand("compile", "import an ONNX model and report what it is (the graph compiler)");
  add_model_flags(c, flags->m);
  c->add_option("--emit", flags->emit, "print an intermediate form instead of the report: graph (the graph IR)");
  c->callback([&run, flags] { run = [flags] { return run_compile(*flags); }; });
}

void add_run(CLI::App& app, Runner& run) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* c = app.add_subcommand("run", "run an ONNX model and check its outputs");
  add_model_flags(c, flags->m);
  c->add_option("--engine", flags->engine, "what evaluates the model: reference (the graph IR's interpreter)")
      ->capture_default_str();
  c->add_option("--input", flags->inputs, "an input from a file: NAME=FILE.npy or NAME=FILE.pb; repeatable");
  c->add_option("--expect", flags->expects, "an expected output to compare with: NAME=FILE.npy or .pb; repeatable");
  c->add_option("--output-dir", flags->output_dir, "write every output as DIR/NAME.npy");
  c->add_option("--dtype", flags->dtype, "arithmetic: fp64, or fp32, fp16, bf16 (each node's outputs rounded)")
      ->capture_default_str();
  c->add_option("--tolerance", flags->tolerance, "the largest normwise relative error --expect accepts")
      ->capture_default_str();
  c->add_option("--seed", flags->seed, "seed of the random inputs")->capture_default_str();
  c->callback([&run, flags] { run = [flags] { return run_run(*flags); }; });
}

}  // namespace wafer::cli
