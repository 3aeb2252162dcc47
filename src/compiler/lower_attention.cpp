// The attention layer: the chains torch exports around scaled dot-product attention, lowered
// to one step (docs/compiler.md, "Attention").
//
// After fusion, attention reads Q, Kᵀ and V as [B, H, S, d] tensors that come from B·S x D
// activations (B sequences of S) through head splits: Reshape [B, S, h, d] then Transpose
// (0,2,1,3). Three forms:
//   GPT-2: one QKV projection [B, S, 3D], Split (last axis) into Q, K, V; Kᵀ is the head
//          split with Transpose (0,2,3,1) instead.
//   Llama: three projections; Q and K rotated by wafer.Rope (fuse-rope) after the head split;
//          K and V repeated to H heads when there are fewer key-value heads (grouped-query),
//          by Unsqueeze at axis 2, Expand, Reshape [B, H, S, d], or by repeat_interleave's
//          Split per head, the same three per head, Concat; Kᵀ = Transpose (0,1,3,2).
//   nn.MultiheadAttention (and the encoder and decoder layers built on it): one QKV
//          projection [S, 1, 3D] sliced into Q, K, V by three Slices of its last axis; the
//          head splits are Reshape [S, h, d] then Transpose (1,0,2), (1,2,0) for Kᵀ; Q is
//          divided (or multiplied) by a scalar there; one sequence (over a batch its rows
//          are sequence-major, which the layer does not take).
//   then wafer.Attention (Q, Kᵀ, V, causal mask or none) {scale = 1/sqrt(d), with Q's},
//   Transpose (0,2,1,3) -> Reshape [B, S, D] (nn.MultiheadAttention: (1,0,2) -> [S, D]).
// In the compiler's 2-D layout every Split, Reshape, Transpose and head repetition of the
// chain only chooses columns (head h is columns h·d..(h+1)·d), so the chain becomes one
// layer of kernels (plan.cpp). The walk goes back from the attention node's inputs and
// forward from its output; every value in between must have that one consumer. The mask
// must be the causal one (the kernel's): for "fill", true exactly where key j > query i (the
// fill value is at most -1e4, so the kernel's -inf drops the same scores); for "add", 0 where
// j <= i and at most -1e4 where j > i; or absent (every query sees every key). The rotary
// tables must be the rotate-half ones (cos and sin [.., S, d] whose two halves are equal),
// the same for Q and K. Anything else is refused with the first thing that differs.
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

// A head split: `value` = Transpose(perm)(Reshape [B, S, h, d](source)), or in the 3-D form
// (nn.MultiheadAttention's) Transpose(perm)(Reshape [S, h, d](source)).
struct HeadSplit {
  int source = -1;  // the [B, S, h·d] (or [S, h·d], [S, 1, h·d]) value
  int64_t batch = 1, seq = 0, heads = 0, d = 0;
};

Expected<HeadSplit> head_split(const Graph& g, const ChainWalk& w, int value, const std::vector<int64_t>& perm,
                               const char* what, std::vector<int>& nodes) {
  const int t = w.producer(value, "Transpose");
  if (t < 0 || !w.perm_is(t, perm))
    return make_error("{} is not the one use of a Transpose (perm {}) of the heads", what, fmt::join(perm, ","));
  const int r = w.producer(g.nodes[size_t(t)].inputs[0], "Reshape");
  if (r < 0) return make_error("{} is not a Reshape into heads", what);
  const graph::Shape& hs = g.values[size_t(g.nodes[size_t(r)].outputs[0])].shape;
  const int source = g.nodes[size_t(r)].inputs[0];
  if (hs.size() != perm.size()) return make_error("{} is not a Reshape [batch, S, heads, d] or [S, heads, d]", what);
  nodes.insert(nodes.end(), {t, r});
  if (hs.size() == 4) return HeadSplit{source, hs[0], hs[1], hs[2], hs[3]};
  if (rows_of(g.values[size_t(source)]) != hs[0])
    return make_error("{} holds {} sequences with their rows interleaved (nn.MultiheadAttention over a batch); the "
                      "attention layer takes them one after another", what, rows_of(g.values[size_t(source)]) / hs[0]);
  return HeadSplit{source, 1, hs[0], hs[1], hs[2]};
}

