// The registered data-movement kernels (movement.hpp): `wafer kernel transpose|relayout|slice|
// concat` run one emitter alone on seeded data (random values rounded to the dtype) and
// compare the result with the input's values where they must have gone, exactly (tolerance 0:
// the kernels copy bits).
//
// Sizes: --m rows, --n columns (of the input; of the result for concat). Defaults keep every
// grid of the differential tests small: transpose a multiple of lcm(W, H) of at least 16 on
// both sides, the others 4 rows per PE row and 4 columns per PE column (slice 8, concat 6).
// --algo picks the case: relayout `rows=replicate` (the default), `cols=first`, `rows=first-split`,
// ... (`AXIS=[FROM-]TO`, FROM split when left out) or `shift=DX,DY`; slice `cols=OFF+LEN` or
// `rows=OFF+LEN` (default cols=3+N/2); concat `cols` (default) or `rows`, --k the size of the
// first tensor along that axis (default a third).
#include <cmath>
#include <numeric>
#include <sstream>

#include <fmt/format.h>

#include "kernel_util.hpp"
#include "wafer/kernels/movement.hpp"

namespace wafer::kernels {

namespace {

struct Dims {
  int64_t m, n;
};

Dims movement_dims(const KernelParams& p) {
  const int64_t W = p.grid_w, H = p.grid_h;
  if (p.kernel == "transpose") {
    const int64_t step = std::lcm(W, H), def = step * ((16 + step - 1) / step);
    return {p.m ? p.m : def, p.n ? p.n : def};
  }
  const int64_t per = p.kernel == "slice" ? 8 : p.kernel == "concat" ? 6 : 4;
  return {p.m ? p.m : 4 * H, p.n ? p.n : per * W};
}

struct Input {
  DistTensor t;
  ElementFn value;
};

using EmitFn = std::function<Expected<MoveEmitted>(Emit&, const Site&)>;

ElementFn random_tensor(DType t, uint64_t seed, int64_t cols) {
  return [=](int64_t i, int64_t j) { return round_to(t, random_value(seed, uint64_t(i * cols + j))); };
}

// Builds the program around one emitter on `rect`, the inputs and the reference `y(i, j)` in
// the result's index space.
Expected<KernelCase> movement_case(const arch::Arch& a, const KernelParams& p, Stage stage, const ir::Rect& rect,
                                   const EmitFn& emit, const std::vector<Input>& inputs, const ElementFn& y) {
  KernelCase kc;
  kc.program.width = rect.x + rect.w;
  kc.program.height = rect.y + rect.h;
  Pools pools = Pools::for_arch(a);
  ir::CodeBuilder code(p.kernel);
  Emit e{code, kc.program, pools, a, ""};
  auto em = emit(e, Site{rect, -1, -1});
  if (!em) {  // the emitter names itself ("slice: ..."), and so does the registry
    const std::string m = em.message(), own = p.kernel + ": ";
    return make_error("{}", m.rfind(own, 0) == 0 ? m.substr(own.size()) : m);
  }
  kc.program.codes.push_back(code.finish());
  const ir::Layout layout = ir::layout_code(kc.program.codes.back());
  if (int64_t(layout.bytes) > a.sram_bytes) {
    return make_error("the {}x{} tensor needs {} bytes of SRAM per PE with its code, move tables and staging, but "
                      "arch '{}' has {}; use a larger grid or smaller --m/--n",
                      movement_dims(p).m, movement_dims(p).n, layout.bytes, a.name, a.sram_bytes);
  }
  kc.program.placements.push_back(ir::Placement{{0, 0, kc.program.width, kc.program.height}, 0, {}});
  kc.rect = rect;
  kc.launch_task = "entry";
  kc.result_symbol = em->y.name;
  kc.result_rect = em->y.holders();
  kc.tolerance = 0;
  if (stage == Stage::program) return kc;
  for (const Input& in : inputs) {
    const DistTensor t = in.t;
    const ElementFn f = in.value;
    kc.inputs.push_back(HostCopy{t.name, t.holders(), {}, [t, f](int px, int py) { return block_values(t, px, py, f); }});
  }
  for (HostCopy& h : em->tables) kc.inputs.push_back(std::move(h));
  const DistTensor yt = em->y;
  const ir::Rect r = kc.result_rect;
  kc.reference.reserve(size_t(r.area() * yt.block_elements()));
  for (int py = 0; py < r.h; ++py) {
    for (int px = 0; px < r.w; ++px) {
      const std::vector<double> v = block_values(yt, px, py, y);
      kc.reference.insert(kc.reference.end(), v.begin(), v.end());
    }
  }
  return kc;
}

Status check_float(const KernelParams& p) {
  if (!dtype_is_float(p.dtype)) return make_error("takes fp32, fp16 or bf16 (got {})", dtype_name(p.dtype));
  return Status::ok();
}

Expected<Spread> parse_spread(const std::string& s, const std::string& algo) {
  if (s == "split") return Spread::split;
  if (s == "replicate") return Spread::replicate;
  if (s == "first") return Spread::first;
  return make_error("--algo {}: '{}' is not a layout (split, replicate, first)", algo, s);
}

}  // namespace

Expected<KernelCase> build_transpose(const arch::Arch& a, const KernelParams& p, Stage stage) {
  WAFER_TRY(check_grid(a, p));
  WAFER_TRY(check_float(p));
  const Dims d = movement_dims(p);
  const DistTensor x{"x", p.dtype, d.m, d.n, p.rect()};
  const EmitFn emit = [&](Emit& e, const Site& s) { return emit_transpose(e, s, TransposeSpec{x, -1, "y"}); };
  const ElementFn X = random_tensor(p.dtype, p.seed, d.n);
  return movement_case(a, p, stage, p.rect(), emit, {{x, X}}, [X](int64_t i, int64_t j) { return X(j, i); });
}

Expected<KernelCase> build_relayout(const arch::Arch& a, const KernelParams& p, Stage stage) {
  WAFER_TRY(check_grid(a, p));
  WAFER_TRY(check_float(p));
  const Dims d = movement_dims(p);
  const std::string algo = p.algo.empty() ? "rows=replicate" : p.algo;
  RelayoutSpec spec;
  spec.x = DistTensor{"x", p.dtype, d.m, d.n, p.rect()};
  const size_t eq = algo.find('=');
  const std::string key = algo.substr(0, eq), value = eq == std::string::npos ? "" : algo.substr(eq + 1);
  if (key == "shift") {
    int dx = 0, dy = 0;
    char comma = 0;
    std::istringstream in(value);
    if (!(in >> dx >> comma >> dy) || comma != ',' || !in.eof())
      return make_error("--algo {}: shift takes DX,DY (e.g. shift=4,0)", algo);
    spec.dx = dx;
    spec.dy = dy;
  } else if (key == "rows" || key == "cols") {
    const size_t dash = value.find('-');
    auto from = parse_spread(dash == std::string::npos ? "split" : value.substr(0, dash), algo);
    if (!from) return from.status();
    auto to = parse_spread(dash == std::string::npos ? value : value.substr(dash + 1), algo);
    if (!to) return to.status();
    (key == "rows" ? spec.x.rows_over_y : spec.x.cols_over_x) = *from;
    (key == "rows" ? spec.rows_over_y : spec.cols_over_x) = *to;
  } else {
    return make_error("--algo {}: expected rows=[FROM-]TO, cols=[FROM-]TO or shift=DX,DY", algo);
  }
  const ir::Rect rect = relayout_rect(spec);
  if (rect.x < 0 || rect.y < 0 || int64_t(rect.x) + rect.w > a.fabric_width ||
      int64_t(rect.y) + rect.h > a.fabric_height) {
    return make_error("--algo {}: the {}x{} PEs at ({},{}) and the ones they move to do not fit on the {}x{} fabric of "
                      "arch '{}'",
                      algo, p.grid_w, p.grid_h, p.origin_x, p.origin_y, a.fabric_width, a.fabric_height, a.name);
  }
  const EmitFn emit = [&](Emit& e, const Site& s) { return emit_relayout(e, s, spec); };
  const ElementFn X = random_tensor(p.dtype, p.seed, d.n);
  return movement_case(a, p, stage, rect, emit, {{spec.x, X}}, X);
}

Expected<KernelCase> build_slice(const arch::Arch& a, const KernelParams& p, Stage stage) {
  WAFER_TRY(check_grid(a, p));
  WAFER_TRY(check_float(p));
  const Dims d = movement_dims(p);
  SliceSpec spec;
  spec.x = DistTensor{"x", p.dtype, d.m, d.n, p.rect()};
  const std::string algo = p.algo.empty() ? fmt::format("cols=3+{}", d.n / 2) : p.algo;
  const size_t eq = algo.find('='), plus = algo.find('+');
  const std::string key = algo.substr(0, eq);
  if ((key != "rows" && key != "cols") || eq == std::string::npos || plus == std::string::npos || plus < eq)
    return make_error("--algo {}: expected cols=OFFSET+LENGTH or rows=OFFSET+LENGTH", algo);
  try {
    spec.offset = std::stoll(algo.substr(eq + 1, plus - eq - 1));
    spec.length = std::stoll(algo.substr(plus + 1));
  } catch (...) {
    return make_error("--algo {}: expected cols=OFFSET+LENGTH or rows=OFFSET+LENGTH", algo);
  }
  spec.axis = key == "rows" ? MoveAxis::rows : MoveAxis::cols;
  const EmitFn emit = [&](Emit& e, const Site& s) { return emit_slice(e, s, spec); };
  const ElementFn X = random_tensor(p.dtype, p.seed, d.n);
  const int64_t off = spec.offset;
  const bool rows = spec.axis == MoveAxis::rows;
  return movement_case(a, p, stage, p.rect(), emit, {{spec.x, X}},
                       [X, off, rows](int64_t i, int64_t j) { return rows ? X(i + off, j) : X(i, j + off); });
}

Expected<KernelCase> build_concat(const arch::Arch& a, const KernelParams& p, Stage stage) {
  WAFER_TRY(check_grid(a, p));
  WAFER_TRY(check_float(p));
  const Dims d = movement_dims(p);
  const std::string algo = p.algo.empty() ? "cols" : p.algo;
  if (algo != "cols" && algo != "rows") return make_error("--algo {}: expected cols or rows", algo);
  const bool cols = algo == "cols";
  const int64_t total = cols ? d.n : d.m, pes = cols ? p.grid_w : p.grid_h;
  const int64_t first = p.k ? p.k : std::max<int64_t>(1, total / 3 / pes) * pes;
  if (first < 1 || first >= total)
    return make_error("--k {} must lie between 1 and the {} {} of the result less 1", first, total, algo);
  ConcatSpec spec;
  spec.axis = cols ? MoveAxis::cols : MoveAxis::rows;
  spec.a = DistTensor{"a", p.dtype, cols ? d.m : first, cols ? first : d.n, p.rect()};
  spec.b = DistTensor{"b", p.dtype, cols ? d.m : total - first, cols ? total - first : d.n, p.rect()};
  const EmitFn emit = [&](Emit& e, const Site& s) { return emit_concat(e, s, spec); };
  const ElementFn A = random_tensor(p.dtype, p.seed, spec.a.cols), B = random_tensor(p.dtype, p.seed + 1, spec.b.cols);
  return movement_case(a, p, stage, p.rect(), emit, {{spec.a, A}, {spec.b, B}}, [=](int64_t i, int64_t j) {
    if (cols) return j < first ? A(i, j) : B(i, j - first);
    return i < first ? A(i, j) : B(i - first, j);
  });
}

HostBytes movement_host_bytes(const KernelParams& p) {
  const Dims d = movement_dims(p);
  // The reference and the output read back, each up to a copy per PE of a line when the
  // result is replicated.
  const uint64_t copies = p.kernel == "relayout" ? uint64_t(std::max(p.grid_w, p.grid_h)) : 1;
  const uint64_t kept = 2 * uint64_t(d.m) * uint64_t(d.n) * copies * sizeof(double);
  return {kept, kept};
}

KernelParams scale_movement_sizes(const KernelParams& p, double f) {
  const Dims d = movement_dims(p);
  const bool transpose = p.kernel == "transpose";
  const int64_t step = std::lcm(int64_t(p.grid_w), int64_t(p.grid_h));
  const int64_t sm = transpose ? step : p.grid_h, sn = transpose ? step : p.grid_w;
  const double s = std::sqrt(f);
  KernelParams q = p;
  q.m = std::max<int64_t>(1, int64_t(double(d.m / sm) * s)) * sm;
  q.n = std::max<int64_t>(1, int64_t(double(d.n / sn) * s)) * sn;
  return q;
}

}  // namespace wafer::kernels
