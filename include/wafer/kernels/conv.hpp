// Convolution, pooling and batch normalisation for small CNNs (batch 1) as composable
// emitters: the window spec, the shapes and per-PE layouts, and the emitters of conv_emit.cpp,
// globalpool.cpp and batchnorm.cpp, which the standalone builders of conv.cpp wrap.
//
// Layout shared by all of them: channels are split over the rectangle's x axis in blocks of
// cb = ceil(C / w) (channels past C are padding: zero weights, zero input), rows over its y
// axis in bands of ob = ceil(rows / h) (rows past the end are computed over the zero-extended
// input, and a consumer ignores them). Each PE's output block is cb x ob x OW, channel-major,
// row-major within a channel.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "wafer/kernels/compose.hpp"
#include "wafer/kernels/kernels.hpp"

namespace wafer::kernels {

// A square window: size k, stride s, padding p, written "k3s1p1".
struct Window {
  int k = 3, s = 1, p = 1;
};
// Parses "kKsSpP" (any part may be left out and takes `def`'s value, e.g. "k5s2").
Expected<Window> parse_window(const std::string& spec, Window def);
std::string window_name(const Window& w);

enum class TapOp : uint8_t { conv, max, avg };

// A window operation (conv2d, maxpool, avgpool) of one C x H x W image on a w x h rectangle.
struct WindowShape {
  TapOp op = TapOp::conv;
  int w = 1, h = 1;            // PEs: columns x rows
  int64_t H = 1, W = 1;        // the image
  int64_t cin = 1, cout = 1;   // channels (pooling: cin == cout)
  Window win;
  DType t = DType::f32, acc = DType::f32;
  // Derived by window_shape(). The input band of a channel is held as s x s phase planes,
  // plane (a, b) holding the band's rows a, a + s, ... and columns b, b + s, ..., so that
  // every tap reads its plane with stride 1.
  int64_t OH = 1, OW = 1;      // output rows and columns
  int64_t Wp = 1;              // padded input width W + 2p
  int64_t cb = 1, ob = 1;      // output channels and output rows per PE
  int64_t Rq = 1, Wq = 1;      // a phase plane: ob + ceil(k / s) - 1 rows of ceil(Wp / s)
  int64_t pitch = 1;           // accumulator row pitch: Wq, or OW when the output is written directly
  int64_t planes() const { return int64_t(win.s) * win.s; }
  int64_t plane_block() const { return planes() * Rq * Wq; }  // one channel's band
  int64_t cin_pe() const { return op == TapOp::conv ? cin : cb; }  // input channels per PE
  int64_t in_elements() const { return cin_pe() * plane_block(); }
  int64_t out_elements() const { return cb * ob * OW; }
  int64_t op_length() const { return (ob - 1) * pitch + OW; }  // one op covers all ob rows
  int64_t macs() const { return cout * OH * OW * (op == TapOp::conv ? cin : 1) * win.k * win.k; }
  bool separate_acc() const { return pitch != OW; }  // the strided accumulator is compacted at the end
  int64_t sram_bytes() const;
};

// Derives the output size and the per-PE blocks, and checks the window against the image,
// the numbers against the ISA and the blocks against the PE's SRAM.
Expected<WindowShape> window_shape(const arch::Arch& arch, WindowShape s);

// Element functions of the host data: the image (called inside it only), the weights and
// the bias.
using ImageFn = std::function<double(int64_t c, int64_t row, int64_t col)>;
using WeightFn = std::function<double(int64_t co, int64_t ci, int64_t ky, int64_t kx)>;
using ChannelFn = std::function<double(int64_t c)>;

// The value the input layout holds at image position (c, row, col), which may lie in the
// padding or past the image: the image inside it; for max pooling -inf in the padding frame
// of a real channel (so a window never takes a pad); zero everywhere else.
double padded_value(const WindowShape& s, const ImageFn& x, int64_t c, int64_t row, int64_t col);

struct WindowEmitted {
  int entry = -1;
  std::string out;  // the output symbol: cb x ob x OW per PE in the accumulation type
  int out_symbol = -1;  // its index in the code
  std::string in, weights, bias;  // the symbols `inputs` writes (weights and bias: conv only)
  // Host copies of each PE's input band (cin_pe x s² planes x Rq x Wq: its ob output rows'
  // input rows with the halo, padding included, replicated over x for conv), the weights of its
  // cb output channels (cb x cin x k x k) and their bias.
  std::function<std::vector<HostCopy>(const ImageFn& x, const WeightFn& w, const ChannelFn& bias)> inputs;
};

// conv2d, maxpool or avgpool on site.rect (conv_emit.cpp).
Expected<WindowEmitted> emit_window(Emit& e, const Site& site, const WindowShape& s);

// Global average pooling: the mean over H x W of each of C channels. Channels split over x
// (cb per PE), image rows over y (ob per PE); each PE holds its ob x W positions x cb
// channels, channel fastest. The result, cb means per PE, is on the rectangle's row 0.
struct GlobalPoolShape {
  int w = 1, h = 1;
  int64_t H = 1, W = 1, C = 1;
  DType t = DType::f32, acc = DType::f32;
  int64_t cb = 1, ob = 1;
};
Expected<GlobalPoolShape> global_pool_shape(const arch::Arch& arch, GlobalPoolShape s);
struct GlobalPoolEmitted {
  int entry = -1;
  std::string out;  // cb means per PE (valid on row 0)
  std::function<std::vector<HostCopy>(const ImageFn& x)> inputs;
};
Expected<GlobalPoolEmitted> emit_global_avgpool(Emit& e, const Site& site, const GlobalPoolShape& s);

// Inference batch normalisation y = x·scale + shift per channel, with scale = gamma /
// sqrt(var + eps) and shift = beta - mean·scale folded on the host into fp32. The input has
// the window operations' output layout (cb x ob x W per PE); the output the same, in t.
struct BatchNormShape {
  int w = 1, h = 1;
  int64_t H = 1, W = 1, C = 1;
  DType t = DType::f32;
  int64_t cb = 1, ob = 1;
};
Expected<BatchNormShape> batchnorm_shape(const arch::Arch& arch, BatchNormShape s);
struct BatchNormEmitted {
  int entry = -1;
  std::string out;
  std::string in, scale, shift;  // the symbols `inputs` writes
  // x: the input; scale, shift: the folded per-channel factors.
  std::function<std::vector<HostCopy>(const ImageFn& x, const ChannelFn& scale, const ChannelFn& shift)> inputs;
};
Expected<BatchNormEmitted> emit_batchnorm(Emit& e, const Site& site, const BatchNormShape& s);

// Host data of a channels-over-x, rows-over-y block: cb x ob x W values of PE (px, py),
// channel-major, from f(c, row, col) with channels past C and rows past H as zero.
std::vector<double> channel_row_block(int64_t C, int64_t H, int64_t W, int64_t cb, int64_t ob, int px, int py,
                                      const ImageFn& f);

// A one-kernel program on a rectangle for the standalone builders: the code, the pools and
// the context to emit into; finish() places the code on the whole program and fills the case.
class Standalone {
 public:
  Standalone(const arch::Arch& arch, const ir::Rect& rect, const std::string& name);
  Emit& emit() { return emit_; }
  KernelCase finish(int entry, const std::string& result, const ir::Rect& result_rect);

 private:
  ir::Rect rect_;
  KernelCase kc_;
  Pools pools_;
  ir::CodeBuilder code_;
  Emit emit_;
};

// The image side (H = W) and channels from --m, --n (and --k for conv2d's input channels),
// with the kernel's defaults; errors name the flag.
struct CnnDims {
  int64_t H, C, cin;
};
Expected<CnnDims> cnn_dims(const KernelParams& p);
// Elements per cycle of one PE's arithmetic ops into acc (for the peak of
// kc.peak_flops_per_cycle; FMAs: kernel_util.hpp's fma_lanes).
double arith_lanes(const arch::Arch& a, DType acc);
// Seeded host data: element i of stream `seed` rounded to t, in [lo, hi).
double seeded(DType t, uint64_t seed, uint64_t i, double lo = -1, double hi = 1);

}  // namespace wafer::kernels
