// decompose-activations: the parametrised activations torch's nn modules export, log_softmax,
// and a batch norm over [N, C] (BatchNorm1d), rewritten as the ops a backend has kernels for,
// with the parameters as scalar (or per-channel) constants:
//   LeakyRelu(x) {0 <= alpha <= 1}  Max(x, Mul(x, alpha))
//   Clip(x, lo, hi)                  Min(Max(x, lo), hi), a bound only where it is given
//   HardSigmoid(x) {alpha, beta}     Min(Max(Add(Mul(x, alpha), beta), 0), 1)
//   HardSwish(x)                     Mul(x, HardSigmoid(x) {1/6, 1/2})
//   Elu(x) {alpha}                   Add(Relu(x), Min(Mul(Sub(Exp(x), 1), alpha), 0))
//   Softplus(x)                      Add(Relu(x), Log(Add(Exp(Neg(Max(x, Neg(x)))), 1))), so
//                                    e^x never overflows
//   LogSoftmax(x) {axis}             Log(Softmax(x) {axis}): the same where no probability
//                                    underflows (the logits of a row within about 87 of
//                                    their maximum in fp32), -inf where one does
//   BatchNormalization of [N, C]     Add(Mul(x, scale), shift), scale = gamma / sqrt(var + eps)
//                                    and shift = beta - mean·scale folded in double
// Each is the node's value in exact arithmetic (Elu's e^x - 1 loses the relative precision of
// expm1 near 0, not its absolute precision). A node whose parameters are not constants, or a
// LeakyRelu whose alpha is outside [0, 1] (then the max is a min), stays as it is. The
// replacement nodes take the node's place, so the order stays topological; the last writes
// the node's output value and every other value is new, named after the node.
#include <cmath>

#include <fmt/format.h>

#include "fusion.hpp"

namespace wafer::graph {

namespace {

// Builds one node's replacement.
class Expansion {
 public:
  Expansion(Graph& g, const Node& n) : g_(g), n_(n) {}

  int constant(double v) { return constant(Tensor{type(), {}, {v}}); }
  int constant(Tensor t) {
    Value v;
    v.name = fmt::format("{}/{}", n_.name, count_++);
    v.type = t.type;
    v.shape = t.shape;
    v.constant = std::move(t);
    return g_.add_value(std::move(v));
  }
  // A node of `op` on `inputs`, its output a new value of the node's shape, or the node's own
  // output when `last`.
  int op(const std::string& op, std::vector<int> inputs, bool last = false) {
    int out = n_.outputs[0];
    if (!last) {
      Value v;
      v.name = fmt::format("{}/{}", n_.name, count_++);
      v.type = type();
      v.shape = g_.values[size_t(n_.outputs[0])].shape;
      out = g_.add_value(std::move(v));
    }
    nodes_.push_back(Node{fmt::format("{}/{}", n_.name, op), op, std::move(inputs), {out}, {}});
    return out;
  }
  int hard_sigmoid(int x, double alpha, double beta, bool last) {
    const int lin = op("Add", {op("Mul", {x, constant(alpha)}), constant(beta)});
    return op("Min", {op("Max", {lin, constant(0.0)}), constant(1.0)}, last);
  }
  // Sets an attribute of the node that made `value`.
  void attr(int value, const std::string& key, Attr a) {
    for (Node& n : nodes_)
      if (n.outputs[0] == value) n.attrs[key] = std::move(a);
  }
  std::vector<Node> take() { return std::move(nodes_); }

