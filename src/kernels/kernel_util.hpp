// Checks and numeric helpers shared by the kernel generators.
#pragma once

#include <cstdint>

#include "wafer/kernels/kernels.hpp"

namespace wafer::kernels {

// The grid must fit on the arch's fabric.
Status check_grid(const arch::Arch& arch, const KernelParams& p);
// A size flag must lie in [lo, hi]; the error names the flag.
Status check_size(const char* flag, int64_t value, int64_t lo, int64_t hi);
// Elements of type t that fit in one PE's SRAM next to `other_bytes` of other data.
int64_t max_elements(const arch::Arch& arch, DType t, int64_t other_bytes);
// Unit roundoff of a type (2^-24 for fp32, 2^-11 fp16, 2^-8 bf16; 0 for integers).
double unit_roundoff(DType t);
// Accepted normwise error of a sum of k rounded terms with random signs.
double sum_tolerance(DType t, uint64_t k);

// Builders, one per kernel (collectives.cpp, gemv.cpp, stream_fma.cpp).
Expected<KernelCase> build_bcast_row(const arch::Arch& a, const KernelParams& p);
Expected<KernelCase> build_bcast_col(const arch::Arch& a, const KernelParams& p);
Expected<KernelCase> build_reduce_chain(const arch::Arch& a, const KernelParams& p);
Expected<KernelCase> build_reduce_tree(const arch::Arch& a, const KernelParams& p);
Expected<KernelCase> build_allreduce_case(const arch::Arch& a, const KernelParams& p);
Expected<KernelCase> build_gemv(const arch::Arch& a, const KernelParams& p);
Expected<KernelCase> build_stream_fma(const arch::Arch& a, const KernelParams& p);

}  // namespace wafer::kernels
