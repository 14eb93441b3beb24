// The implicit-GEMM convolution kernels (cpu/conv2d_lowering.h) for AVX-512: the AVX2 kernels'
// scheme (conv2d_fast.cc) with 16-float vectors and twice the registers.
//   forward      tile: NP output pixels x NV*16 output channels, NP*NV <= 24 accumulators; the
//                weights are packed in blocks of NV*16 output channels (ob), so a step of the
//                channel loop loads NV contiguous vectors and broadcasts NP input values.
//                ob = 64 (4 vectors x 6 pixels) when the channels allow, then 32 (2 x 12), then 16.
//   weight grad  tile: NC input channels x NV*16 output channels, summed over a block of output
//                pixels whose dy and input rows stay in L1.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "common/isa_target.h"
#include "cpu/conv2d_lowering.h"

namespace tb::cpu::conv {

#ifdef TB_ISA_X86
namespace avx512 {
TB_ISA_BEGIN_AVX512
namespace {

// Output pixels per weight-gradient block (two MNIST rows, as the AVX2 kernel).
constexpr int64_t kWgradPix = 48;

int64_t BlockOf(int64_t cout) { return cout % 64 == 0 ? 64 : cout % 32 == 0 ? 32 : 16; }

// out (NP pixels, NV*16 channels at stride ldo) = act(bias + sum_t sum_c in[tapOff[t] + i*cin + c] * w[t][c][:])
template <int NV, int NP>
void FwdTile(const float* in, const int64_t* tapOff, int64_t taps, int64_t cin, const float* w, const float* bias,
             bool relu, float* out, int64_t ldo) {
  constexpr int64_t ob = NV * 16;
  __m512 acc[NP][NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    const __m512 b = bias ? _mm512_loadu_ps(bias + 16 * v) : _mm512_setzero_ps();
#pragma GCC unroll 24
    for (int i = 0; i < NP; ++i) acc[i][v] = b;
  }
  for (int64_t t = 0; t < taps; ++t) {
    const float* src = in + tapOff[t];
    const float* wt = w + t * cin * ob;
    for (int64_t c = 0; c < cin; ++c) {
      __m512 wv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) wv[v] = _mm512_loadu_ps(wt + c * ob + 16 * v);
#pragma GCC unroll 24
      for (int i = 0; i < NP; ++i) {
        const __m512 x = _mm512_set1_ps(src[i * cin + c]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(x, wv[v], acc[i][v]);
      }
    }
  }
  const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 24
  for (int i = 0; i < NP; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      // max_ps(zero, a) returns a for NaN (its second operand): NaN passes, like the relu op
      _mm512_storeu_ps(out + i * ldo + 16 * v, relu ? _mm512_max_ps(zero, acc[i][v]) : acc[i][v]);
    }
}

// One output row of ow pixels in tiles of at most NPMAX, as even as possible.
template <int NV, int NPMAX>
void FwdRow(const float* in, const int64_t* tapOff, int64_t taps, int64_t cin, const float* w, const float* bias,
            bool relu, float* out, int64_t ldo, int64_t ow) {
  using Fn = void (*)(const float*, const int64_t*, int64_t, int64_t, const float*, const float*, bool, float*, int64_t);
  static constexpr Fn kTiles[12] = {
      &FwdTile<NV, 1>, &FwdTile<NV, 2>, &FwdTile<NV, 3>, &FwdTile<NV, 4>,
      &FwdTile<NV, (NPMAX >= 5 ? 5 : 1)>, &FwdTile<NV, (NPMAX >= 6 ? 6 : 1)>, &FwdTile<NV, (NPMAX >= 7 ? 7 : 1)>,
      &FwdTile<NV, (NPMAX >= 8 ? 8 : 1)>, &FwdTile<NV, (NPMAX >= 9 ? 9 : 1)>, &FwdTile<NV, (NPMAX >= 10 ? 10 : 1)>,
      &FwdTile<NV, (NPMAX >= 11 ? 11 : 1)>, &FwdTile<NV, (NPMAX >= 12 ? 12 : 1)>};
  const int64_t tiles = (ow + NPMAX - 1) / NPMAX;
  for (int64_t t = 0, ox = 0; t < tiles; ++t) {
    const int64_t np = (ow - ox) / (tiles - t) + ((ow - ox) % (tiles - t) ? 1 : 0);
    kTiles[np - 1](in + ox * cin, tapOff, taps, cin, w, bias, relu, out + ox * ldo, ldo);
    ox += np;
  }
}

// dw rows c..c+NC-1, NV*16 channels (row stride ldw) += sum over the pixels of x[c] * g[:], pixel
// (row, i) at x0 + row*xrs + i*xs and g0 + row*grs + i*gs.
template <int NC, int NV>
void WgradTile(const float* x0, int64_t xs, int64_t xrs, const float* g0, int64_t gs, int64_t grs, int64_t rows,
               int64_t n, float* dw, int64_t ldw) {
  __m512 acc[NC][NV];
#pragma GCC unroll 12
  for (int c = 0; c < NC; ++c)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[c][v] = _mm512_setzero_ps();
  for (int64_t row = 0; row < rows; ++row) {
    const float* x = x0 + row * xrs;
    const float* g = g0 + row * grs;
    for (int64_t i = 0; i < n; ++i, x += xs, g += gs) {
      __m512 gv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) gv[v] = _mm512_loadu_ps(g + 16 * v);
#pragma GCC unroll 12
      for (int c = 0; c < NC; ++c) {
        const __m512 xv = _mm512_set1_ps(x[c]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[c][v] = _mm512_fmadd_ps(xv, gv[v], acc[c][v]);
      }
    }
  }
#pragma GCC unroll 12
  for (int c = 0; c < NC; ++c)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      float* r = dw + c * ldw + 16 * v;
      _mm512_storeu_ps(r, _mm512_add_ps(_mm512_loadu_ps(r), acc[c][v]));
    }
}

// Channels [0, C) in tiles of NC, then of 8, 4, 2 and 1.
template <int NC, int NV>
void WgradChannels(int64_t C, const float* x, int64_t xs, int64_t xrs, const float* g, int64_t gs, int64_t grs,
                   int64_t rows, int64_t n, float* dw, int64_t ldw) {
  int64_t c0 = 0;
  for (; c0 + NC <= C; c0 += NC) WgradTile<NC, NV>(x + c0, xs, xrs, g, gs, grs, rows, n, dw + c0 * ldw, ldw);
  auto tail = [&](auto tile, int64_t nc) {
    if (C - c0 >= nc) {
      tile(x + c0, xs, xrs, g, gs, grs, rows, n, dw + c0 * ldw, ldw);
      c0 += nc;
    }
  };
  if constexpr (NC > 8) tail(&WgradTile<8, NV>, 8);
  if constexpr (NC > 4) tail(&WgradTile<4, NV>, 4);
  tail(&WgradTile<2, NV>, 2);
  tail(&WgradTile<1, NV>, 1);
}

void PackWeights(const Conv2dDims& d, const float* weight, bool forInputGrad, float* packed) {
  const int64_t taps = d.kh * d.kw, C = d.c, OC = d.oc;
  if (!forInputGrad) {
    // packed[ob][t][c][0:b] = W[t][c][ob*b + j]; W is (KH, KW, C, OC)
    const int64_t b = BlockOf(OC);
    for (int64_t ob = 0; ob < OC / b; ++ob)
      for (int64_t t = 0; t < taps; ++t)
        for (int64_t c = 0; c < C; ++c)
          std::memcpy(packed + ((ob * taps + t) * C + c) * b, weight + (t * C + c) * OC + ob * b, sizeof(float) * b);
    return;
  }
  // The input gradient convolves the padded dy (OC channels) into C channels with the kernel
  // flipped: packed[cb][t'][o][0:b] = W[taps-1-t'][cb*b + j][o]
  const int64_t b = BlockOf(C);
  for (int64_t cb = 0; cb < C / b; ++cb)
    for (int64_t t = 0; t < taps; ++t)
      for (int64_t o = 0; o < OC; ++o) {
        float* dst = packed + ((cb * taps + t) * OC + o) * b;
        const float* src = weight + ((taps - 1 - t) * C + cb * b) * OC + o;
        for (int64_t j = 0; j < b; ++j) dst[j] = src[j * OC];
      }
}

void ForwardImage(int64_t kh, int64_t kw, int64_t hp, int64_t wp, int64_t cin, const float* in, int64_t oh,
                  int64_t ow, int64_t cout, const float* packed, const float* bias, bool relu, float* out) {
  int64_t tapOff[64];
  for (int64_t ky = 0; ky < kh; ++ky)
    for (int64_t kx = 0; kx < kw; ++kx) tapOff[ky * kw + kx] = (ky * wp + kx) * cin;
  const int64_t taps = kh * kw, b = BlockOf(cout);
  (void)hp;
  for (int64_t ob = 0; ob < cout / b; ++ob) {
    const float* w = packed + ob * taps * cin * b;
    const float* bb = bias ? bias + ob * b : nullptr;
    for (int64_t oy = 0; oy < oh; ++oy) {
      const float* src = in + oy * wp * cin;
      float* dst = out + oy * ow * cout + ob * b;
      if (b == 64)
        FwdRow<4, 6>(src, tapOff, taps, cin, w, bb, relu, dst, cout, ow);
      else if (b == 32)
        FwdRow<2, 12>(src, tapOff, taps, cin, w, bb, relu, dst, cout, ow);
      else
        FwdRow<1, 12>(src, tapOff, taps, cin, w, bb, relu, dst, cout, ow);
    }
  }
}

// A small window (taps * C = T values per output pixel, a first layer on 1-3 channels): all T rows
// of dw (NV*16 output channels from o0) accumulate in registers over the whole image, dy read once.
// off[j] is the offset of window value j from the pixel's first, j = tap * C + c as dw's rows.
template <int T, int NV>
void WgradWindow(const float* xin, int64_t wp, int64_t C, const int64_t* off, const float* g, int64_t ldgRow,
                 int64_t oh, int64_t ow, int64_t OC, float* dw) {
  __m512 acc[T][NV];
#pragma GCC unroll 24
  for (int j = 0; j < T; ++j)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[j][v] = _mm512_setzero_ps();
  for (int64_t oy = 0; oy < oh; ++oy) {
    const float* x = xin + oy * wp * C;
    const float* gr = g + oy * ldgRow;
    for (int64_t ox = 0; ox < ow; ++ox, x += C, gr += OC) {
      __m512 gv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) gv[v] = _mm512_loadu_ps(gr + 16 * v);
#pragma GCC unroll 24
      for (int j = 0; j < T; ++j) {
        const __m512 xv = _mm512_set1_ps(x[off[j]]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[j][v] = _mm512_fmadd_ps(xv, gv[v], acc[j][v]);
      }
    }
  }
#pragma GCC unroll 24
  for (int j = 0; j < T; ++j)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      float* r = dw + j * OC + 16 * v;
      _mm512_storeu_ps(r, _mm512_add_ps(_mm512_loadu_ps(r), acc[j][v]));
    }
}

using WindowFn = void (*)(const float*, int64_t, int64_t, const int64_t*, const float*, int64_t, int64_t, int64_t,
                          int64_t, float*);
template <int NV, int... T>
constexpr WindowFn kWindow[] = {&WgradWindow<T, NV>...};
// T = 1..12 (two vectors: 24 accumulators at most)
constexpr const WindowFn* kWindow2 = kWindow<2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12>;
constexpr const WindowFn* kWindow1 = kWindow<1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12>;

void WeightGradImage(const Conv2dDims& d, const float* xin, int64_t wp, const float* g, int64_t ldgRow, float* dw) {
  const int64_t C = d.c, OC = d.oc, ow = d.ow;
  if (d.kh * d.kw * C <= 12) {
    int64_t off[12];
    for (int64_t t = 0; t < d.kh * d.kw; ++t)
      for (int64_t c = 0; c < C; ++c) off[t * C + c] = ((t / d.kw) * wp + t % d.kw) * C + c;
    const int64_t T = d.kh * d.kw * C, vb = OC % 32 == 0 ? 32 : 16;
    for (int64_t o0 = 0; o0 < OC; o0 += vb)
      (vb == 32 ? kWindow2 : kWindow1)[T - 1](xin, wp, C, off, g + o0, ldgRow, d.oh, ow, OC, dw + o0);
    return;
  }
  const int64_t rowsPer = std::max<int64_t>(1, kWgradPix / std::max<int64_t>(1, ow));
  const int64_t b = BlockOf(OC);
  for (int64_t oy = 0; oy < d.oh; oy += rowsPer) {
    const int64_t rows = std::min(rowsPer, d.oh - oy);
    const float* grow = g + oy * ldgRow;
    for (int64_t ky = 0; ky < d.kh; ++ky)
      for (int64_t kx = 0; kx < d.kw; ++kx) {
        const float* xrow = xin + ((oy + ky) * wp + kx) * C;
        float* dwt = dw + (ky * d.kw + kx) * C * OC;
        const int64_t xrs = wp * C;
        for (int64_t o0 = 0; o0 < OC; o0 += b) {
          if (b == 64)
            WgradChannels<6, 4>(C, xrow, C, xrs, grow + o0, OC, ldgRow, rows, ow, dwt + o0, OC);
          else if (b == 32)
            WgradChannels<12, 2>(C, xrow, C, xrs, grow + o0, OC, ldgRow, rows, ow, dwt + o0, OC);
          else
            WgradChannels<12, 1>(C, xrow, C, xrs, grow + o0, OC, ldgRow, rows, ow, dwt + o0, OC);
        }
      }
  }
}

const FastConv kFast{16, 1, true, &PackWeights, &ForwardImage, &WeightGradImage};

}  // namespace
TB_ISA_END
}  // namespace avx512

const FastConv* FastConvAvx512() { return &avx512::kFast; }
#else
const FastConv* FastConvAvx512() { return nullptr; }
#endif

}  // namespace tb::cpu::conv
