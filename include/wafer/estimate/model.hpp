// Transformer model descriptions for the estimator: shapes, exact parameter and FLOP counts.
//
// A Model is a dense transformer (decoder, or encoder-only for BERT) given by its shape and
// a few architectural choices (MLP kind, norm kind, position embeddings, tying, biases).
// count_params() gives the exact parameter count per component and flops_per_token() the
// matmul and attention FLOPs per token; docs/estimator.md states every formula. Models come
// from the zoo (model_zoo(), published shapes with their source), from a TOML/JSON file
// whose keys are the field names below, or from shape flags (model_from_shape()).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "wafer/support/error.hpp"
#include "wafer/support/param_table.hpp"

namespace wafer::estimate {

enum class MlpKind { gelu, swiglu };             // 2 matrices (up, down) or 3 (gate, up, down)
enum class NormKind { layernorm, rmsnorm };      // weight + bias, or weight only
enum class PositionKind { learned, rotary };     // a seq x hidden table, or no parameters
enum class Recompute { none, selective, full };  // activation recomputation in training

struct Model {
  std::string name;
  int64_t layers = 0;
  int64_t hidden = 0;
  int64_t heads = 0;
  int64_t kv_heads = 0;  // = heads for MHA, fewer for GQA, 1 for MQA
  int64_t ffn = 0;       // MLP inner size
  int64_t vocab = 0;
  int64_t seq = 0;       // context length: the learned position table and the attention term
  MlpKind mlp = MlpKind::gelu;
  NormKind norm = NormKind::layernorm;
  PositionKind position = PositionKind::learned;
  bool tied_embeddings = true;  // the LM head reuses the token embedding
  bool attention_bias = true;   // biases on the q, k, v and output projections
  bool mlp_bias = true;         // biases on the MLP matrices
  bool final_norm = true;       // a norm after the last layer (pre-norm models)
  bool embedding_norm = false;  // a norm after the embeddings (BERT)
  int64_t type_vocab = 0;       // token-type (segment) embeddings (BERT: 2)
  bool pooler = false;          // BERT's pooler: hidden x hidden + bias on the first token
  bool encoder_only = false;    // no LM head and no logits matmul (BERT)
  std::string source;           // where the shape comes from

  int64_t head_dim() const { return hidden / heads; }
  int64_t kv_dim() const { return kv_heads * head_dim(); }
};

// Parameters of one transformer layer.
struct LayerParams {
  int64_t attention = 0;  // q, k, v, output projections and their biases
  int64_t mlp = 0;        // MLP matrices and their biases
  int64_t norms = 0;      // the two norms of the layer
  int64_t total() const { return attention + mlp + norms; }
};

struct ParamCounts {
  int64_t embedding = 0;       // token + learned position + token-type tables
  int64_t embedding_norm = 0;
  LayerParams layer;           // one layer; all layers are alike
  int64_t layers = 0;
  int64_t final_norm = 0;
  int64_t lm_head = 0;         // 0 when tied to the embedding or encoder-only
  int64_t pooler = 0;
  int64_t all_layers() const { return layer.total() * layers; }
  int64_t total() const {
    return embedding + embedding_norm + all_layers() + final_norm + lm_head + pooler;
  }
};

// FLOPs per token of one sequence of model.seq tokens.
struct FlopCounts {
  int64_t matmul_forward = 0;     // 2 x the weight-matrix parameters each token goes through
  int64_t attention_forward = 0;  // scores and weighted values: 2 x 2 x seq x hidden per layer
  int64_t forward() const { return matmul_forward + attention_forward; }
  // Backward is twice the forward; recompute adds the forward (full) or its attention part.
  int64_t training(Recompute recompute = Recompute::none) const;
};

// The shape flags of `wafer estimate model`; unset ones take the defaults of a file.
struct ModelShape {
  std::optional<int64_t> layers, hidden, heads, kv_heads, ffn, vocab, seq;
  std::optional<std::string> mlp;
};

ParamCounts count_params(const Model& m);
// The weight-matrix parameters a token is multiplied with: every layer's matrices plus the
// LM head (tied or not, it is a matmul); embeddings, norms, biases and the pooler are not.
int64_t matmul_params(const Model& m);
int64_t layer_matmul_params(const Model& m);  // one layer's weight matrices
int64_t head_matmul_params(const Model& m);   // the logits matmul (0 for encoder-only)
// Any string to_string() gives for a Recompute, back to the enum.
Expected<Recompute> parse_recompute(const std::string& text);
FlopCounts flops_per_token(const Model& m);

// The keys of a model file: what each sets, its unit, meaning and valid range.
const ParamTable<Model>& model_params();

// Checks the shape: positive sizes within bounds (the ranges of model_params()), heads
// dividing hidden, kv_heads dividing heads. Messages name the field.
Status validate(const Model& m);

const std::vector<Model>& model_zoo();
std::vector<std::string> model_names();
// A zoo model by name, or an error listing the valid names.
Expected<Model> zoo_model(const std::string& name);
// The zoo name `name` means, if any: case, dashes, underscores and spaces do not matter
// (`Llama-3-70B`), and a small alias table maps other usual names (`llama3.1-8b`).
std::optional<std::string> zoo_model_name(const std::string& name);

// Files: keys are the Model field names; `base` names a zoo model to start from. Without a
// base, layers, hidden and heads are required and the rest default to a GPT-style model
// (gelu, layernorm, learned positions, tied, biases, vocab 50257, seq 2048, kv_heads = heads,
// ffn = 4 x hidden for gelu or 8/3 x hidden rounded up to 256 for swiglu).
Expected<Model> parse_model_toml(const std::string& text, const std::string& origin);
Expected<Model> parse_model_json(const std::string& text, const std::string& origin);
// A zoo name, or a .toml/.json file.
Expected<Model> load_model(const std::string& name_or_path);
Expected<Model> model_from_shape(const ModelShape& shape);

const char* to_string(MlpKind k);
const char* to_string(NormKind k);
const char* to_string(PositionKind k);
const char* to_string(Recompute r);

}  // namespace wafer::estimate
