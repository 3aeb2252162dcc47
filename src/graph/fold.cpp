// Constant folding: a node whose inputs are all constants (or a Shape node, whose result only
// needs its input's static shape) is evaluated by the reference interpreter's rule in double
// precision, and its outputs become constants. This is how the chains torch exports around a
// reshape (Shape -> Gather -> Unsqueeze -> Concat -> Reshape for `x.view(b, -1)`) become a
// constant shape. The nodes that stay get their shapes inferred on the way, so a later
// Shape node can read the shape of any value computed before it; that is why a graph whose
// shapes come from such chains is folded first (infer_shapes alone reports them as dynamic).
//
// Then dead code goes (remove_dead_code, which the fusion passes share): walking the nodes
// backwards from the graph outputs, a node none of whose outputs is used is dropped; values
// that are neither graph inputs nor outputs nor touched by a remaining node are dropped, and
// the ids are renumbered in their old order.
#include <algorithm>

#include "ops.hpp"

namespace wafer::graph {

namespace {

bool foldable(const Graph& g, const Node& node) {
  if (node.op == "Shape") return true;
  return std::all_of(node.inputs.begin(), node.inputs.end(),
                     [&](int id) { return id < 0 || g.values[id].constant.has_value(); });
}

// Folds `node` into constants on its outputs.
Status fold_node(Graph& g, const Node& node) {
  const OpRule* rule = find_rule(node.op);
  if (!rule) return make_error("{}: unsupported op", node_label(node));
  std::vector<Tensor> shapes_only;  // a Shape node's non-constant input: its shape, no values
  shapes_only.reserve(node.inputs.size());
  std::vector<const Tensor*> in;
  std::vector<std::string> names;
  for (int id : node.inputs) {
    const Tensor* t = nullptr;
    if (id >= 0 && g.values[id].constant) {
      t = &*g.values[id].constant;
    } else if (id >= 0) {
      shapes_only.push_back({g.values[id].type, g.values[id].shape, {}});
      t = &shapes_only.back();
    }
    in.push_back(t);
    names.push_back(id >= 0 ? g.values[id].name : "");
  }
  std::vector<Tensor> out;
  WAFER_TRY(evaluate_node(*rule, node, in, names, out));
  for (size_t i = 0; i < out.size(); ++i) {
    Value& v = g.values[node.outputs[i]];
    v.type = out[i].type;
    v.shape = out[i].shape;
    v.constant = std::move(out[i]);
  }
  return Status::ok();
}

void drop_dead_nodes(Graph& g) {
  std::vector<char> used(g.values.size(), 0);
  for (int id : g.outputs) used[id] = 1;
  std::vector<Node> kept;
  for (auto it = g.nodes.rbegin(); it != g.nodes.rend(); ++it) {
    if (std::none_of(it->outputs.begin(), it->outputs.end(), [&](int id) { return used[id]; })) continue;
    for (int id : it->inputs)
      if (id >= 0) used[id] = 1;
    kept.push_back(std::move(*it));
  }
  std::reverse(kept.begin(), kept.end());
  g.nodes = std::move(kept);
}

void drop_dead_values(Graph& g) {
  std::vector<char> live(g.values.size(), 0);
  for (int id : g.inputs) live[id] = 1;
  for (int id : g.outputs) live[id] = 1;
  for (const Node& node : g.nodes) {
    for (int id : node.inputs)
      if (id >= 0) live[id] = 1;
    for (int id : node.outputs) live[id] = 1;
  }
  std::vector<int> renumber(g.values.size(), -1);
  std::vector<Value> values;
  for (size_t id = 0; id < g.values.size(); ++id)
    if (live[id]) {
      renumber[id] = int(values.size());
      values.push_back(std::move(g.values[id]));
    }
  g.values = std::move(values);
  auto remap = [&](std::vector<int>& ids) {
    for (int& id : ids)
      if (id >= 0) id = renumber[id];
  };
  remap(g.inputs);
  remap(g.outputs);
  for (Node& node : g.nodes) {
    remap(node.inputs);
    remap(node.outputs);
  }
}

}  // namespace

void remove_dead_code(Graph& g) {
  drop_dead_nodes(g);
  drop_dead_values(g);
}

Expected<int> fold_constants(Graph& g) {
  int folded = 0;
  std::vector<Node> kept;
  for (const Node& node : g.nodes) {
    if (!foldable(g, node)) {
      WAFER_TRY(find_op(node.op) ? find_op(node.op)->infer(node, g) : make_error("{}: unsupported op", node_label(node)));
      kept.push_back(node);
      continue;
    }
    WAFER_TRY(fold_node(g, node));
    ++folded;
  }
  g.nodes = std::move(kept);
  remove_dead_code(g);
  return folded;
}

}  // namespace wafer::graph
