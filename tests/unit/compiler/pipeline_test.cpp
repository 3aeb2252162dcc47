// The pipelined mode (pipeline.cpp): every layer on its own rectangle in snake order, sized by
// its share of the work, the moves between rectangles as layers of their own, outputs equal to streaming's, the timing
// of a batch and between batches, and auto's choice.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "compiler_test_util.hpp"
#include "wafer/compiler/compiler.hpp"

namespace wafer::compiler {
namespace {

using graph::Tensor;
using graph::testing::Builder;
using graph::testing::tensor;
using testing::kernels_of;
using testing::random_tensor;
using testing::wse3;

// x[8,16] -> MatMul(W1[16,8]) -> Relu -> Add(x·W1) -> y[8,8]: the Add reads the MatMul's output
// two layers on (a residual).
graph::Graph residual() {
  Builder b;
  const int x = b.input("x", {8, 16});
  const int h = b.node("MatMul", {x, b.constant("w1", random_tensor({16, 8}, 1))}, {}, "/fc");
  const int r = b.node("Relu", {h}, {}, "/relu");
  b.g.outputs = {b.node("Add", {r, h}, {}, "/add")};
  EXPECT_TRUE(graph::infer_shapes(b.g));
  return b.g;
}

std::vector<std::string> names_of(const Plan& p) {
  std::vector<std::string> k;
  for (const Layer& l : p.layers) k.push_back(l.name + " @" + std::to_string(l.rect.x) + "," + std::to_string(l.rect.y));
  return k;
}

Expected<ModelRun> run_plan(const graph::Graph& g, const Plan& plan) {
  const std::map<std::string, Tensor> in = {{"x", random_tensor({8, 16}, 9)}};
  auto ref = graph::evaluate(g, in, {DType::f32, true});
  if (!ref) return ref.status();
  return run(g, plan, in, *ref, sim::Options{});
}

TEST(Pipeline, EachLayerHasItsRectangleAndEveryInputIsMovedToItsReader) {
  const graph::Graph g = residual();
  auto plan = compile(g, wse3(), CompileOptions{2, 2, DType::f32, Mode::pipelined});
  ASSERT_TRUE(plan.has_value()) << plan.message();
  EXPECT_EQ(plan->mode, Mode::pipelined);
  // The MatMul, the slowest stage, grows to 4 x 2 (balance); the Relu and the Add stay 2 x 2
  // at x = 4 and 6 of the first shelf. The MatMul's output is resharded next door for the Relu
  // and two rectangles on for the Add, whose other input the Relu left next door, on a
  // rectangle of the same shape: a translation.
  EXPECT_EQ(names_of(*plan), (std::vector<std::string>{"/fc @0,0", "move /fc_out0 @0,0", "/relu @4,0",
                                                       "move /relu_out0 @4,0", "move /fc_out0 @0,0", "/add @6,0"}));
  EXPECT_EQ(plan->layers[1].kernel, "reshard 4x2 to 2x2 at (4,0)");
  EXPECT_EQ(plan->layers[3].kernel, "move by (2,0)");
  EXPECT_EQ(plan->layers[4].kernel, "reshard 4x2 to 2x2 at (6,0)");
  EXPECT_EQ(plan->layers[4].rect.w, 8);  // it crosses the Relu's rectangle
  EXPECT_EQ(plan->layers[0].origin_x, 0);
  EXPECT_EQ(plan->layers[2].origin_x, 4);

  auto piped = run_plan(g, *plan);
  ASSERT_TRUE(piped.has_value()) << piped.message();
  auto streamed_plan = compile(g, wse3(), CompileOptions{2, 2, DType::f32, Mode::streaming});
  ASSERT_TRUE(streamed_plan.has_value()) << streamed_plan.message();
  auto streamed = run_plan(g, *streamed_plan);
  ASSERT_TRUE(streamed.has_value()) << streamed.message();
  // The same kernels on the same blocks, and moves that copy bits: the same outputs exactly.
  EXPECT_EQ(piped->outputs.at("/add_out0").values, streamed->outputs.at("/add_out0").values);
  for (const LayerRun& l : piped->layers) EXPECT_LT(l.max_rel_error, 1e-6);
  // A batch goes through every layer and move in turn with the weights already loaded; the
  // next batch starts when the slowest stage is free.
  uint64_t sum = 0, slowest = 0;
  for (const LayerRun& l : piped->layers) {
    sum += l.cycles;
    slowest = std::max(slowest, l.cycles);
  }
  EXPECT_EQ(piped->cycles, sum);
  EXPECT_EQ(piped->interval, slowest);
  EXPECT_EQ(streamed->interval, streamed->cycles);
}

uint64_t streamed_interval(const graph::Graph& g) {
  auto plan = compile(g, wse3(), CompileOptions{2, 1, DType::f32, Mode::streaming});
  EXPECT_TRUE(plan.has_value()) << plan.message();
  return plan ? plan->estimated_interval : 0;
}

// x[8,64] -> MatMul(W1[64,128]) -> Relu -> MatMul(W2[128,64]) from 2 x 1 PEs: the GEMMs are the
// slow stages, so they get larger rectangles (the Relu keeps 2 x 1), and a move between
// rectangles of two shapes is a reshard; the outputs are streaming's, bit for bit (each GEMM
// still adds its K products in order), and the interval is shorter than on 2 x 1 for all.
TEST(Pipeline, TheSlowLayersGetLargerRectanglesAndReshardsBetweenThem) {
  Builder b;
  const int x = b.input("x", {8, 64});
  const int h = b.node("MatMul", {x, b.constant("w1", random_tensor({64, 128}, 1))}, {}, "/fc1");
  const int r = b.node("Relu", {h}, {}, "/relu");
  b.g.outputs = {b.node("MatMul", {r, b.constant("w2", random_tensor({128, 64}, 2))}, {}, "/fc2")};
  ASSERT_TRUE(graph::infer_shapes(b.g));
  auto plan = compile(b.g, wse3(), CompileOptions{2, 1, DType::f32, Mode::pipelined});
  ASSERT_TRUE(plan.has_value()) << plan.message();
  // Each GEMM grew to 4 x 4 times the base (the most), the Relu stayed; a move's rectangle
  // bounds both of its ends.
  EXPECT_EQ(kernels_of(*plan), (std::vector<std::string>{"gemm summa", "reshard 8x4 to 2x1 at (8,0)", "relu",
                                                         "reshard 2x1 to 8x4 at (2,0)", "gemm summa"}));
  std::vector<std::string> rects;
  for (const Layer& l : plan->layers) rects.push_back(fmt::format("{}x{}", l.rect.w, l.rect.h));
  EXPECT_EQ(rects, (std::vector<std::string>{"8x4", "10x4", "2x1", "10x4", "8x4"}));
  EXPECT_EQ(plan->estimated_interval, 6336u);
  EXPECT_LT(plan->estimated_interval, streamed_interval(b.g));

  const std::map<std::string, Tensor> in = {{"x", random_tensor({8, 64}, 9)}};
  auto ref = graph::evaluate(b.g, in, {DType::f32, true});
  ASSERT_TRUE(ref.has_value()) << ref.message();
  auto piped = run(b.g, *plan, in, *ref, sim::Options{});
  ASSERT_TRUE(piped.has_value()) << piped.message();
  auto streamed_plan = compile(b.g, wse3(), CompileOptions{2, 1, DType::f32, Mode::streaming});
  ASSERT_TRUE(streamed_plan.has_value()) << streamed_plan.message();
  auto streamed = run(b.g, *streamed_plan, in, *ref, sim::Options{});
  ASSERT_TRUE(streamed.has_value()) << streamed.message();
  EXPECT_EQ(piped->outputs.at("/fc2_out0").values, streamed->outputs.at("/fc2_out0").values);
  for (const LayerRun& l : piped->layers) EXPECT_LT(l.max_rel_error, 1e-6);
}

TEST(Pipeline, AutoTakesPipelinedWhenItFitsAndStreamingWhenNot) {
  const graph::Graph g = residual();
  auto fits = compile(g, wse3(), CompileOptions{2, 2, DType::f32});
  ASSERT_TRUE(fits.has_value()) << fits.message();
  EXPECT_EQ(fits->mode, Mode::pipelined);
  EXPECT_EQ(fits->mode_reason,
            "every layer fits the fabric on a rectangle of its own, from 2x2 PEs up by its share of the work, with "
            "its weights resident; an estimated 449 cycles between batches against streaming's 586");
  arch::Arch small = wse3();
  small.fabric_width = 4;
  small.fabric_height = 2;
  auto cramped = compile(g, small, CompileOptions{2, 2, DType::f32});
  ASSERT_TRUE(cramped.has_value()) << cramped.message();
  EXPECT_EQ(cramped->mode, Mode::streaming);
  EXPECT_EQ(cramped->mode_reason,
            "pipelined does not fit: pipelined on 2x2 PEs a layer: 3 layers on rectangles of their own (from 2x2 "
            "PEs) need more than the fabric's 4x2 PEs (streaming runs them one at a time)");
  auto forced = compile(g, small, CompileOptions{2, 2, DType::f32, Mode::pipelined});
  ASSERT_FALSE(forced.has_value());
  EXPECT_EQ(forced.message(), "pipelined on 2x2 PEs a layer: 3 layers on rectangles of their own (from 2x2 PEs) need "
                              "more than the fabric's 4x2 PEs (streaming runs them one at a time); --mode streaming "
                              "runs it on 2x2 PEs");
}

TEST(Pipeline, AutoStreamsWhenMovingTheActivationsCostsMoreThanTheLayers) {
  // x[16,64] -> Relu -> Relu -> y on 2 x 1 PEs: no weights to stream, and each 16 x 32 block
  // costs about 0.5 cycles an element in a Relu but 1 cycle an element on a link in a move.
  Builder b;
  const int x = b.input("x", {16, 64});
  b.g.outputs = {b.node("Relu", {b.node("Relu", {x}, {}, "/relu1")}, {}, "/relu2")};
  ASSERT_TRUE(graph::infer_shapes(b.g));
  auto plan = compile(b.g, wse3(), CompileOptions{2, 1, DType::f32});
  ASSERT_TRUE(plan.has_value()) << plan.message();
  EXPECT_EQ(plan->mode, Mode::streaming);
  EXPECT_EQ(plan->layers.size(), size_t(2));
  // Streaming: 2 Relus of 512 elements (0.51 cycles each, docs/vmath.md, and a setup: 2 x 276).
  // Pipelined, the slowest stage is the move: the 2 PEs of the line send their 512 elements
  // one after the other, each after 5 setups of 15, and 2 hops at 3 x 2 cycles:
  // 2 x (512 + 75) + 12 = 1186.
  EXPECT_EQ(plan->mode_reason,
            "streaming is faster: every layer fits the fabric on a rectangle of its own, from 2x1 PEs up by its "
            "share of the work, with its weights resident; an estimated 1186 cycles between batches against "
            "streaming's 552");
}

}  // namespace
}  // namespace wafer::compiler
