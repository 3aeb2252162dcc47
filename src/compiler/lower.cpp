// Lowering: which kernel computes each node of the graph (docs/compiler.md, "Lowering").
//
// One walk over the nodes in order. A view (Reshape, Flatten, Squeeze, Unsqueeze, Identity)
// whose output has the input's rows and columns (lower.hpp's 2-D reading) becomes an alias:
// its consumers read the producer's blocks. Every other node must match one kernel's
// contract, checked on shapes and on which operands are constants (weights arrive from the
// host; activations are on the wafer):
//   MatMul / Gemm / wafer.MatMulAdd  activation x constant 2-D weight (+ constant 1-D bias)
//                                    -> GEMM; Gemm's transB gives the weight as N x K
//   Add Sub Mul Div Max Min          activation op (constant or activation of its shape); the
//                                    second operand's shape picks the broadcast form; a
//                                    constant first operand of Add, Mul, Max or Min is swapped
//   Relu Erf Tanh Sigmoid Sqrt Reciprocal Neg Exp wafer.Gelu wafer.Silu -> element-wise
//   Softmax LayerNormalization wafer.RMSNorm over the last axis         -> row reductions
//   wafer.Attention with the Split, Reshapes and Transposes around it   -> the attention
//                                    layer (lower_attention.cpp), its chain absorbed
//   Conv MaxPool AveragePool BatchNormalization GlobalAveragePool       -> the window,
//                                    batch-norm and pooling kernels (lower_image.cpp), whose
//                                    outputs are images: held channels-last, as element-wise
//                                    ops on them and their views are too; a Pad of zeros is
//                                    a view; a view that reorders one (Flatten of C x H x W)
//                                    is read by its consumers through the host
//   a view of a model input that changes its rows and columns (a Flatten of an input image)
//                                 -> the host writes the input in the view's shape
//   Gather (axis 0) of a constant [V, D] table by a model input of token ids -> the gather
//                                    kernel (an embedding lookup), whose T x D output lies on
//                                    the first PE row, row-major: its readers read it through
//                                    the host
// A node that matches nothing is recorded with the reason, and the error lists them all,
// grouped by op, so one compile shows everything a model still needs.
#include "lower.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <set>

namespace wafer::compiler {

using graph::Graph;
using graph::Node;
using graph::Value;
using kernels::Broadcast;
using kernels::EltwiseOp;

int64_t pixels_of(const Value& v) { return v.shape.size() == 4 ? v.shape[2] * v.shape[3] : 1; }

int64_t rows_of(const Value& v, bool image) {
  if (image) return v.shape[0] * pixels_of(v);
  int64_t r = 1;
  for (size_t i = 0; i + 1 < v.shape.size(); ++i) r *= v.shape[i];
  return r;
}

int64_t cols_of(const Value& v, bool image) {
  if (image) return v.shape[1];
  return v.shape.empty() ? 1 : v.shape.back();
}

size_t element_index(const Value& v, bool image, int64_t row, int64_t col) {
  if (!image) return size_t(row * cols_of(v) + col);
  const int64_t pixels = pixels_of(v);
  return size_t((row / pixels * v.shape[1] + col) * pixels + row % pixels);
}

namespace {

// Why a node cannot be lowered, or the step it becomes.
struct Outcome {
  std::optional<Step> step;
  std::string reason;  // when !step and not a view
  bool view = false;
};

Outcome refuse(std::string why) { return Outcome{std::nullopt, std::move(why), false}; }

class Lowering {
 public:
  explicit Lowering(const Graph& g)
      : g_(g), used_(g.values.size(), false), read_beyond_views_(g.values.size(), false) {
    for (const Node& n : g.nodes)
      for (int in : n.inputs) {
        if (in < 0) continue;
        used_[size_t(in)] = true;
        if (!is_view_op(n.op)) read_beyond_views_[size_t(in)] = true;
      }
    for (int out : g.outputs) used_[size_t(out)] = read_beyond_views_[size_t(out)] = true;
  }

  Expected<Lowered> run() {
    std::map<std::string, std::vector<std::string>> refused;  // "op (reason)" -> node names
    std::map<size_t, Outcome> chains;  // attention nodes, lowered with the chain around them
    std::set<int> absorbed;
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      if (g_.nodes[i].op != "wafer.Attention") continue;
      auto chain = match_attention(g_, int(i));
      chains[i] = chain ? Outcome{chain->step, "", false} : refuse(chain.message());
      if (chain) absorbed.insert(chain->nodes.begin(), chain->nodes.end());
    }
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      if (absorbed.count(int(i))) continue;
      Outcome o = chains.count(i) ? chains[i] : classify(g_.nodes[i]);
      if (o.step) o.step->a = resolve(o.step->a);
      if (o.step) {
        o.step->node = int(i);
        if (leaves_image(*o.step)) out_.images.insert(o.step->out);
        out_.steps.push_back(*o.step);
      } else if (o.view) {
        ++out_.views;
      } else {
        refused[fmt::format("{} ({})", g_.nodes[i].op, o.reason)].push_back(g_.nodes[i].name);
      }
    }
    if (refused.empty()) return std::move(out_);
    size_t count = 0;
    std::string lines;
    for (const auto& [what, names] : refused) {
      count += names.size();
      lines += fmt::format("\n  {}: {}", what, fmt::join(names, ", "));
    }
    return make_error("the wafer engine cannot lower {} node{} of graph '{}' yet (the reference interpreter runs them):{}",
                      count, count == 1 ? "" : "s", g_.name, lines);
  }

