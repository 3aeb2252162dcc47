// Element-wise and transcendental functions as PE code: vector routines over memory DSDs on
// one PE, emitted into a caller's CodeBuilder (docs/vmath.md).
//
// The PE has no transcendental hardware, so each function is a short sequence of vector ops:
// range reduction (vscale, vlogb, the 1.5·2^23 rounding trick), polynomials evaluated by
// Horner's rule with vfma, Newton steps, and vsel/vclamp for the branches and special values.
// fp16 and bf16 vectors are converted to an fp32 scratch vector first and back at the end
// (the transcendental routines compute in fp32, as the hardware's fp32 FMA path would);
// reciprocal, ReLU and the binary functions run directly in the vector's own type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wafer/arch/arch.hpp"
#include "wafer/ir/builder.hpp"
#include "wafer/kernels/compose.hpp"
#include "wafer/support/error.hpp"
#include "wafer/support/numeric.hpp"

namespace wafer::kernels::vmath {

enum class Func : uint8_t {
  exp, reciprocal, sqrt, rsqrt, tanh, erf, sigmoid, gelu_erf, gelu_tanh, silu, relu, log,
  add, sub, mul, div, max, min,
  count_
};

struct FuncInfo {
  const char* name;     // as the `wafer ulp` verb spells it
  int arity;            // 1 or 2 sources
  const char* formula;  // what it computes
};
const FuncInfo& func_info(Func f);
std::optional<Func> parse_func(std::string_view name);
std::vector<std::string> func_names();

// A vector in a PE's SRAM: `length` elements of a symbol from element `offset` (stride 1).
struct Vec {
  int symbol = -1;  // index in the code being built
  uint32_t offset = 0;
  uint32_t length = 0;
  DType type = DType::f32;
};

// Where the routine's code goes and what it may use: DSD registers come from pools.dsds and
// are given back when the emitted code is done with them; scratch vectors are new fp32
// symbols named "<scope>.t0", "<scope>.t1", ... of `length` elements (so two routines in one
// code need different scopes).
struct Target {
  ir::CodeBuilder& code;
  Pools& pools;
  std::string scope;
};

// Emits dst = f(a) or dst = f(a, b) as synchronous vector ops at the builder's current
// position. The vectors have one length; a and b float types, dst a float type. dst may be
// a (in place). Errors name the function and what is wrong (a pool that ran out, a length).
Status emit(Target& t, Func f, const Vec& dst, const Vec& a, const Vec* b = nullptr);

// Scratch fp32 elements per vector element that emit() declares for f with these types: the
// SRAM a caller must leave free is 4 bytes times this times the length.
int scratch_vectors(Func f, DType src, DType dst);

// The exact value of f (long double arithmetic; erfc for GELU's negative tail), for the
// measurements and the tests.
long double reference(Func f, long double a, long double b = 0);

// ---- Measuring the routines on the simulator (vmath_ulp.cpp) ----

// The inputs a measurement uses: for one-source functions on fp16 and bf16, every finite
// value of the type (exhaustive); otherwise `samples` seeded values (pairs for two-source
// functions), half log-uniform in magnitude over the function's range and half uniform.
struct UlpInputs {
  std::vector<double> a, b;  // b empty for one-source functions
  bool exhaustive = false;
  std::string description;   // what was sampled, for reports
};
UlpInputs ulp_inputs(Func f, DType type, uint64_t samples, uint64_t seed);

// Distance in units in the last place between two values of a float type: the number of
// representable values between them (+0 and -0 are one value; infinities are one past the
// largest finite value). Both must not be NaN.
uint64_t ulp_distance(DType type, double x, double y);

struct UlpReport {
  uint64_t count = 0;           // inputs compared
  uint64_t max_ulp = 0;
  double max_a = 0, max_b = 0;  // an input where max_ulp occurs (the first one)
  double max_got = 0, max_want = 0;
  double mean_ulp = 0;
  uint64_t exact = 0;           // results equal to the correctly rounded value
  uint64_t nan_mismatch = 0;    // results NaN where the value is not, or the other way round
  double nan_at = 0;            // the first input of a NaN mismatch
  int pes = 0;                  // PEs the inputs were spread over
  uint32_t per_pe = 0;          // elements per PE
  uint64_t cycles = 0;          // fabric cycles of the run (all PEs in parallel)
  double cycles_per_element = 0;  // cycles / per_pe: one PE's cost per element
  int vector_ops = 0;           // vector instructions of the routine
  double sim_seconds = 0;       // host time of the simulation
};

// Runs f's routine on the simulator over a (and b for two-source functions), per_pe elements
// on each PE of a grid (0: as many as fit in SRAM next to the scratch, up to 2048), in runs
// of at most 1024 PEs. The outputs come back in input order; cycles is one run's count.
struct RoutineRun {
  std::vector<double> out;
  uint64_t cycles = 0;
  double sim_seconds = 0;
  int pes = 0;
  uint32_t per_pe = 0;
  int vector_ops = 0;  // vector instructions of the routine (the conversions included)
};
Expected<RoutineRun> run_routine(const arch::Arch& arch, Func f, DType type, const std::vector<double>& a,
                                 const std::vector<double>& b = {}, uint32_t per_pe = 0, int threads = 0);

// Runs f's routine over the inputs on a grid of PEs of `arch` (per_pe elements per PE, 0: as
// many as fit in SRAM up to 2048) and compares each output with the correctly rounded value
// of reference() (computed in long double, rounded to double, then to the type).
Expected<UlpReport> measure_ulp(const arch::Arch& arch, Func f, DType type, const UlpInputs& in,
                                uint32_t per_pe = 0, int threads = 0);

}  // namespace wafer::kernels::vmath
