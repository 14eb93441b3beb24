// im2col / col2im for conv2d (cpu/conv2d.cc), both layouts. Internal to the conv2d family.
// The TB_PARALLEL_FOR loops inside split one call over the team when called outside a parallel
// region, and run on the calling thread when called from inside one.
#pragma once
#include <cstdint>
#include <memory>
#include <new>

#include "common/parallel.h"
#include "cpu/aligned_buffer.h"
#include "cpu/conv2d.h"

namespace tb::cpu::conv {

// A buffer that only grows; one per thread and purpose, so a training loop allocates it once.
// 64-byte aligned: the kernels load whole rows of 16 channels from the padded images and gradients,
// and a load that straddles two cache lines costs two (the conv2 weight gradient ran 5-8% slower
// with new[]'s 16-byte alignment on Zen 5).
using Workspace = AlignedBuffer<float>;

// Output positions o in [lo, hi) of [0, out) whose input coordinate o*stride - off lies in [0, in).
void ValidOut(int64_t in, int64_t out, int64_t stride, int64_t off, int64_t* lo, int64_t* hi);

// cols (r1 - r0, KH*KW*C): row r = (n*OH + oy)*OW + ox holds that window, C contiguous.
void Im2colNhwc(const Conv2dDims& d, const float* x, int64_t r0, int64_t r1, float* cols);

// dx += col2im(dcols) for the output rows [r0, r1); touches only the images those rows belong to.
void Col2imNhwc(const Conv2dDims& d, const float* dcols, int64_t r0, int64_t r1, float* dx);

// cols (C*KH*KW, j1 - j0) for output positions [j0, j1) of one image img (C, H, W).
void Im2colNchw(const Conv2dDims& d, const float* img, int64_t j0, int64_t j1, float* cols);

// dimg (C, H, W) += col2im(dcols (C*KH*KW, j1 - j0)).
void Col2imNchw(const Conv2dDims& d, const float* dcols, int64_t j0, int64_t j1, float* dimg);

// db (OC, double) += the column sums of g (R, OC): float sums over short runs of rows (vectorized),
// added into double so that a whole batch (~1e5 rows) keeps float accuracy.
void AddColumnSums(const float* g, int64_t R, int64_t OC, double* db);

// Direct kernels for a small window volume K = KH*KW*C (the first layer of an image network, where
// C is 1 or 3): one output row at a time with the OC outputs as the vector lane, no column buffer.
// y rows [r0, r1) = act(conv + bias), NHWC.
void DirectForwardNhwc(const Conv2dDims& d, const float* x, const float* weight, const float* bias, float* y,
                       int64_t r0, int64_t r1, bool relu);
// dw (K, OC) += sum over rows [r0, r1) of window(x) * g, db (OC, double) += g, where g is dy masked by
// y > 0 when y is not null.
void DirectWeightGradNhwc(const Conv2dDims& d, const float* x, const float* dy, const float* y, int64_t r0,
                          int64_t r1, float* dw, double* db);

// out[i] = y[i] > 0 ? dy[i] : 0 (the gradient through a fused ReLU).
void MaskRelu(const float* dy, const float* y, int64_t n, float* out);

// Implicit-GEMM kernels for stride 1 on NHWC images (conv2d_fast.cc for AVX2, conv2d_fast_avx512.cc),
// one set per instruction set; the drivers are in conv2d_implicit.cc.
struct FastConv {
  // Channel counts must be multiples of this: OC for the forward and weight gradient, C for the
  // input gradient.
  int64_t channelBlock;
  // The weight gradient needs C to be a multiple of this.
  int64_t wgradChannels;
  // Whether these kernels also beat the direct ones for a small window (KH*KW*C <= 16).
  bool smallWindows;
  // The weight (KH, KW, C, OC) repacked for forwardImage: in blocks of output channels; for the input
  // gradient (forInputGrad), the kernel flipped with each tap transposed (output channels = C).
  // packed holds KH*KW*C*OC floats.
  void (*pack)(const Conv2dDims& d, const float* weight, bool forInputGrad, float* packed);
  // One image: out (oh, ow, cout) = act(bias + valid conv of in (hp, wp, cin) with the packed kernel
  // (kh x kw)); oh = hp - kh + 1, ow = wp - kw + 1.
  void (*forwardImage)(int64_t kh, int64_t kw, int64_t hp, int64_t wp, int64_t cin, const float* in, int64_t oh,
                       int64_t ow, int64_t cout, const float* packed, const float* bias, bool relu, float* out);
  // One image: dw (KH, KW, C, OC) += the weight gradient from xin (rows of wp pixels, C channels, the
  // image already padded so that output (oy, ox) reads xin at (oy + ky, ox + kx)) and g (oh rows at
  // stride ldgRow floats, ow pixels of OC channels).
  void (*weightGradImage)(const Conv2dDims& d, const float* xin, int64_t wp, const float* g, int64_t ldgRow,
                          float* dw);
};
const FastConv* FastConvAvx2();    // null where the build has no x86 target support
const FastConv* FastConvAvx512();  // likewise
// bf16 operands, fp32 sums (conv2d_fast_bf16.cc; needs AVX512_BF16, checked by the caller)
const FastConv* FastConvAvx512Bf16();
// FastConv::pack's layout with output-channel blocks of b floats (the weight is (KH, KW, C, OC);
// OC, or C for the input gradient, a multiple of b).
void PackImplicitWeights(const Conv2dDims& d, const float* weight, bool forInputGrad, int64_t b, float* packed);
// The set for the instruction set (and matmul precision) in use, or null (portable: im2col + GEMM).
const FastConv* FastConvKernels();
// The AVX-512 weight gradients (fp32 and bf16) sum over blocks of output rows whose dy and input rows
// take at most this many bytes, about a quarter of a 1 MiB L2: every (tap, channel tile) sweep over a
// block reads them from L2, and each tile's accumulators are added into dw once per block. All 24
// rows of the MNIST conv2 make one block; on 2 threads that ran 20% (fp32) and 40% (bf16) faster
// than blocks of two rows (the AVX2 kernel's, sized for L1; the same speed on one thread).
constexpr int64_t kWgradBlockBytes = 256 << 10;

// Winograd F(2x2, 3x3) for the 3x3 stride-1 image convolutions of the implicit drivers (the forward
// and the input gradient's "full" convolution), on AVX-512 with fp32 products (conv2d_winograd.cc).
// kNonFinite: an output came out NaN or infinite, which the transforms may have made so;
// the caller computes that image again with the implicit GEMM, whose result is the op's.
enum class WinogradResult { kOk, kNoMemory, kNonFinite };
struct Winograd {
  // Whether it computes this convolution: 3x3, cin a multiple of 16, cout of 32, oh and ow even.
  bool (*applies)(int64_t kh, int64_t kw, int64_t cin, int64_t cout, int64_t oh, int64_t ow);
  // The transformed kernel U (16 x cin x cout floats) from the weight (KH, KW, C, OC); for the input
  // gradient, of the flipped kernel from dy's OC channels to dx's C (cin = OC, cout = C).
  void (*pack)(const Conv2dDims& d, const float* weight, bool forInputGrad, float* U);
  // FastConv::forwardImage for kh = kw = 3 (the input has oh + 2 rows of wp >= ow + 2 pixels).
  WinogradResult (*image)(int64_t wp, int64_t cin, const float* in, int64_t oh, int64_t ow, int64_t cout, const float* U,
                const float* bias, bool relu, float* out);
};
// The set when the active instruction set is AVX-512 and products are fp32, else null (and null
// under TENSORBOLT_WINOGRAD=0).
const Winograd* WinogradKernels();

// The per-image drivers of those kernels, NHWC and NCHW (conv2d_implicit.cc). Applies: stride 1, a
// window of at most 64 taps, whole channel blocks, and smallWindows for a window the direct kernels
// would take.
bool ImplicitApplies(const Conv2dDims& d, const FastConv* k, bool backward, bool needDx, bool smallWindow);
// y = act(conv(x, weight) + bias): Conv2dForward's contract.
Status ImplicitForward(const FastConv& k, const Conv2dDims& d, const float* x, const float* weight, const float* bias,
                       float* y, bool relu);
// Conv2dBackward's contract; reluY is the forward's output when a fused ReLU is differentiated.
Status ImplicitBackward(const FastConv& k, const Conv2dDims& d, const float* x, const float* weight, const float* dy,
                        float* dx, float* dweight, float* dbias, const float* reluY);

}  // namespace tb::cpu::conv
