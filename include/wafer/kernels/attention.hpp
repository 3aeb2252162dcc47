// Scaled dot-product attention as a composable kernel (src/kernels/attention.cpp): causal
// (query i sees keys 0..i) or full (every query sees every key, an encoder's).
//
// Q, K and V are S x heads·d matrices whose column block h·d..(h+1)·d is head h, as a QKV
// projection leaves them. Heads are split over the rectangle's columns (whole heads per PE)
// and Q's rows (the queries) over its rows; every PE of a column holds all S rows of its
// heads' K and V (rows replicated over y: a relayout's multicast, or the host's copies).
// Every block is column-major. Under grouped-query attention K and V are S x kv_heads·d and
// head h reads key-value head h / (heads / kv_heads). The output O has Q's layout.
#pragma once

#include <string>

#include "wafer/kernels/compose.hpp"

namespace wafer::kernels {

struct AttentionSpec {
  DistTensor q;        // S x heads·d: rows split over y, columns over x, on the Site's rectangle
  DistTensor k, v;     // S x kv_heads·d: rows replicated over y, columns split over x
  int q_symbol = -1, k_symbol = -1, v_symbol = -1;  // a producer's symbols; -1: declared by name
  int64_t heads = 1;   // d = q.cols / heads; the scores are scaled by 1 / sqrt(d)
  int64_t kv_heads = 0;  // key-value heads, 0: one per head; under grouped-query attention
                         // heads / kv_heads heads share one, and a PE column holds whole groups
  bool causal = true;  // false: no mask
  std::string y = "O";  // output symbol (scoped by Emit::name)
};

struct AttentionEmitted {
  int entry = -1;
  DistTensor y;      // O, in q's layout
  int y_symbol = -1;
  Held held;
};

Expected<AttentionEmitted> emit_attention(Emit& e, const Site& site, const AttentionSpec& s);

// Rotary position embedding, rotate-half form, of X (S x heads·d in Q's layout above): each
// head's halves X1, X2 become X1·cos - X2·sin and X2·cos + X1·sin. The tables cos and sin
// are S x d/2 (position p, pair k: cos(p·θ_k)), rows split like X's and replicated over the
// columns of PEs; the caller writes them (the model's constants, or computed ones).
struct RopeSpec {
  DistTensor x;
  int x_symbol = -1;
  int64_t heads = 1;
  std::string y = "Y";  // output symbol (scoped by Emit::name)
};

struct RopeEmitted {
  int entry = -1;
  DistTensor y;         // X's layout
  int y_symbol = -1;
  DistTensor cos, sin;  // the tables' symbols and layout
  Held held;
};

Expected<RopeEmitted> emit_rope(Emit& e, const Site& site, const RopeSpec& s);

}  // namespace wafer::kernels
