// The fusion passes (passes.hpp) and the fused ops' rows: per pass, a hand-built chain in the form torch exports it
// fuses to the one op (exact op list, node name, attributes) and evaluates as before; chains
// with a shared intermediate or a wrong constant stay as they are. Then the pipeline on the
// reference models (tests/models/): the exact op histogram after it, and the outputs on the
// saved input equal to the unfused graph's within 1e-12.
#include <gtest/gtest.h>

#include <cmath>

#include "graph_test_util.hpp"
#include "wafer/graph/npy.hpp"
#include "wafer/graph/passes.hpp"
#include "wafer/onnx/import.hpp"

namespace wafer::graph {
namespace {

using testing::Builder;
using testing::ints;
using testing::tensor;

constexpr double kSqrt2F32 = 1.41421353816986083984375;  // float(√2), torch's 1.4142135
using Hist = std::map<std::string, int>;

Tensor scalar(double v) { return tensor({}, {v}); }

std::vector<std::string> op_list(const Graph& g) {
  std::vector<std::string> ops;
  for (const Node& n : g.nodes) ops.push_back(n.op);
  return ops;
}

Hist histogram(const Graph& g) {
  Hist h;
  for (const Node& n : g.nodes) ++h[n.op];
  return h;
}

// Normwise relative difference max|a - b| / max|b| over every output.
double max_rel_diff(const std::map<std::string, Tensor>& a, const std::map<std::string, Tensor>& b) {
  double worst = 0;
  for (const auto& [name, want] : b) {
    const Tensor& got = a.at(name);
    EXPECT_EQ(got.shape, want.shape) << name;
    double diff = 0, ref = 0;
    for (size_t i = 0; i < want.values.size(); ++i) {
      diff = std::max(diff, std::abs(got.values[i] - want.values[i]));
      ref = std::max(ref, std::abs(want.values[i]));
    }
    worst = std::max(worst, ref == 0 ? diff : diff / ref);
  }
  return worst;
}

// x in [-3, 3): both GELU tails, both signs, and zero.
Tensor ramp(Shape shape) {
  Tensor t = testing::tensor(shape, {});
  const int64_t n = element_count(shape);
  for (int64_t i = 0; i < n; ++i) t.values.push_back(-3 + 6 * double(i) / double(n));
  return t;
}

// A graph after the pipeline, its report, and how far its outputs moved (max_rel_diff).
struct Fused {
  Graph g;
  PassReport report;
  double diff = 0;
};

// Gives `b`'s graph the outputs `outputs`, infers its shapes, and runs the pipeline on a copy,
// evaluating both on `x`.
Fused run_pipeline(Builder& b, std::vector<int> outputs, const Tensor& x) {
  b.g.outputs = std::move(outputs);
  Fused f;
  EXPECT_TRUE(infer_shapes(b.g));
  f.g = b.g;
  auto before = evaluate(f.g, {{"x", x}});
  EXPECT_TRUE(before.has_value()) << before.message();
  auto report = run_passes(f.g);
  EXPECT_TRUE(report.has_value()) << report.message();
  if (!report || !before) return f;
  f.report = *report;
  auto after = evaluate(f.g, {{"x", x}});
  EXPECT_TRUE(after.has_value()) << after.message();
  if (after) f.diff = max_rel_diff(*after, *before);
  return f;
}

// --- the fused ops' rows ---

TEST(FusedOps, ValuesAndShapeRules) {
  // erf GELU at 1 is Φ(1) = 0.8413447460685429; √2 as f32 (1.4142135, 1.2e-8 below √2) moves
  // erf's argument up by 8.5e-9 relative, the result by about 4e-9.
  Tensor gelu = testing::run1("wafer.Gelu", {tensor({3}, {-1, 0, 1})});
  EXPECT_NEAR(gelu.values[2], 0.8413447460685429, 1e-8);
  EXPECT_NEAR(gelu.values[0], 0.8413447460685429 - 1, 1e-8);  // gelu(-x) = gelu(x) - x
  EXPECT_EQ(gelu.values[1], 0.0);
  // SiLU at 1 is 1/(1 + e⁻¹).
  EXPECT_DOUBLE_EQ(testing::run1("wafer.Silu", {tensor({1}, {1})}).values[0], 0.7310585786300049);
  // RMSNorm of [3, 4] with gamma [1, 2], eps 0: mean square 12.5, so [3, 8] / √12.5.
  Tensor rms = testing::run1("wafer.RMSNorm", {tensor({1, 2}, {3, 4}), tensor({2}, {1, 2})}, {{"epsilon", 0.0}});
  EXPECT_DOUBLE_EQ(rms.values[0], 0.848528137423857);
  EXPECT_DOUBLE_EQ(rms.values[1], 2.262741699796952);
  // [1, 2] · [[1, 2], [3, 4]] + [10, 20] = [17, 30].
  Tensor mm = testing::run1("wafer.MatMulAdd", {tensor({1, 1, 2}, {1, 2}), tensor({2, 2}, {1, 2, 3, 4}),
                                                tensor({2}, {10, 20})});
  EXPECT_EQ(mm.shape, (Shape{1, 1, 2}));
  EXPECT_EQ(mm.values, (std::vector<double>{17, 30}));

  // Attention of one query [1, 0] over keys Kt = I, V = [10, 20]: scores [1, 0], softmax
  // [e/(e+1), 1/(e+1)], so 10 + 10/(e+1) = 12.689414213699951; masking the second key
  // ("fill", true drops it) leaves 10.
  const Tensor q = tensor({1, 2}, {1, 0}), kt = tensor({2, 2}, {1, 0, 0, 1}), v = tensor({2, 1}, {10, 20});
  EXPECT_DOUBLE_EQ(testing::run1("wafer.Attention", {q, kt, v}, {{"scale", 1.0}}).values[0], 12.689414213699951);
  const Tensor drop_second = tensor({1, 2}, {0, 1}, ElemType::boolean);
  const std::map<std::string, Attr> fill = {{"scale", 1.0}, {"mask_mode", std::string("fill")}};
  EXPECT_EQ(testing::run1("wafer.Attention", {q, kt, v, drop_second}, fill).values[0], 10.0);
  EXPECT_EQ(testing::run_error("wafer.Attention", {q, kt, v, tensor({1, 2}, {0, 1})}, fill),
            "node 'n' (wafer.Attention): input 'in3' (mask) is f32, expected bool for mask_mode 'fill'");

  EXPECT_EQ(testing::run_error("wafer.Gelu", {tensor({2}, {1, 2})}, {{"approximate", std::string("fast")}}),
            "node 'n' (wafer.Gelu): attribute 'approximate' is 'fast', expected 'none' or 'tanh'");
  EXPECT_EQ(testing::run_error("wafer.RMSNorm", {tensor({1, 2}, {3, 4}), tensor({1}, {1})}, {{"epsilon", 0.0}}),
            "node 'n' (wafer.RMSNorm): input 'in1' (gamma) is [1], expected [2] (the last axis of 'in0')");
  EXPECT_EQ(testing::run_error("wafer.MatMulAdd",
                               {tensor({1, 2}, {1, 2}), tensor({2, 2}, {1, 2, 3, 4}), tensor({1, 2}, {10, 20})}),
            "node 'n' (wafer.MatMulAdd): input 'in2' (bias) is [1,2], expected [2]");
}

// --- GELU ---

// torch 1.13's erf GELU: Div(x, 1.4142135) -> Erf -> Add 1 -> Mul x -> Mul 0.5.
int erf_gelu(Builder& b, int x, double divisor = kSqrt2F32, double half = 0.5) {
  int d = b.node("Div", {x, b.constant("c_sqrt2", scalar(divisor))}, {}, "/Div");
  int e = b.node("Erf", {d}, {}, "/Erf");
  int a = b.node("Add", {e, b.constant("c_one", scalar(1))}, {}, "/Add");
  int m = b.node("Mul", {x, a}, {}, "/Mul");
  return b.node("Mul", {m, b.constant("c_half", scalar(half))}, {}, "/Mul_1");
}

TEST(FusePasses, ErfGeluBecomesOneNode) {
  Builder b;
  int x = b.input("x", {2, 8});
  Fused f = run_pipeline(b, {erf_gelu(b, x)}, ramp({2, 8}));
  EXPECT_EQ(op_list(f.g), std::vector<std::string>{"wafer.Gelu"});
  EXPECT_EQ(f.g.nodes[0].name, "/Div../Mul_1");
  EXPECT_EQ(*f.g.nodes[0].attr_string("approximate"), "none");
  EXPECT_EQ(f.g.values.size(), 2u);  // x and the output: the chain's constants and values are gone
  // Same operations in the same order, with √2 as float holds it: equal to the last bit.
  EXPECT_EQ(f.diff, 0.0);
  EXPECT_EQ(f.report.passes.at(2).pass, "fuse-gelu");
  EXPECT_EQ(f.report.passes.at(2).rewrites, 1);
  EXPECT_EQ(f.report.total(), 1);
}

// Mul(0.5) first, x·0.70710677 instead of x/1.4142135, and Add(1, erf) the other way round.
TEST(FusePasses, ErfGeluInAnyProductOrder) {
  Builder b;
  int x = b.input("x", {4});
  int s = b.node("Mul", {x, b.constant("c_rsqrt2", scalar(0.70710676908493042))}, {}, "/Mul");
  int e = b.node("Erf", {s}, {}, "/Erf");
  int a = b.node("Add", {b.constant("c_one", scalar(1)), e}, {}, "/Add");
  int h = b.node("Mul", {b.constant("c_half", scalar(0.5)), x}, {}, "/Mul_1");
  int y = b.node("Mul", {h, a}, {}, "/Mul_2");
  Fused f = run_pipeline(b, {y}, ramp({4}));
  EXPECT_EQ(op_list(f.g), std::vector<std::string>{"wafer.Gelu"});
  EXPECT_EQ(f.g.nodes[0].name, "/Mul../Mul_2");
  // x·float(1/√2) against x/float(√2): the two float constants differ from the exact ratio by
  // about 1e-8 relative, which moves erf's argument by as much.
  EXPECT_LT(f.diff, 1e-7);
}

// GPT-2's tanh GELU as torch exports it at opset 17.
TEST(FusePasses, TanhGeluBecomesOneNode) {
  Builder b;
  int x = b.input("x", {2, 8});
  int sq = b.node("Mul", {x, x}, {}, "/Mul_1");
  int cube = b.node("Mul", {x, sq}, {}, "/Mul_2");
  int t = b.node("Mul", {b.constant("c_cubic", scalar(0.044714998453855515)), cube}, {}, "/Mul_3");
  int inner = b.node("Add", {x, t}, {}, "/Add_1");
  int arg = b.node("Mul", {b.constant("c_s2pi", scalar(0.7978845834732056)), inner}, {}, "/Mul_4");
  int th = b.node("Tanh", {arg}, {}, "/Tanh");
  int gate = b.node("Add", {b.constant("c_one", scalar(1)), th}, {}, "/Add_2");
  int xg = b.node("Mul", {x, gate}, {}, "/Mul_5");
  int y = b.node("Mul", {b.constant("c_half", scalar(0.5)), xg}, {}, "/Mul_6");
  Fused f = run_pipeline(b, {y}, ramp({2, 8}));
  EXPECT_EQ(op_list(f.g), std::vector<std::string>{"wafer.Gelu"});
  EXPECT_EQ(f.g.nodes[0].name, "/Mul_1../Mul_6");
  EXPECT_EQ(*f.g.nodes[0].attr_string("approximate"), "tanh");
  EXPECT_LE(f.diff, 1e-12);
}

TEST(FusePasses, TanhGeluWithPowCube) {
  Builder b;
  int x = b.input("x", {8});
  int cube = b.node("Pow", {x, b.constant("c_three", scalar(3))}, {}, "/Pow");
  int t = b.node("Mul", {cube, b.constant("c_cubic", scalar(double(0.044715f)))}, {}, "/Mul");
  int inner = b.node("Add", {t, x}, {}, "/Add");
  int arg = b.node("Mul", {inner, b.constant("c_s2pi", scalar(double(0.7978845608f)))}, {}, "/Mul_1");
  int gate = b.node("Add", {b.node("Tanh", {arg}, {}, "/Tanh"), b.constant("c_one", scalar(1))}, {}, "/Add_1");
  int y = b.node("Mul", {b.node("Mul", {x, b.constant("c_half", scalar(0.5))}, {}, "/Mul_2"), gate}, {}, "/Mul_3");
  Fused f = run_pipeline(b, {y}, ramp({8}));
  EXPECT_EQ(op_list(f.g), std::vector<std::string>{"wafer.Gelu"});
  // pow(x, 3) against x·(x·x): a few ulps (the constants are f32 values, as in a model).
  EXPECT_LE(f.diff, 1e-12);
}

TEST(FusePasses, GeluNeedsPrivateValuesAndExactConstants) {
  const std::vector<std::string> chain = {"Div", "Erf", "Add", "Mul", "Mul"};
  {  // The Erf's result is also a graph output: the chain must stay.
    Builder b;
    int x = b.input("x", {4});
    int y = erf_gelu(b, x);
    int erf = b.g.nodes[1].outputs[0];
    EXPECT_EQ(op_list(run_pipeline(b, {y, erf}, ramp({4})).g), chain);
  }
  {  // The Div's result has a second reader.
    Builder b;
    int x = b.input("x", {4});
    int y = erf_gelu(b, x);
    int other = b.node("Neg", {b.g.nodes[0].outputs[0]}, {}, "/Neg");
    std::vector<std::string> with_neg = chain;
    with_neg.push_back("Neg");
    EXPECT_EQ(op_list(run_pipeline(b, {y, other}, ramp({4})).g), with_neg);
  }
  for (auto [divisor, half] : {std::pair{1.5, 0.5}, std::pair{kSqrt2F32, 0.25}, std::pair{1.4142, 0.5}}) {
    Builder b;
    int x = b.input("x", {4});
    EXPECT_EQ(op_list(run_pipeline(b, {erf_gelu(b, x, divisor, half)}, ramp({4})).g), chain)
        << divisor << " " << half;
  }
}

// --- SiLU ---

TEST(FusePasses, SiluBecomesOneNode) {
  Builder b;
  int x = b.input("x", {2, 4});
  int s = b.node("Sigmoid", {x}, {}, "/Sigmoid");
  int y = b.node("Mul", {s, x}, {}, "/Mul_6");
  Fused f = run_pipeline(b, {y}, ramp({2, 4}));
  EXPECT_EQ(op_list(f.g), std::vector<std::string>{"wafer.Silu"});
  EXPECT_EQ(f.g.nodes[0].name, "/Sigmoid../Mul_6");
  EXPECT_EQ(f.diff, 0.0);  // x·(1/(1+e^-x)) both ways
}

TEST(FusePasses, SiluNeedsTheSameInputAndAPrivateSigmoid) {
  {  // Mul(z, Sigmoid(x)) is a gate, not SiLU.
    Builder b;
    int x = b.input("x", {4});
    int z = b.node("Neg", {x}, {}, "/Neg");
    int y = b.node("Mul", {z, b.node("Sigmoid", {x}, {}, "/Sigmoid")}, {}, "/Mul");
    EXPECT_EQ(op_list(run_pipeline(b, {y}, ramp({4})).g), (std::vector<std::string>{"Neg", "Sigmoid", "Mul"}));
  }
  {  // The sigmoid is read twice.
    Builder b;
    int x = b.input("x", {4});
    int s = b.node("Sigmoid", {x}, {}, "/Sigmoid");
    int y = b.node("Mul", {x, s}, {}, "/Mul");
    int z = b.node("Add", {y, s}, {}, "/Add");
    EXPECT_EQ(op_list(run_pipeline(b, {z}, ramp({4})).g), (std::vector<std::string>{"Sigmoid", "Mul", "Add"}));
  }
}

// --- RMSNorm ---

constexpr double kEpsF32 = 9.999999747378752e-06;  // float(1e-5)

// Llama's RMSNorm: Pow 2 -> ReduceMean(-1) -> Add eps -> Sqrt -> Div(1, .) -> Mul x -> Mul gamma.
int rms_norm(Builder& b, int x, int64_t width, double exponent = 2, std::vector<int64_t> axes = {-1}) {
  int p = b.node("Pow", {x, b.constant("c_two", scalar(exponent))}, {}, "/norm/Pow");
  int m = b.node("ReduceMean", {p}, {{"axes", axes}, {"keepdims", int64_t(1)}}, "/norm/ReduceMean");
  int e = b.node("Add", {m, b.constant("c_eps", scalar(kEpsF32))}, {}, "/norm/Add");
  int s = b.node("Sqrt", {e}, {}, "/norm/Sqrt");
  int r = b.node("Div", {b.constant("c_one", scalar(1)), s}, {}, "/norm/Div");
  int n = b.node("Mul", {x, r}, {}, "/norm/Mul");
  Tensor gamma = tensor({width}, {});
  for (int64_t i = 0; i < width; ++i) gamma.values.push_back(0.5 + 0.25 * double(i));
  return b.node("Mul", {n, b.constant("gamma", gamma)}, {}, "/norm/Mul_1");
}

TEST(FusePasses, RmsNormBecomesOneNode) {
  Builder b;
  int x = b.input("x", {3, 4});
  Fused f = run_pipeline(b, {rms_norm(b, x, 4)}, ramp({3, 4}));
  ASSERT_EQ(op_list(f.g), std::vector<std::string>{"wafer.RMSNorm"});
  const Node& n = f.g.nodes[0];
  EXPECT_EQ(n.name, "/norm/Pow../norm/Mul_1");
  EXPECT_EQ(*n.attr_float("epsilon"), kEpsF32);
  EXPECT_EQ(*n.attr_int("axis"), -1);
  EXPECT_EQ(f.g.values[size_t(n.inputs[1])].name, "gamma");
  EXPECT_LE(f.diff, 1e-12);
}

TEST(FusePasses, RmsNormWithReciprocalOrDivByRms) {
  for (bool reciprocal : {true, false}) {
    Builder b;
    int x = b.input("x", {2, 4});
    int p = b.node("Mul", {x, x}, {}, "/Mul");
    int m = b.node("ReduceMean", {p}, {{"axes", std::vector<int64_t>{1}}}, "/ReduceMean");
    int s = b.node("Sqrt", {b.node("Add", {b.constant("eps", scalar(1e-6)), m}, {}, "/Add")}, {}, "/Sqrt");
    int n = reciprocal ? b.node("Mul", {b.node("Reciprocal", {s}, {}, "/Reciprocal"), x}, {}, "/Mul_1")
                       : b.node("Div", {x, s}, {}, "/Div");
    int y = b.node("Mul", {b.constant("gamma", tensor({4}, {1, 2, 3, 4})), n}, {}, "/Mul_2");
    Fused f = run_pipeline(b, {y}, ramp({2, 4}));
    EXPECT_EQ(op_list(f.g), std::vector<std::string>{"wafer.RMSNorm"}) << reciprocal;
    EXPECT_LE(f.diff, 1e-12);
  }
}

TEST(FusePasses, RmsNormNeedsSquaresOverTheLastAxis) {
  const std::vector<std::string> chain = {"Pow", "ReduceMean", "Add", "Sqrt", "Div", "Mul", "Mul"};
  {  // x³, not x²
    Builder b;
    int x = b.input("x", {3, 4});
    EXPECT_EQ(op_list(run_pipeline(b, {rms_norm(b, x, 4, 3.0)}, ramp({3, 4})).g), chain);
  }
  {  // the mean over axis 0
    Builder b;
    int x = b.input("x", {4, 4});
    EXPECT_EQ(op_list(run_pipeline(b, {rms_norm(b, x, 4, 2.0, {0})}, ramp({4, 4})).g), chain);
  }
  {  // the rms (Sqrt's result) is also returned
    Builder b;
    int x = b.input("x", {3, 4});
    int y = rms_norm(b, x, 4);
    EXPECT_EQ(op_list(run_pipeline(b, {y, b.g.nodes[3].outputs[0]}, ramp({3, 4})).g), chain);
  }
}

// --- LayerNorm ---

// opset 13's LayerNorm: ReduceMean, Sub, Pow, ReduceMean, Add eps, Sqrt, Div, Mul, Add.
int layer_norm(Builder& b, int x, double exponent = 2) {
  int mean = b.node("ReduceMean", {x}, {{"axes", std::vector<int64_t>{-1}}}, "/ln/ReduceMean");
  int d = b.node("Sub", {x, mean}, {}, "/ln/Sub");
  int p = b.node("Pow", {d, b.constant("c_two", scalar(exponent))}, {}, "/ln/Pow");
  int var = b.node("ReduceMean", {p}, {{"axes", std::vector<int64_t>{-1}}}, "/ln/ReduceMean_1");
  int e = b.node("Add", {var, b.constant("c_eps", scalar(kEpsF32))}, {}, "/ln/Add");
  int s = b.node("Sqrt", {e}, {}, "/ln/Sqrt");
  int n = b.node("Div", {d, s}, {}, "/ln/Div");
  int scaled = b.node("Mul", {n, b.constant("ln.weight", tensor({4}, {1, -2, 0.5, 3}))}, {}, "/ln/Mul");
  return b.node("Add", {scaled, b.constant("ln.bias", tensor({4}, {0.1, 0.2, -0.3, 0}))}, {}, "/ln/Add_1");
}

TEST(FusePasses, LayerNormBecomesLayerNormalization) {
  Builder b;
  int x = b.input("x", {3, 4});
  Fused f = run_pipeline(b, {layer_norm(b, x)}, ramp({3, 4}));
  ASSERT_EQ(op_list(f.g), std::vector<std::string>{"LayerNormalization"});
  const Node& n = f.g.nodes[0];
  EXPECT_EQ(n.name, "/ln/ReduceMean../ln/Add_1");
  EXPECT_EQ(*n.attr_float("epsilon"), kEpsF32);
  EXPECT_EQ(*n.attr_int("axis"), -1);
  EXPECT_EQ(f.g.values[size_t(n.inputs[1])].name, "ln.weight");
  EXPECT_EQ(f.g.values[size_t(n.inputs[2])].name, "ln.bias");
  EXPECT_LE(f.diff, 1e-12);
}

// nn.LayerNorm(elementwise_affine=False): the chain ends at the Div; the fused node gets a new
// constant scale of ones (and no bias).
TEST(FusePasses, LayerNormWithoutAffineGetsAScaleOfOnes) {
  Builder b;
  int x = b.input("x", {3, 4});
  layer_norm(b, x);
  const int div = b.g.nodes[6].outputs[0];
  b.g.nodes.resize(7);  // up to the Div
  Fused f = run_pipeline(b, {div}, ramp({3, 4}));
  ASSERT_EQ(op_list(f.g), std::vector<std::string>{"LayerNormalization"});
  const Node& n = f.g.nodes[0];
  EXPECT_EQ(n.name, "/ln/ReduceMean../ln/Div");
  ASSERT_EQ(n.inputs.size(), 2u);
  const Value& scale = f.g.values[size_t(n.inputs[1])];
  EXPECT_EQ(scale.name, "/ln/ReduceMean../ln/Div/0");
  ASSERT_TRUE(scale.constant.has_value());
  EXPECT_EQ(scale.constant->values, (std::vector<double>{1, 1, 1, 1}));
  EXPECT_LE(f.diff, 1e-12);
}

TEST(FusePasses, LayerNormNeedsItsExactChain) {
  const std::vector<std::string> chain = {"ReduceMean", "Sub", "Pow", "ReduceMean", "Add",
                                          "Sqrt",       "Div", "Mul", "Add"};
  {  // (x - mean)^2.5
    Builder b;
    int x = b.input("x", {3, 4});
    EXPECT_EQ(op_list(run_pipeline(b, {layer_norm(b, x, 2.5)}, ramp({3, 4})).g), chain);
  }
  {  // x - mean has a third reader: no LayerNorm, but its tail d/sqrt(mean(d²) + eps)·gamma is
     // the RMSNorm of d, which fuse-rmsnorm takes (d, its input, may have other readers).
    Builder b;
    int x = b.input("x", {3, 4});
    int y = layer_norm(b, x);
    int centred = b.node("Neg", {b.g.nodes[1].outputs[0]}, {}, "/Neg");
    Fused f = run_pipeline(b, {y, centred}, ramp({3, 4}));
    EXPECT_EQ(op_list(f.g), (std::vector<std::string>{"ReduceMean", "Sub", "wafer.RMSNorm", "Add", "Neg"}));
    EXPECT_LE(f.diff, 1e-12);
  }
}

// --- MatMul + Add ---

TEST(FusePasses, MatMulAddBecomesOneNode) {
  for (bool bias_first : {false, true}) {
    Builder b;
    int x = b.input("x", {1, 2, 3});
    int w = b.constant("w", tensor({3, 2}, {1, 2, 3, 4, 5, 6}));
    int bias = b.constant("bias", tensor({2}, {0.5, -1}));
    int mm = b.node("MatMul", {x, w}, {}, "/fc/MatMul");
    int y = b.node("Add", bias_first ? std::vector<int>{bias, mm} : std::vector<int>{mm, bias}, {}, "/fc/Add");
    Fused f = run_pipeline(b, {y}, ramp({1, 2, 3}));
    ASSERT_EQ(op_list(f.g), std::vector<std::string>{"wafer.MatMulAdd"});
    EXPECT_EQ(f.g.nodes[0].name, "/fc/MatMul../fc/Add");
    std::vector<std::string> inputs;
    for (int id : f.g.nodes[0].inputs) inputs.push_back(f.g.values[size_t(id)].name);
    EXPECT_EQ(inputs, (std::vector<std::string>{"x", "w", "bias"}));
    EXPECT_EQ(f.diff, 0.0);  // MatMul's own products, then the same additions
    // x = [[-3,-2,-1],[0,1,2]]: row 0 · w = [-3-6-5, -6-8-6] = [-14,-20], + bias = [-13.5,-21].
    auto out = evaluate(f.g, {{"x", ramp({1, 2, 3})}});
    ASSERT_TRUE(out.has_value()) << out.message();
    EXPECT_EQ(out->at("/fc/Add_out0").values[0], -13.5);
    EXPECT_EQ(out->at("/fc/Add_out0").values[1], -21);
  }
}

TEST(FusePasses, MatMulAddNeedsConstantWeightsAndAPrivateProduct) {
  const std::vector<std::string> unfused = {"MatMul", "Add"};
  {  // the weight is computed
    Builder b;
    int x = b.input("x", {3, 3});
    int y = b.node("Add", {b.node("MatMul", {x, x}, {}, "/MatMul"), b.constant("bias", tensor({3}, {1, 2, 3}))},
                   {}, "/Add");
    EXPECT_EQ(op_list(run_pipeline(b, {y}, ramp({3, 3})).g), unfused);
  }
  {  // the bias is [1, N]
    Builder b;
    int x = b.input("x", {2, 3});
    int mm = b.node("MatMul", {x, b.constant("w", tensor({3, 1}, {1, 2, 3}))}, {}, "/MatMul");
    int y = b.node("Add", {mm, b.constant("bias", tensor({1, 1}, {1}))}, {}, "/Add");
    EXPECT_EQ(op_list(run_pipeline(b, {y}, ramp({2, 3})).g), unfused);
  }
  {  // the product is also returned
    Builder b;
    int x = b.input("x", {2, 3});
    int mm = b.node("MatMul", {x, b.constant("w", tensor({3, 1}, {1, 2, 3}))}, {}, "/MatMul");
    int y = b.node("Add", {mm, b.constant("bias", tensor({1}, {1}))}, {}, "/Add");
    EXPECT_EQ(op_list(run_pipeline(b, {y, mm}, ramp({2, 3})).g), unfused);
  }
}

// --- attention ---

// Q·Kt scaled, masked, softmax, ·V, as the GPT-2 ("fill": Where(mask, -inf, s)) and Llama
// ("add": Add(s, mask) after a Div by √d) exports write it.
Fused attention(bool fill, bool shared_softmax = false, double fill_value = -INFINITY) {
  Builder b;
  int x = b.input("x", {1, 2, 3, 4});  // Q; K and V are x·w with constant weights
  int kt = b.node("Transpose", {x}, {{"perm", std::vector<int64_t>{0, 1, 3, 2}}}, "/Transpose");
  int v = b.node("Neg", {x}, {}, "/Neg");
  int scores = b.node("MatMul", {x, kt}, {}, "/MatMul");
  int masked;
  if (fill) {
    int s = b.node("Mul", {scores, b.constant("c_scale", scalar(0.5))}, {}, "/Mul");
    Tensor causal = tensor({1, 1, 3, 3}, {0, 1, 1, 0, 0, 1, 0, 0, 0}, ElemType::boolean);
    masked = b.node("Where", {b.constant("causal", causal), b.constant("c_fill", scalar(fill_value)), s}, {}, "/Where");
  } else {
    int s = b.node("Div", {scores, b.constant("c_sqrt_d", scalar(2))}, {}, "/Div");
    Tensor mask = tensor({1, 1, 3, 3}, {0, -1e9, -1e9, 0, 0, -1e9, 0, 0, 0});
    masked = b.node("Add", {b.constant("mask", mask), s}, {}, "/Add");
  }
  int p = b.node("Softmax", {masked}, {{"axis", int64_t(-1)}}, "/Softmax");
  int y = b.node("MatMul", {p, v}, {}, "/MatMul_1");
  std::vector<int> outputs = {y};
  if (shared_softmax) outputs.push_back(p);
  return run_pipeline(b, outputs, ramp({1, 2, 3, 4}));
}

TEST(FusePasses, AttentionWithAFillMaskBecomesOneNode) {
  Fused f = attention(true);
  ASSERT_EQ(op_list(f.g), (std::vector<std::string>{"Transpose", "Neg", "wafer.Attention"}));
  const Node& n = f.g.nodes[2];
  EXPECT_EQ(n.name, "/MatMul../MatMul_1");
  EXPECT_EQ(*n.attr_float("scale"), 0.5);
  EXPECT_EQ(*n.attr_string("mask_mode"), "fill");
  ASSERT_EQ(n.inputs.size(), 4u);
  EXPECT_EQ(f.g.values[size_t(n.inputs[3])].name, "causal");
  EXPECT_LE(f.diff, 1e-12);
  EXPECT_EQ(f.report.passes.back().pass, "fuse-attention");
  EXPECT_EQ(f.report.passes.back().rewrites, 1);
}

TEST(FusePasses, AttentionWithAnAdditiveMaskBecomesOneNode) {
  Fused f = attention(false);
  ASSERT_EQ(op_list(f.g), (std::vector<std::string>{"Transpose", "Neg", "wafer.Attention"}));
  const Node& n = f.g.nodes[2];
  EXPECT_EQ(*n.attr_float("scale"), 0.5);  // Div by 2
  EXPECT_EQ(*n.attr_string("mask_mode"), "add");
  EXPECT_EQ(f.g.values[size_t(n.inputs[3])].name, "mask");
  EXPECT_LE(f.diff, 1e-12);
}

// masked_fill(mask, -1e9), as hand-written attention often drops a score: the fused node keeps
// the fill (the reference then computes what the chain did); a fill of -1e3 keeps a weight.
TEST(FusePasses, AttentionWithAFillOfMinusABillionKeepsItsFill) {
  Fused f = attention(true, false, -1e9);
  ASSERT_EQ(op_list(f.g), (std::vector<std::string>{"Transpose", "Neg", "wafer.Attention"}));
  EXPECT_EQ(*f.g.nodes[2].attr_float("fill"), -1e9);
  EXPECT_LE(f.diff, 1e-12);
  EXPECT_FALSE(attention(true).g.nodes[2].attrs.count("fill"));  // -inf: the default
}

TEST(FusePasses, AttentionNeedsAPrivateSoftmaxAndAFillThatDropsTheScore) {
  EXPECT_EQ(op_list(attention(true, true).g),
            (std::vector<std::string>{"Transpose", "Neg", "MatMul", "Mul", "Where", "Softmax", "MatMul"}));
  EXPECT_EQ(op_list(attention(true, false, -1e3).g),
            (std::vector<std::string>{"Transpose", "Neg", "MatMul", "Mul", "Where", "Softmax", "MatMul"}));
}

// --- rotary embedding ---

// X [2, 3, 4] rotated by cos and sin [3, 4] (positions x dimensions), as Llama exports it:
// X·cos + Concat(-X[..., 2:], X[..., s:s+2])·sin, the rotate-half form when s = 0.
graph::Graph rope_chain(int64_t lower_start) {
  Builder b;
  const int x = b.input("x", {2, 3, 4});
  std::vector<double> c(12), sn(12);
  for (size_t i = 0; i < 12; ++i) {
    c[i] = std::cos(0.3 * double(i));
    sn[i] = std::sin(0.3 * double(i));
  }
  const int cos = b.constant("cos", tensor({3, 4}, c)), sin = b.constant("sin", tensor({3, 4}, sn));
  auto slice = [&](double from, double to, const std::string& name) {
    return b.node("Slice", {x, b.constant(name + ".s", ints({from})), b.constant(name + ".e", ints({to})),
                            b.constant(name + ".a", ints({-1}))}, {}, name);
  };
  const int upper = b.node("Neg", {slice(2, double(INT64_MAX), "/Slice")}, {}, "/Neg");
  const int cat = b.node("Concat", {upper, slice(double(lower_start), double(lower_start + 2), "/Slice_1")}, {{"axis", int64_t(-1)}}, "/Concat");
  const int plain = b.node("Mul", {x, cos}, {}, "/Mul");
  b.g.outputs = {b.node("Add", {plain, b.node("Mul", {cat, sin}, {}, "/Mul_1")}, {}, "/Add")};
  EXPECT_TRUE(infer_shapes(b.g));
  return b.g;
}

TEST(FuseRope, TheRotateHalfChainIsOneNodeWithTheSameValues) {
  graph::Graph g = rope_chain(0);
  std::vector<double> values(24);
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(1.7 * double(i) + 0.4);
  const Tensor x = tensor({2, 3, 4}, values);
  auto before = evaluate(g, {{"x", x}});
  ASSERT_TRUE(before.has_value()) << before.message();
  auto report = run_passes(g);
  ASSERT_TRUE(report.has_value()) << report.message();
  EXPECT_EQ(op_list(g), (std::vector<std::string>{"wafer.Rope"}));
  EXPECT_EQ(g.nodes[0].name, "/Slice../Add");
  auto after = evaluate(g, {{"x", x}});
  ASSERT_TRUE(after.has_value()) << after.message();
  EXPECT_LE(max_rel_diff(*after, *before), 1e-15);
  // Element (0, 1, 0): x·cos(0.3·4) - x[.., 2]·sin(0.3·4), position 1's first column.
  const double want = x.values[4] * std::cos(1.2) - x.values[6] * std::sin(1.2);
  EXPECT_NEAR(after->begin()->second.values[4], want, 1e-15);
}

TEST(FuseRope, HalvesThatDoNotMeetAreLeftAlone) {
  graph::Graph g = rope_chain(1);  // X[..., 1:3] is not the lower half
  auto report = run_passes(g);
  ASSERT_TRUE(report.has_value()) << report.message();
  EXPECT_EQ(report->passes[5].rewrites, 0);
}

// --- drop-identities ---

// Identity and Cast to f32 of an f32 value go (the Relu reads x), a Cast to f16 stays, and so
// does an Identity that gives a graph output its name.
TEST(DropIdentities, NoOpsGoAndTheirReadersReadTheirInputs) {
  Builder b;
  int x = b.input("x", {2});
  int same = b.node("Cast", {b.node("Identity", {x}, {}, "/Identity")}, {{"to", int64_t(1)}}, "/Cast");
  int relu = b.node("Relu", {same}, {}, "/Relu");
  int half = b.node("Cast", {relu}, {{"to", int64_t(10)}}, "/Cast_1");
  int named = b.node("Identity", {relu}, {}, "/Identity_1");
  Fused f = run_pipeline(b, {half, named}, tensor({2}, {-1, 2}));
  EXPECT_EQ(op_list(f.g), (std::vector<std::string>{"Relu", "Cast", "Identity"}));
  EXPECT_EQ(f.g.nodes[0].inputs, std::vector<int>{f.g.inputs[0]});
  EXPECT_EQ(f.report.passes.at(0).pass, "drop-identities");
  EXPECT_EQ(f.report.passes.at(0).rewrites, 2);
  EXPECT_EQ(f.diff, 0.0);
}

// LeakyRelu(0.1), Clip(0, 6) (ReLU6), HardSwish, Elu, a batch norm over [N, C], Softplus
// and LogSoftmax, each
// rewritten as element-wise ops with constants and equal to the node within rounding (x
// ramps over [-4, 7.5], so every piece of each activation is taken); a LeakyRelu of slope 2
// (where the max would be a min) stays.
TEST(DecomposeActivations, ParametrisedActivationsBecomeElementwiseOps) {
  Builder b;
  int x = b.input("x", {4, 6});
  int h = b.node("LeakyRelu", {x}, {{"alpha", 0.1}}, "/leaky");
  h = b.node("Clip", {h, b.constant("lo", scalar(0)), b.constant("hi", scalar(6))}, {}, "/relu6");
  h = b.node("HardSwish", {b.node("Sub", {h, b.constant("c3", scalar(3))}, {}, "/shift")}, {}, "/hswish");
  h = b.node("Elu", {h}, {{"alpha", 0.5}}, "/elu");
  h = b.node("BatchNormalization",
             {h, b.constant("gamma", ramp({6})), b.constant("beta", ramp({6})), b.constant("mean", ramp({6})),
              b.constant("var", tensor({6}, {1, 2, 3, 4, 5, 6}))},
             {}, "/bn");
  h = b.node("Softplus", {h}, {}, "/softplus");
  h = b.node("LogSoftmax", {h}, {{"axis", int64_t(-1)}}, "/logsoftmax");
  int steep = b.node("LeakyRelu", {h}, {{"alpha", 2.0}}, "/steep");
  Tensor in = ramp({4, 6});
  for (double& v : in.values) v = v / 2 - 4;
  Fused f = run_pipeline(b, {steep}, in);
  EXPECT_EQ(op_list(f.g), (std::vector<std::string>{"Mul", "Max",                        // LeakyRelu
                                                     "Max", "Min",                        // Clip
                                                     "Sub", "Mul", "Add", "Max", "Min", "Mul",  // HardSwish
                                                     "Exp", "Sub", "Mul", "Relu", "Min", "Add",  // Elu
                                                     "Mul", "Add",                        // BatchNormalization
                                                     "Neg", "Max", "Neg", "Exp", "Add", "Log", "Relu", "Add",  // Softplus
                                                     "Softmax", "Log",                    // LogSoftmax
                                                     "LeakyRelu"}));
  EXPECT_EQ(f.report.passes.at(1).pass, "decompose-activations");
  EXPECT_EQ(f.report.passes.at(1).rewrites, 7);
  EXPECT_EQ(f.g.nodes[0].name, "/leaky/Mul");
  EXPECT_LE(f.diff, 1e-15);
}

// --- the pipeline ---

TEST(FusePasses, PipelineOrderAndReport) {
  std::vector<std::string> names;
  for (const PassInfo& p : passes()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"drop-identities", "decompose-activations", "fuse-gelu", "fuse-silu",
                                             "fuse-layernorm", "fuse-rmsnorm", "fuse-rope", "fuse-matmul-add",
                                             "fuse-attention"}));
  Builder b;
  int x = b.input("x", {2, 3});
  int mm = b.node("MatMul", {x, b.constant("w", tensor({3, 2}, {1, 2, 3, 4, 5, 6}))}, {}, "/fc/MatMul");
  int fc = b.node("Add", {mm, b.constant("bias", tensor({2}, {1, 2}))}, {}, "/fc/Add");
  b.g.outputs = {erf_gelu(b, fc)};
  ASSERT_TRUE(infer_shapes(b.g));
  std::string printed;
  auto report = run_passes(b.g, "fuse-gelu", &printed);
  ASSERT_TRUE(report.has_value()) << report.message();
  std::vector<int> counts;
  for (const PassCount& p : report->passes) counts.push_back(p.rewrites);
  EXPECT_EQ(counts, (std::vector<int>{0, 0, 1, 0, 0, 0, 0, 1, 0}));
  EXPECT_EQ(op_list(b.g), (std::vector<std::string>{"wafer.MatMulAdd", "wafer.Gelu"}));
  // Printed after fuse-gelu: the GELU is fused, the MatMul and Add are not yet.
  EXPECT_NE(printed.find("= wafer.Gelu(%4) {approximate=\"none\"} : f32[2,2]  # /Div../Mul_1"), std::string::npos)
      << printed;
  EXPECT_NE(printed.find("= MatMul("), std::string::npos) << printed;
}

