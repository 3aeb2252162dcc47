// Every op of the graph library's table once with hand-computed values (derivations in the
// comments), through shape inference and the reference interpreter.
#include <cmath>
#include <limits>

#include "graph_test_util.hpp"

namespace wafer::graph {
namespace {

using testing::ints;
using testing::run1;
using testing::run_error;
using testing::run_op;
using testing::tensor;

using V = std::vector<double>;

TEST(GraphOps, AddBroadcastsARowOverAMatrix) {
  Tensor y = run1("Add", {tensor({2, 3}, {1, 2, 3, 4, 5, 6}), tensor({3}, {10, 20, 30})});
  EXPECT_EQ(y.shape, (Shape{2, 3}));
  EXPECT_EQ(y.values, (V{11, 22, 33, 14, 25, 36}));
}

TEST(GraphOps, SubBroadcastsAColumnAgainstARow) {
  // [2,1] - [1,3] -> [2,3]: a[i] - b[j].
  Tensor y = run1("Sub", {tensor({2, 1}, {1, 2}), tensor({1, 3}, {10, 20, 30})});
  EXPECT_EQ(y.shape, (Shape{2, 3}));
  EXPECT_EQ(y.values, (V{-9, -19, -29, -8, -18, -28}));
}

TEST(GraphOps, MulByAScalar) {
  Tensor y = run1("Mul", {tensor({2}, {1.5, -2}), tensor({}, {4})});
  EXPECT_EQ(y.shape, (Shape{2}));
  EXPECT_EQ(y.values, (V{6, -8}));
}

TEST(GraphOps, DivOfFloatsAndTruncatingDivOfIntegers) {
  EXPECT_EQ(run1("Div", {tensor({2}, {1, 2}), tensor({2}, {4, 8})}).values, (V{0.25, 0.25}));
  Tensor q = run1("Div", {ints({7, -7}), ints({2, 2})});
  EXPECT_EQ(q.type, ElemType::i64);
  EXPECT_EQ(q.values, (V{3, -3}));  // toward zero
}

TEST(GraphOps, PowSqrtReciprocalNegAbs) {
  EXPECT_EQ(run1("Pow", {tensor({2}, {2, 3}), tensor({1}, {2})}).values, (V{4, 9}));
  EXPECT_EQ(run1("Sqrt", {tensor({2}, {4, 9})}).values, (V{2, 3}));
  EXPECT_EQ(run1("Reciprocal", {tensor({2}, {4, -0.5})}).values, (V{0.25, -2}));
  EXPECT_EQ(run1("Neg", {tensor({2}, {1, -2})}).values, (V{-1, 2}));
  EXPECT_EQ(run1("Abs", {tensor({2}, {-1.5, 2})}).values, (V{1.5, 2}));
}

TEST(GraphOps, TranscendentalsAndRelu) {
  Tensor erf = run1("Erf", {tensor({2}, {0, 1})});
  EXPECT_EQ(erf.values[0], 0);
  EXPECT_NEAR(erf.values[1], 0.8427007929497149, 1e-15);  // erf(1)
  EXPECT_NEAR(run1("Tanh", {tensor({1}, {0.5})}).values[0], 0.46211715726000974, 1e-15);
  // sigmoid(ln 3) = 1 / (1 + 1/3) = 0.75.
  Tensor s = run1("Sigmoid", {tensor({2}, {0, std::log(3.0)})});
  EXPECT_EQ(s.values[0], 0.5);
  EXPECT_NEAR(s.values[1], 0.75, 1e-15);
  EXPECT_NEAR(run1("Exp", {tensor({1}, {std::log(2.0)})}).values[0], 2, 1e-15);
  EXPECT_EQ(run1("Relu", {tensor({3}, {-1, 0, 2})}).values, (V{0, 0, 2}));
}

TEST(GraphOps, EqualGivesBoolAndWhereSelectsWithBroadcasting) {
  Tensor eq = run1("Equal", {tensor({3}, {1, 2, 3}), tensor({3}, {1, 5, 3})});
  EXPECT_EQ(eq.type, ElemType::boolean);
  EXPECT_EQ(eq.values, (V{1, 0, 1}));
  // cond [2,1], x [3], y scalar -> [2,3]: row 0 takes x, row 1 takes y.
  Tensor w = run1("Where", {tensor({2, 1}, {1, 0}, ElemType::boolean), tensor({3}, {1, 2, 3}), tensor({}, {-1})});
  EXPECT_EQ(w.shape, (Shape{2, 3}));
  EXPECT_EQ(w.values, (V{1, 2, 3, -1, -1, -1}));
}

TEST(GraphOps, MaxAndMinOverThreeInputs) {
  std::vector<std::optional<Tensor>> in = {tensor({2}, {1, 5}), tensor({2}, {3, 2}), tensor({1}, {4})};
  EXPECT_EQ(run1("Max", in).values, (V{4, 5}));
  EXPECT_EQ(run1("Min", in).values, (V{1, 2}));
}

TEST(GraphOps, CastTruncatesToIntegersAndRoundsToHalf) {
  Tensor i = run1("Cast", {tensor({2}, {1.7, -1.7})}, {{"to", int64_t(7)}});
  EXPECT_EQ(i.type, ElemType::i64);
  EXPECT_EQ(i.values, (V{1, -1}));
  // 0.1 in binary16: 1638 * 2^-14 = 0.0999755859375.
  Tensor h = run1("Cast", {tensor({1}, {0.1})}, {{"to", int64_t(10)}});
  EXPECT_EQ(h.type, ElemType::f16);
  EXPECT_EQ(h.values, (V{0.0999755859375}));
  EXPECT_EQ(run1("Identity", {tensor({2}, {3, 4})}).values, (V{3, 4}));
}

TEST(GraphOps, SoftmaxAlongTheLastAndTheFirstAxis) {
  double l3 = std::log(3.0);
  Tensor last = run1("Softmax", {tensor({2}, {0, l3})});
  EXPECT_NEAR(last.values[0], 0.25, 1e-15);  // 1 / (1 + 3)
  EXPECT_NEAR(last.values[1], 0.75, 1e-15);
  // axis 0 of [[0, 0], [ln 3, 0]]: column 0 is (0.25, 0.75), column 1 is (0.5, 0.5).
  Tensor first = run1("Softmax", {tensor({2, 2}, {0, 0, l3, 0})}, {{"axis", int64_t(0)}});
  EXPECT_NEAR(first.values[0], 0.25, 1e-15);
  EXPECT_NEAR(first.values[1], 0.5, 1e-15);
  EXPECT_NEAR(first.values[2], 0.75, 1e-15);
  EXPECT_NEAR(first.values[3], 0.5, 1e-15);
}

TEST(GraphOps, ReduceMeanAndReduceSumWithAxesAsAttributeOrInput) {
  Tensor x = tensor({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor mean = run1("ReduceMean", {x}, {{"axes", std::vector<int64_t>{1}}});
  EXPECT_EQ(mean.shape, (Shape{2, 1}));
  EXPECT_EQ(mean.values, (V{2, 5}));
  Tensor sum = run1("ReduceSum", {x, ints({0})}, {{"keepdims", int64_t(0)}});
  EXPECT_EQ(sum.shape, (Shape{3}));
  EXPECT_EQ(sum.values, (V{5, 7, 9}));
  Tensor all = run1("ReduceSum", {x});  // no axes: all of them, kept as 1s
  EXPECT_EQ(all.shape, (Shape{1, 1}));
  EXPECT_EQ(all.values, (V{21}));
  Tensor mean18 = run1("ReduceMean", {x, ints({-2})});  // opset 18: axes as input
  EXPECT_EQ(mean18.values, (V{2.5, 3.5, 4.5}));
}

TEST(GraphOps, LayerNormalizationWithScaleBiasAndStatistics) {
  // Row [1,2,3]: mean 2, variance 2/3, 1/std = sqrt(1.5); row [2,4,6]: mean 4, variance 8/3,
  // 1/std = sqrt(3/8); both normalise to (-sqrt(1.5), 0, sqrt(1.5)); scale (1,1,2), bias (0,0,1).
  auto out = run_op("LayerNormalization",
                    {tensor({2, 3}, {1, 2, 3, 2, 4, 6}), tensor({3}, {1, 1, 2}), tensor({3}, {0, 0, 1})},
                    {{"epsilon", 0.0}}, 3);
  ASSERT_TRUE(out.has_value()) << out.message();
  double r = std::sqrt(1.5);
  V want = {-r, 0, 2 * r + 1, -r, 0, 2 * r + 1};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR((*out)[0].values[i], want[i], 1e-14) << i;
  EXPECT_EQ((*out)[1].shape, (Shape{2, 1}));
  EXPECT_EQ((*out)[1].values, (V{2, 4}));
  EXPECT_NEAR((*out)[2].values[1], std::sqrt(3.0 / 8), 1e-15);
}

TEST(GraphOps, ConvWithBiasPaddingStrideAndGroups) {
  Tensor x = tensor({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Tensor diag = tensor({1, 1, 2, 2}, {1, 0, 0, 1});
  // Each output is x[i][j] + x[i+1][j+1] + 10.
  Tensor y = run1("Conv", {x, diag, tensor({1}, {10})});
  EXPECT_EQ(y.shape, (Shape{1, 1, 2, 2}));
  EXPECT_EQ(y.values, (V{16, 18, 22, 24}));
  // Padding 1, stride 2: windows start at -1 and 1; (0,0) sees x(0,0); (0,1) x(0,2); (1,0) x(2,0);
  // (1,1) x(1,1) + x(2,2).
  Tensor p = run1("Conv", {x, diag}, {{"pads", std::vector<int64_t>{1, 1, 1, 1}}, {"strides", std::vector<int64_t>{2, 2}}});
  EXPECT_EQ(p.values, (V{1, 3, 7, 14}));
  // Two groups of one channel each: 3 * 2 and 5 * 10.
  Tensor g = run1("Conv", {tensor({1, 2, 1, 1}, {3, 5}), tensor({2, 1, 1, 1}, {2, 10})}, {{"group", int64_t(2)}});
  EXPECT_EQ(g.values, (V{6, 50}));
  // One spatial axis: differences of neighbours, x[i] - x[i+1].
  Tensor d = run1("Conv", {tensor({1, 1, 4}, {1, 2, 3, 4}), tensor({1, 1, 2}, {1, -1})});
  EXPECT_EQ(d.shape, (Shape{1, 1, 3}));
  EXPECT_EQ(d.values, (V{-1, -1, -1}));
}

TEST(GraphOps, BatchNormalizationPerChannel) {
  // channel 0: (x - 1) / 2; channel 1: (x - 3) / 1 * 2 + 1.
  Tensor y = run1("BatchNormalization", {tensor({1, 2, 1, 2}, {1, 2, 3, 4}), tensor({2}, {1, 2}), tensor({2}, {0, 1}),
                                         tensor({2}, {1, 3}), tensor({2}, {4, 1})},
                  {{"epsilon", 0.0}});
  EXPECT_EQ(y.values, (V{0, 0.5, 1, 3}));
}

TEST(GraphOps, PoolsWithAndWithoutPadding) {
  Tensor x = tensor({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  std::vector<int64_t> k2 = {2, 2}, pad1 = {1, 1, 1, 1};
  EXPECT_EQ(run1("MaxPool", {x}, {{"kernel_shape", k2}}).values, (V{5, 6, 8, 9}));
  std::map<std::string, Attr> padded = {{"kernel_shape", k2}, {"pads", pad1}, {"strides", k2}};
  EXPECT_EQ(run1("MaxPool", {x}, padded).values, (V{1, 3, 7, 9}));
  // Windows (0,0) {1}, (0,1) {2,3}, (1,0) {4,7}, (1,1) {5,6,8,9}.
  EXPECT_EQ(run1("AveragePool", {x}, padded).values, (V{1, 2.5, 5.5, 7}));
  padded["count_include_pad"] = int64_t(1);  // every window divides by 4
  EXPECT_EQ(run1("AveragePool", {x}, padded).values, (V{0.25, 1.25, 2.75, 7}));
  EXPECT_EQ(run1("MaxPool", {tensor({1, 1, 4}, {1, 3, 2, 4})}, {{"kernel_shape", std::vector<int64_t>{2}},
                                                                 {"strides", std::vector<int64_t>{2}}})
                .values,
            (V{3, 4}));
  Tensor g = run1("GlobalAveragePool", {tensor({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8})});
  EXPECT_EQ(g.shape, (Shape{1, 2, 1, 1}));
  EXPECT_EQ(g.values, (V{2.5, 6.5}));
}

TEST(GraphOps, MatMulOfMatricesVectorsAndBroadcastBatches) {
  Tensor a = tensor({2, 3}, {1, 2, 3, 4, 5, 6}), b = tensor({3, 2}, {1, 0, 0, 1, 1, 1});
  EXPECT_EQ(run1("MatMul", {a, b}).values, (V{4, 5, 10, 11}));
  Tensor row = run1("MatMul", {tensor({3}, {1, 2, 3}), b});
  EXPECT_EQ(row.shape, (Shape{2}));
  EXPECT_EQ(row.values, (V{4, 5}));
  Tensor col = run1("MatMul", {a, tensor({3}, {1, 1, 1})});
  EXPECT_EQ(col.shape, (Shape{2}));
  EXPECT_EQ(col.values, (V{6, 15}));
  // Two [1,2] rows against one shared [2,1] column: 1 + 20, 3 + 40.
  Tensor batched = run1("MatMul", {tensor({2, 1, 2}, {1, 2, 3, 4}), tensor({2, 1}, {1, 10})});
  EXPECT_EQ(batched.shape, (Shape{2, 1, 1}));
  EXPECT_EQ(batched.values, (V{21, 43}));
  Tensor wide = run1("MatMul", {tensor({2, 1, 1, 1}, {1, 2}), tensor({3, 1, 1}, {1, 10, 100})});
  EXPECT_EQ(wide.shape, (Shape{2, 3, 1, 1}));
  EXPECT_EQ(wide.values, (V{1, 10, 100, 2, 20, 200}));
}

TEST(GraphOps, GemmWithTransposesAlphaBetaAndABroadcastBias) {
  // A B^T = [[1,2],[3,4]] [[1,0,1],[0,1,1]] = [[1,2,3],[3,4,7]]; times 2, plus 0.5 * (1,2,3).
  Tensor y = run1("Gemm", {tensor({2, 2}, {1, 2, 3, 4}), tensor({3, 2}, {1, 0, 0, 1, 1, 1}), tensor({3}, {1, 2, 3})},
                  {{"transB", int64_t(1)}, {"alpha", 2.0}, {"beta", 0.5}});
  EXPECT_EQ(y.shape, (Shape{2, 3}));
  EXPECT_EQ(y.values, (V{2.5, 5, 7.5, 6.5, 9, 15.5}));
  // transA: A is given as [K, M] = [[1,3],[2,4]].
  Tensor t = run1("Gemm", {tensor({2, 2}, {1, 3, 2, 4}), tensor({2, 1}, {1, 1})}, {{"transA", int64_t(1)}});
  EXPECT_EQ(t.values, (V{3, 7}));
}

TEST(GraphOps, ReshapeWithZeroAndMinusOne) {
  Tensor x = tensor({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(run1("Reshape", {x, ints({0, -1})}).shape, (Shape{2, 3}));
  EXPECT_EQ(run1("Reshape", {x, ints({-1})}).shape, (Shape{6}));
  Tensor y = run1("Reshape", {x, ints({3, -1})});
  EXPECT_EQ(y.shape, (Shape{3, 2}));
  EXPECT_EQ(y.values, x.values);
  // allowzero: a 0 is a zero-sized axis, so an empty tensor reshapes to [0, 3].
  EXPECT_EQ(run1("Reshape", {tensor({3, 0}, {}), ints({0, 3})}, {{"allowzero", int64_t(1)}}).shape, (Shape{0, 3}));
  EXPECT_EQ(run_error("Reshape", {x, ints({4, -1})}),
            "node 'n' (Reshape): cannot reshape input 'in0' [2,3] (6 elements) to [4,-1]");
  EXPECT_EQ(run_error("Reshape", {x, ints({-1, -1})}), "node 'n' (Reshape): shape [-1,-1] has more than one -1");
}

TEST(GraphOps, TransposeDefaultAndGivenPermutation) {
  Tensor x = tensor({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor t = run1("Transpose", {x});
  EXPECT_EQ(t.shape, (Shape{3, 2}));
  EXPECT_EQ(t.values, (V{1, 4, 2, 5, 3, 6}));
  Tensor p = run1("Transpose", {tensor({1, 2, 3}, {1, 2, 3, 4, 5, 6})}, {{"perm", std::vector<int64_t>{0, 2, 1}}});
  EXPECT_EQ(p.shape, (Shape{1, 3, 2}));
  EXPECT_EQ(p.values, (V{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(run_error("Transpose", {x}, {{"perm", std::vector<int64_t>{0, 0}}}),
            "node 'n' (Transpose): attribute 'perm' [0,0] is not a permutation of 2 axes");
}

TEST(GraphOps, SliceWithStepsNegativeIndicesAndClamping) {
  Tensor x = tensor({2, 4}, {0, 1, 2, 3, 4, 5, 6, 7});
  double big = double(std::numeric_limits<int64_t>::max());
  // Columns 1, 3 (start 1, end "to the end", step 2).
  Tensor odd = run1("Slice", {x, ints({1}), ints({big}), ints({1}), ints({2})});
  EXPECT_EQ(odd.shape, (Shape{2, 2}));
  EXPECT_EQ(odd.values, (V{1, 3, 5, 7}));
  // Start -1 (column 3) down to end -5, clamped to "before column 0": the columns reversed.
  Tensor rev = run1("Slice", {x, ints({-1}), ints({-5}), ints({-1}), ints({-1})});
  EXPECT_EQ(rev.values, (V{3, 2, 1, 0, 7, 6, 5, 4}));
  // Without axes and steps: rows [1, 2) and columns [-3, -1).
  Tensor box = run1("Slice", {x, ints({1, -3}), ints({2, -1})});
  EXPECT_EQ(box.shape, (Shape{1, 2}));
  EXPECT_EQ(box.values, (V{5, 6}));
  EXPECT_EQ(run1("Slice", {tensor({0}, {}), ints({-1}), ints({-5}), ints({0}), ints({-1})}).shape, (Shape{0}));
}

TEST(GraphOps, ConcatAndSplit) {
  Tensor c = run1("Concat", {tensor({2, 1}, {1, 2}), tensor({2, 2}, {3, 4, 5, 6})}, {{"axis", int64_t(1)}});
  EXPECT_EQ(c.shape, (Shape{2, 3}));
  EXPECT_EQ(c.values, (V{1, 3, 4, 2, 5, 6}));
  Tensor x = tensor({2, 4}, {0, 1, 2, 3, 4, 5, 6, 7});
  auto parts = run_op("Split", {x, ints({1, 3})}, {{"axis", int64_t(1)}}, 2);
  ASSERT_TRUE(parts.has_value()) << parts.message();
  EXPECT_EQ((*parts)[0].values, (V{0, 4}));
  EXPECT_EQ((*parts)[1].shape, (Shape{2, 3}));
  EXPECT_EQ((*parts)[1].values, (V{1, 2, 3, 5, 6, 7}));
  auto rows = run_op("Split", {x}, {}, 2);  // equal parts along axis 0
  ASSERT_TRUE(rows.has_value()) << rows.message();
  EXPECT_EQ((*rows)[1].values, (V{4, 5, 6, 7}));
  auto thirds = run_op("Split", {tensor({5}, {1, 2, 3, 4, 5})}, {{"num_outputs", int64_t(3)}}, 3);
  ASSERT_TRUE(thirds.has_value()) << thirds.message();
  EXPECT_EQ((*thirds)[2].values, (V{5}));  // ceil(5/3) = 2, 2, then 1
  EXPECT_EQ(run_error("Split", {x, ints({1, 2})}, {{"axis", int64_t(1)}}, 2),
            "node 'n' (Split): split [1,2] does not add up to the axis size 4");
}

TEST(GraphOps, GatherWithNegativeIndicesAndAScalarIndex) {
  Tensor data = tensor({3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor rows = run1("Gather", {data, tensor({1, 2}, {0, -1}, ElemType::i64)});
  EXPECT_EQ(rows.shape, (Shape{1, 2, 2}));
  EXPECT_EQ(rows.values, (V{1, 2, 5, 6}));
  Tensor col = run1("Gather", {data, tensor({}, {1}, ElemType::i64)}, {{"axis", int64_t(1)}});
  EXPECT_EQ(col.shape, (Shape{3}));
  EXPECT_EQ(col.values, (V{2, 4, 6}));
  EXPECT_EQ(run_error("Gather", {data, ints({3})}),
            "node 'n' (Gather): input 1 (indices): index 3 is out of range for axis 0 of size 3");
}

TEST(GraphOps, UnsqueezeSqueezeFlattenExpand) {
  Tensor v = tensor({2}, {1, 2});
  EXPECT_EQ(run1("Unsqueeze", {v, ints({0, -1})}).shape, (Shape{1, 2, 1}));
  EXPECT_EQ(run1("Unsqueeze", {v}, {{"axes", std::vector<int64_t>{1}}}).shape, (Shape{2, 1}));  // opset 11 form
  EXPECT_EQ(run1("Squeeze", {tensor({2, 1, 3}, V(6, 0)), ints({1})}).shape, (Shape{2, 3}));
  EXPECT_EQ(run1("Squeeze", {tensor({1, 2, 1}, {1, 2})}).shape, (Shape{2}));
  EXPECT_EQ(run_error("Squeeze", {tensor({2, 3}, V(6, 0)), ints({0})}),
            "node 'n' (Squeeze): cannot squeeze axis 0 of input 'in0' [2,3]: its size is not 1");
  EXPECT_EQ(run1("Flatten", {tensor({2, 3, 4}, V(24, 0))}, {{"axis", int64_t(2)}}).shape, (Shape{6, 4}));
  EXPECT_EQ(run1("Flatten", {tensor({2, 3, 4}, V(24, 0))}, {{"axis", int64_t(0)}}).shape, (Shape{1, 24}));
  Tensor e = run1("Expand", {tensor({3, 1}, {1, 2, 3}), ints({2, 1, 2})});
  EXPECT_EQ(e.shape, (Shape{2, 3, 2}));
  EXPECT_EQ(e.values, (V{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}));
}

TEST(GraphOps, ConstantConstantOfShapeAndShape) {
  Tensor c = run1("ConstantOfShape", {ints({2, 2})}, {{"value", tensor({1}, {7}, ElemType::i64)}});
  EXPECT_EQ(c.type, ElemType::i64);
  EXPECT_EQ(c.values, (V{7, 7, 7, 7}));
  EXPECT_EQ(run1("ConstantOfShape", {ints({3})}).values, (V{0, 0, 0}));  // f32 zeros by default
  Tensor k = run1("Constant", {}, {{"value_ints", std::vector<int64_t>{1, 2}}});
  EXPECT_EQ(k.type, ElemType::i64);
  EXPECT_EQ(k.values, (V{1, 2}));
  Tensor f = run1("Constant", {}, {{"value_float", 0.5}});
  EXPECT_EQ(f.shape, Shape{});
  EXPECT_EQ(f.values, (V{0.5}));
  EXPECT_EQ(run1("Constant", {}, {{"value", tensor({2}, {3, 4})}}).values, (V{3, 4}));
  Tensor s = run1("Shape", {tensor({2, 3, 4}, V(24, 0))}, {{"start", int64_t(1)}});
  EXPECT_EQ(s.type, ElemType::i64);
  EXPECT_EQ(s.values, (V{3, 4}));
}

TEST(GraphOps, CheapExtrasTorchEmits) {
  EXPECT_NEAR(run1("Sin", {tensor({1}, {M_PI / 2})}).values[0], 1, 1e-15);
  EXPECT_EQ(run1("Cos", {tensor({1}, {0})}).values, (V{1}));
  EXPECT_NEAR(run1("Log", {tensor({1}, {M_E})}).values[0], 1, 1e-15);
  EXPECT_EQ(run1("Not", {tensor({2}, {1, 0}, ElemType::boolean)}).values, (V{0, 1}));
  Tensor less = run1("Less", {tensor({3}, {1, 2, 3}), tensor({1}, {2})});
  EXPECT_EQ(less.type, ElemType::boolean);
  EXPECT_EQ(less.values, (V{1, 0, 0}));
  EXPECT_EQ(run1("Greater", {tensor({3}, {1, 2, 3}), tensor({1}, {2})}).values, (V{0, 0, 1}));
  auto dropout = run_op("Dropout", {tensor({2}, {1, 2})}, {}, 2);
  ASSERT_TRUE(dropout.has_value()) << dropout.message();
  EXPECT_EQ((*dropout)[0].values, (V{1, 2}));
  EXPECT_EQ((*dropout)[1].type, ElemType::boolean);
  EXPECT_EQ((*dropout)[1].values, (V{1, 1}));
  Tensor zero = tensor({}, {0}, ElemType::i64), five = tensor({}, {5}, ElemType::i64), two = tensor({}, {2}, ElemType::i64);
  Tensor r = run1("Range", {zero, five, two});  // ceil(5 / 2) = 3 values
  EXPECT_EQ(r.shape, (Shape{3}));
  EXPECT_EQ(r.values, (V{0, 2, 4}));
  EXPECT_EQ(run1("Range", {tensor({}, {1}), tensor({}, {0}), tensor({}, {-0.5})}).values, (V{1, 0.5}));
  Tensor m = tensor({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  EXPECT_EQ(run1("Trilu", {m}, {{"upper", int64_t(0)}}).values, (V{1, 0, 0, 4, 5, 0, 7, 8, 9}));
  EXPECT_EQ(run1("Trilu", {m, tensor({}, {1}, ElemType::i64)}).values, (V{0, 2, 3, 0, 0, 6, 0, 0, 0}));
}

}  // namespace
}  // namespace wafer::graph
