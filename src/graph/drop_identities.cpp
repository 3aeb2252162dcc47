// drop-identities: nodes that pass their input on unchanged, Identity and a Cast to the type
// its input already has (torch exports `.float()` and `.type_as(q)` of an fp32 model so, often
// around a softmax), are removed and their readers read the input instead. The fusion passes
// after it then see the chains they match without a no-op in the middle. A node whose output
// is a graph output stays (the output keeps its name), and so does a Cast that changes the type.
#include "fusion.hpp"

namespace wafer::graph {

namespace {

bool passes_input_on(const Graph& g, const Node& n) {
  if (n.inputs.size() != 1 || n.outputs.size() != 1 || n.inputs[0] < 0) return false;
  if (n.op == "Identity") return true;
  return n.op == "Cast" && g.values[size_t(n.inputs[0])].type == g.values[size_t(n.outputs[0])].type;
}

bool is_graph_output(const Graph& g, int id) {
  for (int out : g.outputs)
    if (out == id) return true;
  return false;
}

}  // namespace

Expected<int> drop_identities(Graph& g) {
  int dropped = 0;
  for (Node& n : g.nodes) {
    if (!passes_input_on(g, n) || is_graph_output(g, n.outputs[0])) continue;
    const int from = n.outputs[0], to = n.inputs[0];
    for (Node& reader : g.nodes)
      for (int& id : reader.inputs)
        if (id == from) id = to;
    ++dropped;
  }
  if (dropped > 0) remove_dead_code(g);
  return dropped;
}

}  // namespace wafer::graph
