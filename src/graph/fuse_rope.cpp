// fuse-rope: the rotate-half rotary position embedding that Llama-style models export,
//   Add(Mul(X, cos), Mul(Concat(Neg(Slice(X, d/2..d)), Slice(X, 0..d/2)), sin))
// (Slices over the last axis, Concat over it, cos and sin constants), into
// wafer.Rope(X, cos, sin). The matcher starts at the Add; every value inside the chain must
// be private to it (X itself is read by the chain three times and may have other readers).
#include <algorithm>

#include "fusion.hpp"

namespace wafer::graph {

namespace {

// Node `slice` is a Slice of X's last axis from `start` to at least `end` with step 1.
bool slices_last_axis(const Matcher& m, int slice, int x, int64_t start, int64_t end) {
  const Node& n = m.graph().nodes[size_t(slice)];
  if (n.inputs.size() < 3 || n.inputs[0] != x) return false;
  const int64_t rank = int64_t(m.value(x).shape.size()), width = m.value(x).shape.back();
  // One-element constants, as doubles: torch writes "to the end" as INT64_MAX.
  auto one = [&](size_t i, std::optional<double> absent) -> std::optional<double> {
    if (i >= n.inputs.size() || n.inputs[i] < 0) return absent;
    const Value& v = m.value(n.inputs[i]);
    if (!v.constant || v.constant->values.size() != 1) return std::nullopt;
    return v.constant->values[0];
  };
  const auto s = one(1, std::nullopt), e = one(2, std::nullopt), axis = one(3, double(rank - 1)), step = one(4, 1.0);
  if (!s || !e || !axis || !step || *step != 1 || (*axis != -1 && *axis != double(rank - 1))) return false;
  const double stop = *e < 0 ? *e + double(width) : std::min(*e, double(width));
  return *s == double(start) && stop == double(end);
}

// The non-constant operand of Mul node `mul` whose other operand is a constant; the constant
// goes into `table`.
std::optional<int> times_table(const Matcher& m, int mul, int& table) {
  const Node& n = m.graph().nodes[size_t(mul)];
  for (int i = 0; i < 2; ++i)
    if (m.value(n.inputs[size_t(i)]).constant && !m.value(n.inputs[size_t(1 - i)]).constant) {
      table = n.inputs[size_t(i)];
      return n.inputs[size_t(1 - i)];
    }
  return std::nullopt;
}

std::optional<Rewrite> match_rope(const Matcher& m, int last) {
  const Node& add = m.graph().nodes[size_t(last)];
  if (add.op != "Add" || add.inputs.size() != 2) return std::nullopt;
  for (int i = 0; i < 2; ++i) {
    const std::optional<int> plain = m.private_producer(add.inputs[size_t(i)], "Mul");
    const std::optional<int> rotated = m.private_producer(add.inputs[size_t(1 - i)], "Mul");
    if (!plain || !rotated) continue;
    int cos = -1, sin = -1;
    const std::optional<int> x = times_table(m, *plain, cos), half = times_table(m, *rotated, sin);
    if (!x || !half) continue;
    const std::optional<int> concat = m.private_producer(*half, "Concat");
    if (!concat || m.value(*x).shape.empty() || !m.same_type_and_shape(add.outputs[0], *x)) continue;
    const Node& cat = m.graph().nodes[size_t(*concat)];
    const int64_t rank = int64_t(m.value(*x).shape.size()), d = m.value(*x).shape.back();
    const int64_t axis = cat.attr_int("axis", 0).value_or(0);
    if (cat.inputs.size() != 2 || d % 2 != 0 || (axis != -1 && axis != rank - 1)) continue;
    const std::optional<int> neg = m.private_producer(cat.inputs[0], "Neg");
    if (!neg) continue;
    const std::optional<int> upper = m.private_producer(m.graph().nodes[size_t(*neg)].inputs[0], "Slice");
    const std::optional<int> lower = m.private_producer(cat.inputs[1], "Slice");
    if (!upper || !lower || !slices_last_axis(m, *upper, *x, d / 2, d) || !slices_last_axis(m, *lower, *x, 0, d / 2))
      continue;
    return Rewrite{{*plain, *rotated, *concat, *neg, *upper, *lower, last}, Node{"", "wafer.Rope", {*x, cos, sin}, {}, {}}};
  }
  return std::nullopt;
}

}  // namespace

Expected<int> fuse_rope(Graph& g) { return rewrite_all(g, match_rope); }

}  // namespace wafer::graph
