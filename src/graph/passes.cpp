// The pass pipeline and the machinery the fusion passes share (fusion.hpp).
//
// A pass is a matcher anchored at a chain's last node: it walks the chain backwards through
// producers, requiring every intermediate value to be private (read only by the next node of
// the chain and not a graph output) and every constant to have the pattern's value. The
// driver (rewrite_all) scans the nodes in order for the first match, replaces the chain's last
// node with the fused node (its inputs are defined before the chain's first node reads them,
// so the order stays topological) and drops the rest as dead code, then rescans the new
// graph; a graph of n nodes with r matches costs O(n·r) node visits.
//
// run_passes verifies the graph before the pipeline and after every pass, so a pass that
// breaks a graph is named at once; it can print the graph after one pass, whose name is
// checked (with a "did you mean") before anything runs.
#include "wafer/graph/passes.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "fusion.hpp"
#include "wafer/support/suggest.hpp"

namespace wafer::graph {

namespace {

// Half an ulp at 1 (the relative error of one rounding) of a float type.
double unit_roundoff(ElemType t) {
  switch (t) {
    case ElemType::f16: return std::ldexp(1.0, -11);
    case ElemType::bf16: return std::ldexp(1.0, -8);
    case ElemType::f64: return std::ldexp(1.0, -53);
    default: return std::ldexp(1.0, -24);
  }
}

std::string fused_name(const Graph& g, const std::vector<int>& nodes) {
  auto [first, last] = std::minmax_element(nodes.begin(), nodes.end());
  return g.nodes[size_t(*first)].name + ".." + g.nodes[size_t(*last)].name;
}

void apply(Graph& g, Rewrite r) {
  const int last = *std::max_element(r.nodes.begin(), r.nodes.end());
  r.fused.name = fused_name(g, r.nodes);
  for (int& in : r.fused.inputs) {
    if (in > new_constant(0)) continue;
    Tensor& t = r.constants[size_t(new_constant(0) - in)];
    in = g.add_value(Value{fmt::format("{}/{}", r.fused.name, new_constant(0) - in), t.type, t.shape, std::move(t)});
  }
  r.fused.outputs = g.nodes[size_t(last)].outputs;
  g.nodes[size_t(last)] = std::move(r.fused);
  remove_dead_code(g);
}

std::vector<std::string_view> pass_names() {
  std::vector<std::string_view> names;
  for (const PassInfo& p : passes()) names.push_back(p.name);
  return names;
}

}  // namespace

Status check_pass_name(const std::string& name) {
  std::vector<std::string_view> names = pass_names();
  if (name.empty() || std::find(names.begin(), names.end(), name) != names.end()) return Status::ok();
  return make_error("unknown pass '{}'{}; the passes are: {}", name, suggestion(name, names), fmt::join(names, ", "));
}

// --- Matcher ---

Matcher::Matcher(const Graph& g) : g_(g), producer_(g.values.size(), -1), readers_(g.values.size(), 0) {
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    for (int id : g.nodes[n].inputs)
      if (id >= 0) ++readers_[size_t(id)];
    for (int id : g.nodes[n].outputs) producer_[size_t(id)] = int(n);
  }
  for (int id : g.outputs) readers_[size_t(id)] += int(g.nodes.size()) + 1;  // never private
}

std::optional<int> Matcher::private_producer(int id, std::string_view op, int readers) const {
  if (id < 0 || readers_[size_t(id)] != readers) return std::nullopt;
  const int n = producer_[size_t(id)];
  if (n < 0 || g_.nodes[size_t(n)].op != op) return std::nullopt;
  return n;
}

std::optional<double> Matcher::scalar_value(int id) const {
  if (id < 0) return std::nullopt;
  const Value& v = value(id);
  if (!v.constant || v.constant->size() != 1 || !elem_is_float(v.type)) return std::nullopt;
  return v.constant->values[0];
}

bool Matcher::is_scalar(int id, double want) const {
  std::optional<double> v = scalar_value(id);
  if (!v) return false;
  const ElemType t = value(id).type;
  if (round_to_elem(t, want) == want) return *v == want;
  return std::fabs(*v - want) <= 2 * unit_roundoff(t) * std::fabs(want);
}

std::optional<int> Matcher::other_input(int node, int id) const {
  const std::vector<int>& in = g_.nodes[size_t(node)].inputs;
  if (in.size() != 2) return std::nullopt;
  if (in[0] == id) return in[1];
  if (in[1] == id) return in[0];
  return std::nullopt;
}

std::vector<int> Matcher::mul_leaves(int root, std::vector<int>& nodes) const {
  nodes.push_back(root);
  std::vector<int> leaves;
  for (int id : g_.nodes[size_t(root)].inputs) {
    std::optional<int> inner = private_producer(id, "Mul");
    if (!inner) {
      leaves.push_back(id);
      continue;
    }
    std::vector<int> more = mul_leaves(*inner, nodes);
    leaves.insert(leaves.end(), more.begin(), more.end());
  }
  return leaves;
}

