// Checks and numeric helpers shared by the kernel generators.
#pragma once

#include <cstdint>

#include "wafer/kernels/compose.hpp"
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

// p with n set to `n` scaled by f (at least 1).
KernelParams scale_n(const KernelParams& p, int64_t n, double f);
// The registry's row of a kernel, or an error listing the kernels.
Expected<const KernelInfo*> known_kernel(const std::string& name);
// A builder's error prefixed with the kernel's name, unless an emitter named it already.
Status named_by_kernel(const Status& st, const std::string& kernel);
// Refuses, before any data exists, a run whose estimate (estimate_kernel_memory) exceeds the
// available memory; the message names sizes or a grid that would fit (memory.cpp).
Status check_kernel_memory(const arch::Arch& arch, const KernelParams& p, const sim::Options& options);

// Builders, one per kernel, with their host-memory estimates and size scaling beside them
// (collectives.cpp, gemv.cpp, stream_fma.cpp).
Expected<KernelCase> build_bcast_row(const arch::Arch& a, const KernelParams& p, Stage s);
Expected<KernelCase> build_bcast_col(const arch::Arch& a, const KernelParams& p, Stage s);
Expected<KernelCase> build_reduce_chain(const arch::Arch& a, const KernelParams& p, Stage s);
Expected<KernelCase> build_reduce_tree(const arch::Arch& a, const KernelParams& p, Stage s);
Expected<KernelCase> build_allreduce_case(const arch::Arch& a, const KernelParams& p, Stage s);
HostBytes every_pe_result_host_bytes(const KernelParams& p);
HostBytes row_reduce_host_bytes(const KernelParams& p);
KernelParams scale_collective_sizes(const KernelParams& p, double f);
Expected<KernelCase> build_gemv(const arch::Arch& a, const KernelParams& p, Stage s);
HostBytes gemv_host_bytes(const KernelParams& p);
KernelParams scale_gemv_sizes(const KernelParams& p, double f);
Expected<KernelCase> build_gemm(const arch::Arch& a, const KernelParams& p, Stage s);
Expected<KernelCase> build_gemm_bt(const arch::Arch& a, const KernelParams& p, Stage s);  // C = A·Bᵀ + bias
HostBytes gemm_host_bytes(const KernelParams& p);
KernelParams scale_gemm_sizes(const KernelParams& p, double f);
Expected<KernelCase> build_attention(const arch::Arch& a, const KernelParams& p, Stage s);
HostBytes attention_host_bytes(const KernelParams& p);
KernelParams scale_attention_sizes(const KernelParams& p, double f);
Expected<KernelCase> build_rope(const arch::Arch& a, const KernelParams& p, Stage s);
HostBytes rope_host_bytes(const KernelParams& p);
Expected<KernelCase> build_stream_fma(const arch::Arch& a, const KernelParams& p, Stage s);
HostBytes stream_fma_host_bytes(const KernelParams& p);
KernelParams scale_stream_fma_sizes(const KernelParams& p, double f);
// CNN layers (conv.cpp, globalpool.cpp, batchnorm.cpp): --m image side, --n channels, --k
// conv2d's input channels, --algo the window (k3s1p1).
Expected<KernelCase> build_conv2d(const arch::Arch& a, const KernelParams& p, Stage s);
Expected<KernelCase> build_maxpool(const arch::Arch& a, const KernelParams& p, Stage s);
Expected<KernelCase> build_avgpool(const arch::Arch& a, const KernelParams& p, Stage s);
Expected<KernelCase> build_globalavgpool(const arch::Arch& a, const KernelParams& p, Stage s);
Expected<KernelCase> build_batchnorm(const arch::Arch& a, const KernelParams& p, Stage s);
HostBytes cnn_host_bytes(const KernelParams& p);
KernelParams scale_cnn_sizes(const KernelParams& p, double f);

}  // namespace wafer::kernels