// Q divided or multiplied by a scalar constant (nn.MultiheadAttention scales Q, not the
// scores): its input, the factor in `scale`; any other value is itself.
int unscale(const Graph& g, const ChainWalk& w, int value, double& scale, std::vector<int>& nodes) {
  for (const char* op : {"Div", "Mul"}) {
    const int n = w.producer(value, op);
    if (n < 0) continue;
    const Value& c = g.values[size_t(g.nodes[size_t(n)].inputs[1])];
    if (!c.constant || graph::element_count(c.shape) != 1) return value;
    const double f = c.constant->values[0];
    scale = std::string_view(op) == "Div" ? 1 / f : f;
    nodes.push_back(n);
    return g.nodes[size_t(n)].inputs[0];
  }
  return value;
}

// Q, K and V as three Slices of one value's last axis, at columns 0, D and 2D: that value
// (the QKV projection's output), or -1.
int sliced_thirds(const Graph& g, const ChainWalk& w, const std::vector<int>& parts, int64_t D,
                  std::vector<int>& nodes) {
  int qkv = -1;
  std::vector<int> found;
  for (size_t i = 0; i < parts.size(); ++i) {
    const int n = w.producer(parts[i], "Slice");
    if (n < 0) return -1;
    const std::vector<int>& in = g.nodes[size_t(n)].inputs;
    const Value& x = g.values[size_t(in[0])];
    auto scalar = [&](size_t k, int64_t absent) -> std::optional<int64_t> {
      if (in.size() <= k || in[k] < 0) return absent;
      const Value& c = g.values[size_t(in[k])];
      if (!c.constant || graph::element_count(c.shape) != 1) return std::nullopt;
      return int64_t(c.constant->values[0]);
    };
    const auto start = scalar(1, -1), axis = scalar(3, 0), step = scalar(4, 1);
    const int64_t last = int64_t(x.shape.size()) - 1;
    if ((qkv >= 0 && in[0] != qkv) || !start || *start != int64_t(i) * D || !axis || (*axis != -1 && *axis != last) ||
        !step || *step != 1 || cols_of(g.values[size_t(parts[i])]) != D || cols_of(x) != 3 * D)
      return -1;
    qkv = in[0];
    found.push_back(n);
  }
  nodes.insert(nodes.end(), found.begin(), found.end());
  return qkv;
}

// Reshape [B, k·r, S, d](Expand [B, k, r, S, d](Unsqueeze [B, k, 1, S, d](x))): each of x's k
// heads r times in a row. The Unsqueeze's input, or -1 for any other value.
int repeated_heads(const Graph& g, const ChainWalk& w, int value, std::vector<int>& nodes) {
  const int r = w.producer(value, "Reshape");
  const int e = r < 0 ? -1 : w.producer(g.nodes[size_t(r)].inputs[0], "Expand");
  const int u = e < 0 ? -1 : w.producer(g.nodes[size_t(e)].inputs[0], "Unsqueeze");
  if (u < 0) return -1;
  const graph::Shape &once = g.values[size_t(g.nodes[size_t(u)].outputs[0])].shape,
                     &times = g.values[size_t(g.nodes[size_t(e)].outputs[0])].shape,
                     &heads = g.values[size_t(value)].shape;
  if (once.size() != 5 || times.size() != 5 || heads.size() != 4 || once[2] != 1 || times[0] != once[0] || times[1] != once[1] ||
      times[3] != once[3] || times[4] != once[4] || heads[1] != times[1] * times[2])
    return -1;
  nodes.insert(nodes.end(), {r, e, u});
  return g.nodes[size_t(u)].inputs[0];
}

