// The compiler's back end (compiler/compiler.hpp): lowering onto kernels, views, the list of
// what cannot lower, the grid choice, the streaming time, and runs on the simulator that
// equal the reference interpreter.
#include <gtest/gtest.h>

#include <cmath>

#include "compiler_test_util.hpp"
#include "wafer/compiler/compiler.hpp"
#include "wafer/graph/npy.hpp"
#include "wafer/graph/passes.hpp"
#include "wafer/onnx/import.hpp"

namespace wafer::compiler {
namespace {

using graph::Tensor;
using graph::testing::Builder;
using graph::testing::tensor;
using testing::kernels_of;
using testing::random_tensor;
using testing::wse3;

// x[8,16] -> MatMul(W1[16,8]) -> Add(b1[8]) -> Relu -> Gemm(transB: W2[4,8], b2[4]) -> y[8,4].
graph::Graph small_mlp() {
  Builder b;
  const int x = b.input("x", {8, 16});
  const int w1 = b.constant("w1", random_tensor({16, 8}, 1)), b1 = b.constant("b1", random_tensor({8}, 2));
  const int w2 = b.constant("w2", random_tensor({4, 8}, 3)), b2 = b.constant("b2", random_tensor({4}, 4));
  int h = b.node("MatMul", {x, w1}, {}, "/fc1/MatMul");
  h = b.node("Add", {h, b1}, {}, "/fc1/Add");
  h = b.node("Relu", {h}, {}, "/Relu");
  const int y = b.node("Gemm", {h, w2, b2}, {{"transB", int64_t(1)}}, "/fc2/Gemm");
  b.g.outputs = {y};
  EXPECT_TRUE(graph::infer_shapes(b.g));
  return b.g;
}

TEST(Compiler, LowersAnMlpOntoKernelsAndRunsItAsTheReferenceDoes) {
  const graph::Graph g = small_mlp();
  auto plan = compile(g, wse3(), CompileOptions{2, 2, DType::f32, Mode::streaming});
  ASSERT_TRUE(plan.has_value()) << plan.message();
  EXPECT_EQ(kernels_of(*plan), (std::vector<std::string>{"gemm summa", "add bcast=row", "relu", "gemm-bt summa + bias"}));
  EXPECT_EQ(plan->layers[0].name, "/fc1/MatMul");
  // Weights: W1 16x8 and W2 4x8 fp32 (512 and 128 bytes), b1 8 and b2 4 (32 and 16 bytes).
  EXPECT_EQ(plan->layers[0].weight_bytes, 512);
  EXPECT_EQ(plan->layers[1].weight_bytes, 32);
  EXPECT_EQ(plan->layers[2].weight_bytes, 0);
  EXPECT_EQ(plan->layers[3].weight_bytes, 128 + 16);
  EXPECT_EQ(plan->layers[0].colors, 8);  // SUMMA's two lines, two directions, two parities
  EXPECT_EQ(plan->layers[1].colors, 0);

  const std::map<std::string, Tensor> in = {{"x", random_tensor({8, 16}, 9)}};
  auto ref = graph::evaluate(g, in, {DType::f32, true});
  ASSERT_TRUE(ref.has_value()) << ref.message();
  auto r = run(g, *plan, in, *ref, sim::Options{});
  ASSERT_TRUE(r.has_value()) << r.message();
  const Tensor& y = r->outputs.at("/fc2/Gemm_out0");
  EXPECT_EQ(y.shape, (graph::Shape{8, 4}));
  EXPECT_LT(kernels::max_rel_error(y.values, ref->at("/fc2/Gemm_out0").values), 1e-6);
  ASSERT_EQ(r->layers.size(), size_t(4));
  for (const LayerRun& l : r->layers) EXPECT_LT(l.max_rel_error, 1e-6);
  // Relu on a 4 x 4 fp32 block per PE: 2 mdsd + vrelu (1 issue + 15 setup + 8 at 2 fp32 per
  // write) + ret 1 + the idle cycle that ends the run = 28.
  EXPECT_EQ(r->layers[2].cycles, 28u);
  uint64_t fabric = 0;
  for (const LayerRun& l : r->layers) fabric += l.cycles;
  EXPECT_EQ(r->total.cycles, fabric);
  EXPECT_GE(r->cycles, fabric);
}

// torch's LeakyReLU, ReLU6, Hardswish and Softplus between Linear layers and log_softmax at
// the end, after decompose-activations: element-wise kernels with scalar constants (max, min
// and log among them) and the softmax, as the reference runs.
TEST(Compiler, ParametrisedActivationsRunAsElementwiseKernels) {
  Builder b;
  int h = b.input("x", {4, 8});
  h = b.node("MatMul", {h, b.constant("w1", random_tensor({8, 8}, 1))}, {}, "/fc1");
  h = b.node("LeakyRelu", {h}, {{"alpha", 0.2}}, "/leaky");
  h = b.node("Clip", {h, b.constant("lo", tensor({}, {0})), b.constant("hi", tensor({}, {0.5}))}, {}, "/relu6");
  h = b.node("HardSwish", {h}, {}, "/hswish");
  h = b.node("Softplus", {h}, {}, "/softplus");
  h = b.node("MatMul", {h, b.constant("w2", random_tensor({8, 4}, 2))}, {}, "/fc2");
  b.g.outputs = {b.node("LogSoftmax", {h}, {{"axis", int64_t(1)}}, "/logsoftmax")};
  ASSERT_TRUE(graph::infer_shapes(b.g));
  ASSERT_TRUE(graph::run_passes(b.g).has_value());
  auto plan = compile(b.g, wse3(), CompileOptions{2, 2, DType::f32, Mode::streaming});
  ASSERT_TRUE(plan.has_value()) << plan.message();
  EXPECT_EQ(kernels_of(*plan), (std::vector<std::string>{"gemm summa", "mul bcast=scalar", "max bcast=full",
                                                         "max bcast=scalar", "min bcast=scalar", "mul bcast=scalar",
                                                         "add bcast=scalar", "max bcast=scalar", "min bcast=scalar",
                                                         "mul bcast=full", "neg", "max bcast=full", "neg", "exp",
                                                         "add bcast=scalar", "log", "relu", "add bcast=full",
                                                         "gemm summa", "softmax", "log"}));
  const std::map<std::string, Tensor> in = {{"x", random_tensor({4, 8}, 3)}};
  auto ref = graph::evaluate(b.g, in, {DType::f32, true});
  ASSERT_TRUE(ref.has_value()) << ref.message();
  auto r = run(b.g, *plan, in, *ref, sim::Options{});
  ASSERT_TRUE(r.has_value()) << r.message();
  for (const LayerRun& l : r->layers) EXPECT_LT(l.max_rel_error, 1e-6);
  EXPECT_LT(kernels::max_rel_error(r->outputs.at("/logsoftmax_out0").values, ref->at("/logsoftmax_out0").values),
            1e-6);
}

TEST(Compiler, AFusedMatMulAddIsOneGemmWithItsBiasAndTheSameOutputs) {
  graph::Graph g = small_mlp();
  const std::map<std::string, Tensor> in = {{"x", random_tensor({8, 16}, 9)}};
  auto ref = graph::evaluate(g, in, {DType::f32, true});  // on the unfused graph
  ASSERT_TRUE(ref.has_value()) << ref.message();
  auto passes = graph::run_passes(g);
  ASSERT_TRUE(passes.has_value()) << passes.message();
  auto plan = compile(g, wse3(), CompileOptions{2, 2, DType::f32, Mode::streaming});
  ASSERT_TRUE(plan.has_value()) << plan.message();
  EXPECT_EQ(kernels_of(*plan), (std::vector<std::string>{"gemm summa + bias", "relu", "gemm-bt summa + bias"}));
  EXPECT_EQ(plan->layers[0].weight_bytes, 512 + 32);
  auto r = run(g, *plan, in, *ref, sim::Options{});
  ASSERT_TRUE(r.has_value()) << r.message();
  EXPECT_LT(kernels::max_rel_error(r->outputs.at("/fc2/Gemm_out0").values, ref->at("/fc2/Gemm_out0").values), 1e-6);
}

TEST(Compiler, ViewsThatKeepTheLastDimensionAreFreeAndOthersAreRefused) {
  Builder b;
  const int x = b.input("x", {2, 4, 8});
  const int shape = b.constant("shape", graph::testing::ints({8, 8}));
  const int v = b.node("Reshape", {x, shape}, {}, "/flat");
  const int y = b.node("Relu", {v}, {}, "/act");
  b.g.outputs = {y};
  ASSERT_TRUE(graph::infer_shapes(b.g));
  auto plan = compile(b.g, wse3(), CompileOptions{2, 2, DType::f32});
  ASSERT_TRUE(plan.has_value()) << plan.message();
  EXPECT_EQ(plan->views, 1);
  ASSERT_EQ(plan->layers.size(), size_t(1));
  EXPECT_EQ(plan->layers[0].inputs[0].value, x);  // the relu reads x's blocks

  // A model input the host writes in the view's shape; an activation made on the wafer would
  // need a relayout kernel.
  for (const bool on_wafer : {false, true}) {
    Builder c;
    const int x2 = c.input("x", {8, 8});
    const int s2 = c.constant("shape", graph::testing::ints({4, 16}));
    const int in = on_wafer ? c.node("Relu", {x2}, {}, "/pre") : x2;
    c.g.outputs = {c.node("Relu", {c.node("Reshape", {in, s2}, {}, "/wide")}, {}, "/act")};
    ASSERT_TRUE(graph::infer_shapes(c.g));
    auto wide = compile(c.g, wse3(), CompileOptions{2, 2, DType::f32});
    if (!on_wafer) {
      ASSERT_TRUE(wide.has_value()) << wide.message();
      EXPECT_EQ(wide->relaid.size(), size_t(1));
      EXPECT_EQ(wide->layers[0].inputs[0].layout.rows, 4);
      EXPECT_FALSE(wide->layers[0].inputs[0].via_host);  // no dearer than any input
      continue;
    }
    ASSERT_FALSE(wide.has_value());
    EXPECT_EQ(wide.message(),
              "the wafer engine cannot lower 1 node of graph '' yet (the reference interpreter runs them):\n"
              "  Reshape ([8,8] -> [4,16] changes the last dimension; needs a relayout kernel): /wide");
  }
}

TEST(Compiler, ListsEveryNodeItCannotLowerAtOnce) {
  Builder b;
  const int x = b.input("x", {4, 8});
  const int one = b.constant("one", tensor({}, {1.0}));
  const int t = b.node("Transpose", {x}, {{"perm", std::vector<int64_t>{1, 0}}}, "/T");
  const int s = b.node("Sub", {one, x}, {}, "/one_minus");
  const int m = b.node("MatMul", {x, t}, {}, "/scores");
  const int m2 = b.node("MatMul", {s, t}, {}, "/scores2");
  b.g.outputs = {m, m2};
  ASSERT_TRUE(graph::infer_shapes(b.g));
  auto plan = compile(b.g, wse3(), CompileOptions{});
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.message(),
            "the wafer engine cannot lower 4 nodes of graph '' yet (the reference interpreter runs them):\n"
            "  MatMul (the right operand is not a constant matrix (attention's products need the Q·Kᵀ lowering)): "
            "/scores, /scores2\n"
            "  Sub (a constant first operand): /one_minus\n"
            "  Transpose (no kernel): /T");
}

TEST(Compiler, PicksTheSmallestGridEveryLayerFitsOn) {
  // The reference MLP (tests/models/mlp): on one PE, fc2's 64x64 fp32 weight (16 KiB) with its
  // SUMMA panels, C and the row-major accumulator of its product in rows (4 x 64) needs 55,456
  // bytes of data against 49,152; on 2 x 1 PEs every layer fits.
  auto g = onnx_import::import_model(std::string(WAFER_SOURCE_DIR) + "/tests/models/mlp/model.onnx", {});
  ASSERT_TRUE(g.has_value()) << g.message();
  auto plan = compile(*g, wse3(), CompileOptions{});
  ASSERT_TRUE(plan.has_value()) << plan.message();
  EXPECT_EQ(plan->grid_w, 2);
  EXPECT_EQ(plan->grid_h, 1);
  auto one = compile(*g, wse3(), CompileOptions{1, 1, DType::f32});
  ASSERT_FALSE(one.has_value());
  EXPECT_EQ(one.message(),
            "on 1x1 PEs: layer '/fc2/Gemm' (Gemm): code 'layer2' needs 55496 bytes of SRAM on PE (0,0)..(0,0) but "
            "the arch has 49152; 2x1 PEs hold every layer (the smallest grid; omit the grid to take it)");
}

// 5 rows and K = 37 (prime) divide over no grid but one PE, where the 37 x 400 fp32 weight
// with SUMMA's panels does not fit; padded, the rows go to a multiple of the height and the
// columns to one of lcm(W, H), with zeros the host writes (and zero weights there), and the
// result is the reference's.
TEST(Compiler, PadsSizesTheGridDoesNotDivide) {
  Builder b;
  const int x = b.input("x", {5, 37});
  b.g.outputs = {b.node("MatMul", {x, b.constant("w", random_tensor({37, 400}, 1))}, {}, "/fc")};
  ASSERT_TRUE(graph::infer_shapes(b.g));
  auto plan = compile(b.g, wse3(), CompileOptions{4, 2, DType::f32, Mode::streaming});
  ASSERT_TRUE(plan.has_value()) << plan.message();
  const kernels::DistTensor& a = plan->layers[0].inputs[0].layout;
  EXPECT_EQ(std::vector<int64_t>({a.rows, a.cols}), std::vector<int64_t>({6, 40}));
  EXPECT_EQ(plan->layers[0].flops, 2.0 * 5 * 37 * 400);  // the model's, not the padding's
  const std::map<std::string, Tensor> in = {{"x", random_tensor({5, 37}, 2)}};
  auto ref = graph::evaluate(b.g, in, {DType::f32, true});
  ASSERT_TRUE(ref.has_value()) << ref.message();
  auto r = run(b.g, *plan, in, *ref, sim::Options{});
  ASSERT_TRUE(r.has_value()) << r.message();
  EXPECT_EQ(r->outputs.at("/fc_out0").shape, (graph::Shape{5, 400}));
  EXPECT_LT(kernels::max_rel_error(r->outputs.at("/fc_out0").values, ref->at("/fc_out0").values), 1e-6);

  // The row reductions take the padding too, told the real length: a sigmoid leaves 0.5 in
  // the 3 padded columns of each row, which LayerNorm, RMSNorm and softmax over the 37 real
  // ones must not see (they mask it).
  Builder c;
  int h = c.node("Sigmoid", {c.input("x", {5, 37})}, {}, "/sigmoid");
  h = c.node("LayerNormalization", {h, c.constant("gamma", random_tensor({37}, 3)), c.constant("beta", random_tensor({37}, 4))},
             {{"axis", int64_t(-1)}}, "/ln");
  h = c.node("wafer.RMSNorm", {h, c.constant("g2", random_tensor({37}, 5))}, {{"axis", int64_t(-1)}, {"epsilon", 1e-6}},
             "/rms");
  c.g.outputs = {c.node("Softmax", {h}, {{"axis", int64_t(-1)}}, "/softmax")};
  ASSERT_TRUE(graph::infer_shapes(c.g));
  auto norms = compile(c.g, wse3(), CompileOptions{4, 2, DType::f32, Mode::streaming});
  ASSERT_TRUE(norms.has_value()) << norms.message();
  for (size_t i = 1; i < 4; ++i) EXPECT_EQ(norms->layers[i].inputs[0].layout.cols, 40) << i;
  auto ref2 = graph::evaluate(c.g, in, {DType::f32, true});
  ASSERT_TRUE(ref2.has_value()) << ref2.message();
  auto r2 = run(c.g, *norms, in, *ref2, sim::Options{});
  ASSERT_TRUE(r2.has_value()) << r2.message();
  for (const LayerRun& l : r2->layers) EXPECT_LT(l.max_rel_error, 1e-6);
  EXPECT_LT(kernels::max_rel_error(r2->outputs.at("/softmax_out0").values, ref2->at("/softmax_out0").values), 1e-6);
}

// x [5, 37] times a 37 x n weight, the node '/fc'.
graph::Graph one_matmul(int64_t n) {
  Builder b;
  const int x = b.input("x", {5, 37});
  b.g.outputs = {b.node("MatMul", {x, b.constant("w", random_tensor({37, n}, 1))}, {}, "/fc")};
  EXPECT_TRUE(graph::infer_shapes(b.g));
  return b.g;
}

arch::Arch fabric_of_4x4() {
  arch::Arch small = wse3();
  small.fabric_width = small.fabric_height = 4;
  return small;
}

// On a fabric of 4 x 4 PEs the 37 x 4000 weight (592 KB in fp32, twice that with SUMMA's
// panels, against 16 x 48 KiB) fits no grid; the error gives the reasons on one PE and on the
// largest grid.
TEST(Compiler, SaysWhyNoGridHoldsAModel) {
  auto plan = compile(one_matmul(4000), fabric_of_4x4(), CompileOptions{});
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.message(),
            "no grid up to 4x4 PEs holds every layer: on one PE, layer '/fc' (MatMul): code 'layer0' needs 1875116 "
            "bytes of SRAM on PE (0,0)..(0,0) but the arch has 49152; on 4x4 PEs, layer '/fc' (MatMul): code "
            "'layer0' needs 141208 bytes of SRAM on PE (0,0)..(3,3) but the arch has 49152");
}

