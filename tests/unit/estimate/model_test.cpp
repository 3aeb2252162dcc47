// Tests of the estimator's model zoo: parameter counts against published sizes (exact where
// the model card gives one), FLOPs per token checked by hand, config files and shape flags
// agreeing with the zoo, and one test per class of bad model file (each names the key).
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "wafer/estimate/model.hpp"

#ifndef WAFER_SOURCE_DIR
#define WAFER_SOURCE_DIR "."
#endif

namespace wafer::estimate {
namespace {

Model must_zoo(const std::string& name) {
  Expected<Model> m = zoo_model(name);
  EXPECT_TRUE(m.has_value()) << (m ? "" : m.message());
  return m ? *m : Model{};
}

int64_t total_params(const std::string& name) { return count_params(must_zoo(name)).total(); }

double relative_error(double got, double want) { return std::fabs(got - want) / want; }

std::string toml_error(const std::string& text) {
  Expected<Model> m = parse_model_toml(text, "bad.toml");
  EXPECT_FALSE(m.has_value());
  return m ? "" : m.message();
}

constexpr const char* kGptShape = "layers = 2\nhidden = 64\nheads = 4\n";

TEST(ModelZoo, HasEveryFamily) {
  EXPECT_EQ(model_zoo().size(), 16u);
  for (const Model& m : model_zoo()) {
    EXPECT_TRUE(validate(m)) << m.name << ": " << validate(m).message();
    EXPECT_FALSE(m.source.empty()) << m.name;
  }
}

TEST(ModelZoo, Gpt3MatchesThePaper) {
  EXPECT_LT(relative_error(double(total_params("gpt3-175b")), 175.0e9), 0.01);
  EXPECT_EQ(total_params("gpt3-175b"), 174'604'259'328);
  EXPECT_LT(relative_error(double(total_params("gpt3-13b")), 12.85e9), 0.02);
  EXPECT_LT(relative_error(double(total_params("gpt3-125m")), 125e6), 0.01);
  EXPECT_LT(relative_error(double(total_params("gpt3-6.7b")), 6.7e9), 0.01);
}

TEST(ModelZoo, CerebrasGpt13B) {
  EXPECT_LT(relative_error(double(total_params("cerebras-gpt-13b")), 12.85e9), 0.001);
}

TEST(ModelZoo, LlamaCountsAreExact) {
  EXPECT_EQ(total_params("llama2-7b"), 6'738'415'616);
  EXPECT_EQ(total_params("llama2-13b"), 13'015'864'320);
  EXPECT_EQ(total_params("llama2-70b"), 68'976'648'192);
  EXPECT_EQ(total_params("llama3-8b"), 8'030'261'248);
  EXPECT_EQ(total_params("llama3-70b"), 70'553'706'496);
  EXPECT_EQ(total_params("llama3.1-405b"), 405'853'388'800);
}

// BertModel of bert-large-uncased: embeddings (word, position, token type) + their
// LayerNorm, 24 post-LN layers and the pooler; the MLM and NSP heads are not counted.
TEST(ModelZoo, BertLargeCountsTheEncoderAndPooler) {
  ParamCounts p = count_params(must_zoo("bert-large"));
  EXPECT_EQ(p.embedding, (30522 + 512 + 2) * 1024);
  EXPECT_EQ(p.embedding_norm, 2048);
  EXPECT_EQ(p.layer.total(), 12'596'224);
  EXPECT_EQ(p.final_norm, 0);
  EXPECT_EQ(p.lm_head, 0);
  EXPECT_EQ(p.pooler, 1024 * 1024 + 1024);
  EXPECT_EQ(p.total(), 335'141'888);
}

TEST(ModelCounts, GroupedQueryAttentionShrinksKeyAndValue) {
  ParamCounts p = count_params(must_zoo("llama2-70b"));
  // q and o: 8192 x 8192 each; k and v: 8192 x (8 kv heads x 128) each.
  EXPECT_EQ(p.layer.attention, 2 * 8192 * 8192 + 2 * 8192 * 1024);
  EXPECT_EQ(p.layer.mlp, 3 * 8192 * 28672);
  EXPECT_EQ(p.layer.norms, 2 * 8192);
  EXPECT_EQ(p.lm_head, 32000 * 8192);
}

TEST(ModelCounts, GeluLayerWithBiases) {
  ParamCounts p = count_params(must_zoo("gpt3-175b"));
  const int64_t h = 12288;
  EXPECT_EQ(p.layer.attention, 4 * h * h + 4 * h);
  EXPECT_EQ(p.layer.mlp, 2 * h * 4 * h + 4 * h + h);
  EXPECT_EQ(p.layer.norms, 4 * h);
  EXPECT_EQ(p.embedding, (50257 + 2048) * h);
  EXPECT_EQ(p.lm_head, 0);
}

// By hand for GPT-3 175B: matmul params 96 x 12 x 12288^2 + 50257 x 12288 (logits)
// = 173,946,175,488 + 617,558,016 = 174,563,733,504; attention 4 x 2048 x 12288 x 96.
TEST(ModelFlops, Gpt3By175BHand) {
  Model m = must_zoo("gpt3-175b");
  EXPECT_EQ(matmul_params(m), 174'563'733'504);
  FlopCounts f = flops_per_token(m);
  EXPECT_EQ(f.matmul_forward, 349'127'467'008);
  EXPECT_EQ(f.attention_forward, 9'663'676'416);
  EXPECT_EQ(f.forward(), 358'791'143'424);
  EXPECT_EQ(f.training(), 1'076'373'430'272);
  EXPECT_EQ(f.training(), 6 * matmul_params(m) + 12 * m.layers * m.hidden * m.seq);
  EXPECT_LT(relative_error(double(f.training()), 6.0 * double(count_params(m).total())), 0.03);
}

TEST(ModelFlops, RecomputeAddsForwardWork) {
  FlopCounts f = flops_per_token(must_zoo("llama2-7b"));
  EXPECT_EQ(f.training(Recompute::none), 3 * f.forward());
  EXPECT_EQ(f.training(Recompute::selective), 3 * f.forward() + f.attention_forward);
  EXPECT_EQ(f.training(Recompute::full), 4 * f.forward());
  EXPECT_EQ(f.training(Recompute::none), 46'084'915'200);
}

TEST(ModelFlops, EncoderHasNoLogitsMatmul) {
  Model m = must_zoo("bert-large");
  EXPECT_EQ(matmul_params(m), 24 * (4 * 1024 * 1024 + 2 * 1024 * 4096));
}

TEST(ModelFile, TomlGivesTheZooCount) {
  Expected<Model> m = load_model(WAFER_SOURCE_DIR "/examples/models/llama2-7b.toml");
  ASSERT_TRUE(m.has_value()) << m.message();
  EXPECT_EQ(m->name, "llama2-7b-file");
  EXPECT_EQ(count_params(*m).total(), 6'738'415'616);
  EXPECT_EQ(flops_per_token(*m).training(), flops_per_token(must_zoo("llama2-7b")).training());
}

TEST(ModelFile, JsonStartsFromABase) {
  Expected<Model> m = load_model(WAFER_SOURCE_DIR "/examples/models/gpt3-13b-long.json");
  ASSERT_TRUE(m.has_value()) << m.message();
  EXPECT_EQ(m->seq, 8192);
  // The learned position table grows by (8192 - 2048) x 5120.
  EXPECT_EQ(count_params(*m).total(), total_params("gpt3-13b") + 6144 * 5120);
}

TEST(ModelFile, ShapeFlagsGiveTheZooCount) {
  ModelShape shape;
  shape.layers = 40;
  shape.hidden = 5120;
  shape.heads = 40;
  Expected<Model> m = model_from_shape(shape);
  ASSERT_TRUE(m.has_value()) << m.message();
  EXPECT_EQ(count_params(*m).total(), total_params("gpt3-13b"));
  EXPECT_EQ(m->ffn, 20480);
  EXPECT_EQ(m->kv_heads, 40);
}

TEST(ModelFile, SwigluDefaultFfnRoundsTo256) {
  ModelShape shape;
  shape.layers = 32;
  shape.hidden = 4096;
  shape.heads = 32;
  shape.mlp = "swiglu";
  Expected<Model> m = model_from_shape(shape);
  ASSERT_TRUE(m.has_value()) << m.message();
  EXPECT_EQ(m->ffn, 11008);  // 8/3 x 4096 = 10922.7, rounded up to 11008
}

TEST(ModelFile, UnknownKeyIsNamedWithItsLine) {
  std::string e = toml_error(std::string(kGptShape) + "hiden = 5\n");
  EXPECT_NE(e.find("bad.toml:4:9: unknown key 'hiden'"), std::string::npos) << e;
  EXPECT_NE(e.find("valid: base, name, layers"), std::string::npos) << e;
}

TEST(ModelFile, JsonUnknownKeyHasLineAndColumn) {
  Expected<Model> m = parse_model_json("{\"layers\": 2,\n  \"hidd\": 64}", "bad.json");
  ASSERT_FALSE(m.has_value());
  EXPECT_NE(m.message().find("bad.json:2:3: unknown key 'hidd'"), std::string::npos)
      << m.message();
}

TEST(ModelFile, NonNumericValueNamesTheKey) {
  std::string e = toml_error("layers = 2\nhidden = \"big\"\nheads = 4\n");
  EXPECT_NE(e.find("bad.toml:2:10: key 'hidden': must be a whole number, got string"),
            std::string::npos)
      << e;
  e = toml_error("layers = 2.5\nhidden = 64\nheads = 4\n");
  EXPECT_NE(e.find("key 'layers': must be a whole number, got 2.5"), std::string::npos) << e;
}

TEST(ModelFile, HeadsMustDivideHidden) {
  std::string e = toml_error("layers = 2\nhidden = 5140\nheads = 40\n");
  EXPECT_EQ(e, "bad.toml: heads (40) must divide hidden (5140)");
}

TEST(ModelFile, KvHeadsMustDivideHeads) {
  std::string e = toml_error(std::string(kGptShape) + "kv_heads = 3\n");
  EXPECT_EQ(e, "bad.toml: kv_heads (3) must divide heads (4)");
}

TEST(ModelFile, OtherBadValuesNameTheKey) {
  EXPECT_EQ(toml_error("hidden = 64\nheads = 4\n"), "bad.toml: missing key 'layers'");
  EXPECT_NE(toml_error(std::string(kGptShape) + "mlp = \"relu\"\n")
                .find("key 'mlp': must be one of gelu, swiglu, got 'relu'"),
            std::string::npos);
  EXPECT_NE(toml_error(std::string(kGptShape) + "pooler = 1\n")
                .find("key 'pooler': must be true or false, got number"),
            std::string::npos);
  EXPECT_NE(toml_error("base = \"gpt5\"\n").find("key 'base': unknown model 'gpt5'"),
            std::string::npos);
  EXPECT_EQ(toml_error(std::string(kGptShape) + "seq = 0\n"),
            "bad.toml: seq must be between 1 and 10000000, got 0");
}

TEST(ModelFile, ParseErrorsHaveAPlace) {
  EXPECT_NE(toml_error("layers = [\n").find("bad.toml:"), std::string::npos);
  Expected<Model> m = parse_model_json("{\"layers\": }", "bad.json");
  ASSERT_FALSE(m.has_value());
  EXPECT_NE(m.message().find("bad.json:1:"), std::string::npos) << m.message();
}

TEST(ModelFile, ShapeFlagErrorsNameTheFlag) {
  ModelShape shape;
  shape.hidden = 64;
  shape.heads = 4;
  Expected<Model> m = model_from_shape(shape);
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.message(), "shape flags: missing --layers");
  shape.layers = 2;
  shape.kv_heads = 3;
  m = model_from_shape(shape);
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.message(), "shape flags: kv_heads (3) must divide heads (4)");
}

TEST(ModelFile, UnknownNameListsTheZoo) {
  Expected<Model> m = load_model("gpt4");
  ASSERT_FALSE(m.has_value());
  EXPECT_NE(m.message().find("unknown model 'gpt4'"), std::string::npos);
  EXPECT_NE(m.message().find("llama3.1-405b"), std::string::npos);
  m = load_model("/nonexistent/model.toml");
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.message(), "cannot read model file '/nonexistent/model.toml': no such file");
}

TEST(ModelZoo, NamesAsUsersTypeThem) {
  EXPECT_EQ(zoo_model("Llama-3-70B")->name, "llama3-70b");
  EXPECT_EQ(zoo_model("llama3.1-8b")->name, "llama3-8b");
  EXPECT_EQ(zoo_model("llama3.1-70b")->name, "llama3-70b");
  EXPECT_EQ(zoo_model("Meta-Llama-3.1-405B")->name, "llama3.1-405b");
  EXPECT_EQ(zoo_model("LLAMA3.1_405B")->name, "llama3.1-405b");
  EXPECT_EQ(zoo_model("Cerebras-GPT-13B")->name, "cerebras-gpt-13b");
  EXPECT_EQ(load_model("GPT3-175B")->name, "gpt3-175b");
  // Dots stay: 1.3b and 13b are different models.
  EXPECT_EQ(zoo_model("gpt3-1.3b")->name, "gpt3-1.3b");
  EXPECT_EQ(zoo_model("GPT-3-13B")->name, "gpt3-13b");
  Expected<Model> bad = load_model("lama3-70b");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.message().find("unknown model 'lama3-70b' (did you mean 'llama3-70b'?)"),
            std::string::npos)
      << bad.message();
}

}  // namespace
}  // namespace wafer::estimate