// The heads repeated for grouped-query attention (head h reads key-value head h / r), as
// repeated_heads, or as torch's repeat_interleave exports it: Concat (axis 1) of each head of
// Split(x, axis 1) repeated r times. Gives x; any other value is itself.
int unrepeat(const Graph& g, const ChainWalk& w, int value, std::vector<int>& nodes) {
  if (const int x = repeated_heads(g, w, value, nodes); x >= 0) return x;
  const int c = w.producer(value, "Concat");
  if (c < 0 || g.nodes[size_t(c)].attr_int("axis", 0).value_or(0) != 1) return value;
  const std::vector<int>& pieces = g.nodes[size_t(c)].inputs;
  std::vector<int> found = {c};
  int split = -1;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const int head = repeated_heads(g, w, pieces[i], found);
    const int s = head < 0 ? -1 : w.producer(head, "Split");
    if (s < 0 || (split >= 0 && s != split) || g.values[size_t(pieces[i])].shape != g.values[size_t(pieces[0])].shape)
      return value;
    const Node& sn = g.nodes[size_t(s)];
    if (sn.attr_int("axis", 0).value_or(0) != 1 || sn.outputs.size() != pieces.size() || sn.outputs[i] != head) return value;
    split = s;
  }
  found.push_back(split);
  nodes.insert(nodes.end(), found.begin(), found.end());
  return g.nodes[size_t(split)].inputs[0];
}

// A wafer.Rope's input, with its tables in `cos` and `sin`; any other value is itself.
int unrotate(const Graph& g, const ChainWalk& w, int value, int& cos, int& sin, std::vector<int>& nodes) {
  const int r = w.producer(value, "wafer.Rope");
  if (r < 0) return value;
  nodes.push_back(r);
  cos = g.nodes[size_t(r)].inputs[1];
  sin = g.nodes[size_t(r)].inputs[2];
  return g.nodes[size_t(r)].inputs[0];
}