 private:
  const Graph& g_;
  std::vector<bool> used_;  // read by a node or a graph output
  std::vector<bool> read_beyond_views_;  // read by a node other than a view, or a graph output
  Lowered out_;

  static bool is_view_op(const std::string& op) {
    return op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze" || op == "Identity";
  }

  int resolve(int id) const {
    auto it = out_.alias.find(id);
    return it == out_.alias.end() ? id : it->second;
  }
  const Value& value(int id) const { return g_.values[size_t(id)]; }
  bool image(int id) const { return out_.images.count(resolve(id)) > 0; }
  // An image of more than one pixel: held channels-last, unlike the graph's order (an image of
  // one pixel, GlobalAveragePool's, is the same matrix either way).
  bool pixels_reordered(int id) const {
    return image(id) && pixels_of(value(resolve(id))) > 1;
  }
  // The window kernels write images; element-wise ops keep their first operand's view.
  bool leaves_image(const Step& s) const {
    return s.kind == StepKind::window || s.kind == StepKind::batchnorm ||
           (s.kind == StepKind::eltwise && image(s.a));
  }
  bool constant(int id) const { return id >= 0 && value(id).constant.has_value(); }
  bool is_float(int id) const { return graph::elem_is_float(value(id).type); }

  Outcome classify(const Node& n) {
    static const std::map<std::string, EltwiseOp> binary = {
        {"Add", EltwiseOp::add}, {"Sub", EltwiseOp::sub}, {"Mul", EltwiseOp::mul},
        {"Div", EltwiseOp::div}, {"Max", EltwiseOp::max}, {"Min", EltwiseOp::min}};
    static const std::map<std::string, EltwiseOp> unary = {
        {"Relu", EltwiseOp::relu},       {"Erf", EltwiseOp::erf},   {"Tanh", EltwiseOp::tanh},
        {"Sigmoid", EltwiseOp::sigmoid}, {"Sqrt", EltwiseOp::sqrt}, {"Reciprocal", EltwiseOp::reciprocal},
        {"Neg", EltwiseOp::neg},         {"Exp", EltwiseOp::exp},   {"wafer.Silu", EltwiseOp::silu},
        {"Log", EltwiseOp::log}};
    if (is_image_op(n.op)) {
      auto step = lower_image_op(g_, n);
      return step ? Outcome{*step, "", false} : refuse(step.message());
    }
    if (n.outputs.size() != 1 && n.op != "LayerNormalization") return refuse("several outputs");
    if (n.op == "Gather") return gather(n);
    for (int in : n.inputs)
      if (in >= 0 && !constant(in) && !is_float(in)) return refuse("an integer or boolean operand");
    if (!n.inputs.empty() && constant(n.inputs[0]) && n.op != "Add" && n.op != "Mul" && n.op != "Max" &&
        n.op != "Min")
      return refuse("a constant first operand");
    if (is_view_op(n.op)) return view(n);
    if (n.op == "Transpose" && moves_only_unit_axes(n)) return view(n);
    if (n.op == "Pad") return zero_pad(n);
    if (n.op == "MatMul" || n.op == "Gemm" || n.op == "wafer.MatMulAdd") return gemm(n);
    if (auto it = binary.find(n.op); it != binary.end()) return eltwise_binary(n, it->second);
    if (auto it = unary.find(n.op); it != unary.end()) return eltwise_unary(n, it->second);
    if (n.op == "wafer.Gelu") {
      const std::string approx = n.attr_string("approximate", "none").value_or("none");
      return eltwise_unary(n, approx == "tanh" ? EltwiseOp::gelu_tanh : EltwiseOp::gelu);
    }
    if (n.op == "Softmax" || n.op == "LayerNormalization" || n.op == "wafer.RMSNorm") return norm(n);
    return refuse("no kernel");
  }

