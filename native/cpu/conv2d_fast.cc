// Implicit-GEMM convolution kernels for NHWC, stride 1 (declared in cpu/conv2d_lowering.h), for
// AVX2 + FMA (compiled for it whatever the build's -march; chosen at run time, cpu/isa.h). im2col + GEMM spends about half its time outside the multiply: writing the 9x
// larger column matrix, OpenBLAS packing it and zeroing C, and col2im. These kernels read the
// windows straight from the (padded) image instead:
//   forward      y[p, o]  = sum over taps t and channels c of x[pix(p, t), c] * W[t, c, o]
//                register tile: 6 consecutive output pixels x 16 output channels (12 accumulators),
//                W repacked per 16-channel block so each step loads 64 contiguous bytes;
//   input grad   dx = the same forward kernel on dy zero-padded by KH-1 / KW-1, with the kernel
//                flipped and each tap transposed (a "full" convolution), so no col2im;
//   weight grad  dW[t, c, o] = sum over p of x[pix(p, t), c] * dy[p, o], tile 6 channels x 16 output
//                channels, one output row of pixels at a time so its dy stays in L1.
// Work is per image; the caller spreads images over threads and owns all buffers' lifetimes.
#include <algorithm>
#include <cstring>

#include "common/isa_target.h"
#include "cpu/conv2d_lowering.h"
#include "cpu/gemm.h"
#include "cpu/isa.h"

