// The ONNX importer on the committed reference models (tests/models/, made by
// scripts/onnx_models.py with torch 1.13): each imports, folds, verifies, and the reference
// interpreter's outputs on the saved input match PyTorch's saved outputs; the refused models
// give one error naming everything that is wrong. Also the .npy reader and writer.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "wafer/graph/npy.hpp"
#include "wafer/onnx/import.hpp"

namespace wafer::onnx_import {
namespace {

std::string model_path(const std::string& name) {
  return std::string(WAFER_SOURCE_DIR) + "/tests/models/" + name + "/model.onnx";
}

graph::Tensor npy(const std::string& name, const std::string& file) {
  auto t = graph::read_npy(std::string(WAFER_SOURCE_DIR) + "/tests/models/" + name + "/" + file);
  EXPECT_TRUE(t.has_value()) << t.message();
  return *t;
}

// Normwise relative error max|a - b| / max|b|.
double rel_error(const graph::Tensor& a, const graph::Tensor& b) {
  double diff = 0, ref = 0;
  for (size_t i = 0; i < b.values.size(); ++i) {
    diff = std::max(diff, std::abs(a.values[i] - b.values[i]));
    ref = std::max(ref, std::abs(b.values[i]));
  }
  return diff / ref;
}

std::map<std::string, int> histogram(const graph::Graph& g) {
  std::map<std::string, int> ops;
  for (const graph::Node& n : g.nodes) ++ops[n.op];
  return ops;
}

struct ModelCase {
  const char* name;
  int opset;
  graph::Shape in, out;
};

void PrintTo(const ModelCase& c, std::ostream* os) { *os << c.name; }

class ReferenceModels : public ::testing::TestWithParam<ModelCase> {};

// The interpreter in double against PyTorch in fp32: the difference is PyTorch's rounding,
// a few fp32 ulps through a block (1e-5 leaves a wide margin; the bound is 1e-3).
TEST_P(ReferenceModels, ImportAndMatchPyTorch) {
  const ModelCase& c = GetParam();
  ImportReport r;
  auto g = import_model(model_path(c.name), {}, &r);
  ASSERT_TRUE(g.has_value()) << g.message();
  EXPECT_EQ(r.opset, c.opset);
  EXPECT_EQ(r.producer, "pytorch 1.13.0");
  ASSERT_EQ(g->inputs.size(), 1u);
  ASSERT_EQ(g->outputs.size(), 1u);
  EXPECT_EQ(g->values[size_t(g->inputs[0])].shape, c.in);
  EXPECT_EQ(g->values[size_t(g->outputs[0])].shape, c.out);
  auto out = graph::evaluate(*g, {{"x", npy(c.name, "inputs/x.npy")}});
  ASSERT_TRUE(out.has_value()) << out.message();
  const graph::Tensor want = npy(c.name, "outputs/y.npy");
  ASSERT_EQ(out->at("y").shape, want.shape);
  EXPECT_LT(rel_error(out->at("y"), want), 1e-5) << c.name;
}

INSTANTIATE_TEST_SUITE_P(Onnx, ReferenceModels,
                         ::testing::Values(ModelCase{"mlp", 13, {4, 32}, {4, 16}},
                                           ModelCase{"mlp_flat_b1", 17, {1, 1, 12, 12}, {1, 10}},
                                           ModelCase{"gpt2_block_op13", 13, {1, 16, 64}, {1, 16, 64}},
                                           ModelCase{"gpt2_block_op17", 17, {1, 16, 64}, {1, 16, 64}},
                                           ModelCase{"llama_block", 14, {1, 16, 64}, {1, 16, 64}},
                                           ModelCase{"gpt2_block_b2", 14, {2, 16, 64}, {2, 16, 64}},
                                           ModelCase{"llama_block_hf", 17, {2, 8, 48}, {2, 8, 48}},
                                           ModelCase{"cnn", 13, {2, 3, 16, 16}, {2, 10}},
                                           ModelCase{"cnn_b3", 13, {3, 1, 10, 10}, {3, 3}},
                                           ModelCase{"encoder_layer", 14, {1, 8, 48}, {1, 8, 48}},
                                           ModelCase{"gpt2_tiny", 17, {1, 16}, {1, 16, 100}}),
                         [](const auto& info) { return std::string(info.param.name); });

// What torch exported (scripts/onnx_models.py prints the file's histogram): the MLP's three
// Linear layers are Gemm, exact GELU is Div/Erf/Add/Mul/Mul, and the Constant nodes became
// constant values.
TEST(Onnx, MlpKeepsItsOps) {
  ImportReport r;
  auto g = import_model(model_path("mlp"), {}, &r);
  ASSERT_TRUE(g.has_value()) << g.message();
  EXPECT_EQ(r.onnx_nodes, 12);
  const std::map<std::string, int> want = {{"Add", 1}, {"Div", 1}, {"Erf", 1}, {"Gemm", 3}, {"Mul", 2}, {"Relu", 1}};
  EXPECT_EQ(histogram(*g), want);
}

// The GPT-2 block at opset 17 has LayerNormalization; at 13 the same LayerNorm is the
// ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div chain.
TEST(Onnx, LayerNormIsOneOpAtOpset17) {
  auto g13 = import_model(model_path("gpt2_block_op13"));
  auto g17 = import_model(model_path("gpt2_block_op17"));
  ASSERT_TRUE(g13.has_value()) << g13.message();
  ASSERT_TRUE(g17.has_value()) << g17.message();
  EXPECT_EQ(histogram(*g17)["LayerNormalization"], 2);
  EXPECT_EQ(histogram(*g13)["LayerNormalization"], 0);
  EXPECT_EQ(histogram(*g13)["ReduceMean"], 4);
}

std::string import_error(const std::string& file, const ImportOptions& o = {}) {
  auto g = import_model(std::string(WAFER_SOURCE_DIR) + "/tests/models/errors/" + file, o);
  EXPECT_FALSE(g.has_value());
  return g.has_value() ? "" : g.message();
}

TEST(Onnx, ListsEveryUnsupportedOpAtOnce) {
  const std::string m = import_error("unsupported_ops.onnx");
  EXPECT_NE(m.find("ops Wafer does not support"), std::string::npos) << m;
  EXPECT_NE(m.find("Round (1 node: '/Round')"), std::string::npos) << m;
  EXPECT_NE(m.find("Atan (2 nodes: '/Atan', '/Atan_1')"), std::string::npos) << m;
  EXPECT_NE(m.find("supported: Abs, Add,"), std::string::npos) << m;
  EXPECT_EQ(m.find("wafer."), std::string::npos) << "the fused ops are no ONNX ops: " << m;
}

TEST(Onnx, NamesTheDynamicAxisAndTakesASize) {
  const std::string m = import_error("dynamic_batch.onnx");
  EXPECT_NE(m.find("input 'x' axis 0 is 'batch'"), std::string::npos) << m;
  ImportOptions o;
  o.dims["batch"] = 3;
  auto g = import_model(std::string(WAFER_SOURCE_DIR) + "/tests/models/errors/dynamic_batch.onnx", o);
  ASSERT_TRUE(g.has_value()) << g.message();
  EXPECT_EQ(g->values[size_t(g->inputs[0])].shape, (graph::Shape{3, 32}));
  EXPECT_EQ(g->values[size_t(g->outputs[0])].shape, (graph::Shape{3, 16}));
}

TEST(Onnx, RefusesOldOpsetsAndNonModels) {
  EXPECT_NE(import_error("opset11.onnx").find("opset 11 is not supported (opsets 13-17 are"), std::string::npos);
  const std::string path = ::testing::TempDir() + "/not_a_model.onnx";
  std::ofstream(path) << "hello, this is text";
  auto g = import_model(path);
  ASSERT_FALSE(g.has_value());
  EXPECT_NE(g.message().find("not an ONNX model"), std::string::npos) << g.message();
  auto missing = import_model(::testing::TempDir() + "/no_such.onnx");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.message().find("cannot open the file"), std::string::npos) << missing.message();
}

// libonnx-testdata stores inputs as serialized TensorProtos: test_add's first input is a
// 3x4x5 float tensor.
TEST(Onnx, ReadsTensorProtoFiles) {
  const std::string path = "/usr/include/onnx/backend/test/data/node/test_add/test_data_set_0/input_0.pb";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "libonnx-testdata is not installed";
  auto t = read_tensor_pb(path);
  ASSERT_TRUE(t.has_value()) << t.message();
  EXPECT_EQ(t->type, graph::ElemType::f32);
  EXPECT_EQ(t->shape, (graph::Shape{3, 4, 5}));
  EXPECT_EQ(t->size(), 60);
}

TEST(Npy, RoundTripsEveryType) {
  for (graph::ElemType type : {graph::ElemType::f32, graph::ElemType::f16, graph::ElemType::f64, graph::ElemType::i64,
                               graph::ElemType::i32, graph::ElemType::i8, graph::ElemType::u8,
                               graph::ElemType::boolean}) {
    graph::Tensor t{type, {2, 3}, {0, 1, -1, 2, 1, 0}};
    if (type == graph::ElemType::u8 || type == graph::ElemType::boolean) t.values = {0, 1, 1, 0, 1, 0};
    if (graph::elem_is_float(type)) t.values[5] = 0.5;
    const std::string path = ::testing::TempDir() + "/rt.npy";
    ASSERT_TRUE(graph::write_npy(path, t)) << graph::elem_name(type);
    auto back = graph::read_npy(path);
    ASSERT_TRUE(back.has_value()) << back.message();
    EXPECT_EQ(back->type, type);
    EXPECT_EQ(back->shape, t.shape);
    EXPECT_EQ(back->values, t.values) << graph::elem_name(type);
  }
}

// The committed input was written by NumPy itself: its header and data parse.
TEST(Npy, ReadsNumPysOwnFilesAndNamesBadOnes) {
  const graph::Tensor x = npy("mlp", "inputs/x.npy");
  EXPECT_EQ(x.type, graph::ElemType::f32);
  EXPECT_EQ(x.shape, (graph::Shape{4, 32}));
  const std::string path = ::testing::TempDir() + "/bad.npy";
  std::ofstream(path) << "not numpy";
  auto bad = graph::read_npy(path);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.message().find("no \\x93NUMPY magic"), std::string::npos) << bad.message();
}

}  // namespace
}  // namespace wafer::onnx_import