  // A Transpose whose axes of more than one element keep their order (nn.MultiheadAttention's
  // [1, S, D] <-> [S, 1, D]): the values keep their order, so it is a view.
  bool moves_only_unit_axes(const Node& n) const {
    auto perm = n.attr_ints("perm", std::vector<int64_t>{});
    if (!perm) return false;
    const graph::Shape& in = value(n.inputs[0]).shape;
    int64_t previous = -1;
    for (int64_t axis : *perm) {
      if (axis < 0 || axis >= int64_t(in.size())) return false;
      if (in[size_t(axis)] == 1) continue;
      if (axis < previous) return false;
      previous = axis;
    }
    return true;
  }

  // A view's rows and columns are compared with those of the value it is a view of, where a
  // step or the graph reads it: a chain of views (x.squeeze(-1).squeeze(-1)) may pass
  // through shapes of other rows and columns.
  Outcome view(const Node& n) {
    const Value &in = value(resolve(n.inputs[0])), &out = value(n.outputs[0]);
    const bool held_as_image = image(n.inputs[0]);
    if (out.shape.size() != 4 && pixels_reordered(n.inputs[0])) {
      out_.relaid[n.outputs[0]] = resolve(n.inputs[0]);
      return Outcome{std::nullopt, "", true};
    }
    if (!read_beyond_views_[size_t(n.outputs[0])]) {
      out_.alias[n.outputs[0]] = resolve(n.inputs[0]);
      return Outcome{std::nullopt, "", true};
    }
    const bool reshapes = rows_of(in, held_as_image) != rows_of(out, held_as_image && out.shape.size() == 4) ||
                          cols_of(in, held_as_image) != cols_of(out, held_as_image && out.shape.size() == 4);
    if (reshapes && g_.is_input(resolve(n.inputs[0]))) {  // the host writes it in the new shape
      out_.relaid[n.outputs[0]] = resolve(n.inputs[0]);
      return Outcome{std::nullopt, "", true};
    }
    if (reshapes)
      return refuse(fmt::format("{} -> {} changes the last dimension; needs a relayout kernel",
                                graph::shape_text(in.shape), graph::shape_text(out.shape)));
    out_.alias[n.outputs[0]] = resolve(n.inputs[0]);
    return Outcome{std::nullopt, "", true};
  }

  // A Pad that adds nothing (torch exports one before some pools) is a view; padding itself
  // belongs in the next window operation's pads.
  Outcome zero_pad(const Node& n) {
    const int pads = n.inputs.size() > 1 ? n.inputs[1] : -1;
    const bool zero = constant(pads) && std::all_of(value(pads).constant->values.begin(),
                                                    value(pads).constant->values.end(), [](double p) { return p == 0; });
    if (!zero) return refuse("padding (the window kernels pad: give the Conv or pool its pads)");
    out_.alias[n.outputs[0]] = resolve(n.inputs[0]);
    return Outcome{std::nullopt, "", true};
  }

  // An embedding lookup: rows of a constant [V, D] table (axis 0) picked by a model input of
  // token ids; its output, [.., D], is T x D with T the number of ids.
  Outcome gather(const Node& n) {
    const int table = n.inputs[0], ids = n.inputs[1];
    if (n.attr_int("axis", 0).value_or(1) != 0) return refuse("an axis other than 0 (the rows of a table)");
    if (!constant(table) || value(table).shape.size() != 2 || !is_float(table))
      return refuse("data that is not a constant 2-D float table (an embedding's)");
    if (!g_.is_input(ids)) return refuse("indices that are not a model input (token ids)");
    Step s;
    s.kind = StepKind::gather;
    s.a = ids;
    s.b = table;
    s.out = n.outputs[0];
    return Outcome{s, "", false};
  }

  Outcome gemm(const Node& n) {
    Step s;
    s.kind = StepKind::gemm;
    s.a = resolve(n.inputs[0]);
    s.b = n.inputs[1];
    s.out = n.outputs[0];
    if (!constant(s.b) || value(s.b).shape.size() != 2)
      return refuse("the right operand is not a constant matrix (attention's products need the Q·Kᵀ lowering)");
    if (value(n.inputs[0]).shape.size() < 2) return refuse("a vector left operand");
    if (pixels_reordered(n.inputs[0])) return refuse("an image held channels-last (Flatten it first)");
    if (n.op == "Gemm") {
      if (n.attr_int("transA", 0).value_or(1) != 0) return refuse("transA");
      if (n.attr_float("alpha", 1.0).value_or(0) != 1.0 || n.attr_float("beta", 1.0).value_or(0) != 1.0)
        return refuse("alpha or beta other than 1");
      s.b_transposed = n.attr_int("transB", 0).value_or(0) != 0;
    }
    if (n.inputs.size() > 2 && n.inputs[2] >= 0) {
      s.bias = n.inputs[2];
      const int64_t N = cols_of(value(s.out));
      if (!constant(s.bias) || graph::element_count(value(s.bias).shape) != N || rows_of(value(s.bias)) != 1)
        return refuse("a bias that is not a constant vector of the output's columns");
    }
    return Outcome{s, "", false};
  }

