// Exact parameter and FLOP counts of a Model, its parameter table and its shape checks.
//
// model_params() describes every key of a model file (unit, meaning, valid range); the
// bounds below are its ranges and validate()'s. Every count is an integer sum over named components (docs/estimator.md gives the
// formulas): attention with grouped-query key/value projections, a 2- or 3-matrix MLP,
// norms with or without a bias, optional embedding tables, pooler and untied LM head.
#include <fmt/format.h>

#include "wafer/estimate/model.hpp"

namespace wafer::estimate {

namespace {

// Upper bounds that keep every count well inside int64 (about 9.2e18).
constexpr int64_t kMaxLayers = 10'000;
constexpr int64_t kMaxWidth = 1'000'000;  // hidden
constexpr int64_t kMaxFfn = 4'000'000;
constexpr int64_t kMaxVocab = 10'000'000;
constexpr int64_t kMaxSeq = 10'000'000;

int64_t norm_params(const Model& m) {
  return m.norm == NormKind::layernorm ? 2 * m.hidden : m.hidden;
}

int64_t mlp_matrices(const Model& m) { return m.mlp == MlpKind::swiglu ? 3 : 2; }

// q and output projections are hidden x hidden; k and v are hidden x kv_dim each.
int64_t attention_matrix_params(const Model& m) {
  return 2 * m.hidden * m.hidden + 2 * m.hidden * m.kv_dim();
}

int64_t mlp_matrix_params(const Model& m) { return mlp_matrices(m) * m.hidden * m.ffn; }

LayerParams layer_params(const Model& m) {
  LayerParams p;
  p.attention = attention_matrix_params(m);
  if (m.attention_bias) p.attention += 2 * m.hidden + 2 * m.kv_dim();
  p.mlp = mlp_matrix_params(m);
  if (m.mlp_bias) p.mlp += (mlp_matrices(m) - 1) * m.ffn + m.hidden;
  p.norms = 2 * norm_params(m);
  return p;
}

int64_t embedding_params(const Model& m) {
  int64_t positions = m.position == PositionKind::learned ? m.seq : 0;
  return (m.vocab + positions + m.type_vocab) * m.hidden;
}

bool has_lm_head(const Model& m) { return !m.encoder_only; }

Status check_range(const char* key, int64_t value, int64_t max) {
  if (value < 1 || value > max)
    return make_error("{} must be between 1 and {}, got {}", key, max, value);
  return Status::ok();
}

}  // namespace

int64_t FlopCounts::training(Recompute recompute) const {
  int64_t base = 3 * forward();
  if (recompute == Recompute::full) return base + forward();
  if (recompute == Recompute::selective) return base + attention_forward;
  return base;
}

ParamCounts count_params(const Model& m) {
  ParamCounts c;
  c.embedding = embedding_params(m);
  c.embedding_norm = m.embedding_norm ? norm_params(m) : 0;
  c.layer = layer_params(m);
  c.layers = m.layers;
  c.final_norm = m.final_norm ? norm_params(m) : 0;
  c.lm_head = has_lm_head(m) && !m.tied_embeddings ? m.vocab * m.hidden : 0;
  c.pooler = m.pooler ? m.hidden * m.hidden + m.hidden : 0;
  return c;
}

int64_t layer_matmul_params(const Model& m) {
  return attention_matrix_params(m) + mlp_matrix_params(m);
}

int64_t head_matmul_params(const Model& m) { return has_lm_head(m) ? m.vocab * m.hidden : 0; }

int64_t matmul_params(const Model& m) {
  return m.layers * layer_matmul_params(m) + head_matmul_params(m);
}

FlopCounts flops_per_token(const Model& m) {
  FlopCounts f;
  f.matmul_forward = 2 * matmul_params(m);
  f.attention_forward = 2 * 2 * m.seq * m.hidden * m.layers;
  return f;
}

const ParamTable<Model>& model_params() {
  using M = Model;
  const char* kWidths = "elements";
  static const ParamTable<M> table = {
      {"name", &M::name, "", "name in reports (default: custom, or the base's)"},
      {"layers", &M::layers, "layers", "transformer layers", {1, kMaxLayers}},
      {"hidden", &M::hidden, kWidths, "width of the residual stream (d_model)", {1, kMaxWidth}},
      {"heads", &M::heads, "heads", "attention heads; must divide hidden", {1, kMaxWidth}},
      {"kv_heads", &M::kv_heads, "heads",
       "key/value heads: = heads for MHA, fewer for GQA, 1 for MQA; must divide heads",
       {1, kMaxWidth}},
      {"ffn", &M::ffn, kWidths, "MLP inner size (default 4 x hidden, swiglu 8/3 x hidden)",
       {1, kMaxFfn}},
      {"vocab", &M::vocab, "tokens", "vocabulary size (embedding and LM head rows)",
       {1, kMaxVocab}},
      {"seq", &M::seq, "tokens",
       "context length: the learned position table and the attention term", {1, kMaxSeq}},
      {"mlp", choice(&M::mlp, {MlpKind::gelu, MlpKind::swiglu}), "",
       "MLP kind: 2 matrices (up, down) or 3 (gate, up, down)"},
      {"norm", choice(&M::norm, {NormKind::layernorm, NormKind::rmsnorm}), "",
       "norm kind: weight + bias, or weight only"},
      {"position", choice(&M::position, {PositionKind::learned, PositionKind::rotary}), "",
       "position embeddings: a seq x hidden table, or none (rotary)"},
      {"tied_embeddings", &M::tied_embeddings, "", "the LM head reuses the token embedding"},
      {"attention_bias", &M::attention_bias, "", "biases on the q, k, v and output projections"},
      {"mlp_bias", &M::mlp_bias, "", "biases on the MLP matrices"},
      {"final_norm", &M::final_norm, "", "a norm after the last layer (pre-norm models)"},
      {"embedding_norm", &M::embedding_norm, "", "a norm after the embeddings (BERT)"},
      {"type_vocab", &M::type_vocab, "tokens", "token-type (segment) embeddings (BERT: 2)",
       {0, kMaxVocab}},
      {"pooler", &M::pooler, "", "BERT's pooler: hidden x hidden + bias on the first token"},
      {"encoder_only", &M::encoder_only, "", "no LM head and no logits matmul (BERT)"},
      {"source", &M::source, "", "where the shape comes from"},
  };
  return table;
}

Status validate(const Model& m) {
  WAFER_TRY(check_range("layers", m.layers, kMaxLayers));
  WAFER_TRY(check_range("hidden", m.hidden, kMaxWidth));
  WAFER_TRY(check_range("heads", m.heads, m.hidden));
  WAFER_TRY(check_range("kv_heads", m.kv_heads, m.heads));
  WAFER_TRY(check_range("ffn", m.ffn, kMaxFfn));
  WAFER_TRY(check_range("vocab", m.vocab, kMaxVocab));
  WAFER_TRY(check_range("seq", m.seq, kMaxSeq));
  if (m.type_vocab < 0 || m.type_vocab > kMaxVocab)
    return make_error("type_vocab must be between 0 and {}, got {}", kMaxVocab, m.type_vocab);
  if (m.hidden % m.heads != 0)
    return make_error("heads ({}) must divide hidden ({})", m.heads, m.hidden);
  if (m.heads % m.kv_heads != 0)
    return make_error("kv_heads ({}) must divide heads ({})", m.kv_heads, m.heads);
  return Status::ok();
}

const char* to_string(MlpKind k) { return k == MlpKind::gelu ? "gelu" : "swiglu"; }
const char* to_string(NormKind k) { return k == NormKind::layernorm ? "layernorm" : "rmsnorm"; }
const char* to_string(PositionKind k) {
  return k == PositionKind::learned ? "learned" : "rotary";
}
const char* to_string(Recompute r) {
  switch (r) {
    case Recompute::none: return "none";
    case Recompute::selective: return "selective";
    case Recompute::full: return "full";
  }
  return "none";
}

Expected<Recompute> parse_recompute(const std::string& text) {
  for (Recompute r : {Recompute::none, Recompute::selective, Recompute::full})
    if (text == to_string(r)) return r;
  return make_error("unknown recompute '{}' (valid: none, selective, full)", text);
}

}  // namespace wafer::estimate
