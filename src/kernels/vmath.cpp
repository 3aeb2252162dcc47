// Element-wise and transcendental vector routines as PE code (docs/vmath.md).
//
// Every routine is straight-line code over memory DSDs: no branch per element, so both sides
// of a piecewise approximation are computed for every element and vsel picks one. The
// building blocks:
// - exp: clamp to [-110, 89] (vclamp keeps NaN), k = round(x·log2 e) by adding and
//   subtracting 1.5·2^23, r = x - k·ln2 in two fma steps (Cody-Waite; k·ln2_hi is exact
//   inside the fma and the difference is representable), a degree-6 polynomial for e^r, and
//   e^x = vscale(p, k) with a single rounding also for subnormal results. A second addend
//   `lo` enters r after the reduction, so e^(hi+lo) keeps the bits of a two-part argument.
// - erfc(a) for a >= 0.5 = t·e^(-a² + H(t)), t = 2/(2+a), H a degree-9 polynomial in
//   t - 0.48; a² is split exactly into p + err with an fma so the exponent loses nothing.
//   erf below 0.88 is x·P(x²), degree 5; GELU uses erfc directly for its negative tail.
// - tanh: x + x³·Q(x²) (degree 5) below 0.55, else ±(1 - 2/(e^(2|x|) + 1)).
// - sigmoid(z) = num/(1 + e^-|z|) with num = 1 (z >= 0) or e^-|z| (z < 0), so that the
//   negative tail keeps its subnormals; SiLU and GELU (tanh form, as x·sigmoid(2u)) multiply
//   the numerator by x before the one division.
// - rsqrt and sqrt: x = m·4^h with m in [1, 4) by vlogb and vscale, a quadratic seed for
//   1/sqrt(m), three Newton steps, and for sqrt a last residual step s + (m - s²)·y/2.
// - log: x = m·2^e with m in [sqrt(1/2), sqrt(2)) by vlogb, vscale and one halving, f = m - 1
//   exact, s = f/(2 + f), log(1 + f) = f - (f²/2 - s·(f²/2 + R)) with R = Σ 2s^2k/(2k + 1) to
//   s⁸ (fdlibm's reduction), plus e·ln2 in two parts; x < 0 gives NaN, ±0 -inf, +inf +inf.
// - reciprocal and division: vdiv (the iterative divider, correctly rounded); ReLU: vclamp.
// fp16 and bf16 sources are converted into an fp32 scratch vector that also takes the fp32
// result, which one vcvt writes back.
#include "wafer/kernels/vmath.hpp"

#include <cmath>
#include <initializer_list>

#include <fmt/format.h>

namespace wafer::kernels::vmath {

using ir::Opcode;

namespace {

constexpr FuncInfo kFuncs[] = {
    {"exp", 1, "e^x"},
    {"reciprocal", 1, "1/x"},
    {"sqrt", 1, "sqrt(x)"},
    {"rsqrt", 1, "1/sqrt(x)"},
    {"tanh", 1, "tanh(x)"},
    {"erf", 1, "erf(x)"},
    {"sigmoid", 1, "1/(1+e^-x)"},
    {"gelu", 1, "0.5x(1+erf(x/sqrt2))"},
    {"gelu_tanh", 1, "0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3)))"},
    {"silu", 1, "x·sigmoid(x)"},
    {"relu", 1, "max(x, 0)"},
    {"log", 1, "ln(x)"},
    {"add", 2, "a+b"},
    {"sub", 2, "a-b"},
    {"mul", 2, "a·b"},
    {"div", 2, "a/b"},
    {"max", 2, "max(a, b)"},
    {"min", 2, "min(a, b)"},
};
static_assert(sizeof(kFuncs) / sizeof(kFuncs[0]) == size_t(Func::count_));

// A vector operand of the emitted code: the DSD register that describes it.
struct V {
  int dsd = -1;
};

// A source of an emitted op: a vector or an fp32 immediate.
struct Arg {
  ir::Operand op;
  Arg(V v) : op(ir::dsd(v.dsd)) {}
  Arg(double c) : op(ir::fimm(float(c))) {}
};

// Binds vectors to DSD registers taken from the pool and emits ops on them; gives the
// registers back when destroyed (the emitted code is done with them by then).
class Emitter {
 public:
  Emitter(Target& t, uint32_t n) : t_(t), n_(n) {}
  ~Emitter() { t_.pools.dsds.release(taken_); }
  Emitter(const Emitter&) = delete;
  Emitter& operator=(const Emitter&) = delete;

