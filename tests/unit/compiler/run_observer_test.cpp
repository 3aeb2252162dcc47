// compiler::run's LayerObserver (what `wafer run --trace/--heatmap/--stats` observes a model
// through): called once per layer, in plan order, with the simulator that ran it; also after
// a layer whose run failed; and an error it returns stops the run, naming the layer.
#include <gtest/gtest.h>

#include "../graph/graph_test_util.hpp"
#include "wafer/compiler/compiler.hpp"

namespace wafer::compiler {
namespace {

using graph::Tensor;
using graph::testing::Builder;
using graph::testing::tensor;

// x[4,8] -> Relu -> Gemm(transB: W[4,8], b[4]) -> y[4,4]: two layers.
struct TwoLayers {
  graph::Graph g;
  Plan plan;
  std::map<std::string, Tensor> inputs;
  std::map<std::string, Tensor> reference;
};

TwoLayers two_layers() {
  Builder b;
  const int x = b.input("x", {4, 8});
  const int w = b.constant("w", tensor({4, 8}, kernels::random_values(1, 32)));
  const int bias = b.constant("b", tensor({4}, kernels::random_values(2, 4)));
  const int h = b.node("Relu", {x}, {}, "/Relu");
  b.g.outputs = {b.node("Gemm", {h, w, bias}, {{"transB", int64_t(1)}}, "/fc/Gemm")};
  EXPECT_TRUE(graph::infer_shapes(b.g));
  TwoLayers m{b.g, {}, {{"x", tensor({4, 8}, kernels::random_values(3, 32))}}, {}};
  auto plan = compile(m.g, *arch::preset("wse3"), CompileOptions{2, 2, DType::f32, Mode::streaming});
  EXPECT_TRUE(plan.has_value()) << plan.message();
  m.plan = std::move(*plan);
  m.reference = *graph::evaluate(m.g, m.inputs, {DType::f32, true});
  return m;
}

TEST(RunObserver, SeesEachLayersSimulatorOnceInPlanOrder) {
  const TwoLayers m = two_layers();
  ASSERT_EQ(m.plan.layers.size(), size_t(2));
  std::vector<size_t> seen;
  std::vector<uint64_t> clocks;
  auto r = run(m.g, m.plan, m.inputs, m.reference, sim::Options{}, [&](size_t layer, const sim::Simulator& s) {
    seen.push_back(layer);
    clocks.push_back(s.now());
    return Status::ok();
  });
  ASSERT_TRUE(r.has_value()) << r.message();
  EXPECT_EQ(seen, (std::vector<size_t>{0, 1}));
  // Each simulator starts at cycle 0, so its clock after the run is the layer's cycles.
  EXPECT_EQ(clocks, (std::vector<uint64_t>{r->layers[0].cycles, r->layers[1].cycles}));
}

TEST(RunObserver, IsCalledAfterAFailedRunAndItsErrorStopsTheRun) {
  const TwoLayers m = two_layers();
  sim::Options short_run;
  short_run.max_cycles = 3;  // Relu alone takes more: the first layer fails
  std::vector<size_t> seen;
  auto failed = run(m.g, m.plan, m.inputs, m.reference, short_run, [&](size_t layer, const sim::Simulator&) {
    seen.push_back(layer);
    return Status::ok();
  });
  EXPECT_FALSE(failed.has_value());
  EXPECT_EQ(seen, (std::vector<size_t>{0}));

  auto stopped = run(m.g, m.plan, m.inputs, m.reference, sim::Options{},
                     [](size_t layer, const sim::Simulator&) {
                       return layer == 1 ? make_error("observer full") : Status::ok();
                     });
  ASSERT_FALSE(stopped.has_value());
  EXPECT_NE(stopped.message().find("layer '/fc/Gemm'"), std::string::npos) << stopped.message();
  EXPECT_NE(stopped.message().find("observer full"), std::string::npos) << stopped.message();
}

}  // namespace
}  // namespace wafer::compiler