namespace tb::cpu::conv {

#ifdef TB_ISA_X86
namespace avx2 {
TB_ISA_BEGIN_AVX2
namespace {

constexpr int kPix = 6;  // pixels per forward tile
constexpr int kOB = 16;  // output channels per tile (two 8-float vectors)
// Output pixels per weight-gradient block: 48 (two MNIST rows) measured best of 24..192 (the block's
// dy and input rows stay in L1 across all tiles; larger blocks spill, smaller ones flush more).
constexpr int64_t kWgradRows = 48;

// out (np pixels, 16 channels at stride ldo) = act(bias + sum_t sum_c in[tapOff[t] + i*cin + c] * w[t][c][0:16])
template <int NP>
inline void FwdTile(const float* in, const int64_t* tapOff, int64_t taps, int64_t cin, const float* w,
                    const float* bias, bool relu, float* out, int64_t ldo) {
  __m256 acc[NP][2];
  const __m256 b0 = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
  const __m256 b1 = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
  for (int i = 0; i < NP; ++i) {
    acc[i][0] = b0;
    acc[i][1] = b1;
  }
  for (int64_t t = 0; t < taps; ++t) {
    const float* src = in + tapOff[t];
    const float* wt = w + t * cin * kOB;
    for (int64_t c = 0; c < cin; ++c) {
      const __m256 w0 = _mm256_loadu_ps(wt + c * kOB), w1 = _mm256_loadu_ps(wt + c * kOB + 8);
      for (int i = 0; i < NP; ++i) {
        const __m256 v = _mm256_broadcast_ss(src + i * cin + c);
        acc[i][0] = _mm256_fmadd_ps(v, w0, acc[i][0]);
        acc[i][1] = _mm256_fmadd_ps(v, w1, acc[i][1]);
      }
    }
  }
  const __m256 zero = _mm256_setzero_ps();
  for (int i = 0; i < NP; ++i) {
    __m256 a0 = acc[i][0], a1 = acc[i][1];
    if (relu) {
      a0 = _mm256_max_ps(zero, a0);  // max_ps returns its second operand for NaN: NaN passes, like the relu op
      a1 = _mm256_max_ps(zero, a1);
    }
    _mm256_storeu_ps(out + i * ldo, a0);
    _mm256_storeu_ps(out + i * ldo + 8, a1);
  }
}

// One output row of ow pixels, in tiles of at most kPix pixels as even as possible (26 = 6+5+5+5+5,
// not 6+6+6+6+2: a 2-pixel tile has too few independent accumulators to hide the FMA latency).
void FwdRow(const float* in, const int64_t* tapOff, int64_t taps, int64_t cin, const float* w, const float* bias,
            bool relu, float* out, int64_t ldo, int64_t ow) {
  const int64_t tiles = (ow + kPix - 1) / kPix;
  for (int64_t t = 0, ox = 0; t < tiles; ++t) {
    const int64_t np = (ow - ox) / (tiles - t) + ((ow - ox) % (tiles - t) ? 1 : 0);
    const float* src = in + ox * cin;
    float* dst = out + ox * ldo;
    switch (np) {
      case 6: FwdTile<6>(src, tapOff, taps, cin, w, bias, relu, dst, ldo); break;
      case 5: FwdTile<5>(src, tapOff, taps, cin, w, bias, relu, dst, ldo); break;
      case 4: FwdTile<4>(src, tapOff, taps, cin, w, bias, relu, dst, ldo); break;
      case 3: FwdTile<3>(src, tapOff, taps, cin, w, bias, relu, dst, ldo); break;
      case 2: FwdTile<2>(src, tapOff, taps, cin, w, bias, relu, dst, ldo); break;
      default: FwdTile<1>(src, tapOff, taps, cin, w, bias, relu, dst, ldo); break;
    }
    ox += np;
  }
}

// dw rows c..c+NC-1, 16 channels from o (row stride ldw) += sum over rows x n pixels of
// x[c] * g[0:16], pixel (row, i) at x0 + row*xrs + i*xs and g0p + row*grs + i*gs. 2*NC accumulators in named registers (an array of them ends up
// stored to the stack every iteration); the two g vectors are loaded once per pixel.
template <int NC>
inline void WgradTile(const float* x0, int64_t xs, int64_t xrs, const float* g0p, int64_t gs, int64_t grs,
                      int64_t rows, int64_t n, float* dw, int64_t ldw) {
  static_assert(NC == 2 || NC == 4 || NC == 6, "tile height");
  __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00,
         a40 = a00, a41 = a00, a50 = a00, a51 = a00;
  for (int64_t row = 0; row < rows; ++row) {
    const float* x = x0 + row * xrs;
    const float* g = g0p + row * grs;
    for (int64_t i = 0; i < n; ++i, x += xs, g += gs) {
      __m256 g0 = _mm256_loadu_ps(g), g1 = _mm256_loadu_ps(g + 8);
      // Keep g in registers: folded into each FMA as a memory operand it would be loaded NC times.
      __asm__("" : "+x"(g0), "+x"(g1));
      __m256 v = _mm256_broadcast_ss(x);
      a00 = _mm256_fmadd_ps(v, g0, a00);
      a01 = _mm256_fmadd_ps(v, g1, a01);
      v = _mm256_broadcast_ss(x + 1);
      a10 = _mm256_fmadd_ps(v, g0, a10);
      a11 = _mm256_fmadd_ps(v, g1, a11);
      if (NC > 2) {
        v = _mm256_broadcast_ss(x + 2);
        a20 = _mm256_fmadd_ps(v, g0, a20);
        a21 = _mm256_fmadd_ps(v, g1, a21);
        v = _mm256_broadcast_ss(x + 3);
        a30 = _mm256_fmadd_ps(v, g0, a30);
        a31 = _mm256_fmadd_ps(v, g1, a31);
      }
      if (NC > 4) {
        v = _mm256_broadcast_ss(x + 4);
        a40 = _mm256_fmadd_ps(v, g0, a40);
        a41 = _mm256_fmadd_ps(v, g1, a41);
        v = _mm256_broadcast_ss(x + 5);
        a50 = _mm256_fmadd_ps(v, g0, a50);
        a51 = _mm256_fmadd_ps(v, g1, a51);
      }
    }
  }
  auto add = [](float* r, __m256 lo, __m256 hi) {
    _mm256_storeu_ps(r, _mm256_add_ps(_mm256_loadu_ps(r), lo));
    _mm256_storeu_ps(r + 8, _mm256_add_ps(_mm256_loadu_ps(r + 8), hi));
  };
  add(dw, a00, a01);
  add(dw + ldw, a10, a11);
  if (NC > 2) {
    add(dw + 2 * ldw, a20, a21);
    add(dw + 3 * ldw, a30, a31);
  }
  if (NC > 4) {
    add(dw + 4 * ldw, a40, a41);
    add(dw + 5 * ldw, a50, a51);
  }
}

void PackWeights(const Conv2dDims& d, const float* weight, bool forInputGrad, float* packed) {
  PackImplicitWeights(d, weight, forInputGrad, kOB, packed);
}

void ForwardImage(int64_t kh, int64_t kw, int64_t hp, int64_t wp, int64_t cin, const float* in, int64_t oh,
                      int64_t ow, int64_t cout, const float* packed, const float* bias, bool relu, float* out) {
  int64_t tapOff[64];
  for (int64_t ky = 0; ky < kh; ++ky)
    for (int64_t kx = 0; kx < kw; ++kx) tapOff[ky * kw + kx] = (ky * wp + kx) * cin;
  const int64_t taps = kh * kw;
  (void)hp;
  for (int64_t ob = 0; ob < cout / kOB; ++ob) {
    const float* w = packed + ob * taps * cin * kOB;
    const float* b = bias ? bias + ob * kOB : nullptr;
    for (int64_t oy = 0; oy < oh; ++oy)
      FwdRow(in + oy * wp * cin, tapOff, taps, cin, w, b, relu, out + oy * ow * cout + ob * kOB, cout, ow);
  }
}

void WeightGradImage(const Conv2dDims& d, const float* xin, int64_t wp, const float* g, int64_t ldgRow,
                         float* dw) {
  const int64_t C = d.c, OC = d.oc, ow = d.ow;
  // Blocks of output rows whose dy and input rows stay in L1 across all (tap, channel) tiles.
  const int64_t rowsPer = std::max<int64_t>(1, kWgradRows / std::max<int64_t>(1, ow));
  for (int64_t oy = 0; oy < d.oh; oy += rowsPer) {
    const int64_t rows = std::min(rowsPer, d.oh - oy);
    const float* grow = g + oy * ldgRow;  // ow pixels, OC channels each
    for (int64_t ky = 0; ky < d.kh; ++ky)
      for (int64_t kx = 0; kx < d.kw; ++kx) {
        const float* xrow = xin + ((oy + ky) * wp + kx) * C;  // pixel ox at xrow + ox*C
        float* dwt = dw + (ky * d.kw + kx) * C * OC;
        const int64_t xrs = wp * C;
        for (int64_t o0 = 0; o0 < OC; o0 += kOB) {
          int64_t c0 = 0;
          for (; c0 + 6 <= C; c0 += 6)
            WgradTile<6>(xrow + c0, C, xrs, grow + o0, OC, ldgRow, rows, ow, dwt + c0 * OC + o0, OC);
          if (C - c0 == 4) WgradTile<4>(xrow + c0, C, xrs, grow + o0, OC, ldgRow, rows, ow, dwt + c0 * OC + o0, OC);
          if (C - c0 == 2) WgradTile<2>(xrow + c0, C, xrs, grow + o0, OC, ldgRow, rows, ow, dwt + c0 * OC + o0, OC);
        }
      }
  }
}

const FastConv kFast{16, 4, false, &PackWeights, &ForwardImage, &WeightGradImage};

}  // namespace
TB_ISA_END
}  // namespace avx2

const FastConv* FastConvAvx2() { return &avx2::kFast; }
#else
const FastConv* FastConvAvx2() { return nullptr; }
#endif

const FastConv* FastConvKernels() {
  switch (ActiveIsa()) {
    case Isa::kAvx512: return MatmulBf16() && FastConvAvx512Bf16() ? FastConvAvx512Bf16() : FastConvAvx512();
    case Isa::kAvx2: return FastConvAvx2();
    default: return nullptr;
  }
}

}  // namespace tb::cpu::conv