  Expected<V> bind(const Vec& v) {
    auto d = t_.pools.dsds.take(t_.scope);
    if (!d) return d.status();
    taken_.push_back(*d);
    t_.code.emit(Opcode::mdsd, {ir::dsd(*d), ir::sym_op(v.symbol), ir::imm(int32_t(v.offset)),
                                ir::imm(int32_t(v.length)), ir::imm(1)});
    return V{*d};
  }

  Expected<V> scratch() {
    const std::string name = t_.scope + ".t" + std::to_string(scratch_++);
    return bind(Vec{t_.code.symbol(name, DType::f32, n_), 0, n_, DType::f32});
  }

  void op(Opcode o, V d, std::initializer_list<Arg> src) {
    switch (src.size()) {
      case 1: t_.code.emit(o, {ir::dsd(d.dsd), src.begin()[0].op}); break;
      case 2: t_.code.emit(o, {ir::dsd(d.dsd), src.begin()[0].op, src.begin()[1].op}); break;
      default:
        t_.code.emit(o, {ir::dsd(d.dsd), src.begin()[0].op, src.begin()[1].op, src.begin()[2].op});
    }
  }

  // out = c[0] + u·(c[1] + u·(... + u·c[deg])), Horner's rule with vfma; out may not be u.
  void horner(V out, V u, std::initializer_list<double> c) {
    const double* k = c.begin();
    int i = int(c.size()) - 1;
    op(Opcode::vfma, out, {u, k[i], k[i - 1]});
    for (i -= 2; i >= 0; --i) op(Opcode::vfma, out, {out, u, k[i]});
  }