  // The broadcast form of `b` against the activation `a` (shapes right-aligned), if any.
  std::optional<Broadcast> form_of(const Value& a, const Value& b) const {
    if (graph::element_count(b.shape) == 1) return Broadcast::scalar;
    if (b.shape.size() > a.shape.size()) return std::nullopt;
    graph::Shape padded(a.shape.size() - b.shape.size(), 1);
    padded.insert(padded.end(), b.shape.begin(), b.shape.end());
    if (padded == a.shape) return Broadcast::full;
    const int64_t last = padded.back();
    padded.back() = a.shape.back();
    bool leading_ones = true;
    for (size_t i = 0; i + 1 < padded.size(); ++i) leading_ones = leading_ones && padded[i] == 1;
    if (leading_ones && last == a.shape.back()) return Broadcast::row;
    if (last == 1 && padded == a.shape) return Broadcast::col;
    return std::nullopt;
  }

  // On an image (channels-last): a scalar, a whole image, or one value per channel (C x 1 x 1),
  // which is a row of the N·H·W x C matrix.
  std::optional<Broadcast> image_form(const Value& a, const Value& b) const {
    if (graph::element_count(b.shape) == 1) return Broadcast::scalar;
    if (b.shape == a.shape) return Broadcast::full;
    graph::Shape padded(4 - std::min<size_t>(4, b.shape.size()), 1);
    padded.insert(padded.end(), b.shape.begin(), b.shape.end());
    if (padded == graph::Shape{1, a.shape[1], 1, 1}) return Broadcast::row;
    return std::nullopt;
  }

  Outcome eltwise_binary(const Node& n, EltwiseOp op) {
    if (n.inputs.size() != 2) return refuse("not two operands");
    int a = n.inputs[0], b = n.inputs[1];
    if (constant(a)) std::swap(a, b);  // Add, Mul, Max, Min only (classify)
    if (constant(a)) return refuse("two constant operands");
    if (value(a).shape != value(n.outputs[0]).shape) return refuse("broadcasts its activation operand");
    const std::optional<Broadcast> form = image(a) ? image_form(value(a), value(b)) : form_of(value(a), value(b));
    if (!form) return refuse(fmt::format("a second operand of shape {}, which is no row, column or scalar of {}",
                                         graph::shape_text(value(b).shape), graph::shape_text(value(a).shape)));
    if (!constant(b) && *form != Broadcast::full) return refuse("a broadcast activation operand");
    Step s;
    s.kind = StepKind::eltwise;
    s.op = op;
    s.form = *form;
    s.a = resolve(a);
    s.b = constant(b) ? b : resolve(b);
    s.out = n.outputs[0];
    return Outcome{s, "", false};
  }

  Outcome eltwise_unary(const Node& n, EltwiseOp op) {
    Step s;
    s.kind = StepKind::eltwise;
    s.op = op;
    s.a = resolve(n.inputs[0]);
    s.out = n.outputs[0];
    return Outcome{s, "", false};
  }

  Outcome norm(const Node& n) {
    const Value& x = value(n.inputs[0]);
    const int64_t rank = int64_t(x.shape.size());
    const int64_t axis = n.attr_int("axis", -1).value_or(0);
    if (rank == 0 || (axis != -1 && axis != rank - 1)) return refuse("an axis other than the last");
    if (pixels_reordered(n.inputs[0])) return refuse("an image held channels-last");
    for (size_t i = 1; i < n.outputs.size(); ++i)
      if (n.outputs[i] >= 0 && used_[size_t(n.outputs[i])]) return refuse("the mean or inverse deviation as outputs");
    Step s;
    s.kind = StepKind::norm;
    s.a = resolve(n.inputs[0]);
    s.out = n.outputs[0];
    s.eps = n.attr_float("epsilon", 1e-5).value_or(1e-5);
    if (n.op == "Softmax") {
      s.norm = kernels::NormKind::softmax;
      return Outcome{s, "", false};
    }
    s.norm = n.op == "LayerNormalization" ? kernels::NormKind::layernorm : kernels::NormKind::rmsnorm;
    s.gamma = n.inputs[1];
    s.beta = n.inputs.size() > 2 ? n.inputs[2] : -1;
    for (int c : {s.gamma, s.beta})
      if (c >= 0 && (!constant(c) || graph::element_count(value(c).shape) != cols_of(x)))
        return refuse("a scale or bias that is not a constant vector of the last dimension");
    return Outcome{s, "", false};
  }
};

}  // namespace

Expected<Lowered> lower(const Graph& g) { return Lowering(g).run(); }

}  // namespace wafer::compiler
