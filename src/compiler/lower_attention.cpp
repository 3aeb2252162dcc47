// The attention layer: the chain torch exports around scaled dot-product attention, lowered
// to one step (docs/compiler.md, "Attention").
//
// After fusion a GPT-2-style block reads, from the QKV projection's [1, S, 3D] output:
//   Split (last axis, D each) -> Q, K, V
//   Q: Reshape [1, S, H, d] -> Transpose (0,2,1,3)      -> [1, H, S, d]
//   K: Reshape [1, S, H, d] -> Transpose (0,2,3,1)      -> [1, H, d, S]  (Kᵀ)
//   V: Reshape [1, S, H, d] -> Transpose (0,2,1,3)      -> [1, H, S, d]
//   wafer.Attention (Q, Kᵀ, V, causal mask) {scale = 1/sqrt(d)}
//   Transpose (0,2,1,3) -> Reshape [1, S, D]
// In the compiler's 2-D layout the QKV matrix is S x 3D and the result S x D, head h being
// columns h·d..(h+1)·d of each third: every Split, Reshape and Transpose of the chain is a
// choice of columns, which the layer's slices and relayouts make (plan.cpp). The walk goes
// back from the attention node's inputs to one Split and forward to one Reshape; every value
// in between must have that one consumer. The mask must be the causal one (the kernel's):
// for "fill", true exactly where key j > query i; for "add", 0 where j <= i and at most
// -1e4 where j > i. Anything else is refused with the first thing that differs.
#include <fmt/format.h>

#include <cmath>

#include "lower.hpp"

namespace wafer::compiler {

using graph::Graph;
using graph::Node;
using graph::Value;

namespace {

class ChainWalk {
 public:
  explicit ChainWalk(const Graph& g) : g_(g), producer_(g.values.size(), -1), consumers_(g.values.size()) {
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      for (int out : g.nodes[i].outputs)
        if (out >= 0) producer_[size_t(out)] = int(i);
      for (int in : g.nodes[i].inputs)
        if (in >= 0) consumers_[size_t(in)].push_back(int(i));
    }
    for (int out : g.outputs) consumers_[size_t(out)].push_back(-1);
  }

  // The node that computes `value` if it is `op` and `value` has only the consumer it came
  // from; -1 otherwise.
  int producer(int value, const std::string& op) const {
    const int p = producer_[size_t(value)];
    if (p < 0 || g_.nodes[size_t(p)].op != op || consumers_[size_t(value)].size() != 1) return -1;
    return p;
  }
  // The one consumer of `value` if it is `op`; -1 otherwise.
  int consumer(int value, const std::string& op) const {
    const std::vector<int>& c = consumers_[size_t(value)];
    if (c.size() != 1 || c[0] < 0 || g_.nodes[size_t(c[0])].op != op) return -1;
    return c[0];
  }
  bool perm_is(int node, const std::vector<int64_t>& perm) const {
    auto p = g_.nodes[size_t(node)].attr_ints("perm", std::vector<int64_t>{});
    return p && *p == perm;
  }

 private:
  const Graph& g_;
  std::vector<int> producer_;
  std::vector<std::vector<int>> consumers_;
};

// Whether the constant mask is the causal one for S queries and keys.
bool causal_mask(const Value& mask, bool fills, int64_t S) {
  if (!mask.constant) return false;
  const graph::Tensor& t = *mask.constant;
  for (size_t i = 0; i + 2 < t.shape.size(); ++i)
    if (t.shape[i] != 1) return false;
  if (t.shape.size() < 2 || t.shape[t.shape.size() - 2] != S || t.shape.back() != S) return false;
  for (int64_t i = 0; i < S; ++i)
    for (int64_t j = 0; j < S; ++j) {
      const double m = t.values[size_t(i * S + j)];
      const bool masked = fills ? m != 0 : m <= -1e4;
      if (masked != (j > i) || (!fills && j <= i && m != 0)) return false;
    }
  return true;
}

}  // namespace

