// The activation fusions: GELU chains to wafer.Gelu and x·sigmoid(x) to wafer.Silu.
//
// GELU is matched from its last Mul as a product: the tree of private Muls ending there must
// have exactly three leaves, the constant 0.5, the input x and a gate 1 + f(x), so every
// order torch writes the product in (Mul(Mul(x, gate), 0.5), Mul(0.5, Mul(x, gate)),
// Mul(Mul(x, 0.5), gate)...) is one pattern. The gate is Add(f, 1) in either order, with
//   erf form:  f = Erf(Div(x, √2)) or Erf(Mul(x, 1/√2))                  -> approximate "none"
//   tanh form: f = Tanh(Mul(√(2/π), Add(x, Mul(0.044715, x·x·x))))        -> approximate "tanh"
// where x³ is a product of three x leaves (GPT-2's Mul(x, Mul(x, x))) or Pow(x, 3), and the
// two Mul trees are again matched by their leaves. Constants are compared with
// Matcher::is_scalar (√2 as torch writes it in f32, 1.4142135, matches).
//
// SiLU is Mul(x, Sigmoid(x)) with the operands in either order.
#include <cmath>
#include <numbers>

#include "fusion.hpp"

namespace wafer::graph {

namespace {

// For a two-input node one of whose inputs is the scalar `c`: the other input.
std::optional<int> operand_besides(const Matcher& m, int node, double c) {
  const std::vector<int>& in = m.graph().nodes[size_t(node)].inputs;
  if (in.size() != 2) return std::nullopt;
  if (m.is_scalar(in[1], c)) return in[0];
  if (m.is_scalar(in[0], c)) return in[1];
  return std::nullopt;
}

// Erf's argument x/√2, as Div(x, √2) or a product of x and 1/√2.
bool is_x_over_sqrt2(const Matcher& m, int arg, int x, std::vector<int>& nodes) {
  if (std::optional<int> div = m.private_producer(arg, "Div")) {
    const std::vector<int>& in = m.graph().nodes[size_t(*div)].inputs;
    nodes.push_back(*div);
    return in[0] == x && m.is_scalar(in[1], std::numbers::sqrt2);
  }
  std::optional<int> mul = m.private_producer(arg, "Mul");
  if (!mul) return false;
  std::vector<int> leaves = m.mul_leaves(*mul, nodes);
  return take_scalar_leaf(m, leaves, 1 / std::numbers::sqrt2) && leaves == std::vector<int>{x};
}

// 0.044715·x³: a product of 0.044715 with x, x, x or with Pow(x, 3).
bool is_cubic_term(const Matcher& m, int term, int x, std::vector<int>& nodes) {
  std::optional<int> mul = m.private_producer(term, "Mul");
  if (!mul) return false;
  std::vector<int> leaves = m.mul_leaves(*mul, nodes);
  if (!take_scalar_leaf(m, leaves, 0.044715)) return false;
  if (leaves == std::vector<int>{x, x, x}) return true;
  if (leaves.size() != 1) return false;
  std::optional<int> pow = m.private_producer(leaves[0], "Pow");
  if (!pow) return false;
  nodes.push_back(*pow);
  const std::vector<int>& in = m.graph().nodes[size_t(*pow)].inputs;
  return in[0] == x && m.is_scalar(in[1], 3);
}

// Tanh's argument √(2/π)·(x + 0.044715·x³).
bool is_tanh_argument(const Matcher& m, int arg, int x, std::vector<int>& nodes) {
  std::optional<int> mul = m.private_producer(arg, "Mul");
  if (!mul) return false;
  std::vector<int> leaves = m.mul_leaves(*mul, nodes);
  if (!take_scalar_leaf(m, leaves, std::sqrt(2 / std::numbers::pi)) || leaves.size() != 1) return false;
  std::optional<int> sum = m.private_producer(leaves[0], "Add");
  if (!sum) return false;
  nodes.push_back(*sum);
  std::optional<int> term = m.other_input(*sum, x);
  return term && *term != x && is_cubic_term(m, *term, x, nodes);
}

// The gate 1 + erf(x/√2) or 1 + tanh(...): its `approximate` attribute, or nullopt.
std::optional<std::string> gelu_gate(const Matcher& m, int gate, int x, std::vector<int>& nodes) {
  std::optional<int> add = m.private_producer(gate, "Add");
  if (!add) return std::nullopt;
  nodes.push_back(*add);
  std::optional<int> f = operand_besides(m, *add, 1);
  if (!f) return std::nullopt;
  if (std::optional<int> erf = m.private_producer(*f, "Erf")) {
    nodes.push_back(*erf);
    if (is_x_over_sqrt2(m, m.graph().nodes[size_t(*erf)].inputs[0], x, nodes)) return "none";
    return std::nullopt;
  }
  std::optional<int> tanh = m.private_producer(*f, "Tanh");
  if (!tanh) return std::nullopt;
  nodes.push_back(*tanh);
  if (is_tanh_argument(m, m.graph().nodes[size_t(*tanh)].inputs[0], x, nodes)) return "tanh";
  return std::nullopt;
}

std::optional<Rewrite> match_gelu(const Matcher& m, int last) {
  const Node& root = m.graph().nodes[size_t(last)];
  if (root.op != "Mul") return std::nullopt;
  std::vector<int> product_nodes;
  std::vector<int> leaves = m.mul_leaves(last, product_nodes);
  if (leaves.size() != 3 || !take_scalar_leaf(m, leaves, 0.5)) return std::nullopt;
  for (int i = 0; i < 2; ++i) {
    const int x = leaves[size_t(i)], gate = leaves[size_t(1 - i)];
    std::vector<int> gate_nodes;
    std::optional<std::string> form = gelu_gate(m, gate, x, gate_nodes);
    if (!form || !m.same_type_and_shape(root.outputs[0], x)) continue;
    Rewrite r{product_nodes, Node{"", "wafer.Gelu", {x}, {}, {{"approximate", *form}}}};
    r.nodes.insert(r.nodes.end(), gate_nodes.begin(), gate_nodes.end());
    return r;
  }
  return std::nullopt;
}

std::optional<Rewrite> match_silu(const Matcher& m, int last) {
  const Node& root = m.graph().nodes[size_t(last)];
  if (root.op != "Mul" || root.inputs.size() != 2) return std::nullopt;
  for (int i = 0; i < 2; ++i) {
    const int x = root.inputs[size_t(i)];
    std::optional<int> sigmoid = m.private_producer(root.inputs[size_t(1 - i)], "Sigmoid");
    if (!sigmoid || m.graph().nodes[size_t(*sigmoid)].inputs[0] != x) continue;
    if (!m.same_type_and_shape(root.outputs[0], x)) continue;
    return Rewrite{{*sigmoid, last}, Node{"", "wafer.Silu", {x}, {}, {}}};
  }
  return std::nullopt;
}

}  // namespace

Expected<int> fuse_gelu(Graph& g) { return rewrite_all(g, match_gelu); }
Expected<int> fuse_silu(Graph& g) { return rewrite_all(g, match_silu); }

}  // namespace wafer::graph
