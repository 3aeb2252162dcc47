// Measuring the vmath routines on the simulator: inputs, the run, and the ULP comparison.
//
// The inputs go to a grid of PEs, `per_pe` elements each (as many as SRAM holds next to the
// routine's scratch vectors), in chunks of at most kChunkPes PEs so that host memory stays
// small whatever the sample count; each chunk is one launch of one program, so every chunk
// costs the same cycles and cycles / per_pe is one PE's cost per element. Each output is
// compared with the correctly rounded value: reference() in long double, rounded to double
// and then to the type. The double step can round wrongly only when the exact value lies
// within 2^-53 relative of a midpoint of the type, which the transcendental functions here
// do not reach at any tested input as far as is known; near a zero of a function (none of
// these has one except at x = 0, where the long double value is exact) it would matter.
#include <algorithm>
#include <cmath>
#include <limits>

#include "wafer/kernels/vmath.hpp"
#include "wafer/sim/simulator.hpp"

namespace wafer::kernels::vmath {

namespace {

constexpr int kChunkPes = 1024;
constexpr uint32_t kMaxPerPe = 2048;

// SplitMix64: the same stream on every platform.
struct Rng {
  uint64_t state;
  double next() {
    state += 0x9e3779b97f4a7c15ull;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return double(z >> 11) * 0x1.0p-53;
  }
};

// Where a function is worth sampling: |x| up to `range`; log-uniform magnitudes from 2^lo_exp;
// `positive` when negative inputs only give NaN.
struct Domain {
  double range;
  double lo_exp;
  bool positive;
};

Domain domain(Func f) {
  switch (f) {
    case Func::exp: return {104, -30, false};
    case Func::reciprocal: return {0x1p127, -149, false};
    case Func::sqrt:
    case Func::rsqrt: return {0x1p127, -149, true};
    case Func::tanh: return {10, -40, false};
    case Func::erf: return {5, -40, false};
    case Func::sigmoid:
    case Func::silu: return {110, -40, false};
    case Func::gelu_erf: return {20, -40, false};
    case Func::gelu_tanh: return {15, -40, false};
    case Func::relu: return {100, -40, false};
    case Func::log: return {0x1p127, -149, true};
    case Func::add: case Func::sub: case Func::mul: case Func::div: case Func::max: case Func::min:
      return {0x1p60, -60, false};
    case Func::count_: break;
  }
  return {1, -1, false};
}

// One sample: even i log-uniform in magnitude, odd i uniform over [-range, range] (or
// [0, range]); rounded to the type.
double sample(const Domain& d, DType type, uint64_t i, Rng& rng) {
  const double hi_exp = std::log2(d.range);
  double v;
  if (i % 2 == 0) {
    v = std::exp2(d.lo_exp + (hi_exp - d.lo_exp) * rng.next());
    if (!d.positive && rng.next() < 0.5) v = -v;
  } else {
    const double u = std::min(d.range, 1e4);
    v = d.positive ? u * rng.next() : u * (2 * rng.next() - 1);
  }
  return decode_value(type, encode_value(type, v));
}

// The order of a value's encoding along the real line: consecutive values differ by one.
int64_t ordinal(DType type, double v) {
  const uint32_t bits = encode_value(type, v);
  const int width = dtype_bytes(type) * 8;
  const uint64_t sign = uint64_t(1) << (width - 1);
  const int64_t mag = int64_t(bits & (sign - 1));
  return (bits & sign) ? -mag : mag;
}

// Elements per PE: what fits in SRAM next to the code (a generous 4 KiB) and the scratch.
uint32_t fit_per_pe(const arch::Arch& arch, Func f, DType type) {
  const int vectors = func_info(f).arity + 1;
  const uint32_t bytes = uint32_t(vectors * dtype_bytes(type) + 4 * scratch_vectors(f, type, type));
  const uint32_t room = uint32_t(std::max(0, arch.sram_bytes - 4096));
  return std::min(kMaxPerPe, room / bytes);
}

ir::Program ulp_program(const arch::Arch& arch, Func f, DType type, uint32_t n, int w, int h, Status& st) {
  ir::CodeBuilder b("vmath");
  const bool two = func_info(f).arity == 2;
  const Vec x{b.symbol("x", type, n), 0, n, type};
  const Vec y{two ? b.symbol("y", type, n) : -1, 0, n, type};
  const Vec out{b.symbol("out", type, n), 0, n, type};
  b.task("main", 1, ir::TaskKind::local);
  b.begin_task(1);
  Pools pools = Pools::for_arch(arch);
  Target t{b, pools, std::string(func_info(f).name)};
  st = emit(t, f, out, x, two ? &y : nullptr);
  b.emit(ir::Opcode::ret, {});
  ir::Program p;
  p.width = w;
  p.height = h;
  p.codes.push_back(b.finish());
  p.placements.push_back({ir::Rect{0, 0, w, h}, 0, {}});
  return p;
}

// Values [begin, begin + count) of v, padded with 1 to `size`.
std::vector<double> slice(const std::vector<double>& v, size_t begin, size_t size) {
  std::vector<double> s(size, 1.0);
  const size_t end = std::min(v.size(), begin + size);
  if (begin < end) std::copy(v.begin() + long(begin), v.begin() + long(end), s.begin());
  return s;
}

void compare(Func f, DType type, const UlpInputs& in, size_t i, double got, UlpReport& r, double& sum,
             bool& located) {
  const double a = in.a[i], b = in.b.empty() ? 0 : in.b[i];
  const double want = decode_value(type, encode_value(type, double(reference(f, a, b))));
  ++r.count;
  if (std::isnan(want) || std::isnan(got)) {
    if (std::isnan(want) != std::isnan(got) && r.nan_mismatch++ == 0) r.nan_at = a;
    if (std::isnan(want) && std::isnan(got)) ++r.exact;
    return;
  }
  const uint64_t d = ulp_distance(type, got, want);
  sum += double(d);
  if (d == 0) ++r.exact;
  if (d > r.max_ulp || !located) {
    located = true;
    r.max_ulp = d;
    r.max_a = a;
    r.max_b = b;
    r.max_got = got;
    r.max_want = want;
  }
}

}  // namespace

uint64_t ulp_distance(DType type, double x, double y) {
  const int64_t d = ordinal(type, x) - ordinal(type, y);
  return uint64_t(d < 0 ? -d : d);
}

UlpInputs ulp_inputs(Func f, DType type, uint64_t samples, uint64_t seed) {
  UlpInputs in;
  Domain d = domain(f);
  const bool two = func_info(f).arity == 2;
  if (!two && type != DType::f32) {
    for (uint32_t bits = 0; bits < 0x10000; ++bits) {
      const double v = decode_value(type, bits);
      // rsqrt(-0) is +inf here (docs/vmath.md); IEEE 754's rSqrt gives -inf.
      const bool excluded = f == Func::rsqrt && v == 0 && std::signbit(v);
      if (std::isfinite(v) && !excluded) in.a.push_back(v);
    }
    in.exhaustive = true;
    in.description = fmt::format("every finite {} value ({}){}", dtype_name(type), in.a.size(),
                                 f == Func::rsqrt ? " but -0" : "");
    return in;
  }
  d.range = std::min(d.range, dtype_range(type).hi);
  d.lo_exp = std::max(d.lo_exp, std::log2(decode_value(type, 1)));  // the smallest subnormal
  Rng rng{seed};
  for (uint64_t i = 0; i < samples; ++i) {
    in.a.push_back(sample(d, type, i, rng));
    if (two) in.b.push_back(sample(d, type, i, rng));
  }
  const double u = std::min(d.range, 1e4);
  in.description = fmt::format("{} seeded {} (seed {}): half log-uniform |x| in [2^{}, {:g}]{}, half "
                               "uniform in [{:g}, {:g}]",
                               samples, two ? "pairs" : "samples", seed, int(d.lo_exp), d.range,
                               d.positive ? "" : " with random sign", d.positive ? 0.0 : -u, u);
  return in;
}

Expected<RoutineRun> run_routine(const arch::Arch& arch, Func f, DType type, const std::vector<double>& a,
                                 const std::vector<double>& b, uint32_t per_pe, int threads) {
  const char* name = func_info(f).name;
  if (!dtype_is_float(type)) return make_error("vmath {}: {} is not a float type", name, dtype_name(type));
  if (a.empty()) return make_error("vmath {}: no inputs", name);
  if ((func_info(f).arity == 2) != !b.empty()) return make_error("vmath {}: takes {} sources", name, func_info(f).arity);
  const uint32_t n = per_pe ? per_pe : fit_per_pe(arch, f, type);
  if (n == 0) return make_error("vmath {}: no element fits in {} bytes of SRAM", name, arch.sram_bytes);
  const uint64_t pes = (a.size() + n - 1) / n;
  const int chunk = int(std::min<uint64_t>(pes, kChunkPes));
  const int w = std::min({chunk, arch.fabric_width, int(std::ceil(std::sqrt(double(chunk))))});
  const int h = (chunk + w - 1) / w;
  Status st;
  const ir::Program program = ulp_program(arch, f, type, n, w, h, st);
  if (!st) return st;
  sim::Options options;
  options.threads = threads;
  options.collect_stats = false;
  auto created = sim::Simulator::create(arch, program, options);
  if (!created) return created.status().with_context(fmt::format("vmath {}", name));
  sim::Simulator& s = **created;
  const ir::Rect rect{0, 0, w, h};
  const size_t per_run = size_t(w) * size_t(h) * n;
  RoutineRun r;
  for (const ir::Instr& i : program.codes[0].instrs) r.vector_ops += ir::op_info(i.op).is_vector ? 1 : 0;
  r.pes = int(std::min<uint64_t>(pes, uint64_t(w) * uint64_t(h)));
  r.per_pe = n;
  r.out.reserve(a.size());
  for (size_t begin = 0; begin < a.size(); begin += per_run) {
    WAFER_TRY(s.write_symbol("x", rect, slice(a, begin, per_run)));
    if (!b.empty()) WAFER_TRY(s.write_symbol("y", rect, slice(b, begin, per_run)));
    WAFER_TRY(s.launch("main", rect));
    auto run = s.run();
    if (!run) return run.status().with_context(fmt::format("vmath {}", name));
    r.cycles = run->cycles;
    r.sim_seconds += run->wall_seconds;
    auto out = s.read_symbol("out", rect);
    if (!out) return out.status();
    out->resize(std::min(out->size(), a.size() - begin));
    r.out.insert(r.out.end(), out->begin(), out->end());
  }
  return r;
}

Expected<UlpReport> measure_ulp(const arch::Arch& arch, Func f, DType type, const UlpInputs& in,
                                uint32_t per_pe, int threads) {
  auto run = run_routine(arch, f, type, in.a, in.b, per_pe, threads);
  if (!run) return run.status();
  UlpReport r;
  r.pes = run->pes;
  r.per_pe = run->per_pe;
  r.cycles = run->cycles;
  r.sim_seconds = run->sim_seconds;
  r.cycles_per_element = double(run->cycles) / double(run->per_pe);
  r.vector_ops = run->vector_ops;
  double sum = 0;
  bool located = false;
  for (size_t i = 0; i < in.a.size(); ++i) compare(f, type, in, i, run->out[i], r, sum, located);
  r.mean_ulp = r.count ? sum / double(r.count) : 0;
  return r;
}

}  // namespace wafer::kernels::vmath