TEST(FusePasses, UnknownPassNameIsRefusedBeforeAnyRuns) {
  Builder b;
  int x = b.input("x", {4});
  b.g.outputs = {erf_gelu(b, x)};
  ASSERT_TRUE(infer_shapes(b.g));
  auto report = run_passes(b.g, "fuse-gleu");
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.message(),
            "unknown pass 'fuse-gleu' (did you mean 'fuse-gelu'?); the passes are: drop-identities, "
            "decompose-activations, fuse-gelu, fuse-silu, fuse-layernorm, fuse-rmsnorm, fuse-rope, fuse-matmul-add, "
            "fuse-attention");
  EXPECT_EQ(b.g.nodes.size(), 5u);
}

TEST(FusePasses, ABrokenGraphIsRefusedBeforeThePasses) {
  Builder b;
  int x = b.input("x", {4});
  b.g.outputs = {b.node("Relu", {x}, {}, "/Relu")};  // shapes never inferred: recorded as []
  auto report = run_passes(b.g);
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.message(),
            "before the passes: node '/Relu' (Relu): output '/Relu_out0' is recorded as f32[] but the op gives f32[4]");
}

// --- the reference models ---

struct ModelCase {
  const char* name;
  Hist ops;
  double tolerance = 1e-12;  // of the outputs after the passes against before, evaluated in double
};

