// What the fusion passes share (internal to the graph library): a read-only view of a graph
// for matching chains backwards from their last node, the rewrite that replaces a matched
// chain with one fused node, and the driver that applies a pass's matcher until nothing
// matches. The passes themselves are fuse_activations.cpp (GELU, SiLU), fuse_norms.cpp
// (RMSNorm, LayerNorm), fuse_matmul.cpp (MatMul + bias Add), fuse_rope.cpp (rotary embedding)
// and fuse_attention.cpp; passes.cpp
// runs them in order.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "ops.hpp"

namespace wafer::graph {

// A graph seen by a matcher: who produces each value and how many node inputs read it.
class Matcher {
 public:
  explicit Matcher(const Graph& g);
  const Graph& graph() const { return g_; }
  const Value& value(int id) const { return g_.values[size_t(id)]; }

  // The index of the node producing value `id` when its op is `op` and the value is private
  // (read by exactly `readers` node inputs, and not a graph output); else nullopt.
  std::optional<int> private_producer(int id, std::string_view op, int readers = 1) const;
  // Value `id` is a one-element float constant equal to `want` as its element type holds it:
  // exactly its rounding when `want` is representable, else within one rounding of `want`.
  bool is_scalar(int id, double want) const;
  // A one-element float constant's value.
  std::optional<double> scalar_value(int id) const;
  // The other input of two-input node `node` when one of its inputs is `id`, else nullopt.
  std::optional<int> other_input(int node, int id) const;
  // The leaves of the tree of Mul nodes rooted at node `root` (a Mul): an operand that a
  // private Mul produces is expanded in place. The Muls, root included, go into `nodes`.
  std::vector<int> mul_leaves(int root, std::vector<int>& nodes) const;
  // Node `node` is a ReduceMean over the last axis of its input only, with keepdims.
  bool reduces_last_axis(int node) const;
  // Values `a` and `b` have one element type and one shape (a fused op's output is shaped
  // like its input where the chain's broadcasts could have made it larger).
  bool same_type_and_shape(int a, int b) const;

 private:
  const Graph& g_;
  std::vector<int> producer_;  // node index per value, -1 for inputs and constants
  std::vector<int> readers_;   // node inputs reading each value; graph outputs count as many
};

// Removes value `id` from `leaves` when present; says whether it was.
bool take_leaf(std::vector<int>& leaves, int id);
// Removes one leaf that is a scalar constant equal to `want` (Matcher::is_scalar).
bool take_scalar_leaf(const Matcher& m, std::vector<int>& leaves, double want);

// A matched chain: its nodes (any order) and the node replacing them, whose outputs are the
// last node's. An input id of new_constant(k) stands for `constants[k]`, added to the graph
// as a constant named after the fused node (a LayerNorm's scale of ones where the chain has
// none).
struct Rewrite {
  std::vector<int> nodes;
  Node fused;
  std::vector<Tensor> constants;
};
constexpr int new_constant(int k) { return -2 - k; }

// One pass's matcher: the rewrite for the chain ending at node `last`, or nullopt.
using MatchFn = std::optional<Rewrite> (*)(const Matcher& m, int last);

// Applies `match` at each node until no chain matches: the fused node takes the place of the
// chain's last node, named "<first>..<last>" after the chain's ends, and the chain's other
// nodes and values are removed as dead code. Returns how many chains were replaced.
Expected<int> rewrite_all(Graph& g, MatchFn match);

// The passes (drop_identities.cpp, decompose_activations.cpp, fuse_*.cpp).
Expected<int> drop_identities(Graph& g);
Expected<int> decompose_activations(Graph& g);
Expected<int> fuse_gelu(Graph& g);
Expected<int> fuse_silu(Graph& g);
Expected<int> fuse_rms_norm(Graph& g);
Expected<int> fuse_layer_norm(Graph& g);
Expected<int> fuse_matmul_add(Graph& g);
Expected<int> fuse_attention(Graph& g);
Expected<int> fuse_rope(Graph& g);

}  // namespace wafer::graph
