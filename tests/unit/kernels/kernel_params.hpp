// KernelParams for the kernel tests: a kernel on a grid with its sizes (0: the kernel's
// default) and dtype, as `wafer kernel NAME --grid WxH --m M --n N --dtype T` gives them.
#pragma once

#include <cstdint>
#include <string>

#include "wafer/kernels/kernels.hpp"

namespace wafer::kernels {

inline KernelParams params(const std::string& kernel, int w, int h, int64_t m = 0, int64_t n = 0,
                           DType t = DType::f32) {
  KernelParams p;
  p.kernel = kernel;
  p.grid_w = w;
  p.grid_h = h;
  p.m = m;
  p.n = n;
  p.dtype = t;
  return p;
}

}  // namespace wafer::kernels
