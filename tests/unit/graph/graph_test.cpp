// The graph library as a whole: element types, error messages (arity, shapes, dynamic
// shapes, attributes, inputs), verify, constant folding of torch's reshape chain, the text
// form of a small MLP, and the reference interpreter on it in double and with fp16 rounding.
#include <cmath>

#include "graph_test_util.hpp"

namespace wafer::graph {
namespace {

using testing::Builder;
using testing::ints;
using testing::run_error;
using testing::tensor;

using V = std::vector<double>;

TEST(Graph, ElementTypesAndShapes) {
  EXPECT_EQ(elem_name(ElemType::boolean), "bool");
  EXPECT_EQ(parse_elem("bf16"), ElemType::bf16);
  EXPECT_EQ(parse_elem("f8"), std::nullopt);
  EXPECT_EQ(elem_from_onnx(7), ElemType::i64);
  EXPECT_EQ(elem_from_onnx(10), ElemType::f16);
  EXPECT_FALSE(elem_is_float(ElemType::i64));
  EXPECT_EQ(shape_text({2, 64}), "[2,64]");
  EXPECT_EQ(shape_text({}), "[]");
  EXPECT_EQ(element_count({}), 1);
  EXPECT_EQ(element_count({2, 0, 3}), 0);
}

TEST(Graph, OpTableListsEveryOpOnce) {
  std::vector<std::string> ops = supported_ops();
  // The 44 the issue lists, 9 more torch emits, Pad, 6 fused wafer.* ops, and 7 activations of
  // torch's nn modules (LeakyRelu, Elu, HardSigmoid, HardSwish, Softplus, Clip, LogSoftmax).
  EXPECT_EQ(ops.size(), 67u);
  EXPECT_TRUE(std::is_sorted(ops.begin(), ops.end()));
  EXPECT_EQ(std::adjacent_find(ops.begin(), ops.end()), ops.end());
  const OpInfo* gemm = find_op("Gemm");
  ASSERT_NE(gemm, nullptr);
  EXPECT_EQ(gemm->min_inputs, 2);
  EXPECT_EQ(gemm->max_inputs, 3);
  EXPECT_EQ(find_op("Concat")->max_inputs, -1);
  EXPECT_EQ(find_op("NonZero"), nullptr);
}

TEST(Graph, OpInfoEvalRunsARowWithoutAGraph) {
  Node add{"a", "Add", {0, 1}, {2}, {}};
  Tensor x = tensor({2}, {1, 2}), y = tensor({}, {10});
  std::vector<Tensor> out;
  ASSERT_TRUE(find_op("Add")->eval(add, {&x, &y}, out));
  EXPECT_EQ(out.at(0).values, (V{11, 12}));
  Tensor wide = tensor({3}, {1, 2, 3});
  EXPECT_EQ(find_op("Add")->eval(add, {&x, &wide}, out).message(),
            "node 'a' (Add): cannot broadcast input '#0' [2] with input '#1' [3]");
}

TEST(Graph, AttributeOfTheWrongKindNamesNodeAndKey) {
  Node n{"/sm", "Softmax", {}, {}, {{"axis", std::string("last")}}};
  EXPECT_EQ(n.attr_int("axis", -1).message(), "node '/sm' (Softmax): attribute 'axis' is a string, expected an int");
  EXPECT_EQ(*n.attr_float("missing", 0.5), 0.5);
  EXPECT_EQ(n.attr_ints("perm").message(), "node '/sm' (Softmax): missing attribute 'perm'");
}

TEST(Graph, ErrorsNameTheNodeTheOpAndTheInput) {
  Tensor a = tensor({2, 3}, V(6, 1));
  EXPECT_EQ(run_error("Add", {a, a, a}), "node 'n' (Add): takes 2 inputs, got 3");
  EXPECT_EQ(run_error("Conv", {a}), "node 'n' (Conv): takes 2 to 3 inputs, got 1");
  EXPECT_EQ(run_error("Add", {a, tensor({4}, V(4, 1))}),
            "node 'n' (Add): cannot broadcast input 'in0' [2,3] with input 'in1' [4]");
  EXPECT_EQ(run_error("MatMul", {a, a}),
            "node 'n' (MatMul): input 'in0' [2,3] and input 'in1' [2,3] differ in the inner dimension (3 and 2)");
  EXPECT_EQ(run_error("Add", {a, tensor({2, 3}, V(6, 1), ElemType::i64)}),
            "node 'n' (Add): input 'in0' is f32 but input 'in1' is i64");
  EXPECT_EQ(run_error("Softmax", {a}, {{"axis", int64_t(2)}}),
            "node 'n' (Softmax): attribute 'axis' 2 is out of range for rank 2");
  EXPECT_EQ(run_error("Frobnicate", {a}), "node 'n' (Frobnicate): unsupported op");
}

TEST(Graph, ShapeFromANonConstantIsADynamicShapeError) {
  Builder b;
  int x = b.input("x", {2, 3});
  int shape = b.input("target", {2}, ElemType::i64);
  b.node("Reshape", {x, shape}, {}, "/view/Reshape");
  EXPECT_EQ(infer_shapes(b.g).message(),
            "node '/view/Reshape' (Reshape): dynamic shape: input 1 'target' (shape) is not a constant");
}

TEST(Graph, VerifyCatchesOrderAndRecordedShapes) {
  Builder b;
  int x = b.input("x", {2});
  int y = b.node("Relu", {x}, {}, "first");
  b.node("Neg", {y}, {}, "second");
  b.g.outputs = {b.g.nodes[1].outputs[0]};
  ASSERT_TRUE(infer_shapes(b.g));
  EXPECT_TRUE(verify(b.g));
  Graph swapped = b.g;
  std::swap(swapped.nodes[0], swapped.nodes[1]);
  EXPECT_EQ(verify(swapped).message(), "node 'second' (Neg): input 'first_out0' is used before it is defined");
  Graph wrong = b.g;
  wrong.values[y].shape = {3};
  EXPECT_EQ(verify(wrong).message(),
            "node 'first' (Relu): output 'first_out0' is recorded as f32[3] but the op gives f32[2]");
}

// torch exports x.view(x.size(0), -1) as Shape -> Gather(0) -> Unsqueeze -> Concat(-1) -> Reshape.
Graph view_chain() {
  Builder b;
  b.g.name = "view";
  int x = b.input("x", {2, 3, 4});
  int shape = b.node("Shape", {x}, {}, "/Shape");
  int zero = b.constant("zero", tensor({}, {0}, ElemType::i64));
  int batch = b.node("Gather", {shape, zero}, {{"axis", int64_t(0)}}, "/Gather");
  int axes = b.constant("axes0", ints({0}));
  int unsq = b.node("Unsqueeze", {batch, axes}, {}, "/Unsqueeze");
  int minus_one = b.constant("minus_one", ints({-1}));
  int cat = b.node("Concat", {unsq, minus_one}, {{"axis", int64_t(0)}}, "/Concat");
  int y = b.node("Reshape", {x, cat}, {}, "/Reshape");
  b.g.values[y].name = "y";
  b.g.outputs = {y};
  return b.g;
}

TEST(Graph, FoldingTurnsTorchsViewChainIntoAConstantShape) {
  Graph g = view_chain();
  Graph unfolded = g;
  EXPECT_EQ(infer_shapes(unfolded).message(),
            "node '/Reshape' (Reshape): dynamic shape: input 1 '/Concat_out0' (shape) is not a constant");
  Expected<int> folded = fold_constants(g);
  ASSERT_TRUE(folded.has_value()) << folded.message();
  EXPECT_EQ(*folded, 4);  // Shape, Gather, Unsqueeze, Concat
  ASSERT_TRUE(verify(g));
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.values.size(), 3u);  // x, the folded shape, y; the small constants are gone
  EXPECT_EQ(print(g), R"(graph view
input %x : f32[2,3,4]
const %"/Concat_out0" : i64[2] = [2, -1]
%y = Reshape(%x, %"/Concat_out0") : f32[2,12]  # /Reshape
output %y : f32[2,12]
)");
}

// A 2-layer MLP as torch exports nn.Sequential(Linear(4,3), ReLU(), Linear(3,2)) on [2,4]:
// Gemm with transB=1 (the weights are [out, in]).
Graph mlp() {
  Builder b;
  b.g.name = "mlp";
  int x = b.input("x", {2, 4});
  int w1 = b.constant("fc1.weight", tensor({3, 4}, {1, 0, 0, 0, 0, 1, 0, 0, 1, 1, 1, 1}));
  int b1 = b.constant("fc1.bias", tensor({3}, {0, -3, 0.5}));
  int w2 = b.constant("fc2.weight", tensor({2, 3}, {1, 1, 1, 2, 0, -1}));
  int b2 = b.constant("fc2.bias", tensor({2}, {0.25, 0}));
  int h = b.node("Gemm", {x, w1, b1}, {{"transB", int64_t(1)}, {"alpha", 1.0}}, "/fc1/Gemm");
  int r = b.node("Relu", {h}, {}, "/act/Relu");
  int y = b.node("Gemm", {r, w2, b2}, {{"transB", int64_t(1)}}, "/fc2/Gemm");
  b.g.values[y].name = "y";
  b.g.outputs = {y};
  return b.g;
}

TEST(Graph, PrintsAnMlpOneLinePerItem) {
  Graph g = mlp();
  ASSERT_TRUE(infer_shapes(g));
  ASSERT_TRUE(verify(g));
  EXPECT_EQ(print(g, 4), R"(graph mlp
input %x : f32[2,4]
const %fc1.weight : f32[3,4] = [1, 0, 0, 0, ... (12 values)]
const %fc1.bias : f32[3] = [0, -3, 0.5]
const %fc2.weight : f32[2,3] = [1, 1, 1, 2, ... (6 values)]
const %fc2.bias : f32[2] = [0.25, 0]
%5 = Gemm(%x, %fc1.weight, %fc1.bias) {alpha=1, transB=1} : f32[2,3]  # /fc1/Gemm
%6 = Relu(%5) : f32[2,3]  # /act/Relu
%y = Gemm(%6, %fc2.weight, %fc2.bias) {transB=1} : f32[2,2]  # /fc2/Gemm
output %y : f32[2,2]
)");
}

TEST(Graph, PrintsOmittedInputsSeveralOutputsAndQuotedNames) {
  Builder b;
  b.g.name = "split";
  int x = b.input("onnx::Split_0", {2, 4});
  int scale = b.constant("gamma", tensor({2}, {1, 1}));
  int halves = b.node("Split", {x}, {{"axis", int64_t(1)}}, "/Split", 2);
  int norm = b.node("LayerNormalization", {halves, scale, -1}, {{"epsilon", 1e-5}}, "");
  b.g.outputs = {norm, halves + 1};
  ASSERT_TRUE(infer_shapes(b.g));
  EXPECT_EQ(print(b.g), R"(graph split
input %"onnx::Split_0" : f32[2,4]
const %gamma : f32[2] = [1, 1]
%2, %"/Split_out1" = Split(%"onnx::Split_0") {axis=1} : f32[2,2], f32[2,2]  # /Split
%_out0 = LayerNormalization(%2, %gamma, _) {epsilon=1e-05} : f32[2,2]
output %_out0 : f32[2,2]
output %"/Split_out1" : f32[2,2]
)");
}

TEST(Graph, EvaluatesAnMlpToHandComputedValues) {
  Graph g = mlp();
  ASSERT_TRUE(infer_shapes(g));
  // Row [1,2,0,-1]: fc1 = (1, 2, 2) + (0, -3, 0.5) = (1, -1, 2.5), ReLU (1, 0, 2.5),
  //   fc2 = (1 + 0 + 2.5 + 0.25, 2 - 2.5) = (3.75, -0.5).
  // Row [0,1,1,1]: fc1 = (0, 1, 3) + bias = (0, -2, 3.5), ReLU (0, 0, 3.5), fc2 = (3.75, -3.5).
  auto out = evaluate(g, {{"x", tensor({2, 4}, {1, 2, 0, -1, 0, 1, 1, 1})}});
  ASSERT_TRUE(out.has_value()) << out.message();
  EXPECT_EQ(out->at("y").shape, (Shape{2, 2}));
  EXPECT_EQ(out->at("y").values, (V{3.75, -0.5, 3.75, -3.5}));
  EXPECT_EQ(out->size(), 1u);
  auto all = evaluate(g, {{"x", tensor({2, 4}, {1, 2, 0, -1, 0, 1, 1, 1})}}, {.all_values = true});
  ASSERT_TRUE(all.has_value()) << all.message();
  EXPECT_EQ(all->size(), 8u);  // x, four constants, fc1, relu, y
  EXPECT_EQ(all->at("/act/Relu_out0").values, (V{1, 0, 2.5, 0, 0, 3.5}));
}

TEST(Graph, EvaluateChecksItsInputs) {
  Graph g = mlp();
  ASSERT_TRUE(infer_shapes(g));
  EXPECT_EQ(evaluate(g, {}).message(), "input 'x' f32[2,4] is not given");
  EXPECT_EQ(evaluate(g, {{"x", tensor({4}, V(4, 0))}}).message(),
            "input 'x' has shape [4] (4 values) but the graph declares [2,4]");
  EXPECT_EQ(evaluate(g, {{"x", tensor({2, 4}, V(8, 0))}, {"z", tensor({1}, {0})}}).message(),
            "'z' is not an input of the graph (its inputs: x)");
}

TEST(Graph, RoundingToHalfChangesAResultAndLeavesIntegersAlone) {
  // (x + 2^-11) - x with x = 1: exact in double; in fp16 1 + 2^-11 lies halfway between 1 and
  // 1 + 2^-10 and rounds to even (1), so the difference is 0.
  Builder b;
  int x = b.input("x", {1});
  int tiny = b.constant("tiny", tensor({1}, {std::ldexp(1.0, -11)}));
  int sum = b.node("Add", {x, tiny}, {}, "add");
  int diff = b.node("Sub", {sum, x}, {}, "sub");
  int count = b.input("count", {1}, ElemType::i64);
  int same = b.node("Identity", {count}, {}, "id");
  b.g.outputs = {diff, same};
  ASSERT_TRUE(infer_shapes(b.g));
  std::map<std::string, Tensor> in = {{"x", tensor({1}, {1})}, {"count", tensor({1}, {4097}, ElemType::i64)}};
  auto exact = evaluate(b.g, in);
  ASSERT_TRUE(exact.has_value()) << exact.message();
  EXPECT_EQ(exact->at("sub_out0").values, (V{std::ldexp(1.0, -11)}));
  auto half = evaluate(b.g, in, {DType::f16});
  ASSERT_TRUE(half.has_value()) << half.message();
  EXPECT_EQ(half->at("sub_out0").values, (V{0}));
  EXPECT_EQ(half->at("id_out0").values, (V{4097}));  // fp16 would hold 4096
  auto single = evaluate(b.g, in, {DType::f32});
  EXPECT_EQ(single->at("sub_out0").values, (V{std::ldexp(1.0, -11)}));  // exact in fp32
}

}  // namespace
}  // namespace wafer::graph
