// The pipelined mode (pipeline.cpp): every layer on its own rectangle in snake order, the
// moves between rectangles as layers of their own, outputs equal to streaming's, the timing
// of a batch and between batches, and auto's choice.
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
  // Layers at x = 0, 2, 4 of the first band; the MatMul's output moves next door for the Relu
  // and two rectangles on for the Add, whose other input the Relu left next door.
  EXPECT_EQ(names_of(*plan), (std::vector<std::string>{"/fc @0,0", "move /fc_out0 @0,0", "/relu @2,0",
                                                       "move /relu_out0 @2,0", "move /fc_out0 @0,0", "/add @4,0"}));
  EXPECT_EQ(plan->layers[1].kernel, "move by (2,0)");
  EXPECT_EQ(plan->layers[4].kernel, "move by (4,0)");
  EXPECT_EQ(plan->layers[4].rect.w, 6);  // it crosses the Relu's rectangle
  EXPECT_EQ(plan->layers[0].origin_x, 0);
  EXPECT_EQ(plan->layers[2].origin_x, 2);

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

TEST(Pipeline, AutoTakesPipelinedWhenItFitsAndStreamingWhenNot) {
  const graph::Graph g = residual();
  auto fits = compile(g, wse3(), CompileOptions{2, 2, DType::f32});
  ASSERT_TRUE(fits.has_value()) << fits.message();
  EXPECT_EQ(fits->mode, Mode::pipelined);
  EXPECT_EQ(fits->mode_reason,
            "every layer fits the fabric on a 2x2 rectangle of its own, with its weights resident; an estimated 572 "
            "cycles between batches against streaming's 622");
  arch::Arch small = wse3();
  small.fabric_width = 4;
  small.fabric_height = 2;
  auto cramped = compile(g, small, CompileOptions{2, 2, DType::f32});
  ASSERT_TRUE(cramped.has_value()) << cramped.message();
  EXPECT_EQ(cramped->mode, Mode::streaming);
  EXPECT_EQ(cramped->mode_reason,
            "pipelined does not fit: pipelined on 2x2 PEs a layer: 3 layers of 2x2 PEs need 2 bands of 2 rows, more "
            "than the fabric's 2 (streaming runs them one at a time)");
  auto forced = compile(g, small, CompileOptions{2, 2, DType::f32, Mode::pipelined});
  ASSERT_FALSE(forced.has_value());
  EXPECT_EQ(forced.message(), "pipelined on 2x2 PEs a layer: 3 layers of 2x2 PEs need 2 bands of 2 rows, more than "
                              "the fabric's 2 (streaming runs them one at a time); --mode streaming runs it on 2x2 "
                              "PEs");
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
            "streaming is faster: every layer fits the fabric on a 2x1 rectangle of its own, with its weights "
            "resident; an estimated 1186 cycles between batches against streaming's 552");
}

}  // namespace
}  // namespace wafer::compiler
