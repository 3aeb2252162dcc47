// The normalisation fusions, both matched backwards from the chain's last node.
//
// RMSNorm (Llama's export) to wafer.RMSNorm(x, gamma) {axis -1, epsilon}: the last node is a
// Mul whose tree of private Muls has the leaves {x, r, gamma} with r = Div(1, s) or
// Reciprocal(s), or the leaves {Div(x, s), gamma}; s = Sqrt(Add(ReduceMean(Pow(x, 2)), eps))
// in either Add order, the ReduceMean over the last axis only with keepdims (Mul(x, x) also
// serves as the square). gamma must be shaped [N], N the last axis of x.
//
// LayerNorm (opset 13's decomposition) to LayerNormalization(x, gamma, beta) {axis -1,
// epsilon}: Add(Mul(Div(d, s), gamma), beta), each binary op in either order, with
// d = Sub(x, ReduceMean(x)) read by exactly the Pow and the Div, and
// s = Sqrt(Add(ReduceMean(Pow(d, 2)), eps)); both ReduceMeans over the last axis only with
// keepdims, gamma and beta shaped [N]. Then, in a second scan (so that an affine chain is
// never taken apart), Div(d, s) alone, nn.LayerNorm without its affine parameters, to
// LayerNormalization(x, ones) with a new constant scale of ones.
//
// eps is any one-element float constant; the fused op's epsilon attribute is its value.
#include "fusion.hpp"

namespace wafer::graph {

namespace {

struct Chain {
  const Matcher& m;
  std::vector<int> nodes;