// A 37 x 2400 weight fits no grid of the 4 x 4 fabric in fp32 (SUMMA's panels beside the
// block: 85,208 bytes a PE on 4 x 4), and 4 x 3 PEs at fp16: the error says so, and a
// compile at fp16 takes that grid.
TEST(Compiler, SaysWhereAModelFitsInHalfPrecision) {
  const graph::Graph g = one_matmul(2400);
  auto plan = compile(g, fabric_of_4x4(), CompileOptions{});
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.message(),
            "no grid up to 4x4 PEs holds every layer: on one PE, layer '/fc' (MatMul): code 'layer0' needs 1126316 "
            "bytes of SRAM on PE (0,0)..(0,0) but the arch has 49152; on 4x4 PEs, layer '/fc' (MatMul): code "
            "'layer0' needs 85208 bytes of SRAM on PE (0,0)..(3,3) but the arch has 49152; at fp16 (--dtype fp16), "
            "4x3 PEs hold every layer");
  auto half = compile(g, fabric_of_4x4(), CompileOptions{0, 0, DType::f16});
  ASSERT_TRUE(half.has_value()) << half.message();
  EXPECT_EQ(std::make_pair(half->grid_w, half->grid_h), std::make_pair(4, 3));
}

TEST(Compiler, StreamingOverlapsEachLayerWithTheNextLayersWeights) {
  // 30 for the first weights, then max(100, 120) + max(50, 10) + 80.
  EXPECT_EQ(streamed_cycles({100, 50, 80}, {30, 120, 10}, {0, 0, 0}), 280u);
  // A relayout through the host overlaps nothing: + 7 before the second layer.
  EXPECT_EQ(streamed_cycles({100, 50, 80}, {30, 120, 10}, {0, 7, 0}), 287u);
  EXPECT_EQ(streamed_cycles({}, {}, {}), 0u);
}

