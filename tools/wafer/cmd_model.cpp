// `wafer compile MODEL.onnx` and `wafer run MODEL.onnx`: the graph compiler's verbs.
//
// Both import the model (onnx/import.hpp: checker, shape inference, every unsupported op and
// dynamic dimension listed at once, constant folding). `compile` prints what the model is:
// opset, producer, inputs and outputs with shapes, parameters, the op histogram before and
// after folding, and with `--emit graph` the graph IR's text. `run` evaluates it: inputs from
// --input NAME=FILE (.npy, or an ONNX TensorProto .pb as libonnx-testdata stores them),
// float inputs not given are seeded random values in [-1, 1); every output is written as
// DIR/NAME.npy with --output-dir and, with --expect NAME=FILE, compared against the file
// (max absolute and normwise relative error, `verified` within --tolerance).
//
// Past the import, `compile` lowers and places the graph (compiler/compiler.hpp) and prints
// the plan: per layer the kernel, its PEs, SRAM, colors, weights and estimated cycles, and the
// totals; `--emit plan` prints only that, `--emit program` each layer's program text. `run`
// with the default engine, `wafer`, runs the plan on the simulator and compares every output
// with the reference interpreter (rounded to --dtype after every node) and with --expect;
// `--engine reference` runs the interpreter alone (double precision by default).
//
// Both take --placement FILE.png (model_placement.hpp: the grid on the fabric and each
// layer's rectangle) and --defects MAP | --defect-density D (defect_flags.hpp): `compile`
// reports the repaired wafer and the links of the plan's grid it lengthens; `run` runs the
// model on it and again on a perfect wafer, and the outputs must be identical (cycles may
// differ). `run` also takes the simulator's run flags (run_flags.hpp: --threads,
// --max-cycles, --stats, --trace, --heatmap, ...), observed over all layers as one run
// (model_observe.hpp: one trace time line, per-PE counters added up over the layers).
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "compile_report.hpp"
#include "defect_flags.hpp"
#include "model_observe.hpp"
#include "model_placement.hpp"
#include "output_path.hpp"
#include "run_flags.hpp"
#include "table.hpp"
#include "wafer/compiler/compiler.hpp"
#include "wafer/graph/npy.hpp"
#include "wafer/graph/passes.hpp"
#include "wafer/ir/text.hpp"
#include "wafer/kernels/kernels.hpp"
#include "wafer/onnx/import.hpp"
#include "wafer/support/numeric.hpp"
#include "wafer/support/suggest.hpp"

