// The kernel parameters as one self-describing table (support/param_table.hpp): a row per
// field of KernelParams with its key, unit, meaning and range. The same rows set a field from
// the text a user typed (a `wafer kernel` flag or a --sweep value: a number is range-checked
// by set_number, a choice names its alternatives, the grid and origin parse "WxH" and "X,Y"
// within their ranges), say which parameters a kernel takes (m, n and k by the registry's
// `sizes`, the origin by `any_origin`) and describe themselves with the library's defaults
// (those of a default-constructed KernelParams, never restated elsewhere).
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "wafer/kernels/kernels.hpp"

namespace wafer::kernels {

namespace {

using K = KernelParams;

constexpr Range kSide = {1, 65536};    // PEs along a side of the grid
constexpr Range kOffset = {0, 65535};  // a PE coordinate
constexpr Range kSize = {0, 1e9};      // m, n, k (0: the kernel's default)
constexpr Range kSeed = {0, 1e15};

std::optional<double> parse_double(const std::string& text) {
  double v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

// Two whole numbers separated by `sep` ("16x16", "3,4"), each within `range`.
Expected<std::pair<int, int>> parse_pair(const char* key, const std::string& text, char sep,
                                         Range range, const char* form) {
  const size_t at = text.find(sep);
  const auto a = at == std::string::npos ? std::nullopt : parse_double(text.substr(0, at));
  const auto b = at == std::string::npos ? std::nullopt : parse_double(text.substr(at + 1));
  if (!a || !b) return make_error("key '{}': expected {}, got '{}'", key, form, text);
  WAFER_TRY(check_number(key, ParamKind::integer, range, *a));
  WAFER_TRY(check_number(key, ParamKind::integer, range, *b));
  return std::make_pair(int(*a), int(*b));
}

Choice<K> grid_choice() {
  auto set = [](K& p, const std::string& text) -> Status {
    auto wh = parse_pair("grid", text, 'x', kSide, "WxH (columns x rows, e.g. 4x4)");
    if (!wh) return wh.status();
    std::tie(p.grid_w, p.grid_h) = *wh;
    return Status::ok();
  };
  auto get = [](const K& p) { return fmt::format("{}x{}", p.grid_w, p.grid_h); };
  return {set, get, {}};
}

Choice<K> origin_choice() {
  auto set = [](K& p, const std::string& text) -> Status {
    auto xy = parse_pair("origin", text, ',', kOffset, "X,Y (two whole numbers)");
    if (!xy) return xy.status();
    std::tie(p.origin_x, p.origin_y) = *xy;
    return Status::ok();
  };
  auto get = [](const K& p) { return fmt::format("{},{}", p.origin_x, p.origin_y); };
  return {set, get, {}};
}

const std::vector<std::pair<DType, std::string>> kFloatTypes = {
    {DType::f32, "fp32"}, {DType::f16, "fp16"}, {DType::bf16, "bf16"}};

// The accumulation type: unset means "as the dtype" and reads back as "".
Choice<K> acc_choice() {
  const Choice<K> dtype = choice(&K::dtype, kFloatTypes);
  auto set = [dtype](K& p, const std::string& text) -> Status {
    K scratch = p;
    WAFER_TRY(dtype.set(scratch, text));
    p.acc = scratch.dtype;
    return Status::ok();
  };
  auto get = [dtype](const K& p) {
    if (!p.acc) return std::string();
    K scratch = p;
    scratch.dtype = *p.acc;
    return dtype.get(scratch);
  };
  return {set, get, dtype.names};
}

// The range column: "WxH, 1..65536 each" for the grid, "X,Y, 0..65535 each" for the origin.
std::string pair_range(const char* form, Range r) {
  return fmt::format("{}, {}..{} each", form, number_text(r.lo), number_text(r.hi));
}

}  // namespace

const ParamTable<KernelParams>& kernel_params() {
  static const ParamTable<K> table = {
      {"grid", grid_choice(), "PEs", "the kernel's PEs as WxH: W columns by H rows", {}, {}},
      {"origin", origin_choice(), "PE", "the grid's top-left PE on the fabric as X,Y", {}, {}},
      {"m", &K::m, "elements", "rows of the problem (0: the kernel's default)", kSize, {}},
      {"n", &K::n, "elements", "elements per PE or columns (0: the kernel's default)", kSize, {}},
      {"k", &K::k, "elements", "inner dimension of a product (0: the kernel's default)", kSize, {}},
      {"dtype", choice(&K::dtype, kFloatTypes), "", "element type of the inputs and the result", {}, {}},
      {"acc", acc_choice(), "", "accumulation type, for kernels that accumulate (unset: the dtype)", {}, {}},
      {"algo", &K::algo, "",
       "algorithm, for kernels that have several (gemm: cannon, summa; gemm-bt: those and summa-diag; "
       "gemv: ktree, ktree-bcast); empty: the kernel's default",
       {}, {}},
      {"seed", &K::seed, "", "seed of the random input data (the same values on every platform)", kSeed, {}},
  };
  return table;
}

Status set_kernel_param(KernelParams& p, const std::string& key, const std::string& text) {
  const Param<K>* param = param_named(kernel_params(), key);
  if (!param) return make_error("unknown kernel parameter '{}'", key);
  if (const auto* c = std::get_if<Choice<K>>(&param->target)) return c->set(p, text);
  if (const auto* s = std::get_if<std::string K::*>(&param->target)) {
    p.**s = text;
    return Status::ok();
  }
  const auto v = parse_double(text);
  if (!v) return make_error("key '{}': expected a number, got '{}'", key, text);
  return set_number(p, *param, *v);
}

bool kernel_param_applies(const KernelInfo& k, const std::string& key) {
  if (key == "m" || key == "n" || key == "k")
    return std::string(k.sizes).find("--" + key) != std::string::npos;
  if (key == "origin") return k.any_origin;
  return true;
}

std::string kernel_param_default(const Param<KernelParams>& p) {
  const std::string value = get_text(KernelParams{}, p);
  if (value.empty()) return std::string(p.key) == "acc" ? "the dtype" : "the kernel's";
  if (kind_of(p) == ParamKind::integer && get_number(KernelParams{}, p) == 0 &&
      p.range.lo == kSize.lo && p.range.hi == kSize.hi)
    return "the kernel's";
  return value;
}

std::vector<ParamDoc> describe_kernel_params(const KernelInfo* k) {
  std::vector<ParamDoc> docs;
  const std::vector<ParamDoc> all = describe(kernel_params());
  for (size_t i = 0; i < all.size(); ++i) {
    const Param<K>& p = kernel_params()[i];
    if (k && !kernel_param_applies(*k, p.key)) continue;
    ParamDoc d = all[i];
    if (d.key == "grid") d.range = pair_range("WxH", kSide);
    if (d.key == "origin") d.range = pair_range("X,Y", kOffset);
    d.source = "default: " + kernel_param_default(p);
    docs.push_back(std::move(d));
  }
  return docs;
}

}  // namespace wafer::kernels