bool Matcher::reduces_last_axis(int node) const {
  const Node& n = g_.nodes[size_t(node)];
  if (n.op != "ReduceMean" || n.inputs.empty()) return false;
  const int64_t rank = int64_t(value(n.inputs[0]).shape.size());
  std::vector<int64_t> axes;
  if (n.inputs.size() > 1 && n.inputs[1] >= 0) {
    const Value& a = value(n.inputs[1]);
    if (!a.constant) return false;
    axes = as_ints(*a.constant);
  } else {
    Expected<std::vector<int64_t>> attr = n.attr_ints("axes", std::vector<int64_t>{});
    if (!attr) return false;
    axes = *attr;
  }
  Expected<int64_t> keepdims = n.attr_int("keepdims", 1);
  return rank > 0 && axes.size() == 1 && (axes[0] == -1 || axes[0] == rank - 1) && keepdims && *keepdims == 1;
}

bool Matcher::same_type_and_shape(int a, int b) const {
  return value(a).type == value(b).type && value(a).shape == value(b).shape;
}

bool take_leaf(std::vector<int>& leaves, int id) {
  auto it = std::find(leaves.begin(), leaves.end(), id);
  if (it == leaves.end()) return false;
  leaves.erase(it);
  return true;
}

bool take_scalar_leaf(const Matcher& m, std::vector<int>& leaves, double want) {
  auto it = std::find_if(leaves.begin(), leaves.end(), [&](int id) { return m.is_scalar(id, want); });
  if (it == leaves.end()) return false;
  leaves.erase(it);
  return true;
}

Expected<int> rewrite_all(Graph& g, MatchFn match) {
  int rewrites = 0;
  for (;;) {
    std::optional<Rewrite> found;
    {
      const Matcher m(g);
      for (int n = 0; n < int(g.nodes.size()) && !found; ++n) found = match(m, n);
    }
    if (!found) return rewrites;
    apply(g, std::move(*found));
    ++rewrites;
  }
}

// --- the pipeline ---

// LayerNorm runs before RMSNorm: its Div(d, Sqrt(mean(d²) + eps))·gamma tail is an RMSNorm of
// d = x - mean(x), which fuse-rmsnorm would otherwise take first.
const std::vector<PassInfo>& passes() {
  static const std::vector<PassInfo> list = {
      {"drop-identities", "Identity, and Cast to the type its input has -> its input", drop_identities},
      {"decompose-activations", "LeakyRelu, Clip, HardSigmoid, HardSwish, Elu, Softplus, LogSoftmax, "
                                "BatchNormalization of [N, C] -> element-wise ops (and Softmax) with constants",
       decompose_activations},
      {"fuse-gelu", "erf GELU (Div/Erf/Add/Mul/Mul) and tanh GELU chains -> wafer.Gelu", fuse_gelu},
      {"fuse-silu", "Mul(x, Sigmoid(x)) -> wafer.Silu", fuse_silu},
      {"fuse-layernorm", "ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div[/Mul/Add] -> LayerNormalization",
       fuse_layer_norm},
      {"fuse-rmsnorm", "Pow/ReduceMean/Add/Sqrt/Div/Mul/Mul -> wafer.RMSNorm", fuse_rms_norm},
      {"fuse-rope", "Add(Mul(x, cos), Mul(Concat(Neg(x2), x1), sin)) (rotate-half) -> wafer.Rope", fuse_rope},
      {"fuse-matmul-add", "MatMul by a constant [K,N] then Add of a constant [N] -> wafer.MatMulAdd", fuse_matmul_add},
      {"fuse-attention", "MatMul(Softmax(mask(scale * MatMul(Q, Kt))), V) -> wafer.Attention", fuse_attention},
  };
  return list;
}

int PassReport::total() const {
  int sum = 0;
  for (const PassCount& p : passes) sum += p.rewrites;
  return sum;
}

Expected<PassReport> run_passes(Graph& g, const std::string& print_after, std::string* printed) {
  WAFER_TRY(check_pass_name(print_after));
  WAFER_TRY(verify(g).with_context("before the passes"));
  PassReport report;
  for (const PassInfo& pass : passes()) {
    Expected<int> rewrites = pass.run(g);
    if (!rewrites) return rewrites.status().with_context(fmt::format("pass '{}'", pass.name));
    WAFER_TRY(verify(g).with_context(fmt::format("after pass '{}'", pass.name)));
    report.passes.push_back({pass.name, *rewrites});
    if (printed && print_after == pass.name) *printed += print(g);
  }
  return report;
}

}  // namespace wafer::graph