namespace wafer::cli {

namespace {

using Json = nlohmann::ordered_json;

struct ModelFlags {
  std::string model;
  std::vector<std::string> dims;  // NAME=N
};

// Where and how the model is compiled (compile and run).
struct TargetFlags {
  std::string arch = "wse3";
  std::string grid;  // WxH or full; empty: the smallest grid that fits
  std::string mode = compiler::mode_name(compiler::CompileOptions{}.mode);
  std::string placement;  // --placement FILE.png
  DefectFlags defects;
  uint64_t seed = 1;  // of the defect map drawn from --defect-density (and of `run`'s inputs)
};

struct CompileFlags {
  ModelFlags m;
  TargetFlags target;
  std::string dtype = "fp32";
  std::string emit;
  std::string print_after;  // a pass name
  bool json = false;
};

struct ModelRunFlags {
  ModelFlags m;
  TargetFlags target;
  std::vector<std::string> inputs, expects;  // NAME=FILE
  std::string output_dir;
  std::string dtype;  // empty: fp32 on the wafer, fp64 on the reference interpreter
  std::string engine = "wafer";
  std::optional<double> tolerance;
  RunFlags run;
};

// The normwise relative error a dtype's results are accepted within, when --tolerance is not
// given: summed rounding errors of a few ULPs over a layer chain.
double default_tolerance(const std::string& dtype) {
  if (dtype == "fp16") return 1e-2;
  if (dtype == "bf16") return 5e-2;
  return 1e-3;
}

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

Json fusion_json(const graph::PassReport& r) {
  Json j = Json::object();
  for (const graph::PassCount& c : r.passes) j[c.pass] = c.rewrites;
  return j;
}

void print_fusion(const Json& fusion) {
  std::vector<std::string> parts;
  for (const auto& [pass, count] : fusion.items()) parts.push_back(fmt::format("{} {}", pass, count.get<int>()));
  fmt::print("fusion: {}\n", fmt::join(parts, ", "));
}

// The arch, grid and dtype of a compile; errors are usage errors (they name the flag).
struct Target {
  arch::Arch arch;
  compiler::CompileOptions options;
};

// --mode's values, by compiler::mode_name.
constexpr compiler::Mode kModes[] = {compiler::Mode::automatic, compiler::Mode::streaming,
                                      compiler::Mode::pipelined};

std::vector<std::string> mode_names() {
  std::vector<std::string> names;
  for (compiler::Mode m : kModes) names.push_back(compiler::mode_name(m));
  return names;
}

Expected<Target> parse_target(const TargetFlags& f, const std::string& dtype) {
  auto a = arch::load_arch(f.arch);
  if (!a) return a.status().with_context("--arch");
  Target t{*a, {}};
  if (!f.grid.empty()) {
    auto g = parse_grid(f.grid, *a);
    if (!g) return g.status().with_context("--grid");
    t.options.grid_w = g->first;
    t.options.grid_h = g->second;
  }
  const std::optional<DType> d = parse_dtype(dtype);
  if (!d || !dtype_is_float(*d))
    return make_error("--dtype '{}': the wafer computes in fp32, fp16 or bf16{}", dtype,
                      suggestion(dtype, {"fp32", "fp16", "bf16"}));
  t.options.dtype = *d;
  for (compiler::Mode m : kModes)
    if (f.mode == compiler::mode_name(m)) t.options.mode = m;
  WAFER_TRY(check_output_path("--placement", f.placement, ".png"));
  check_defect_flags(f.defects);
  return t;
}

// The placement picture (--placement), when asked for.
Status write_placement(const TargetFlags& f, const compiler::Plan& plan, const std::string& model) {
  if (f.placement.empty()) return Status::ok();
  const Image img = render_placement(plan, model);
  WAFER_TRY(write_png(f.placement, img));
  fmt::print(stderr, "wafer: wrote placement {} ({}x{} px)\n", f.placement, img.width(), img.height());
  return Status::ok();
}

// The repaired wafer (--defects, --defect-density) under the plan's PEs (every layer's
// rectangle, from PE (0, 0)); nullopt without them.
Expected<std::optional<RepairedWafer>> plan_wafer(const TargetFlags& f, const compiler::Plan& plan) {
  if (!f.defects.requested()) return std::optional<RepairedWafer>();
  const ir::Rect used = plan_extent(plan);
  auto w = repaired_wafer(f.defects, plan.arch, f.seed, used.w, used.h);
  if (!w) return w.status();
  return std::optional<RepairedWafer>(std::move(*w));
}

void add_target_flags(CLI::App* c, TargetFlags& f) {
  c->add_option("--arch", f.arch, "preset name (wse2, wse3) or arch file (.toml, .json)")->capture_default_str();
  c->add_option("--grid", f.grid, "PEs the model runs on, WxH or full (default: the smallest grid that fits)")
      ->check(grid_validator());
  c->add_option("--mode", f.mode,
                "placement: streaming (one layer at a time on the grid, weights streamed in), pipelined (each layer "
                "on a rectangle of its own, weights resident) or auto (pipelined when it fits)")
      ->check(choice_validator(mode_names()))
      ->capture_default_str();
  c->add_option("--placement", f.placement,
                "draw where the model sits on the fabric (the grid, each layer's PEs) as a PNG in FILE")
      ->option_text("FILE");
  add_defect_flags(*c, f.defects);
  c->add_option("--seed", f.seed, "seed of the random inputs (run) and of the defects drawn by --defect-density")
      ->capture_default_str();
}

int run_compile(const CompileFlags& f) {
  const std::vector<std::string_view> forms = {"graph", "plan", "program"};
  if (!f.emit.empty() && std::find(forms.begin(), forms.end(), f.emit) == forms.end())
    return report_usage_error(
        fmt::format("--emit '{}': expected graph, plan or program{}", f.emit, suggestion(f.emit, forms)));
  auto target = parse_target(f.target, f.dtype);
  if (!target) return report_usage_error(target.status());
  onnx_import::ImportReport report;
  int exit_code = 0;
  auto g = load(f.m, report, exit_code);
  if (!g) return exit_code;
  const auto start = std::chrono::steady_clock::now();
  std::string printed;
  auto fused = graph::run_passes(*g, f.print_after, &printed);
  if (!fused) return report_error(fused.status());
  if (!f.print_after.empty()) {
    fmt::print("{}", printed);
    return 0;
  }
  if (f.emit == "graph") {
    fmt::print("{}", graph::print(*g));
    return 0;
  }
  auto plan = compiler::compile(*g, target->arch, target->options);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Json j = model_json(*g, report, f.m.model);
  j["fusion"] = fusion_json(*fused);
  if (!plan) {
    if (!f.json && f.emit.empty()) print_model(j);
    return report_error(plan.status());
  }
  if (f.emit == "program") {
    for (size_t i = 0; i < plan->layers.size(); ++i)
      fmt::print("# layer {}: {} ({}, {})\n{}", i, plan->layers[i].name, plan->layers[i].op, plan->layers[i].kernel,
                 ir::print_program(plan->layers[i].program));
    return 0;
  }
  Json p = plan_json(*g, *plan, f.dtype);
  p["compile_wall_seconds"] = wall;
  if (Status st = write_placement(f.target, *plan, f.m.model); !st) return report_error(st);
  auto wafer = plan_wafer(f.target, *plan);
  if (!wafer) return report_error(wafer.status());
  if (*wafer) p["defects"] = defects_json(**wafer, nullptr);
  if (f.json) {
    j["plan"] = p;
    print_json(f.emit == "plan" ? p : j);
    return 0;
  }
  if (!f.emit.empty()) {
    print_plan(p);
    return 0;
  }
  print_model(j);
  print_fusion(j["fusion"]);
  print_plan(p);
  if (*wafer) fmt::print("defects: {}\n", describe_defects(f.target.defects, **wafer));
  fmt::print("compile: {:.3f} s wall\n", wall);
  return 0;
}

Expected<graph::Tensor> read_tensor_file(const std::string& path) {
  if (path.size() >= 3 && path.compare(path.size() - 3, 3, ".pb") == 0) return onnx_import::read_tensor_pb(path);
  return graph::read_npy(path);
}

// The inputs by name: from files, or seeded random values for float inputs not given.
Expected<std::map<std::string, graph::Tensor>> run_inputs(const graph::Graph& g, const ModelRunFlags& f) {
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
    for (int64_t i = 0; i < n; ++i) t.values.push_back(kernels::random_value(f.target.seed ^ (stream << 40), uint64_t(i)));
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

struct OutputCheck {
  Json json = Json::object();
  bool verified = true;
};

// Writes the output (--output-dir) and compares it with the reference engine's value and
// with its --expect file.
Expected<OutputCheck> check_output(const std::string& name, const graph::Tensor& t, const graph::Tensor* reference,
                                   const std::map<std::string, std::string>& expects, const ModelRunFlags& f,
                                   double tolerance) {
  OutputCheck c;
  c.json["shape"] = t.shape;
  if (!f.output_dir.empty()) {
    const std::string path = (std::filesystem::path(f.output_dir) / (name + ".npy")).string();
    if (Status s = graph::write_npy(path, t); !s) return s;
    c.json["file"] = path;
  }
  auto add = [&](Json& into, const graph::Tensor& want, const std::string& what) -> Status {
    auto cmp = compare(t, want, what, tolerance);
    if (!cmp) return cmp.status();
    into["max_abs_error"] = cmp->max_abs;
    into["max_rel_error"] = cmp->max_rel;
    into["verified"] = cmp->verified;
    c.verified = c.verified && cmp->verified;
    return Status::ok();
  };
  if (reference) WAFER_TRY(add(c.json, *reference, name));
  if (auto e = expects.find(name); e != expects.end()) {
    auto want = read_tensor_file(e->second);
    if (!want) return want.status();
    if (reference) {
      Json expect = Json::object();
      WAFER_TRY(add(expect, *want, name));
      c.json["expect"] = expect;
    } else {
      WAFER_TRY(add(c.json, *want, name));
    }
  }
  return c;
}

void print_output_lines(const Json& outputs) {
  auto errors = [](const Json& o) {
    return fmt::format("max abs error {:.3g}, max rel error {:.3g}, verified: {}", o["max_abs_error"].get<double>(),
                       o["max_rel_error"].get<double>(), o["verified"].get<bool>());
  };
  for (const auto& [name, o] : outputs.items()) {
    fmt::print("  output {} {}", name, graph::shape_text(o["shape"].get<graph::Shape>()));
    if (o.contains("verified")) fmt::print(": {}", errors(o));
    if (o.contains("expect")) fmt::print("; against --expect: {}", errors(o["expect"]));
    if (o.contains("file")) fmt::print(" -> {}", o["file"].get<std::string>());
    fmt::print("\n");
  }
}

// On a defective wafer the model also runs on a perfect one (without observing it): the
// outputs must be identical; the cycle difference is the cost of the repair. Returns the
// `defects` object and its text lines.
Expected<std::pair<Json, std::string>> compare_with_perfect(const graph::Graph& fused, const compiler::Plan& plan,
                                                            const std::map<std::string, graph::Tensor>& inputs,
                                                            const std::map<std::string, graph::Tensor>& reference,
                                                            sim::Options perfect, const RepairedWafer& wafer,
                                                            const compiler::ModelRun& run, const ModelRunFlags& f) {
  perfect.link_extra_hops = nullptr;
  perfect.trace.enabled = false;
  perfect.collect_stats = false;
  auto base = compiler::run(fused, plan, inputs, reference, perfect);
  if (!base) return base.status().with_context("perfect wafer");
  bool identical = true;
  for (const auto& [name, t] : run.outputs)
    identical = identical && base->outputs.at(name).values == t.values && base->outputs.at(name).shape == t.shape;
  const RepairCost cost{base->cycles, run.cycles, identical};
  if (!identical) return make_error("outputs differ between the perfect and the repaired wafer");
  const std::string text = fmt::format("defects: {}\n{}\n", describe_defects(f.target.defects, wafer),
                                       describe_repair_cost(cost));
  return std::make_pair(defects_json(wafer, &cost), text);
}

// The compiled model on the simulator: on the repaired wafer with defect flags (checked
// against a perfect one: `defects` in `j`, and its text lines), observed with the run flags
// (`observation`, still to finish, set even when the run fails).
Expected<compiler::ModelRun> run_on_wafer(const graph::Graph& fused, const compiler::Plan& plan,
                                          const std::map<std::string, graph::Tensor>& inputs,
                                          const std::map<std::string, graph::Tensor>& reference,
                                          const ModelRunFlags& f, Json& j, std::string& defects_text,
                                          std::unique_ptr<ModelObservation>& observation) {
  auto options = sim_options_for_model(f.run);
  if (!options) return options.status();
  auto wafer = plan_wafer(f.target, plan);
  if (!wafer) return wafer.status();
  if (*wafer) options->link_extra_hops = (*wafer)->hops;
  if (f.run.wants_simulator()) {
    auto o = ModelObservation::create(plan, f.run, f.m.model);
    if (!o) return o.status();
    observation = std::move(*o);
  }
  auto run = compiler::run(fused, plan, inputs, reference, *options,
                           observation ? observation->observer() : compiler::LayerObserver());
  if (!run || !*wafer) return run;
  auto d = compare_with_perfect(fused, plan, inputs, reference, *options, **wafer, *run, f);
  if (!d) return d.status();
  j["defects"] = d->first;
  defects_text = d->second;
  return run;
}

// Writes what the run flags asked for; false (the error reported) when that fails.
bool finish_observation(const ModelObservation& o) {
  Status st = o.finish();
  if (!st) report_error(st);
  return bool(st);
}

int run_run(const ModelRunFlags& f) {
  const bool wafer = f.engine == "wafer";
  if (!wafer && f.engine != "reference")
    return report_usage_error(fmt::format("--engine '{}': expected wafer or reference{}", f.engine,
                                          suggestion(f.engine, {"wafer", "reference"})));
  if (!wafer && (f.run.wants_simulator() || f.target.defects.requested() || !f.target.placement.empty()))
    return report_usage_error("--stats, --trace, --heatmap, --placement and the defect flags need --engine wafer");
  const std::string dtype = !f.dtype.empty() ? f.dtype : wafer ? "fp32" : "fp64";
  graph::EvalOptions eval;
  if (dtype != "fp64") {
    const std::optional<DType> t = parse_dtype(dtype);
    if (!t || !dtype_is_float(*t))
      return report_usage_error(fmt::format("--dtype '{}': expected fp64, fp32, fp16 or bf16{}", dtype,
                                            suggestion(dtype, {"fp64", "fp32", "fp16", "bf16"})));
    eval.round_to = *t;
  }
  std::optional<Target> target;
  if (wafer) {
    auto t = parse_target(f.target, dtype);
    if (!t) return report_usage_error(t.status());
    target = std::move(*t);
  }
  std::map<std::string, std::string> expects;
  for (const std::string& e : f.expects) {
    auto kv = key_value("--expect", e);
    if (!kv) return report_usage_error(kv.status());
    expects[kv->first] = kv->second;
  }
  if (!f.output_dir.empty()) {  // made when missing, as `mkdir -p` would
    std::error_code ec;
    std::filesystem::create_directories(f.output_dir, ec);
    if (!std::filesystem::is_directory(f.output_dir))
      return report_usage_error(fmt::format("--output-dir '{}': not a directory{}", f.output_dir,
                                            ec ? " (" + ec.message() + ")" : ""));
  }
  onnx_import::ImportReport report;
  int exit_code = 0;
  auto g = load(f.m, report, exit_code);
  if (!g) return exit_code;
  auto in = run_inputs(*g, f);
  if (!in) return report_usage_error(in.status());
  eval.all_values = wafer;
  auto reference = graph::evaluate(*g, *in, eval);
  if (!reference) return report_error(reference.status());
  for (const auto& [name, file] : expects)
    if (g->find_value(name) < 0 || std::find(g->outputs.begin(), g->outputs.end(), g->find_value(name)) == g->outputs.end())
      return report_usage_error(fmt::format("--expect '{}': the model has no output '{}'", name, name));
  std::map<std::string, graph::Tensor> outputs;
  Json j = {{"model", f.m.model}, {"engine", f.engine}, {"dtype", dtype}};
  std::unique_ptr<ModelObservation> observation;
  std::string defects_text;
  if (wafer) {
    graph::Graph fused = *g;  // the reference stays the unfused graph, the stronger oracle
    auto passes = graph::run_passes(fused);
    if (!passes) return report_error(passes.status());
    auto plan = compiler::compile(fused, target->arch, target->options);
    if (!plan) return report_error(plan.status());
    const ir::Rect used = plan_extent(*plan);
    if (Status st = check_run_flags(f.run, used.w, used.h); !st) return report_usage_error(st);
    if (Status st = write_placement(f.target, *plan, f.m.model); !st) return report_error(st);
    auto run = run_on_wafer(fused, *plan, *in, *reference, f, j, defects_text, observation);
    if (!run) {
      if (observation) finish_observation(*observation);
      return report_error(run.status());
    }
    outputs = std::move(run->outputs);
    j.update(run_json(fused, *plan, *run, dtype));
    j["fusion"] = fusion_json(*passes);
    j["speed"] = speed_line(run->total.cycles, int64_t(plan->grid_w) * plan->grid_h, run->total);
  } else {
    for (int id : g->outputs) outputs[g->values[size_t(id)].name] = reference->at(g->values[size_t(id)].name);
  }
  const double tolerance = f.tolerance.value_or(default_tolerance(dtype));
  Json out_json = Json::object();
  bool all_verified = true;
  for (const auto& [name, t] : outputs) {
    auto c = check_output(name, t, wafer ? &reference->at(name) : nullptr, expects, f, tolerance);
    if (!c) return report_error(c.status());
    out_json[name] = c->json;
    all_verified = all_verified && c->verified;
  }
  j["outputs"] = out_json;
  j["verified"] = wafer || !expects.empty() ? Json(all_verified) : Json();
  if (f.run.json) {
    print_json(j);
  } else if (wafer) {
    fmt::print("model {} on the simulated wafer ({}, {} of {}, {})\n", f.m.model, dtype, grid_text(j),
               j["arch"].get<std::string>(), j["mode"].get<std::string>());
    print_output_lines(out_json);
    print_run_layers(j);
    fmt::print("{}", defects_text);
    fmt::print("{}\n", j["speed"].get<std::string>());
  } else {
    fmt::print("model {} on the {} interpreter ({})\n", f.m.model, f.engine, dtype);
    print_output_lines(out_json);
  }
  if (observation && !finish_observation(*observation)) return 1;
  return all_verified ? 0 : 1;
}

}  // namespace

void add_compile(CLI::App& app, Runner& run) {
  auto flags = std::make_shared<CompileFlags>();
  CLI::App* c = app.add_subcommand("compile", "compile an ONNX model for the wafer and report the plan (the graph compiler)");
  add_model_flags(c, flags->m);
  add_target_flags(c, flags->target);
  c->add_flag("--json", flags->json, "print one JSON object");
  c->add_option("--dtype", flags->dtype, "what the kernels compute and store in: fp32, fp16 or bf16")
      ->capture_default_str();
  c->add_option("--emit", flags->emit,
                "print one form instead of the report: graph (the graph IR after fusion), plan (the layers), program "
                "(each layer's program)");
  std::vector<std::string> pass_names;
  for (const graph::PassInfo& pi : graph::passes()) pass_names.push_back(pi.name);
  c->add_option("--print-after", flags->print_after,
                fmt::format("print the graph IR right after one pass: {}", fmt::join(pass_names, ", ")))
      ->check(check_validator("PASS", graph::check_pass_name));
  c->callback([&run, flags] { run = [flags] { return run_compile(*flags); }; });
}

void add_run(CLI::App& app, Runner& run) {
  auto flags = std::make_shared<ModelRunFlags>();
  CLI::App* c = app.add_subcommand("run", "run an ONNX model on the simulated wafer and check its outputs");
  add_model_flags(c, flags->m);
  add_target_flags(c, flags->target);
  c->add_option("--engine", flags->engine,
                "what runs the model: wafer (compiled, on the simulator) or reference (the graph IR's interpreter)")
      ->capture_default_str();
  c->add_option("--input", flags->inputs, "an input from a file: NAME=FILE.npy or NAME=FILE.pb; repeatable");
  c->add_option("--expect", flags->expects, "an expected output to compare with: NAME=FILE.npy or .pb; repeatable");
  c->add_option("--output-dir", flags->output_dir, "write every output as DIR/NAME.npy");
  c->add_option("--dtype", flags->dtype,
                "arithmetic: fp32, fp16, bf16, or fp64 on the reference (default: fp32 on the wafer, fp64 on the reference)");
  c->add_option("--tolerance", flags->tolerance,
                "the largest normwise relative error accepted (default: 1e-3 for fp32 and fp64, 1e-2 fp16, 5e-2 bf16)");
  add_run_flags(*c, flags->run);
  c->callback([&run, flags] { run = [flags] { return run_run(*flags); }; });
}

}  // namespace wafer::cli