// The GPT-2 block (tests/models/gpt2_block_op17, fused): the Split, the head Reshapes and
// Transposes and the attention node become one layer (3 slices, 2 relayouts, the kernel) on
// 4 x 1 PEs, and every layer matches the reference interpreter's value of its node.
graph::Graph reference_model(const std::string& name) {
  auto g = onnx_import::import_model(std::string(WAFER_SOURCE_DIR) + "/tests/models/" + name + "/model.onnx");
  EXPECT_TRUE(g.has_value()) << g.message();
  return g ? *g : graph::Graph{};
}

graph::Graph gpt2_block() { return reference_model("gpt2_block_op17"); }

// A reference model with its committed input and the interpreter's value of every node
// (fp32, on the unfused graph), then fused; empty values when a step failed.
struct FusedModel {
  graph::Graph g;
  std::map<std::string, Tensor> in, ref;
};

FusedModel fused_model(const std::string& name) {
  FusedModel m{reference_model(name), {}, {}};
  auto x = graph::read_npy(std::string(WAFER_SOURCE_DIR) + "/tests/models/" + name + "/inputs/x.npy");
  EXPECT_TRUE(x.has_value()) << x.message();
  if (!x) return m;
  m.in = {{"x", *x}};
  auto ref = graph::evaluate(m.g, m.in, {DType::f32, true});
  EXPECT_TRUE(ref.has_value()) << ref.message();
  EXPECT_TRUE(graph::run_passes(m.g).has_value());
  if (ref) m.ref = std::move(*ref);
  return m;
}