  const std::vector<int>& inputs(int node) const { return m.graph().nodes[size_t(node)].inputs; }
  // Records and returns the private producer of `id` with op `op`.
  std::optional<int> step(int id, std::string_view op, int readers = 1) {
    std::optional<int> n = m.private_producer(id, op, readers);
    if (n) nodes.push_back(*n);
    return n;
  }
};

// value == x², as Pow(x, 2) or Mul(x, x).
bool is_square_of(Chain& c, int value, int x) {
  if (std::optional<int> pow = c.step(value, "Pow"))
    return c.inputs(*pow)[0] == x && c.m.is_scalar(c.inputs(*pow)[1], 2);
  std::optional<int> mul = c.step(value, "Mul");
  return mul && c.inputs(*mul)[0] == x && c.inputs(*mul)[1] == x;
}

// s == Sqrt(Add(ReduceMean(x², last axis), eps)): eps's value, or nullopt.
std::optional<double> sqrt_mean_square(Chain& c, int s, int x) {
  std::optional<int> sqrt = c.step(s, "Sqrt");
  if (!sqrt) return std::nullopt;
  std::optional<int> add = c.step(c.inputs(*sqrt)[0], "Add");
  if (!add) return std::nullopt;
  for (int i = 0; i < 2; ++i) {
    std::optional<double> eps = c.m.scalar_value(c.inputs(*add)[size_t(1 - i)]);
    if (!eps) continue;
    std::optional<int> mean = c.step(c.inputs(*add)[size_t(i)], "ReduceMean");
    if (!mean || !c.m.reduces_last_axis(*mean)) return std::nullopt;
    if (!is_square_of(c, c.inputs(*mean)[0], x)) return std::nullopt;
    return eps;
  }
  return std::nullopt;
}

// gamma (or beta) is a [N] vector for the last axis of x, of x's type.
bool is_row_vector_for(const Matcher& m, int v, int x) {
  const Value &w = m.value(v), &in = m.value(x);
  return v != x && !in.shape.empty() && w.type == in.type && w.shape == Shape{in.shape.back()};
}

// A leaf of the last Mul that divides by s: Div(1, s) or Reciprocal(s), or Div(x, s) which
// also gives x.
struct Divisor {
  int s;
  std::optional<int> x;
};

std::optional<Divisor> divisor(Chain& c, int leaf) {
  if (std::optional<int> rec = c.step(leaf, "Reciprocal")) return Divisor{c.inputs(*rec)[0], std::nullopt};
  std::optional<int> div = c.step(leaf, "Div");
  if (!div) return std::nullopt;
  const std::vector<int>& in = c.inputs(*div);
  if (c.m.is_scalar(in[0], 1)) return Divisor{in[1], std::nullopt};
  return Divisor{in[1], in[0]};
}

// The RMSNorm for leaves {x/s, gamma} or {x, 1/s, gamma} once the divisor leaf is known.
std::optional<Rewrite> rms_norm_with(Chain& c, const Divisor& d, const std::vector<int>& rest, int out) {
  const size_t want = d.x ? 1 : 2;
  if (rest.size() != want) return std::nullopt;
  for (size_t i = 0; i < want; ++i) {
    const int x = d.x ? *d.x : rest[i], gamma = d.x ? rest[0] : rest[1 - i];
    Chain attempt = c;
    std::optional<double> eps = sqrt_mean_square(attempt, d.s, x);
    if (!eps || !is_row_vector_for(c.m, gamma, x) || !c.m.same_type_and_shape(out, x)) continue;
    Node fused{"", "wafer.RMSNorm", {x, gamma}, {}, {{"axis", int64_t(-1)}, {"epsilon", *eps}}};
    return Rewrite{attempt.nodes, std::move(fused)};
  }
  return std::nullopt;
}

std::optional<Rewrite> match_rms_norm(const Matcher& m, int last) {
  if (m.graph().nodes[size_t(last)].op != "Mul") return std::nullopt;
  Chain c{m, {}};
  const std::vector<int> leaves = m.mul_leaves(last, c.nodes);
  for (int leaf : leaves) {
    Chain attempt = c;
    std::optional<Divisor> d = divisor(attempt, leaf);
    if (!d) continue;
    std::vector<int> rest = leaves;
    take_leaf(rest, leaf);
    if (std::optional<Rewrite> r = rms_norm_with(attempt, *d, rest, m.graph().nodes[size_t(last)].outputs[0]))
      return r;
  }
  return std::nullopt;
}

// d == Sub(x, ReduceMean(x, last axis)), read by two nodes: x.
std::optional<int> centred_input(Chain& c, int d) {
  std::optional<int> sub = c.step(d, "Sub", 2);
  if (!sub) return std::nullopt;
  const int x = c.inputs(*sub)[0];
  std::optional<int> mean = c.step(c.inputs(*sub)[1], "ReduceMean");
  if (!mean || !c.m.reduces_last_axis(*mean) || c.inputs(*mean)[0] != x) return std::nullopt;
  return x;
}

std::optional<Rewrite> match_layer_norm_with(const Matcher& m, int last, int scaled, int beta) {
  Chain c{m, {last}};
  std::optional<int> mul = c.step(scaled, "Mul");
  if (!mul) return std::nullopt;
  for (int i = 0; i < 2; ++i) {
    Chain attempt = c;
    const int gamma = attempt.inputs(*mul)[size_t(1 - i)];
    std::optional<int> div = attempt.step(attempt.inputs(*mul)[size_t(i)], "Div");
    if (!div) continue;
    const int d = attempt.inputs(*div)[0];
    std::optional<int> x = centred_input(attempt, d);
    if (!x) continue;
    std::optional<double> eps = sqrt_mean_square(attempt, attempt.inputs(*div)[1], d);
    if (!eps || !is_row_vector_for(m, gamma, *x) || !is_row_vector_for(m, beta, *x)) continue;
    if (!m.same_type_and_shape(m.graph().nodes[size_t(last)].outputs[0], *x)) continue;
    Node fused{"", "LayerNormalization", {*x, gamma, beta}, {}, {{"axis", int64_t(-1)}, {"epsilon", *eps}}};
    return Rewrite{attempt.nodes, std::move(fused)};
  }
  return std::nullopt;
}

std::optional<Rewrite> match_layer_norm(const Matcher& m, int last) {
  const Node& root = m.graph().nodes[size_t(last)];
  if (root.op != "Add" || root.inputs.size() != 2) return std::nullopt;
  for (int i = 0; i < 2; ++i)
    if (std::optional<Rewrite> r = match_layer_norm_with(m, last, root.inputs[size_t(i)], root.inputs[size_t(1 - i)]))
      return r;
  return std::nullopt;
}

std::optional<Rewrite> match_plain_layer_norm(const Matcher& m, int last) {
  const Node& div = m.graph().nodes[size_t(last)];
  if (div.op != "Div" || div.inputs.size() != 2) return std::nullopt;
  Chain c{m, {last}};
  const int d = div.inputs[0];
  std::optional<int> x = centred_input(c, d);
  if (!x) return std::nullopt;
  std::optional<double> eps = sqrt_mean_square(c, div.inputs[1], d);
  if (!eps || !m.same_type_and_shape(div.outputs[0], *x) || m.value(*x).shape.empty()) return std::nullopt;
  const Value& in = m.value(*x);
  Tensor ones{in.type, {in.shape.back()}, std::vector<double>(size_t(in.shape.back()), 1.0)};
  Node fused{"", "LayerNormalization", {*x, new_constant(0)}, {}, {{"axis", int64_t(-1)}, {"epsilon", *eps}}};
  return Rewrite{c.nodes, std::move(fused), {std::move(ones)}};
}

}  // namespace

Expected<int> fuse_rms_norm(Graph& g) { return rewrite_all(g, match_rms_norm); }
Expected<int> fuse_layer_norm(Graph& g) {
  Expected<int> affine = rewrite_all(g, match_layer_norm);
  if (!affine) return affine;
  Expected<int> plain = rewrite_all(g, match_plain_layer_norm);
  if (!plain) return plain;
  return *affine + *plain;
}

}  // namespace wafer::graph