 private:
  Graph& g_;
  const Node& n_;
  std::vector<Node> nodes_;
  int count_ = 0;
  ElemType type() const { return g_.values[size_t(n_.outputs[0])].type; }
};

const Tensor* constant_input(const Graph& g, const Node& n, size_t i) {
  if (n.inputs.size() <= i || n.inputs[i] < 0) return nullptr;
  const Value& v = g.values[size_t(n.inputs[i])];
  return v.constant ? &*v.constant : nullptr;
}

bool one_output(const Node& n) {
  for (size_t i = 1; i < n.outputs.size(); ++i)
    if (n.outputs[i] >= 0) return false;
  return !n.outputs.empty();
}

// The replacement of node `n`, or nothing to leave it.
std::optional<std::vector<Node>> expand(Graph& g, const Node& n) {
  if (!one_output(n) || n.inputs.empty() || n.inputs[0] < 0) return std::nullopt;
  const int x = n.inputs[0];
  Expansion e(g, n);
  if (n.op == "LeakyRelu") {
    const double alpha = n.attr_float("alpha", 0.01).value_or(-1);
    if (!(alpha >= 0 && alpha <= 1)) return std::nullopt;
    e.op("Max", {x, e.op("Mul", {x, e.constant(alpha)})}, true);
  } else if (n.op == "Clip") {
    const bool has_lo = n.inputs.size() > 1 && n.inputs[1] >= 0, has_hi = n.inputs.size() > 2 && n.inputs[2] >= 0;
    const Tensor *lo = constant_input(g, n, 1), *hi = constant_input(g, n, 2);
    if ((has_lo && !lo) || (has_hi && !hi) || (!has_lo && !has_hi)) return std::nullopt;
    int y = x;
    if (lo) y = e.op("Max", {y, e.constant(lo->values[0])}, !hi);
    if (hi) e.op("Min", {y, e.constant(hi->values[0])}, true);
  } else if (n.op == "HardSigmoid") {
    auto alpha = n.attr_float("alpha", 0.2), beta = n.attr_float("beta", 0.5);
    if (!alpha || !beta) return std::nullopt;
    e.hard_sigmoid(x, *alpha, *beta, true);
  } else if (n.op == "HardSwish") {
    e.op("Mul", {x, e.hard_sigmoid(x, 1.0 / 6, 0.5, false)}, true);
  } else if (n.op == "Elu") {
    auto alpha = n.attr_float("alpha", 1.0);
    if (!alpha) return std::nullopt;
    const int below = e.op("Mul", {e.op("Sub", {e.op("Exp", {x}), e.constant(1.0)}), e.constant(*alpha)});
    e.op("Add", {e.op("Relu", {x}), e.op("Min", {below, e.constant(0.0)})}, true);
  } else if (n.op == "Softplus") {
    const int abs = e.op("Max", {x, e.op("Neg", {x})});
    const int tail = e.op("Log", {e.op("Add", {e.op("Exp", {e.op("Neg", {abs})}), e.constant(1.0)})});
    e.op("Add", {e.op("Relu", {x}), tail}, true);
  } else if (n.op == "LogSoftmax") {
    auto axis = n.attr_int("axis", -1);
    if (!axis) return std::nullopt;
    const int p = e.op("Softmax", {x});
    e.attr(p, "axis", *axis);
    e.op("Log", {p}, true);
  } else if (n.op == "BatchNormalization") {
    const Value& in = g.values[size_t(x)];
    const Tensor *gamma = constant_input(g, n, 1), *beta = constant_input(g, n, 2), *mean = constant_input(g, n, 3),
                 *var = constant_input(g, n, 4);
    if (in.shape.size() != 2 || !gamma || !beta || !mean || !var || n.attr_int("training_mode", 0).value_or(1) != 0)
      return std::nullopt;
    const double eps = n.attr_float("epsilon", 1e-5).value_or(1e-5);
    const int64_t C = in.shape[1];
    for (const Tensor* t : {gamma, beta, mean, var})
      if (t->size() != C) return std::nullopt;
    Tensor scale{in.type, {C}, std::vector<double>(size_t(C))}, shift = scale;
    for (size_t c = 0; c < size_t(C); ++c) {
      scale.values[c] = gamma->values[c] / std::sqrt(var->values[c] + eps);
      shift.values[c] = beta->values[c] - mean->values[c] * scale.values[c];
    }
    e.op("Add", {e.op("Mul", {x, e.constant(std::move(scale))}), e.constant(std::move(shift))}, true);
  } else {
    return std::nullopt;
  }
  return e.take();
}

}  // namespace

Expected<int> decompose_activations(Graph& g) {
  int expanded = 0;
  std::vector<Node> nodes;
  for (const Node& n : g.nodes) {
    std::optional<std::vector<Node>> parts = expand(g, n);
    if (!parts) {
      nodes.push_back(n);
      continue;
    }
    nodes.insert(nodes.end(), std::make_move_iterator(parts->begin()), std::make_move_iterator(parts->end()));
    ++expanded;
  }
  g.nodes = std::move(nodes);
  return expanded;
}

}  // namespace wafer::graph