TEST(Compiler, TheGpt2BlocksAttentionChainIsOneLayerThatMatchesTheReference) {
  const FusedModel m = fused_model("gpt2_block_op17");
  ASSERT_FALSE(m.ref.empty());
  auto plan = compile(m.g, wse3(), CompileOptions{4, 1, DType::f32});
  ASSERT_TRUE(plan.has_value()) << plan.message();
  ASSERT_EQ(plan->layers.size(), size_t(10));
  const Layer& attn = plan->layers[2];
  EXPECT_EQ(attn.op, "wafer.Attention");
  EXPECT_EQ(attn.kernel, "attention 4x16 heads (3 slices, 2 relayouts)");
  // Causal attention over 16 positions, 4 heads of 16: 2 x 2 x 64 x 16 x 17 / 2 flops.
  EXPECT_EQ(attn.flops, 34816.0);
  auto r = run(m.g, *plan, m.in, m.ref, sim::Options{});
  ASSERT_TRUE(r.has_value()) << r.message();
  for (const LayerRun& l : r->layers) EXPECT_LT(l.max_rel_error, 1e-6);
  EXPECT_LT(kernels::max_rel_error(r->outputs.at("y").values, m.ref.at("y").values), 1e-6);
  EXPECT_EQ(r->layers[2].cycles, 28518u);  // deterministic; pinned so that a change shows
}