Expected<AttentionChain> match_attention(const Graph& g, int node) {
  const ChainWalk w(g);
  const Node& att = g.nodes[size_t(node)];
  AttentionChain chain;
  // Q, Kᵀ, V back to the Split: Transpose <- Reshape <- Split output `part`.
  int split = -1;
  int64_t heads = 0, d = 0;
  const std::vector<int64_t> to_heads{0, 2, 1, 3}, to_kt{0, 2, 3, 1};
  const char* names[] = {"Q", "Kᵀ", "V"};
  for (int part = 0; part < 3; ++part) {
    const int t = w.producer(att.inputs[size_t(part)], "Transpose");
    if (t < 0 || !w.perm_is(t, part == 1 ? to_kt : to_heads))
      return make_error("{} is not the one use of a Transpose (perm {}) of the heads", names[part],
                        part == 1 ? "0,2,3,1" : "0,2,1,3");
    const int r = w.producer(g.nodes[size_t(t)].inputs[0], "Reshape");
    if (r < 0) return make_error("{} is not a Reshape of a Split's output into heads", names[part]);
    const graph::Shape& hs = g.values[size_t(g.nodes[size_t(r)].outputs[0])].shape;
    const int s = w.producer(g.nodes[size_t(r)].inputs[0], "Split");
    if (s < 0 || hs.size() != 4 || hs[0] != 1)
      return make_error("{} is not a Reshape [1, S, heads, d] of a Split's output", names[part]);
    const Node& sn = g.nodes[size_t(s)];
    if (sn.outputs.size() != 3 || sn.outputs[size_t(part)] != g.nodes[size_t(r)].inputs[0] || (split >= 0 && s != split))
      return make_error("Q, K and V are not the three outputs of one Split, in that order");
    if (heads && (hs[2] != heads || hs[3] != d)) return make_error("Q, K and V have different heads");
    split = s;
    heads = hs[2];
    d = hs[3];
    chain.nodes.insert(chain.nodes.end(), {t, r});
  }
  const Node& sn = g.nodes[size_t(split)];
  const Value& qkv = g.values[size_t(sn.inputs[0])];
  const int64_t rank = int64_t(qkv.shape.size()), axis = sn.attr_int("axis", 0).value_or(0);
  if (axis != -1 && axis != rank - 1) return make_error("the Split is not along the last axis");
  const int64_t S = rows_of(qkv), D = heads * d;
  if (cols_of(qkv) != 3 * D) return make_error("the Split's input has {} columns, not 3 x {}", cols_of(qkv), D);
  chain.nodes.push_back(split);
  // Forward: Transpose (0,2,1,3) -> Reshape [.., S, D].
  const int back = w.consumer(att.outputs[0], "Transpose");
  if (back < 0 || !w.perm_is(back, to_heads)) return make_error("the result is not the one use of a Transpose (perm 0,2,1,3)");
  const int merge = w.consumer(g.nodes[size_t(back)].outputs[0], "Reshape");
  if (merge < 0) return make_error("the heads are not merged by one Reshape");
  const Value& o = g.values[size_t(g.nodes[size_t(merge)].outputs[0])];
  if (rows_of(o) != S || cols_of(o) != D) return make_error("the merged result is {}, not S x {}", graph::shape_text(o.shape), D);
  chain.nodes.insert(chain.nodes.end(), {back, merge});
  // The kernel's mask and scale.
  const bool fills = att.attr_string("mask_mode", "add").value_or("add") == "fill";
  if (att.inputs.size() < 4 || att.inputs[3] < 0 || !causal_mask(g.values[size_t(att.inputs[3])], fills, S))
    return make_error("the mask is not the constant causal mask of {} positions (the kernel is causal)", S);
  const double scale = att.attr_float("scale", 0.0).value_or(0.0), want = 1.0 / std::sqrt(double(d));
  if (std::abs(scale - want) > 1e-6 * want) return make_error("scale {} is not 1/sqrt({})", scale, d);
  chain.step.kind = StepKind::attention;
  chain.step.node = node;
  chain.step.a = sn.inputs[0];
  chain.step.out = g.nodes[size_t(merge)].outputs[0];
  chain.step.heads = heads;
  return chain;
}

}  // namespace wafer::compiler