void PrintTo(const ModelCase& c, std::ostream* os) { *os << c.name; }

class FusedModels : public ::testing::TestWithParam<ModelCase> {};

TEST_P(FusedModels, FuseToTheExpectedOpsAndKeepTheirOutputs) {
  const ModelCase& c = GetParam();
  const std::string dir = std::string(WAFER_SOURCE_DIR) + "/tests/models/" + c.name + "/";
  auto g = onnx_import::import_model(dir + "model.onnx");
  ASSERT_TRUE(g.has_value()) << g.message();
  auto x = read_npy(dir + "inputs/x.npy");
  ASSERT_TRUE(x.has_value()) << x.message();
  auto before = evaluate(*g, {{"x", *x}});
  ASSERT_TRUE(before.has_value()) << before.message();
  auto report = run_passes(*g);
  ASSERT_TRUE(report.has_value()) << report.message();
  EXPECT_EQ(histogram(*g), c.ops);
  auto after = evaluate(*g, {{"x", *x}});
  ASSERT_TRUE(after.has_value()) << after.message();
  EXPECT_LE(max_rel_diff(*after, *before), c.tolerance);
}

// The GPT-2 block at either opset: two LayerNorms, four Linear layers (qkv, proj, fc, out)
// as MatMulAdd, one GELU (erf at 13, tanh at 17), and attention (MatMul, Mul by 1/√16,
// Where with the causal mask, Softmax, MatMul) as one node; the head split (Split, Reshape,
// Transpose) and the two residual Adds stay.
const Hist kGpt2 = {{"Add", 2},         {"LayerNormalization", 2}, {"Reshape", 4},         {"Split", 1},
                    {"Transpose", 4},   {"wafer.Attention", 1},    {"wafer.Gelu", 1},      {"wafer.MatMulAdd", 4}};