// The Llama block (fused): three projections, RoPE on Q and K (wafer.Rope), K and V of 2
// key-value heads repeated to 4 (Unsqueeze/Expand/Reshape); the chain is one layer of 2
// ropes, 2 relayouts and the attention kernel reading each group's K and V, on 2 x 1 PEs.
TEST(Compiler, TheLlamaBlocksRopeAndGroupedQueryAttentionAreOneLayer) {
  const FusedModel m = fused_model("llama_block");
  ASSERT_FALSE(m.ref.empty());
  auto plan = compile(m.g, wse3(), CompileOptions{2, 1, DType::f32});
  ASSERT_TRUE(plan.has_value()) << plan.message();
  ASSERT_EQ(plan->layers.size(), size_t(14));
  EXPECT_EQ(plan->layers[4].kernel, "attention 4x16 heads, 2 kv (2 ropes, 2 relayouts)");
  // The rotary tables (cos, sin: 16 x 16 fp32 each) are written once per rope kernel.
  EXPECT_EQ(plan->layers[4].weight_bytes, 2 * 2 * 16 * 16 * 4);
  auto r = run(m.g, *plan, m.in, m.ref, sim::Options{});
  ASSERT_TRUE(r.has_value()) << r.message();
  for (const LayerRun& l : r->layers) EXPECT_LT(l.max_rel_error, 1e-6);
  EXPECT_LT(kernels::max_rel_error(r->outputs.at("y").values, m.ref.at("y").values), 1e-6);
  EXPECT_EQ(r->layers[4].cycles, 53716u);  // deterministic; pinned so that a change shows

  // Tables that are not the rotate-half form (the halves differ) are refused.
  graph::Graph g = m.g;
  auto rope = std::find_if(g.nodes.begin(), g.nodes.end(), [](const graph::Node& n) { return n.op == "wafer.Rope"; });
  ASSERT_NE(rope, g.nodes.end());
  g.values[size_t(rope->inputs[1])].constant->values[8] += 0.5;  // position 0, column d/2
  auto bad = compile(g, wse3(), CompileOptions{2, 1, DType::f32});
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.message().find("wafer.Attention (the rotary tables are not constants [S, d] = [16, 16] with equal "
                               "halves): /MatMul../MatMul_1"),
            std::string::npos)
      << bad.message();
}