 private:
  Target& t_;
  uint32_t n_;
  int scratch_ = 0;
  std::vector<int> taken_;
};

// The fp32 vectors a routine works on: its input x, its output (which may be x: every routine
// reads x for the last time before it first writes out) and its scratch vectors.
struct Work {
  Emitter& e;
  V out, x;
  std::vector<V> t;
};

constexpr double kShifter = 0x1.8p23;  // adding and subtracting it rounds to an integer
constexpr double kLog2e = 0x1.715476p+0;
constexpr double kLn2Hi = 0x1.62e4p-1;  // 16 bits: k·kLn2Hi - x is exact for |k| < 2^8
constexpr double kLn2Lo = 0x1.7f7d1cp-20;

// out = e^(hi + lo)·2^bias for hi clamped (or bounded) by the caller; k and r are scratch,
// out may be hi or lo but not k or r. A bias keeps a tail that a caller multiplies further
// out of the subnormals until its last rounding.
void exp_core(Emitter& e, V out, V hi, const V* lo, V k, V r, int bias = 0) {
  if (lo) e.op(Opcode::vadd, k, {hi, *lo});
  e.op(Opcode::vfma, k, {lo ? k : hi, kLog2e, kShifter});
  e.op(Opcode::vsub, k, {k, kShifter});
  e.op(Opcode::vfma, r, {k, -kLn2Hi, hi});
  if (lo) e.op(Opcode::vadd, r, {r, *lo});
  e.op(Opcode::vfma, r, {k, -kLn2Lo, r});
  e.horner(out, r, {1.0, 1.0, 0x1p-1, 0x1.5553dap-3, 0x1.555446p-5, 0x1.128522p-7, 0x1.6dbfdap-10});
  if (bias) e.op(Opcode::vadd, k, {k, double(bias)});
  e.op(Opcode::vscale, out, {out, k});
}

void exp_body(Work& w) {
  w.e.op(Opcode::vclamp, w.out, {w.x, -110.0, 89.0});
  exp_core(w.e, w.out, w.out, nullptr, w.t[0], w.t[1]);
}

// The power of two that carries a negative tail (e^-|z|, erfc) out of the subnormals until
// the last op of a routine.
constexpr int kTailBias = 32;

// out = m·num/(1 + e^-|z|), num = 1 for z >= 0 and e^-|z| below; m optional (SiLU, GELU).
// The z < 0 side computes with e^-|z|·2^32 and scales back in its last op. Scratch t[0..2];
// z and m must survive until the end (they may be out).
void sigmoid_core(Work& w, V z, const V* m) {
  Emitter& e = w.e;
  const V E = w.t[0], num = w.t[1], den = w.t[2];
  e.op(Opcode::vabs, E, {z});
  e.op(Opcode::vneg, E, {E});
  e.op(Opcode::vclamp, E, {E, -110.0, 0.0});
  exp_core(e, E, E, nullptr, num, den, kTailBias);
  e.op(Opcode::vsel, num, {z, E, 1.0});
  e.op(Opcode::vfma, den, {E, std::ldexp(1.0, -kTailBias), 1.0});
  if (m) e.op(Opcode::vmul, num, {num, *m});
  e.op(Opcode::vdiv, num, {num, den});
  e.op(Opcode::vsel, den, {z, double(-kTailBias), 0.0});
  e.op(Opcode::vscale, w.out, {num, den});
}

void sigmoid_body(Work& w) { sigmoid_core(w, w.x, nullptr); }

void silu_body(Work& w) {
  w.e.op(Opcode::vclamp, w.out, {w.x, -200.0, INFINITY});  // silu(-inf) = -0, not -inf·0
  sigmoid_core(w, w.out, &w.out);
}

// x·sigmoid(2u), u = sqrt(2/pi)(x + 0.044715x³): the tanh form without its cancellation.
void gelu_tanh_body(Work& w) {
  Emitter& e = w.e;
  const V z = w.t[3];
  e.op(Opcode::vclamp, w.out, {w.x, -20.0, INFINITY});
  e.op(Opcode::vmul, z, {w.out, w.out});
  e.op(Opcode::vfma, z, {z, 0x1.2444f2p-4, 0x1.988454p+0});
  e.op(Opcode::vmul, z, {z, w.out});
  sigmoid_core(w, z, &w.out);
}

void tanh_body(Work& w) {
  Emitter& e = w.e;
  const V L = w.t[0], S = w.t[1], C = w.t[2], r = w.t[3];
  e.op(Opcode::vmul, L, {w.x, w.x});  // small |x|: x + x·s·Q(s), s = x²
  e.horner(S, L, {-0x1.555556p-2, 0x1.111106p-3, -0x1.ba1448p-5, 0x1.657b02p-6, -0x1.17719ep-7,
                  0x1.4b6b08p-9});
  e.op(Opcode::vfma, S, {S, L, 0.0});  // + 0 makes s·Q(s) +0 at x = ±0: tanh(-0) = -0 + -0
  e.op(Opcode::vfma, S, {w.x, S, w.x});
  e.op(Opcode::vabs, L, {w.x});  // large |x|: 1 - 2/(e^2|x| + 1), sign of x
  e.op(Opcode::vadd, L, {L, L});
  e.op(Opcode::vclamp, L, {L, 0.0, 89.0});
  exp_core(e, L, L, nullptr, C, r);
  e.op(Opcode::vadd, L, {L, 1.0});
  e.op(Opcode::vdiv, L, {2.0, L});
  e.op(Opcode::vsub, L, {1.0, L});
  e.op(Opcode::vneg, C, {L});
  e.op(Opcode::vsel, L, {w.x, C, L});
  e.op(Opcode::vabs, C, {w.x});
  e.op(Opcode::vsub, C, {C, 0.55});
  e.op(Opcode::vsel, w.out, {C, S, L});
}

// Where erf switches from x·P(x²) to 1 - erfc: erf at 0.88, where erfc's error weighs
// 0.27 times its own; GELU at 0.5, so that 1 + erf(w) near w = -0.88 (0.21) does not cancel.
constexpr double kErfSplit = 0.88, kGeluSplit = 0.5;

// The pieces of erf(w): S = erf(w) for |w| < split (t[1]), E = erfc(|w|)·2^bias for
// |w| >= split (t[3]; H is fitted for |w| in [0.5, 10.5]) and C = |w| - split (t[0]). a²
// comes from sq as f·sq² (f = 1 with sq = |w| clamped, f = 1/2 with sq = x for GELU's
// w = x/sqrt2), split exactly. Scratch t[0..4].
void erf_core(Work& w, V wv, V sq, double f, int bias, double split) {
  Emitter& e = w.e;
  const V a = w.t[0], S = w.t[1], t = w.t[2], E = w.t[3], r = w.t[4];
  e.op(Opcode::vabs, a, {wv});
  e.op(Opcode::vclamp, a, {a, 0.0, 10.5});
  e.op(Opcode::vadd, t, {a, 2.0});
  e.op(Opcode::vdiv, t, {2.0, t});
  e.op(Opcode::vsub, r, {t, 0x1.eadeaep-2});
  e.horner(E, r, {-0x1.6620f0p-1, 0x1.56457ap+0, 0x1.b285d8p-3, -0x1.7199d2p-2, -0x1.7d787cp-3,
                  0x1.0fc08ap-2, 0x1.3cc1eep-3, -0x1.1dcbeep-2, -0x1.925dc8p-4, 0x1.06692ep-2});
  e.op(Opcode::vmul, r, {sq, sq});             // p = sq² rounded
  e.op(Opcode::vneg, S, {r});                  // -p
  e.op(Opcode::vfma, S, {sq, sq, S});          // err = sq² - p, exact
  e.op(Opcode::vfma, E, {S, -f, E});           // lo = H - f·err
  e.op(Opcode::vmul, r, {r, -f});              // hi = -f·p, exact
  exp_core(e, E, r, &E, a, S, bias);
  e.op(Opcode::vmul, E, {E, t});
  e.op(Opcode::vmul, a, {wv, wv});
  e.horner(S, a, {0x1.20dd74p+0, -0x1.81270cp-2, 0x1.ce211ep-4, -0x1.b6f236p-6, 0x1.49bab8p-8,
                  -0x1.44dcf8p-11});
  e.op(Opcode::vmul, S, {S, wv});
  e.op(Opcode::vabs, a, {wv});
  e.op(Opcode::vsub, a, {a, split});
}

void erf_body(Work& w) {
  Emitter& e = w.e;
  const V sq = w.t[5];
  e.op(Opcode::vabs, sq, {w.x});
  e.op(Opcode::vclamp, sq, {sq, 0.0, 10.5});
  erf_core(w, w.x, sq, 1.0, 0, kErfSplit);
  const V C = w.t[0], S = w.t[1], neg = w.t[2], E = w.t[3];
  e.op(Opcode::vsub, neg, {E, 1.0});
  e.op(Opcode::vsub, E, {1.0, E});
  e.op(Opcode::vsel, E, {w.x, neg, E});
  e.op(Opcode::vsel, w.out, {C, S, E});
}

// x·Φ(x), Φ = (1 + erf(x/sqrt2))/2: (1 + S)/2 for |w| < 0.5, 1 - erfc(w)/2 above, and
// erfc(|w|)/2 below (no cancellation), that one scaled by 2^32 until the last op.
void gelu_erf_body(Work& w) {
  Emitter& e = w.e;
  const V wv = w.t[5], xe = w.t[6];
  e.op(Opcode::vclamp, xe, {w.x, -15.0, 15.0});
  e.op(Opcode::vclamp, w.out, {w.x, -15.0, INFINITY});  // gelu(x <= -15) = -0
  e.op(Opcode::vmul, wv, {xe, 0x1.6a09e6p-1});
  erf_core(w, wv, xe, 0.5, kTailBias - 1, kGeluSplit);
  const V C = w.t[0], S = w.t[1], upper = w.t[2], E = w.t[3];
  e.op(Opcode::vfma, S, {S, 0.5, 0.5});
  e.op(Opcode::vfma, upper, {E, -std::ldexp(1.0, -kTailBias), 1.0});
  e.op(Opcode::vsel, E, {wv, E, upper});
  e.op(Opcode::vsel, S, {C, S, E});
  e.op(Opcode::vadd, C, {wv, kGeluSplit});
  e.op(Opcode::vsel, C, {C, double(-kTailBias), 0.0});
  e.op(Opcode::vmul, S, {S, w.out});
  e.op(Opcode::vscale, w.out, {S, C});
}

// y ≈ 1/sqrt(m) for x = m·4^h, m in [1, 4): t[0] = h, t[1] = m, t[2] = y. NaN stays NaN, 0
// gives m = 0 and h = -inf, inf gives m = 4 and h = inf. Scratch t[0..4].
void rsqrt_core(Work& w) {
  Emitter& e = w.e;
  const V h = w.t[0], m = w.t[1], y = w.t[2], nhm = w.t[3], q = w.t[4];
  e.op(Opcode::vlogb, h, {w.x});
  e.op(Opcode::vfma, h, {h, 0.5, -0.25});
  e.op(Opcode::vadd, h, {h, kShifter});
  e.op(Opcode::vsub, h, {h, kShifter});  // floor(logb/2)
  e.op(Opcode::vmul, m, {h, -2.0});
  e.op(Opcode::vscale, m, {w.x, m});
  e.op(Opcode::vclamp, m, {m, -INFINITY, 4.0});
  e.horner(y, m, {0x1.56d23ep+0, -0x1.a7fab4p-2, 0x1.a8c34p-5});
  e.op(Opcode::vmul, nhm, {m, -0.5});
  for (int i = 0; i < 3; ++i) {  // y += y·(1/2 - m·y²/2)
    e.op(Opcode::vmul, q, {y, y});
    e.op(Opcode::vfma, q, {nhm, q, 0.5});
    e.op(Opcode::vfma, y, {y, q, y});
  }
}

void rsqrt_body(Work& w) {
  rsqrt_core(w);
  Emitter& e = w.e;
  const V h = w.t[0], y = w.t[2];
  e.op(Opcode::vsel, y, {w.x, NAN, y});
  e.op(Opcode::vneg, h, {h});
  e.op(Opcode::vscale, w.out, {y, h});
}

void sqrt_body(Work& w) {
  rsqrt_core(w);
  Emitter& e = w.e;
  const V h = w.t[0], m = w.t[1], y = w.t[2], s = w.t[3], d = w.t[4];
  e.op(Opcode::vmul, s, {m, y});
  e.op(Opcode::vneg, d, {s});
  e.op(Opcode::vfma, d, {s, d, m});  // m - s², exact
  e.op(Opcode::vmul, y, {y, 0.5});
  e.op(Opcode::vfma, s, {d, y, s});
  e.op(Opcode::vsel, s, {w.x, NAN, s});
  e.op(Opcode::vscale, w.out, {s, h});
}

void log_body(Work& w) {
  Emitter& e = w.e;
  const V k = w.t[0], m = w.t[1], f = w.t[2], s = w.t[3], r = w.t[4];
  e.op(Opcode::vlogb, k, {w.x});
  e.op(Opcode::vneg, m, {k});
  e.op(Opcode::vscale, m, {w.x, m});  // [1, 2)
  e.op(Opcode::vsub, f, {m, 0x1.6a09e6p+0});
  e.op(Opcode::vmul, s, {m, 0.5});
  e.op(Opcode::vsel, m, {f, m, s});  // [sqrt(1/2), sqrt(2))
  e.op(Opcode::vadd, s, {k, 1.0});
  e.op(Opcode::vsel, k, {f, k, s});
  e.op(Opcode::vsub, f, {m, 1.0});
  e.op(Opcode::vadd, s, {f, 2.0});
  e.op(Opcode::vdiv, s, {f, s});
  e.op(Opcode::vmul, m, {s, s});
  e.horner(r, m, {0.0, 2.0 / 3, 2.0 / 5, 2.0 / 7, 2.0 / 9});  // R
  e.op(Opcode::vmul, m, {f, f});
  e.op(Opcode::vmul, m, {m, 0.5});  // f²/2
  e.op(Opcode::vadd, r, {m, r});
  e.op(Opcode::vneg, s, {s});
  e.op(Opcode::vfma, r, {s, r, m});  // f²/2 - s·(f²/2 + R)
  e.op(Opcode::vsub, r, {f, r});     // log(1 + f)
  e.op(Opcode::vfma, r, {k, kLn2Lo, r});
  e.op(Opcode::vfma, r, {k, kLn2Hi, r});
  e.op(Opcode::vsel, r, {w.x, NAN, r});
  e.op(Opcode::vsub, s, {0x1.fffffep+127, w.x});  // below 0 only for +inf
  e.op(Opcode::vsel, w.out, {s, w.x, r});
}

// A routine computed in fp32 and the scratch vectors it needs besides x and out.
struct Body {
  void (*emit)(Work&);
  int scratch;
};

std::optional<Body> fp32_body(Func f) {
  switch (f) {
    case Func::exp: return Body{exp_body, 2};
    case Func::sqrt: return Body{sqrt_body, 5};
    case Func::rsqrt: return Body{rsqrt_body, 5};
    case Func::tanh: return Body{tanh_body, 4};
    case Func::erf: return Body{erf_body, 6};
    case Func::sigmoid: return Body{sigmoid_body, 3};
    case Func::gelu_erf: return Body{gelu_erf_body, 7};
    case Func::gelu_tanh: return Body{gelu_tanh_body, 4};
    case Func::silu: return Body{silu_body, 3};
    case Func::log: return Body{log_body, 5};
    case Func::reciprocal:
    case Func::relu:
    case Func::add:
    case Func::sub:
    case Func::mul:
    case Func::div:
    case Func::max:
    case Func::min:
    case Func::count_: return std::nullopt;
  }
  return std::nullopt;
}

// The one vector op of a function that runs in the vector's own type.
Opcode native_op(Func f) {
  switch (f) {
    case Func::reciprocal:
    case Func::div: return Opcode::vdiv;
    case Func::relu: return Opcode::vclamp;
    case Func::add: return Opcode::vadd;
    case Func::sub: return Opcode::vsub;
    case Func::mul: return Opcode::vmul;
    case Func::max: return Opcode::vmax;
    case Func::min: return Opcode::vmin;
    case Func::exp: case Func::sqrt: case Func::rsqrt: case Func::tanh: case Func::erf:
    case Func::sigmoid: case Func::gelu_erf: case Func::gelu_tanh: case Func::silu: case Func::log:
    case Func::count_: break;
  }
  return Opcode::nop;
}

Status emit_native(Emitter& e, Func f, const Vec& dst, const Vec& a, const Vec* b) {
  auto d = e.bind(dst);
  if (!d) return d.status();
  auto x = e.bind(a);
  if (!x) return x.status();
  if (f == Func::reciprocal) {
    e.op(Opcode::vdiv, *d, {1.0, *x});
  } else if (f == Func::relu) {
    e.op(Opcode::vclamp, *d, {*x, 0.0, INFINITY});  // keeps NaN, unlike vmax
  } else {
    auto y = e.bind(*b);
    if (!y) return y.status();
    e.op(native_op(f), *d, {*x, *y});
  }
  return Status::ok();
}

Status emit_fp32(Emitter& e, const Body& body, const Vec& dst, const Vec& a) {
  auto src = e.bind(a);
  if (!src) return src.status();
  V x = *src, out;
  if (a.type != DType::f32) {
    auto s = e.scratch();
    if (!s) return s.status();
    e.op(Opcode::vcvt, *s, {*src});
    x = *s;
  }
  auto d = e.bind(dst);
  if (!d) return d.status();
  out = *d;
  if (dst.type != DType::f32) {
    if (x.dsd != src->dsd) {
      out = x;
    } else {
      auto s = e.scratch();
      if (!s) return s.status();
      out = *s;
    }
  }
  Work w{e, out, x, {}};
  for (int i = 0; i < body.scratch; ++i) {
    auto s = e.scratch();
    if (!s) return s.status();
    w.t.push_back(*s);
  }
  body.emit(w);
  if (out.dsd != d->dsd) e.op(Opcode::vcvt, *d, {out});
  return Status::ok();
}

Status check(Func f, const Vec& dst, const Vec& a, const Vec* b) {
  const FuncInfo& fi = func_info(f);
  if ((fi.arity == 2) != (b != nullptr)) {
    return make_error("vmath {}: takes {} source{}", fi.name, fi.arity, fi.arity == 1 ? "" : "s");
  }
  for (const Vec* v : {&dst, &a, b}) {
    if (!v) continue;
    if (!dtype_is_float(v->type)) return make_error("vmath {}: {} is not a float type", fi.name, dtype_name(v->type));
    if (v->length != dst.length) {
      return make_error("vmath {}: vectors of lengths {} and {} differ", fi.name, v->length, dst.length);
    }
  }
  if (dst.length == 0) return make_error("vmath {}: empty vector", fi.name);
  return Status::ok();
}

}  // namespace

const FuncInfo& func_info(Func f) { return kFuncs[size_t(f)]; }

std::optional<Func> parse_func(std::string_view name) {
  for (size_t i = 0; i < size_t(Func::count_); ++i) {
    if (name == kFuncs[i].name) return Func(i);
  }
  return std::nullopt;
}

std::vector<std::string> func_names() {
  std::vector<std::string> names;
  for (const FuncInfo& f : kFuncs) names.emplace_back(f.name);
  return names;
}

Status emit(Target& t, Func f, const Vec& dst, const Vec& a, const Vec* b) {
  Status st = check(f, dst, a, b);
  if (!st) return st;
  Emitter e(t, dst.length);
  const std::optional<Body> body = fp32_body(f);
  st = body ? emit_fp32(e, *body, dst, a) : emit_native(e, f, dst, a, b);
  if (!st) return st.with_context(fmt::format("vmath {}", func_info(f).name));
  return st;
}

int scratch_vectors(Func f, DType src, DType dst) {
  const std::optional<Body> body = fp32_body(f);
  if (!body) return 0;
  return body->scratch + (src != DType::f32 || dst != DType::f32 ? 1 : 0);
}

long double reference(Func f, long double a, long double b) {
  const long double kRootHalf = 0.707106781186547524400844362104849039L;
  const bool tail = f == Func::gelu_erf || f == Func::gelu_tanh || f == Func::silu;
  if (tail && std::isinf(a) && a < 0) return -0.0L;  // x·(something tending to 0 faster)
  switch (f) {
    case Func::exp: return expl(a);
    case Func::reciprocal: return 1.0L / a;
    case Func::sqrt: return sqrtl(a);
    case Func::rsqrt: return 1.0L / sqrtl(a);
    case Func::tanh: return tanhl(a);
    case Func::erf: return erfl(a);
    case Func::sigmoid: return 1.0L / (1.0L + expl(-a));
    case Func::gelu_erf: return 0.5L * a * erfcl(-a * kRootHalf);
    case Func::gelu_tanh: {
      const long double u = 0.797884560802865355879892119868763737L * (a + 0.044715L * a * a * a);
      return a / (1.0L + expl(-2.0L * u));
    }
    case Func::silu: return a / (1.0L + expl(-a));
    case Func::log: return logl(a);
    case Func::relu: return std::isnan(a) ? a : a > 0 ? a : 0.0L;
    case Func::add: return a + b;
    case Func::sub: return a - b;
    case Func::mul: return a * b;
    case Func::div: return a / b;
    case Func::max: return fmaxl(a, b);
    case Func::min: return fminl(a, b);
    case Func::count_: break;
  }
  return 0;
}

}  // namespace wafer::kernels::vmath
