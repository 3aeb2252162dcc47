// Matrix products: MatMul (NumPy matmul: N-D operands are stacks of matrices whose batch
// axes broadcast; a 1-D first operand is a row, a 1-D second one a column, and that axis is
// dropped from the result) and Gemm (Y = alpha * op(A) op(B) + beta * C, op a transpose when
// transA/transB is set, C broadcast to [M, N]).
//
// Both reduce to one product, c[m][n] = sum over k of a[m][k] * b[k][n] for a batch of
// matrices, with the operands addressed through (row stride, column stride) so transposes
// cost no copy.
#include <algorithm>

#include "ops.hpp"

namespace wafer::graph {

namespace {

using In = const std::vector<const Tensor*>&;
using Out = std::vector<Tensor>&;

// A matrix view: element (r, c) at data[offset + r * row + c * col].
struct Mat {
  const double* data;
  int64_t row, col;
};

// c = a b, accumulating each c[m][n] over k in ascending order; the loop order keeps the
// innermost loop on contiguous memory (k when b is stored transposed, n otherwise), which
// does not change the order of the additions.
void matmul_into(Mat a, Mat b, double* c, int64_t M, int64_t K, int64_t N) {
  if (b.col != 1) {
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k) acc += a.data[m * a.row + k * a.col] * b.data[k * b.row + n * b.col];
        c[m * N + n] = acc;
      }
    return;
  }
  std::fill(c, c + M * N, 0.0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) {
      double a_mk = a.data[m * a.row + k * a.col];
      const double* b_row = b.data + k * b.row;
      for (int64_t n = 0; n < N; ++n) c[m * N + n] += a_mk * b_row[n];
    }
}

// MatMul's operands as stacks of matrices: 1-D operands promoted, batch axes split off.
struct MatMulPlan {
  Shape batch_a, batch_b, batch;
  int64_t M = 1, K = 1, N = 1;
  Shape out;
};

Expected<MatMulPlan> matmul_plan(const Shape& a, const Shape& b, const std::string& a_name, const std::string& b_name) {
  if (a.empty() || b.empty())
    return make_error("input '{}' {} or '{}' {} is a scalar", a_name, shape_text(a), b_name, shape_text(b));
  Shape pa = a.size() == 1 ? Shape{1, a[0]} : a, pb = b.size() == 1 ? Shape{b[0], 1} : b;
  MatMulPlan p;
  p.M = pa[pa.size() - 2];
  p.K = pa.back();
  p.N = pb.back();
  if (pb[pb.size() - 2] != p.K)
    return make_error("input '{}' {} and input '{}' {} differ in the inner dimension ({} and {})", a_name, shape_text(a),
                      b_name, shape_text(b), p.K, pb[pb.size() - 2]);
  p.batch_a.assign(pa.begin(), pa.end() - 2);
  p.batch_b.assign(pb.begin(), pb.end() - 2);
  Expected<Shape> batch = broadcast_shapes(p.batch_a, p.batch_b, a_name, b_name);
  if (!batch) return batch.status();
  p.batch = *batch;
  p.out = p.batch;
  if (a.size() > 1) p.out.push_back(p.M);
  if (b.size() > 1) p.out.push_back(p.N);
  return p;
}

Expected<Sig> matmul_sig(const Node&, const Args& in) {
  WAFER_TRY(check_same_type(in));
  auto plan = matmul_plan(*in[0].shape, *in[1].shape, in[0].name, in[1].name);
  if (!plan) return plan.status();
  return Sig{{in[0].type, plan->out}};
}

Status compute_matmul(const Node&, In in, Out out) {
  auto plan = matmul_plan(in[0]->shape, in[1]->shape, "A", "B");
  if (!plan) return plan.status();
  const MatMulPlan& p = *plan;
  std::vector<int64_t> at = broadcast_offsets(p.batch_a, p.batch), bt = broadcast_offsets(p.batch_b, p.batch);
  for (size_t i = 0; i < at.size(); ++i)
    matmul_into({in[0]->values.data() + at[i] * p.M * p.K, p.K, 1}, {in[1]->values.data() + bt[i] * p.K * p.N, p.N, 1},
                out[0].values.data() + int64_t(i) * p.M * p.N, p.M, p.K, p.N);
  return Status::ok();
}

// --- Gemm ---

struct GemmDims {
  int64_t M, K, N;
  bool trans_a, trans_b;
};

Expected<GemmDims> gemm_dims(const Node& node, const Shape& a, const Shape& b, const std::string& a_name,
                             const std::string& b_name) {
  Expected<int64_t> ta = node.attr_int("transA", 0), tb = node.attr_int("transB", 0);
  if (!ta) return ta.status();
  if (!tb) return tb.status();
  if (a.size() != 2 || b.size() != 2)
    return make_error("input '{}' {} and input '{}' {} must both be matrices", a_name, shape_text(a), b_name,
                      shape_text(b));
  GemmDims d = {*ta ? a[1] : a[0], *ta ? a[0] : a[1], *tb ? b[0] : b[1], *ta != 0, *tb != 0};
  int64_t kb = *tb ? b[1] : b[0];
  if (kb != d.K)
    return make_error("input '{}' {} (transA={}) and input '{}' {} (transB={}) differ in the inner dimension ({} and {})",
                      a_name, shape_text(a), *ta, b_name, shape_text(b), *tb, d.K, kb);
  return d;
}

Expected<Sig> gemm_sig(const Node& node, const Args& in) {
  WAFER_TRY(check_same_type(in));
  auto d = gemm_dims(node, *in[0].shape, *in[1].shape, in[0].name, in[1].name);
  if (!d) return d.status();
  Shape out = {d->M, d->N};
  if (in.size() > 2 && in[2].present) {
    Expected<Shape> c = broadcast_shapes(out, *in[2].shape, "the product", in[2].name);
    if (!c) return c.status();
    if (*c != out)
      return make_error("input '{}' {} does not broadcast to the product's {}", in[2].name, shape_text(*in[2].shape),
                        shape_text(out));
  }
  return Sig{{in[0].type, out}};
}

Status compute_gemm(const Node& node, In in, Out out) {
  GemmDims d = *gemm_dims(node, in[0]->shape, in[1]->shape, "A", "B");
  Expected<double> alpha = node.attr_float("alpha", 1.0), beta = node.attr_float("beta", 1.0);
  if (!alpha) return alpha.status();
  if (!beta) return beta.status();
  Mat a = d.trans_a ? Mat{in[0]->values.data(), 1, d.M} : Mat{in[0]->values.data(), d.K, 1};
  Mat b = d.trans_b ? Mat{in[1]->values.data(), 1, d.K} : Mat{in[1]->values.data(), d.N, 1};
  std::vector<double>& y = out[0].values;
  matmul_into(a, b, y.data(), d.M, d.K, d.N);
  const Tensor* c = in.size() > 2 ? in[2] : nullptr;
  std::vector<int64_t> c_at = c ? broadcast_offsets(c->shape, out[0].shape) : std::vector<int64_t>{};
  for (size_t i = 0; i < y.size(); ++i) y[i] = *alpha * y[i] + (c ? *beta * c->values[c_at[i]] : 0.0);
  return Status::ok();
}

}  // namespace

void add_linalg_ops(std::vector<OpRule>& rows) {
  std::vector<OpRule> add = {
      {"MatMul", 2, 2, 1, 1, matmul_sig, compute_matmul},
      {"Gemm", 2, 3, 1, 1, gemm_sig, compute_gemm},
  };
  rows.insert(rows.end(), add.begin(), add.end());
}

}  // namespace wafer::graph