// A batch of two sequences: the attention layer is one program per sequence, each on its band
// of PE rows (4 x 1 of the 4 x 2), so it takes the cycles and the estimate of one sequence on
// 4 x 1 (the test above) and twice its flops. One row does not split into two bands.
TEST(Compiler, AttentionOverABatchRunsEachSequenceOnABandOfPeRows) {
  const FusedModel m = fused_model("gpt2_block_b2");
  ASSERT_FALSE(m.ref.empty());
  auto plan = compile(m.g, wse3(), CompileOptions{4, 2, DType::f32, Mode::streaming});
  ASSERT_TRUE(plan.has_value()) << plan.message();
  const Layer& attn = plan->layers[2];
  EXPECT_EQ(attn.kernel, "attention 4x16 heads (3 slices, 2 relayouts), 2 sequences on a band of PE rows each");
  ASSERT_EQ(attn.program.placements.size(), size_t(2));
  const ir::Rect second = attn.program.placements[1].rect;
  EXPECT_EQ(std::vector<int>({second.x, second.y, second.w, second.h}), std::vector<int>({0, 1, 4, 1}));
  EXPECT_EQ(attn.output.layout.rows, 32);
  EXPECT_EQ(attn.flops, 2 * 34816.0);
  EXPECT_EQ(attn.estimated_cycles, 28359u);
  auto r = run(m.g, *plan, m.in, m.ref, sim::Options{});
  ASSERT_TRUE(r.has_value()) << r.message();
  EXPECT_LT(kernels::max_rel_error(r->outputs.at("y").values, m.ref.at("y").values), 1e-6);
  EXPECT_EQ(r->layers[2].cycles, 28518u);

  auto odd = compile(m.g, wse3(), CompileOptions{4, 1, DType::f32, Mode::streaming});
  ASSERT_FALSE(odd.has_value());
  EXPECT_NE(odd.message().find("layer '/MatMul../MatMul_1' (wafer.Attention): the batch of 2 sequences "
                               "takes a band of PE rows each, and the height 1 is not a multiple of 2"),
            std::string::npos)
      << odd.message();
}

