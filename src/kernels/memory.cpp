// The memory check of a kernel run: its estimate, and what would fit when it does not.
//
// At its peak a run holds either everything its builder allocates while generating the data
// (KernelInfo::host_bytes, `peak`) or what the run keeps while it simulates (`kept`) plus the
// simulator's estimate for the kernel's program (sim::estimate_memory), whichever is larger.
// The program comes from the builder's Stage::program, which stops before any data exists, so
// the estimate costs little more than the routes. When a run does not fit, two bisections over
// that estimate (it grows with the sizes and with the grid) say what would: the sizes scaled
// down alike (KernelInfo::scale_sizes, in steps of 1/1024) on the same grid, and the largest
// grid of the same shape with the same size flags. A candidate the builder rejects (a size
// that no longer divides the grid, a block that no longer fits in SRAM) counts as not fitting.
#include <algorithm>
#include <functional>

#include "kernel_util.hpp"
#include "wafer/support/memory.hpp"

namespace wafer::kernels {

namespace {

// The largest i in [1, hi) with fits(i), for a monotone fits; 0 when there is none.
int64_t largest_fitting(int64_t hi, const std::function<bool(int64_t)>& fits) {
  int64_t lo = 0;
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    (fits(mid) ? lo : hi) = mid;
  }
  return lo;
}

struct Fit {
  const arch::Arch& arch;
  const sim::Options& options;
  uint64_t available;
  bool operator()(const KernelParams& p) const {
    auto need = estimate_kernel_memory(arch, p, options);
    return need && *need <= available;
  }
};

// "--m 1024 --n 2048" for the size flags the kernel takes.
std::string size_flags(const KernelInfo& k, const KernelParams& p) {
  const std::string_view sizes = k.sizes;
  const bool m = sizes.find("--m") != std::string_view::npos;
  const bool n = sizes.find("--n") != std::string_view::npos;
  if (m && n) return fmt::format("--m {} --n {}", p.m, p.n);
  return m ? fmt::format("--m {}", p.m) : fmt::format("--n {}", p.n);
}

// p on a grid of the same shape whose longer side is `side` PEs of `longest`.
KernelParams shrunk_grid(const KernelParams& p, int64_t side, int64_t longest) {
  KernelParams q = p;
  q.grid_w = int(std::max<int64_t>(1, int64_t(p.grid_w) * side / longest));
  q.grid_h = int(std::max<int64_t>(1, int64_t(p.grid_h) * side / longest));
  return q;
}

std::string advice(const KernelInfo& k, const KernelParams& p, const Fit& fit) {
  constexpr int64_t kSteps = 1024;
  auto scaled = [&](int64_t i) { return k.scale_sizes(p, double(i) / double(kSteps)); };
  const int64_t s = largest_fitting(kSteps, [&](int64_t i) { return fit(scaled(i)); });
  const int64_t longest = std::max(p.grid_w, p.grid_h);
  const int64_t g = largest_fitting(longest, [&](int64_t i) { return fit(shrunk_grid(p, i, longest)); });
  std::string out = s ? size_flags(k, scaled(s)) : "";
  if (g) {
    const KernelParams q = shrunk_grid(p, g, longest);
    out += fmt::format("{}a {}x{} grid", out.empty() ? "" : " or ", q.grid_w, q.grid_h);
  }
  return out;
}

}  // namespace

Expected<uint64_t> estimate_kernel_memory(const arch::Arch& arch, const KernelParams& params,
                                          const sim::Options& options) {
  auto k = known_kernel(params.kernel);
  if (!k) return k.status();
  auto planned = (*k)->build(arch, params, Stage::program);
  if (!planned) return named_by_kernel(planned.status(), params.kernel);
  const HostBytes host = (*k)->host_bytes(params);
  return std::max(host.peak, host.kept + sim::estimate_memory(arch, planned->program, options));
}

Status check_kernel_memory(const arch::Arch& arch, const KernelParams& p, const sim::Options& options) {
  auto need = estimate_kernel_memory(arch, p, options);
  if (!need) return need.status();
  const KernelInfo& k = **known_kernel(p.kernel);
  return check_memory(*need, fmt::format("simulating a {}x{} grid of '{}'", p.grid_w, p.grid_h, p.kernel),
                      [&](uint64_t available) { return advice(k, p, Fit{arch, options, available}); });
}

}  // namespace wafer::kernels