INSTANTIATE_TEST_SUITE_P(
    Onnx, FusedModels,
    ::testing::Values(
        // Gemm carries its bias already; the GELU between fc2 and fc3 fuses.
        ModelCase{"mlp", {{"Gemm", 3}, {"Relu", 1}, {"wafer.Gelu", 1}}},
        ModelCase{"mlp_flat_b1", {{"Flatten", 1}, {"Gemm", 2}, {"Relu", 1}}},
        ModelCase{"gpt2_block_op13", kGpt2}, ModelCase{"gpt2_block_op17", kGpt2}, ModelCase{"gpt2_block_b2", kGpt2},
        // Two RMSNorms, the SwiGLU's SiLU, and attention (MatMul, Div by √16, Add of the mask,
        // Softmax, MatMul); no Linear has a bias, so q, k, v, o, gate, up and down stay
        // MatMuls. The rotary embedding of Q and of K (Mul, Slice, Neg, Slice, Concat, Mul, Add
        // each) are two wafer.Rope; the GQA expansion is untouched.
        ModelCase{"llama_block",
                  {{"Add", 2}, {"Expand", 2}, {"MatMul", 7}, {"Mul", 1}, {"Reshape", 6}, {"Transpose", 5},
                   {"Unsqueeze", 2}, {"wafer.Attention", 1}, {"wafer.RMSNorm", 2}, {"wafer.Rope", 2},
                   {"wafer.Silu", 1}}},
        // As Hugging Face writes it: the Cast around the softmax goes (drop-identities) and
        // attention fuses; repeat_interleave of 3 key-value heads is a Split into heads, then an
        // Unsqueeze, Expand and Reshape per head, and a Concat, for K and for V.
        ModelCase{"llama_block_hf",
                  {{"Add", 2}, {"Concat", 2}, {"Expand", 6}, {"MatMul", 7}, {"Mul", 1}, {"Reshape", 10}, {"Split", 2},
                   {"Transpose", 5}, {"Unsqueeze", 6}, {"wafer.Attention", 1}, {"wafer.RMSNorm", 2},
                   {"wafer.Rope", 2}, {"wafer.Silu", 1}},
                  // The dropped Casts rounded the scores to fp32 (the double-precision
                  // evaluation keeps them exact without): about fp32's 2^-24.
                  1e-7},
        // Nothing to fuse.
        ModelCase{"cnn",
                  {{"AveragePool", 1}, {"BatchNormalization", 1}, {"Conv", 2}, {"Flatten", 1}, {"Gemm", 1},
                   {"GlobalAveragePool", 1}, {"MaxPool", 2}, {"Pad", 1}, {"Relu", 2}}},
        ModelCase{"cnn_b3",
                  {{"BatchNormalization", 1}, {"Conv", 2}, {"Gemm", 1}, {"MaxPool", 1}, {"ReduceMean", 1}, {"Relu", 2}}},
        // nn.TransformerEncoderLayer: the two LayerNorms, the QKV projection and the two of the
        // feed-forward as MatMulAdd (the output projection is a Gemm already), attention
        // without a mask (MatMul, Softmax, MatMul) as one node; the Slices of Q, K and V, Q's
        // Div by √16, and the Reshapes and Transposes of nn.MultiheadAttention stay.
        ModelCase{"encoder_layer",
                  {{"Add", 2}, {"Div", 1}, {"Gemm", 1}, {"LayerNormalization", 2}, {"Relu", 1}, {"Reshape", 5},
                   {"Slice", 3}, {"Transpose", 6}, {"wafer.Attention", 1}, {"wafer.MatMulAdd", 3}}},
        // Two GPT-2 blocks between the embeddings (the position lookup folded to a constant)
        // and the final LayerNorm and LM head (a MatMul: no bias).
        ModelCase{"gpt2_tiny",
                  {{"Add", 5}, {"Gather", 1}, {"LayerNormalization", 5}, {"MatMul", 1}, {"Reshape", 8}, {"Split", 2},
                   {"Transpose", 8}, {"wafer.Attention", 2}, {"wafer.Gelu", 2}, {"wafer.MatMulAdd", 8}}}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace wafer::graph
