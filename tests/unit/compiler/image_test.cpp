// The compiler's image layers (lower_image.cpp, image_layers.cpp): a small CNN lowered onto
// the window and batch-norm kernels with the batch over bands of PE rows, its relayouts
// through the host and their I/O cycles, channels padded to the grid, a mean over the image
// as a global pool, a Flatten that reorders an image, and what the kernels do not take.
#include <gtest/gtest.h>

#include <cmath>

#include "compiler_test_util.hpp"
#include "wafer/compiler/compiler.hpp"

namespace wafer::compiler {
namespace {

using graph::Attr;
using graph::Tensor;
using graph::testing::Builder;
using graph::testing::tensor;
using testing::kernels_of;
using testing::random_tensor;
using testing::wse3;

std::map<std::string, Attr> window(int64_t k, int64_t s, int64_t p) {
  return {{"kernel_shape", std::vector<int64_t>{k, k}},
          {"strides", std::vector<int64_t>{s, s}},
          {"pads", std::vector<int64_t>{p, p, p, p}}};
}

uint64_t host_cycles(double bytes) { return uint64_t(std::ceil(bytes / wse3().host_bytes_per_cycle())); }

// x[2,3,8,8] -> Conv 3x3 pad 1 (4 channels) -> Relu -> MaxPool 2x2 -> BatchNormalization ->
// GlobalAveragePool -> Flatten -> Gemm (transB, 3 x 4) -> y[2,3].
graph::Graph small_cnn() {
  Builder b;
  int h = b.input("x", {2, 3, 8, 8});
  h = b.node("Conv", {h, b.constant("w", random_tensor({4, 3, 3, 3}, 1)), b.constant("b", random_tensor({4}, 2))},
             window(3, 1, 1), "/conv");
  h = b.node("Relu", {h}, {}, "/relu");
  h = b.node("MaxPool", {h}, window(2, 2, 0), "/pool");
  h = b.node("BatchNormalization",
             {h, b.constant("gamma", random_tensor({4}, 3)), b.constant("beta", random_tensor({4}, 4)),
              b.constant("mean", random_tensor({4}, 5)), b.constant("var", tensor({4}, {0.5, 0.8, 1.1, 1.4}))},
             {}, "/bn");
  h = b.node("GlobalAveragePool", {h}, {}, "/gap");
  h = b.node("Flatten", {h}, {{"axis", int64_t(1)}}, "/flatten");
  b.g.outputs = {b.node("Gemm", {h, b.constant("fc", random_tensor({3, 4}, 6)), b.constant("fc_b", random_tensor({3}, 7))},
                        {{"transB", int64_t(1)}}, "/fc")};
  EXPECT_TRUE(graph::infer_shapes(b.g));
  return b.g;
}

void expect_runs_as_the_reference(const graph::Graph& g, const Plan& plan, const std::string& output) {
  const int x = g.inputs[0];
  const std::map<std::string, Tensor> in = {{"x", random_tensor(g.values[size_t(x)].shape, 9)}};
  auto ref = graph::evaluate(g, in, {DType::f32, true});
  ASSERT_TRUE(ref.has_value()) << ref.message();
  auto r = run(g, plan, in, *ref, sim::Options{});
  ASSERT_TRUE(r.has_value()) << r.message();
  EXPECT_LT(kernels::max_rel_error(r->outputs.at(output).values, ref->at(output).values), 1e-6);
  for (const LayerRun& l : r->layers) EXPECT_LT(l.max_rel_error, 1e-6);
}

TEST(Images, ASmallCnnRunsOnTheWindowKernelsWithOneBandOfRowsPerImage) {
  const graph::Graph g = small_cnn();
  auto plan = compile(g, wse3(), CompileOptions{0, 0, DType::f32, Mode::streaming});
  ASSERT_TRUE(plan.has_value()) << plan.message();
  // Two images need two bands of rows; the GlobalAveragePool's one output row per image
  // makes each band one row, so 1 x 2 PEs.
  EXPECT_EQ(plan->grid_w, 1);
  EXPECT_EQ(plan->grid_h, 2);
  EXPECT_EQ(kernels_of(*plan), (std::vector<std::string>{"conv2d k3s1p1, 2 images", "relu", "maxpool k2s2p0, 2 images",
                                                         "batchnorm, 2 images", "avgpool k4s1p0, 2 images",
                                                         "gemm-bt summa + bias"}));
  // The conv reads the model's input (the host has it) and writes each PE's band: 3 channels
  // of (8 + 2) x (8 + 2) padded rows, fp32, on 2 PEs.
  EXPECT_EQ(plan->layers[0].relayout_io_cycles, host_cycles(2 * 3 * 10 * 10 * 4));
  // The pool reads out the 2 x 4 x 8 x 8 conv output and writes 4 channels of 2 x 2 phase
  // planes of 4 x 4 on each PE.
  EXPECT_EQ(plan->layers[2].relayout_io_cycles, host_cycles(2 * 4 * 8 * 8 * 4) + host_cycles(2 * 4 * 4 * 4 * 4 * 4));
  // Relu and the batch norm read the window kernels' outputs in place.
  EXPECT_EQ(plan->layers[1].relayout_io_cycles, 0u);
  EXPECT_EQ(plan->layers[3].relayout_io_cycles, 0u);
  EXPECT_TRUE(plan->layers[1].inputs[0].image);
  expect_runs_as_the_reference(g, *plan, "/fc_out0");
}

TEST(Images, TheBatchTakesABandOfPeRowsPerImage) {
  auto plan = compile(small_cnn(), wse3(), CompileOptions{1, 1, DType::f32});
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.message(),
            "on 1x1 PEs: layer '/conv' (Conv): the batch of 2 images takes a band of PE rows each, and 1 rows do not "
            "split into 2; 1x2 PEs hold every layer (the smallest grid; omit the grid to take it)");
}

TEST(Images, ChannelsArePaddedToTheGridAndAMeanOverTheImageIsAGlobalPool) {
  // x[3,2,6,6] -> Conv 3x3 pad 1 (5 channels) -> Relu -> ReduceMean over axes 2, 3 (torch's
  // x.mean((2, 3)), an N x C output) -> Gemm (transB, 4 x 5) -> y[3,4].
  Builder b;
  int h = b.input("x", {3, 2, 6, 6});
  h = b.node("Conv", {h, b.constant("w", random_tensor({5, 2, 3, 3}, 1)), b.constant("b", random_tensor({5}, 2))},
             window(3, 1, 1), "/conv");
  h = b.node("Relu", {h}, {}, "/relu");
  h = b.node("ReduceMean", {h}, {{"axes", std::vector<int64_t>{-2, -1}}, {"keepdims", int64_t(0)}}, "/mean");
  b.g.outputs = {b.node("Gemm", {h, b.constant("fc", random_tensor({4, 5}, 3))}, {{"transB", int64_t(1)}}, "/fc")};
  ASSERT_TRUE(graph::infer_shapes(b.g));
  auto plan = compile(b.g, wse3(), CompileOptions{0, 0, DType::f32, Mode::streaming});
  ASSERT_TRUE(plan.has_value()) << plan.message();
  // Three images take three bands of one PE row (the mean leaves one row per image), and
  // the 5 channels are padded to lcm(1, 3) = 6: before, no grid held the GEMM's K = 5.
  EXPECT_EQ(plan->grid_w, 1);
  EXPECT_EQ(plan->grid_h, 3);
  EXPECT_EQ(kernels_of(*plan), (std::vector<std::string>{"conv2d k3s1p1, 3 images", "relu", "avgpool k6s1p0, 3 images",
                                                         "gemm-bt summa"}));
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(plan->layers[i].output.layout.cols, 6) << i;
  EXPECT_EQ(plan->layers[3].inputs[0].layout.cols, 6);
  // The model's flops: 3 images x 5 channels x 36 pixels x 2 x 9 taps x 2, not the 6 padded.
  EXPECT_EQ(plan->layers[0].flops, 3.0 * 5 * 36 * 2 * 9 * 2);
  expect_runs_as_the_reference(b.g, *plan, "/fc_out0");
}

TEST(Images, AFlattenThatReordersAnImageIsReadThroughTheHost) {
  // x[1,2,4,4] -> Conv 1x1 -> Flatten (32 values, channel-major) -> Gemm 32 -> 3.
  Builder b;
  int h = b.input("x", {1, 2, 4, 4});
  h = b.node("Conv", {h, b.constant("w", random_tensor({2, 2, 1, 1}, 1))}, window(1, 1, 0), "/conv");
  h = b.node("Flatten", {h}, {{"axis", int64_t(1)}}, "/flatten");
  b.g.outputs = {b.node("Gemm", {h, b.constant("fc", random_tensor({3, 32}, 2))}, {{"transB", int64_t(1)}}, "/fc")};
  ASSERT_TRUE(graph::infer_shapes(b.g));
  auto plan = compile(b.g, wse3(), CompileOptions{});
  ASSERT_TRUE(plan.has_value()) << plan.message();
  ASSERT_EQ(plan->layers.size(), size_t(2));
  EXPECT_TRUE(plan->layers[1].inputs[0].via_host);
  // 32 fp32 values out to the host and back in.
  EXPECT_EQ(plan->layers[1].relayout_io_cycles, 2 * host_cycles(32 * 4));
  expect_runs_as_the_reference(b.g, *plan, "/fc_out0");
}

TEST(Images, WhatTheWindowKernelsDoNotTakeIsListedByNode) {
  Builder b;
  const int x = b.input("x", {1, 4, 8, 8});
  std::map<std::string, Attr> grouped = window(3, 1, 1);
  grouped["group"] = int64_t(2);
  b.node("Conv", {x, b.constant("w", random_tensor({4, 2, 3, 3}, 1))}, grouped, "/grouped");
  std::map<std::string, Attr> uneven = window(3, 1, 1);
  uneven["pads"] = std::vector<int64_t>{1, 0, 1, 0};
  b.node("Conv", {x, b.constant("w2", random_tensor({4, 4, 3, 3}, 2))}, uneven, "/uneven");
  b.node("AveragePool", {x}, window(3, 1, 1), "/avg");
  b.node("ReduceMean", {x}, {{"axes", std::vector<int64_t>{1, 2, 3}}}, "/mean");
  b.g.outputs = {b.g.nodes[0].outputs[0], b.g.nodes[1].outputs[0], b.g.nodes[2].outputs[0], b.g.nodes[3].outputs[0]};
  ASSERT_TRUE(graph::infer_shapes(b.g));
  auto plan = compile(b.g, wse3(), CompileOptions{});
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.message(),
            "the wafer engine cannot lower 4 nodes of graph '' yet (the reference interpreter runs them):\n"
            "  AveragePool (padding left out of the mean (count_include_pad = 0)): /avg\n"
            "  Conv (groups (group = 2)): /grouped\n"
            "  Conv (pads that differ (1, 0, 1, 0)): /uneven\n"
            "  ReduceMean (axes 1, 2, 3 of a 4-D input (a mean over an image's axes 2 and 3 is a global average "
            "pool; over the last axis, one inside a LayerNorm or RMSNorm)): /mean");
}

}  // namespace
}  // namespace wafer::compiler