// Hugging Face's form: 6 heads reading 3 key-value heads repeated by repeat_interleave, the
// Cast around the softmax dropped, over 2 sequences on 1 x 2 PEs.
TEST(Compiler, TheHuggingFaceLlamaBlockIsOneAttentionLayer) {
  const FusedModel m = fused_model("llama_block_hf");
  ASSERT_FALSE(m.ref.empty());
  auto plan = compile(m.g, wse3(), CompileOptions{1, 2, DType::f32, Mode::streaming});
  ASSERT_TRUE(plan.has_value()) << plan.message();
  EXPECT_EQ(plan->layers[4].kernel,
            "attention 6x8 heads, 3 kv (2 ropes, 2 relayouts), 2 sequences on a band of PE rows each");
  // cos and sin (8 x 8 fp32) for each rope kernel of each band.
  EXPECT_EQ(plan->layers[4].weight_bytes, 2 * 2 * 2 * 8 * 8 * 4);
  auto r = run(m.g, *plan, m.in, m.ref, sim::Options{});
  ASSERT_TRUE(r.has_value()) << r.message();
  EXPECT_LT(kernels::max_rel_error(r->outputs.at("y").values, m.ref.at("y").values), 1e-6);
}

// torch's nn.TransformerEncoderLayer (post-norm): nn.MultiheadAttention's form (the
// Transposes of the batch axis of one are views, Q, K and V three Slices of the projection,
// Q divided by √16 before the scores) and no mask: every query sees all 8 keys. On 3 PE
// columns each third of the QKV matrix lies on one of them and is moved onto all three.
TEST(Compiler, TorchsEncoderLayerIsOneAttentionLayerWithoutAMask) {
  const FusedModel m = fused_model("encoder_layer");
  ASSERT_FALSE(m.ref.empty());
  auto plan = compile(m.g, wse3(), CompileOptions{3, 1, DType::f32, Mode::streaming});
  ASSERT_TRUE(plan.has_value()) << plan.message();
  EXPECT_EQ(kernels_of(*plan),
            (std::vector<std::string>{"gemm summa + bias", "attention 3x16 heads, no mask (3 slices, 2 relayouts)",
                                      "gemm-bt summa + bias", "add bcast=full", "layernorm", "gemm summa + bias",
                                      "relu", "gemm summa + bias", "add bcast=full", "layernorm"}));
  // 8 queries x 8 keys, 3 heads of 16: 2 x 2 x 48 x 8 x 8 flops.
  EXPECT_EQ(plan->layers[1].flops, 12288.0);
  auto r = run(m.g, *plan, m.in, m.ref, sim::Options{});
  ASSERT_TRUE(r.has_value()) << r.message();
  for (const LayerRun& l : r->layers) EXPECT_LT(l.max_rel_error, 1e-6);
  EXPECT_LT(kernels::max_rel_error(r->outputs.at("y").values, m.ref.at("y").values), 1e-6);
}

