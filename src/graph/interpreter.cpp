// The reference interpreter: evaluates a graph's nodes in order on double tensors through the
// op table's rules, the oracle that kernels and compiled models are checked against.
//
// Precision: every op computes in double. With EvalOptions::round_to a float dtype, the data a
// machine of that type would hold is modelled by rounding (to nearest even, through
// support/numeric's encode/decode) every float tensor as it enters (graph inputs and constants)
// and as each node produces it; integer and bool tensors are never rounded.
#include <algorithm>

#include <fmt/format.h>

#include "ops.hpp"

namespace wafer::graph {

namespace {

void round_tensor(Tensor& t, const EvalOptions& options) {
  if (!options.round_to || !dtype_is_float(*options.round_to) || !elem_is_float(t.type)) return;
  DType d = *options.round_to;
  for (double& v : t.values) v = decode_value(d, encode_value(d, v));
}

std::string input_list(const Graph& g) {
  std::vector<std::string> names;
  for (int id : g.inputs) names.push_back(g.values[id].name);
  return fmt::format("{}", fmt::join(names, ", "));
}

// The graph inputs and constants, as the machine would hold them.
Status bind_sources(const Graph& g, const std::map<std::string, Tensor>& inputs, const EvalOptions& options,
                    std::vector<Tensor>& env, std::vector<char>& known) {
  for (const auto& [name, tensor] : inputs) {
    int id = g.find_value(name);
    if (!g.is_input(id)) return make_error("'{}' is not an input of the graph (its inputs: {})", name, input_list(g));
  }
  for (int id : g.inputs) {
    const Value& v = g.values[id];
    auto it = inputs.find(v.name);
    if (it == inputs.end()) return make_error("input '{}' {}{} is not given", v.name, elem_name(v.type), shape_text(v.shape));
    if (it->second.shape != v.shape || it->second.size() != element_count(v.shape))
      return make_error("input '{}' has shape {} ({} values) but the graph declares {}", v.name,
                        shape_text(it->second.shape), it->second.size(), shape_text(v.shape));
    env[id] = it->second;
    env[id].type = v.type;
    known[id] = 1;
  }
  for (size_t id = 0; id < g.values.size(); ++id)
    if (g.values[id].constant) {
      env[id] = *g.values[id].constant;
      known[id] = 1;
    }
  for (size_t id = 0; id < env.size(); ++id)
    if (known[id]) round_tensor(env[id], options);
  return Status::ok();
}

Status run_node(const Graph& g, const Node& node, const EvalOptions& options, std::vector<Tensor>& env,
                std::vector<char>& known) {
  const OpRule* rule = find_rule(node.op);
  if (!rule) return make_error("{}: unsupported op", node_label(node));
  std::vector<const Tensor*> in;
  std::vector<std::string> names;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    int id = node.inputs[i];
    if (id >= int(g.values.size())) return make_error("{}: input id {} is out of range", node_label(node), id);
    if (id >= 0 && !known[id])
      return make_error("{}: input {} '{}' has no value yet", node_label(node), i, g.values[id].name);
    in.push_back(id >= 0 ? &env[id] : nullptr);
    names.push_back(id >= 0 ? g.values[id].name : "");
  }
  std::vector<Tensor> out;
  WAFER_TRY(evaluate_node(*rule, node, in, names, out));
  for (size_t i = 0; i < out.size(); ++i) {
    round_tensor(out[i], options);
    env[node.outputs[i]] = std::move(out[i]);
    known[node.outputs[i]] = 1;
  }
  return Status::ok();
}

}  // namespace

Expected<std::map<std::string, Tensor>> evaluate(const Graph& g, const std::map<std::string, Tensor>& inputs,
                                                 const EvalOptions& options) {
  std::vector<Tensor> env(g.values.size());
  std::vector<char> known(g.values.size(), 0);
  WAFER_TRY(bind_sources(g, inputs, options, env, known));
  for (const Node& node : g.nodes) WAFER_TRY(run_node(g, node, options, env, known));
  std::map<std::string, Tensor> outputs;
  if (options.all_values)
    for (size_t id = 0; id < env.size(); ++id)
      if (known[id]) outputs[g.values[id].name] = env[id];
  for (int id : g.outputs) {
    if (!known[id]) return make_error("graph output '{}' is never computed", g.values[id].name);
    outputs[g.values[id].name] = env[id];
  }
  return outputs;
}

}  // namespace wafer::graph
