// The linear-layer fusion: Add(MatMul(A, B), bias) or Add(bias, MatMul(A, B)) to
// wafer.MatMulAdd(A, B, bias), as torch exports nn.Linear on a 3-D input. B must be a 2-D
// constant [K, N] (a weight), bias a constant shaped [N], A of rank 2 or more, and the
// MatMul's result read by the Add only; all of one element type.
#include "fusion.hpp"

namespace wafer::graph {

namespace {

std::optional<Rewrite> match_matmul_add(const Matcher& m, int last) {
  const Node& add = m.graph().nodes[size_t(last)];
  if (add.op != "Add" || add.inputs.size() != 2) return std::nullopt;
  for (int i = 0; i < 2; ++i) {
    std::optional<int> matmul = m.private_producer(add.inputs[size_t(i)], "MatMul");
    if (!matmul) continue;
    const int a = m.graph().nodes[size_t(*matmul)].inputs[0], b = m.graph().nodes[size_t(*matmul)].inputs[1];
    const int bias = add.inputs[size_t(1 - i)];
    const Value &va = m.value(a), &vb = m.value(b), &vbias = m.value(bias);
    if (!vb.constant || vb.shape.size() != 2 || va.shape.size() < 2) continue;
    if (!vbias.constant || vbias.shape != Shape{vb.shape[1]}) continue;
    if (!elem_is_float(va.type) || vb.type != va.type || vbias.type != va.type) continue;
    return Rewrite{{*matmul, last}, Node{"", "wafer.MatMulAdd", {a, b, bias}, {}, {}}};
  }
  return std::nullopt;
}

}  // namespace

Expected<int> fuse_matmul_add(Graph& g) { return rewrite_all(g, match_matmul_add); }

}  // namespace wafer::graph
