// The attention fusion: scaled dot-product attention as torch exports it, matched backwards
// from its last MatMul, to wafer.Attention(Q, Kt, V, [mask]) {scale, mask_mode}:
//   MatMul(Softmax(m, last axis), V)
//   m = Where(mask, c, s)      (GPT-2: a bool mask, true where a score is dropped, c = -inf or
//                              a scalar <= -1e4, as masked_fill(mask, -1e9) writes) -> "fill"
//     | Add(s, mask)           (Llama: an additive float mask, either order)       -> "add"
//     | s                      (no mask)
//   s = Mul(scores, c) -> scale c  |  Div(scores, c) -> scale 1/c  |  scores -> scale 1
//   scores = MatMul(Q, Kt)
// Kt is whatever the graph multiplies Q by (both exports transpose K into [..., D, T] first;
// that Transpose stays). Every intermediate is private; s, m and the scores share one shape,
// so neither the scale nor the mask broadcasts the scores to a larger shape.
#include <cmath>

#include "fusion.hpp"

namespace wafer::graph {

namespace {

struct Scaled {
  int scores;  // the value MatMul(Q, Kt) produces
  double scale;
};

// s as scores·c, scores/c or the scores themselves; the scaling node goes into `nodes`.
std::optional<Scaled> scaled_scores(const Matcher& m, int s, std::vector<int>& nodes) {
  if (std::optional<int> mul = m.private_producer(s, "Mul")) {
    for (int i = 0; i < 2; ++i) {
      const int scores = m.graph().nodes[size_t(*mul)].inputs[size_t(i)];
      std::optional<double> c = m.scalar_value(m.graph().nodes[size_t(*mul)].inputs[size_t(1 - i)]);
      if (!c) continue;
      nodes.push_back(*mul);
      return Scaled{scores, *c};
    }
    return std::nullopt;
  }
  if (std::optional<int> div = m.private_producer(s, "Div")) {
    std::optional<double> c = m.scalar_value(m.graph().nodes[size_t(*div)].inputs[1]);
    if (!c) return std::nullopt;
    nodes.push_back(*div);
    return Scaled{m.graph().nodes[size_t(*div)].inputs[0], 1 / *c};
  }
  return Scaled{s, 1.0};
}

struct Masked {
  int s;          // the scaled scores
  int mask = -1;  // -1: none
  const char* mode = "add";
  double fill = -INFINITY;  // "fill": the value of a dropped score
};

// The least negative value that still drops a score: e^-1e4 is 0 in double and below.
constexpr double kDropped = -1e4;

// m as Where(mask, -inf, s), Add(s, mask) or s; the masking node goes into `nodes`. Of an
// Add's operands, the scores are the one a private Mul, Div or MatMul produces (either way
// the fused op computes the same sum).
Masked masked_scores(const Matcher& m, int v, std::vector<int>& nodes) {
  if (std::optional<int> where = m.private_producer(v, "Where")) {
    const std::vector<int>& in = m.graph().nodes[size_t(*where)].inputs;
    const std::optional<double> fill = m.scalar_value(in[1]);
    if (!fill || !(*fill <= kDropped)) return Masked{v};
    nodes.push_back(*where);
    return Masked{in[2], in[0], "fill", *fill};
  }
  if (std::optional<int> add = m.private_producer(v, "Add")) {
    const std::vector<int>& in = m.graph().nodes[size_t(*add)].inputs;
    const int i = m.private_producer(in[0], "Mul") || m.private_producer(in[0], "Div") ||
                          m.private_producer(in[0], "MatMul")
                      ? 0
                      : 1;
    nodes.push_back(*add);
    return Masked{in[size_t(i)], in[size_t(1 - i)], "add"};
  }
  return Masked{v};
}

std::optional<Rewrite> match_attention(const Matcher& m, int last) {
  const Node& out = m.graph().nodes[size_t(last)];
  if (out.op != "MatMul") return std::nullopt;
  std::vector<int> nodes = {last};
  std::optional<int> softmax = m.private_producer(out.inputs[0], "Softmax");
  if (!softmax) return std::nullopt;
  const Node& sm = m.graph().nodes[size_t(*softmax)];
  Expected<int64_t> axis = sm.attr_int("axis", -1);
  const int64_t rank = int64_t(m.value(sm.inputs[0]).shape.size());
  if (!axis || (*axis != -1 && *axis != rank - 1)) return std::nullopt;
  nodes.push_back(*softmax);
  const Masked masked = masked_scores(m, sm.inputs[0], nodes);
  std::optional<Scaled> scaled = scaled_scores(m, masked.s, nodes);
  if (!scaled) return std::nullopt;
  std::optional<int> qk = m.private_producer(scaled->scores, "MatMul");
  if (!qk) return std::nullopt;
  nodes.push_back(*qk);
  const int q = m.graph().nodes[size_t(*qk)].inputs[0], kt = m.graph().nodes[size_t(*qk)].inputs[1];
  const int v = out.inputs[1];
  for (int id : {masked.s, sm.inputs[0]})
    if (!m.same_type_and_shape(id, scaled->scores)) return std::nullopt;
  const ElemType t = m.value(q).type;
  if (!elem_is_float(t) || m.value(kt).type != t || m.value(v).type != t) return std::nullopt;
  if (masked.mask >= 0) {
    const ElemType want = std::string_view(masked.mode) == "fill" ? ElemType::boolean : t;
    if (m.value(masked.mask).type != want) return std::nullopt;
  }
  std::vector<int> inputs = {q, kt, v};
  if (masked.mask >= 0) inputs.push_back(masked.mask);
  Node fused{"", "wafer.Attention", inputs, {}, {{"scale", scaled->scale}, {"mask_mode", std::string(masked.mode)}}};
  if (masked.mask >= 0 && masked.fill != -INFINITY) fused.attrs["fill"] = masked.fill;
  return Rewrite{nodes, std::move(fused)};
}

}  // namespace

Expected<int> fuse_attention(Graph& g) { return rewrite_all(g, match_attention); }

}  // namespace wafer::graph