// Whether a rotary table is S x d of the rotate-half form: constant, both halves equal.
bool rotate_half_table(const Value& t, int64_t S, int64_t d) {
  if (!t.constant || rows_of(t) != S || cols_of(t) != d) return false;
  for (int64_t p = 0; p < S; ++p)
    for (int64_t k = 0; k < d / 2; ++k)
      if (t.constant->values[size_t(p * d + k)] != t.constant->values[size_t(p * d + k + d / 2)]) return false;
  return true;
}

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
  Step& step = chain.step;
  // [B, H, S, d], or nn.MultiheadAttention's [H, S, d].
  const bool mha = g.values[size_t(att.inputs[0])].shape.size() == 3;
  const std::vector<int64_t> to_heads = mha ? std::vector<int64_t>{1, 0, 2} : std::vector<int64_t>{0, 2, 1, 3};
  const std::vector<int64_t> to_kt = mha ? std::vector<int64_t>{1, 2, 0} : std::vector<int64_t>{0, 2, 3, 1};
  int q_cos = -1, q_sin = -1, k_cos = -1, k_sin = -1;
  double q_scale = 1;
  // Q: [Div or Mul by a scalar] <- [Rope] <- head split.
  const int q_unscaled = unscale(g, w, att.inputs[0], q_scale, chain.nodes);
  auto q = head_split(g, w, unrotate(g, w, q_unscaled, q_cos, q_sin, chain.nodes), to_heads, "Q", chain.nodes);
  if (!q) return q.status();
  // Kᵀ: GPT-2's head split straight into Kᵀ, or Transpose (0,1,3,2) <- [repeat] <- [Rope] <- head split.
  Expected<HeadSplit> k = make_error("");
  const int kt = w.producer(att.inputs[1], "Transpose");
  if (kt >= 0 && w.perm_is(kt, {0, 1, 3, 2})) {
    chain.nodes.push_back(kt);
    const int rotated = unrepeat(g, w, g.nodes[size_t(kt)].inputs[0], chain.nodes);
    k = head_split(g, w, unrotate(g, w, rotated, k_cos, k_sin, chain.nodes), to_heads, "K", chain.nodes);
  } else {
    k = head_split(g, w, att.inputs[1], to_kt, "Kᵀ", chain.nodes);
  }
  if (!k) return k.status();
  auto v = head_split(g, w, unrepeat(g, w, att.inputs[2], chain.nodes), to_heads, "V", chain.nodes);
  if (!v) return v.status();
  if (k->heads != v->heads || k->d != q->d || v->d != q->d || q->heads % k->heads != 0)
    return make_error("Q has {} heads of {}, K {} of {} and V {} of {}", q->heads, q->d, k->heads, k->d, v->heads, v->d);
  if (k->batch != q->batch || v->batch != q->batch || k->seq != q->seq || v->seq != q->seq)
    return make_error("Q holds {} sequences of {}, K {} of {} and V {} of {}", q->batch, q->seq, k->batch, k->seq,
                      v->batch, v->seq);
  const int64_t B = q->batch, S = q->seq, d = q->d, D = q->heads * d;
  // One Split into Q, K, V (GPT-2), three Slices (nn.MultiheadAttention), or three activations.
  const int sq = w.producer(q->source, "Split");
  const bool split = sq >= 0 && g.nodes[size_t(sq)].outputs.size() == 3 &&
                     g.nodes[size_t(sq)].outputs == std::vector<int>{q->source, k->source, v->source};
  const int sliced = k->heads == q->heads ? sliced_thirds(g, w, {q->source, k->source, v->source}, D, chain.nodes) : -1;
  if (sliced >= 0) {
    step.a = sliced;
  } else if (split) {
    const Node& sn = g.nodes[size_t(sq)];
    const Value& qkv = g.values[size_t(sn.inputs[0])];
    const int64_t rank = int64_t(qkv.shape.size()), axis = sn.attr_int("axis", 0).value_or(0);
    if ((axis != -1 && axis != rank - 1) || cols_of(qkv) != 3 * D || k->heads != q->heads)
      return make_error("the Split of {} is not three equal parts of its last axis", graph::shape_text(qkv.shape));
    chain.nodes.push_back(sq);
    step.a = sn.inputs[0];
  } else {
    step.a = q->source;
    step.k = k->source;
    step.v = v->source;
  }
  // RoPE on both Q and K with the same rotate-half tables, or on neither.
  if ((q_cos < 0) != (k_cos < 0) || q_cos != k_cos || q_sin != k_sin)
    return make_error("RoPE rotates {} with other tables than {}", q_cos < 0 ? "K" : "Q", q_cos < 0 ? "Q" : "K");
  if (q_cos >= 0 && (!rotate_half_table(g.values[size_t(q_cos)], S, d) || !rotate_half_table(g.values[size_t(q_sin)], S, d)))
    return make_error("the rotary tables are not constants [S, d] = [{}, {}] with equal halves", S, d);
  step.rope_cos = q_cos;
  step.rope_sin = q_sin;
  // Forward: Transpose (0,2,1,3) -> Reshape [.., S, D] (nn.MultiheadAttention: (1,0,2)).
  const int back = w.consumer(att.outputs[0], "Transpose");
  if (back < 0 || !w.perm_is(back, to_heads))
    return make_error("the result is not the one use of a Transpose (perm {})", fmt::join(to_heads, ","));
  const int merge = w.consumer(g.nodes[size_t(back)].outputs[0], "Reshape");
  if (merge < 0) return make_error("the heads are not merged by one Reshape");
  const Value& o = g.values[size_t(g.nodes[size_t(merge)].outputs[0])];
  if (rows_of(o) != B * S || cols_of(o) != D)
    return make_error("the merged result is {}, not {} x {}", graph::shape_text(o.shape), B * S, D);
  chain.nodes.insert(chain.nodes.end(), {back, merge});
  // The kernel's mask and scale.
  const bool fills = att.attr_string("mask_mode", "add").value_or("add") == "fill";
  const bool masked = att.inputs.size() > 3 && att.inputs[3] >= 0;
  if (masked && !causal_mask(g.values[size_t(att.inputs[3])], fills, S))
    return make_error("the mask is not the constant causal mask of {} positions (the kernel is causal, or without a "
                      "mask full)", S);
  const double scale = att.attr_float("scale", 0.0).value_or(0.0) * q_scale, want = 1.0 / std::sqrt(double(d));
  if (std::abs(scale - want) > 1e-6 * want) return make_error("scale {} is not 1/sqrt({})", scale, d);
  step.kind = StepKind::attention;
  step.node = node;
  step.out = g.nodes[size_t(merge)].outputs[0];
  step.heads = q->heads;
  step.kv_heads = k->heads;
  step.batch = B;
  step.causal = masked;
  return chain;
}

}  // namespace wafer::compiler
