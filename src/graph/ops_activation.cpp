// Activations with parameters, as torch exports its nn modules of the same names:
//   LeakyRelu {alpha = 0.01}          x >= 0 ? x : alpha·x
//   Elu {alpha = 1}                   x > 0 ? x : alpha·(e^x - 1)
//   HardSigmoid {alpha = 0.2, beta = 0.5}  max(0, min(1, alpha·x + beta))
//   HardSwish                         x·HardSigmoid(x) with alpha = 1/6, beta = 1/2
//   Softplus                          log(1 + e^x)
//   Clip (x, [min], [max])            min(max(x, min), max); an absent bound does not clip
// Each maps every element through one double-precision function of the element and the
// node's parameters, so one loop serves them all.
#include <algorithm>
#include <cmath>

#include "ops.hpp"

namespace wafer::graph {

namespace {

using In = const std::vector<const Tensor*>&;
using Out = std::vector<Tensor>&;

double hard_sigmoid(double x, double alpha, double beta) { return std::max(0.0, std::min(1.0, alpha * x + beta)); }

Status compute_leaky_relu(const Node& node, In in, Out out) {
  Expected<double> alpha = node.attr_float("alpha", 0.01);
  if (!alpha) return alpha.status();
  return map_unary(in, out, [a = *alpha](double x) { return x >= 0 ? x : a * x; });
}

Status compute_elu(const Node& node, In in, Out out) {
  Expected<double> alpha = node.attr_float("alpha", 1.0);
  if (!alpha) return alpha.status();
  return map_unary(in, out, [a = *alpha](double x) { return x > 0 ? x : a * std::expm1(x); });
}

Status compute_hard_sigmoid(const Node& node, In in, Out out) {
  Expected<double> alpha = node.attr_float("alpha", 0.2), beta = node.attr_float("beta", 0.5);
  if (!alpha) return alpha.status();
  if (!beta) return beta.status();
  return map_unary(in, out, [a = *alpha, b = *beta](double x) { return hard_sigmoid(x, a, b); });
}

Status compute_hard_swish(const Node&, In in, Out out) {
  return map_unary(in, out, [](double x) { return x * hard_sigmoid(x, 1.0 / 6, 0.5); });
}

Status compute_softplus(const Node&, In in, Out out) {
  return map_unary(in, out, [](double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); });
}

Expected<Sig> clip_sig(const Node&, const Args& in) {
  for (size_t i = 1; i < in.size(); ++i) {
    if (!in[i].present) continue;
    if (in[i].type != in[0].type)
      return make_error("input '{}' is {}, expected {} as input '{}'", in[i].name, elem_name(in[i].type),
                        elem_name(in[0].type), in[0].name);
    if (element_count(*in[i].shape) != 1)
      return make_error("input '{}' ({}) is {}, expected one value", in[i].name, i == 1 ? "min" : "max",
                        shape_text(*in[i].shape));
  }
  return Sig{{in[0].type, *in[0].shape}};
}

Status compute_clip(const Node&, In in, Out out) {
  const double lo = in.size() > 1 && in[1] ? in[1]->values[0] : -INFINITY;
  const double hi = in.size() > 2 && in[2] ? in[2]->values[0] : INFINITY;
  return map_unary(in, out, [lo, hi](double x) { return std::isnan(x) ? x : std::min(std::max(x, lo), hi); });
}

}  // namespace

void add_activation_ops(std::vector<OpRule>& rows) {
  std::vector<OpRule> add = {
      {"LeakyRelu", 1, 1, 1, 1, same_as_input, compute_leaky_relu},
      {"Elu", 1, 1, 1, 1, same_as_input, compute_elu},
      {"HardSigmoid", 1, 1, 1, 1, same_as_input, compute_hard_sigmoid},
      {"HardSwish", 1, 1, 1, 1, same_as_input, compute_hard_swish},
      {"Softplus", 1, 1, 1, 1, same_as_input, compute_softplus},
      {"Clip", 1, 3, 1, 1, clip_sig, compute_clip},
  };
  rows.insert(rows.end(), add.begin(), add.end());
}

}  // namespace wafer::graph