// A whole GPT-2-style model over token ids: the token embedding is the gather kernel on the
// wafer, whose 16 x 64 output on the first PE row its reader (the Add of the position
// embeddings) reads through the host; the rest as in the block, twice.
TEST(Compiler, AnEmbeddingLookupIsTheGatherKernel) {
  const FusedModel m = fused_model("gpt2_tiny");
  ASSERT_FALSE(m.ref.empty());
  auto plan = compile(m.g, wse3(), CompileOptions{4, 1, DType::f32, Mode::streaming});
  ASSERT_TRUE(plan.has_value()) << plan.message();
  ASSERT_EQ(plan->layers.size(), size_t(24));
  EXPECT_EQ(plan->layers[0].kernel, "gather (embedding lookup)");
  EXPECT_EQ(plan->layers[0].weight_bytes, 100 * 64 * 4);  // the table
  EXPECT_TRUE(plan->layers[1].inputs[0].via_host);
  // 16 x 64 fp32 out to the host and back in, at the arch's host bandwidth.
  EXPECT_EQ(plan->layers[1].relayout_io_cycles, 2 * uint64_t(std::ceil(16 * 64 * 4 / wse3().host_bytes_per_cycle())));
  auto r = run(m.g, *plan, m.in, m.ref, sim::Options{});
  ASSERT_TRUE(r.has_value()) << r.message();
  EXPECT_EQ(r->layers[0].max_rel_error, 0.0);  // rows copied
  EXPECT_LT(kernels::max_rel_error(r->outputs.at("y").values, m.ref.at("y").values), 1e-6);
}

TEST(Compiler, AnAttentionWhoseMaskIsNotCausalOrWhoseScaleDiffersIsRefused) {
  for (const char* change : {"mask", "scale"}) {
    graph::Graph g = gpt2_block();
    ASSERT_TRUE(graph::run_passes(g).has_value());
    auto att = std::find_if(g.nodes.begin(), g.nodes.end(), [](const graph::Node& n) { return n.op == "wafer.Attention"; });
    ASSERT_NE(att, g.nodes.end());
    if (std::string(change) == "mask") {
      g.values[size_t(att->inputs[3])].constant->values[1] = 0;  // query 0 sees key 1
    } else {
      att->attrs["scale"] = 0.5;
    }
    auto plan = compile(g, wse3(), CompileOptions{4, 1, DType::f32});
    ASSERT_FALSE(plan.has_value());
    EXPECT_EQ(plan.message(),
              std::string("the wafer engine cannot lower 10 nodes of graph 'torch_jit' yet (the reference interpreter "
                          "runs them):\n  Reshape ([1,16,4,16] -> [1,16,64] changes the last dimension; needs a "
                          "relayout kernel): /Reshape_3\n  Reshape ([1,16,64] -> [1,16,4,16] changes the last "
                          "dimension; needs a relayout kernel): /Reshape, /Reshape_1, /Reshape_2\n  Split (several outputs): "
                          "/Split\n  Transpose (no kernel): /Transpose, /Transpose_1, /Transpose_2, /Transpose_3\n  "
                          "wafer.Attention (") +
                  (std::string(change) == "mask" ? "the mask is not the constant causal mask of 16 positions (the "
                                                   "kernel is causal, or without a mask full)"
                                                 : "scale 0.5 is not 1/sqrt(16)") +
                  "): /MatMul../MatMul_1")
        << change;
  }
}

}  // namespace
}  // namespace wafer::compiler
