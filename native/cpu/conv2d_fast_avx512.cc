// The implicit-GEMM convolution kernels (cpu/conv2d_lowering.h) for AVX-512: the AVX2 kernels'
// scheme (conv2d_fast.cc) with 16-float vectors and twice the registers.
//   forward      tile: NP output pixels x NV*16 output channels, NP*NV <= 24 accumulators; the
//                weights are packed in blocks of NV*16 output channels (ob), so a step of the
//                channel loop loads NV contiguous vectors and broadcasts NP input values.
//                ob = 64 (4 vectors x 6 pixels) when the channels allow, then 32 (2 x 12), then 16.
//   weight grad  tile: NC input channels x NV*16 output channels, summed over a block of output
//                rows whose dy and input rows stay in L2.
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

// Output rows per weight-gradient block (kWgradBlockBytes): a row's dy and input row, in floats.
int64_t WgradRows(const Conv2dDims& d, int64_t wp) {
  return std::max<int64_t>(1, kWgradBlockBytes / (static_cast<int64_t>(sizeof(float)) * (d.ow * d.oc + wp * d.c)));
}

int64_t BlockOf(int64_t cout) { return cout % 64 == 0 ? 64 : cout % 32 == 0 ? 32 : 16; }

// fp32 operands for the shared tiles
struct Ops {
  using In = float;
  using Vec = __m512;
  static constexpr int64_t kPerIn = 1;
  static Vec Load(const float* p) { return _mm512_loadu_ps(p); }
  static Vec Bcast(const float* p) { return _mm512_set1_ps(*p); }
  static __m512 Fma(__m512 acc, Vec x, Vec w) { return _mm512_fmadd_ps(x, w, acc); }
};

#include "cpu/conv2d_fast_tiles.inc"

void PackWeights(const Conv2dDims& d, const float* weight, bool forInputGrad, float* packed) {
  PackImplicitWeights(d, weight, forInputGrad, BlockOf(forInputGrad ? d.c : d.oc), packed);
}

void ForwardImage(int64_t kh, int64_t kw, int64_t hp, int64_t wp, int64_t cin, const float* in, int64_t oh,
                  int64_t ow, int64_t cout, const float* packed, const float* bias, bool relu, float* out) {
  int64_t tapOff[64];
  for (int64_t ky = 0; ky < kh; ++ky)
    for (int64_t kx = 0; kx < kw; ++kx) tapOff[ky * kw + kx] = (ky * wp + kx) * cin;
  (void)hp;
  ForwardBlocks<Ops>(in, tapOff, kh * kw, cin, wp, packed, BlockOf(cout), bias, relu, out, oh, ow, cout);
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
  const int64_t rowsPer = WgradRows(d, wp);
  const int64_t b = BlockOf(OC);
  for (int64_t oy = 0; oy < d.oh; oy += rowsPer) {
    const int64_t rows = std::min(rowsPer, d.oh - oy);
    const float* grow = g + oy * ldgRow;
    for (int64_t ky = 0; ky < d.kh; ++ky)
      for (int64_t kx = 0; kx < d.kw; ++kx) {
        const float* xrow = xin + ((oy + ky) * wp + kx) * C;
        float* dwt = dw + (ky * d.kw + kx) * C * OC;
        const int64_t xrs = wp * C;
        WgradBlocks<Ops>(C, OC, b, xrow, C, xrs, grow, OC, ldgRow, rows, ow, dwt);
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
