// The implicit-GEMM convolution kernels (cpu/conv2d_lowering.h) with bf16 operands and fp32 sums
// (AVX512_BF16's vdpbf16ps: two bf16 products per fp32 lane and instruction), for
// SetMatmulBf16(true). The tiles are the fp32 AVX-512 ones' (conv2d_fast_avx512.cc) taking two
// steps of their reduction at once:
//   forward / input grad  pairs of input channels: NHWC keeps a pixel's channels adjacent, so the
//                         image converted to bf16 in order already holds the pairs; the weights are
//                         packed as for fp32, then rewritten as pairs along the channel.
//   weight grad           pairs of output pixels: dy's rows of a block are rewritten as pairs of
//                         neighbouring pixels, and each input row twice (pairs starting at even and
//                         at odd columns, for the even and odd kernel columns).
// Shapes these cannot take (an odd channel count, an odd output width) run the fp32 kernels.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "common/isa_target.h"
#include "cpu/aligned_buffer.h"
#include "cpu/conv2d_lowering.h"

namespace tb::cpu::conv {

#ifdef TB_ISA_X86
namespace avx512bf16 {

using Words = AlignedBuffer<int32_t>;
thread_local Words t_in, t_g, t_xe, t_xo;

TB_ISA_BEGIN_AVX512BF16
namespace {

int64_t BlockOf(int64_t cout) { return cout % 64 == 0 ? 64 : cout % 32 == 0 ? 32 : 16; }

inline __m512bh Bh(__m512i v) { return reinterpret_cast<const __m512bh&>(v); }

// 16 floats (masked) -> bf16 in the low halves of 16 32-bit lanes
inline __m512i Bf16Lanes(__mmask16 m, const float* p) {
  const __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, p));
  return _mm512_cvtepu16_epi32(reinterpret_cast<const __m256i&>(h));
}

// dst[j] = (bf16(lo[j]), bf16(hi[j])) for j < n; hi may be null (zero).
void PairsOf(const float* lo, const float* hi, int64_t n, int32_t* dst) {
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = n - j >= 16 ? 0xffff : static_cast<__mmask16>((1u << (n - j)) - 1);
    const __m512i a = Bf16Lanes(m, lo + j);
    const __m512i b = hi ? _mm512_slli_epi32(Bf16Lanes(m, hi + j), 16) : _mm512_setzero_si512();
    _mm512_mask_storeu_epi32(dst + j, m, _mm512_or_si512(a, b));
  }
}

// n floats (n even) -> n / 2 words of consecutive pairs
void ToBf16(const float* src, int64_t n, int32_t* dst) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512bh h = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + i + 16), _mm512_loadu_ps(src + i));
    _mm512_storeu_si512(dst + i / 2, reinterpret_cast<const __m512i&>(h));
  }
  for (; i < n; i += 2) {
    int32_t w;
    PairsOf(src + i, src + i + 1, 1, &w);
    dst[i / 2] = w;
  }
}

// bf16 pairs (in 32-bit words) for the shared tiles: each vdpbf16ps adds both products of a pair
struct Ops {
  using In = int32_t;
  using Vec = __m512i;
  static constexpr int64_t kPerIn = 2;
  static Vec Load(const int32_t* p) { return _mm512_loadu_si512(p); }
  static Vec Bcast(const int32_t* p) { return _mm512_set1_epi32(*p); }
  static __m512 Fma(__m512 acc, Vec x, Vec w) { return _mm512_dpbf16_ps(acc, Bh(x), Bh(w)); }
};

#include "cpu/conv2d_fast_tiles.inc"

bool PairsFit(int64_t cin) { return cin % 2 == 0; }

void PackWeights(const Conv2dDims& d, const float* weight, bool forInputGrad, float* packed) {
  const FastConv& f32 = *FastConvAvx512();
  f32.pack(d, weight, forInputGrad, packed);
  const int64_t cin = forInputGrad ? d.oc : d.c, cout = forInputGrad ? d.c : d.oc;
  if (!PairsFit(cin)) return;
  // each (output block, tap) is cin rows of b floats: rewrite as cin / 2 rows of pairs, in place
  const int64_t taps = d.kh * d.kw, b = BlockOf(cout);
  for (int64_t blk = 0; blk < cout / b * taps; ++blk) {
    float* p = packed + blk * cin * b;
    for (int64_t c2 = 0; c2 < cin / 2; ++c2)
      PairsOf(p + 2 * c2 * b, p + (2 * c2 + 1) * b, b, reinterpret_cast<int32_t*>(p + c2 * b));
  }
}

void ForwardImage(int64_t kh, int64_t kw, int64_t hp, int64_t wp, int64_t cin, const float* in, int64_t oh,
                  int64_t ow, int64_t cout, const float* packed, const float* bias, bool relu, float* out) {
  if (!PairsFit(cin))
    return FastConvAvx512()->forwardImage(kh, kw, hp, wp, cin, in, oh, ow, cout, packed, bias, relu, out);
  const int64_t cin2 = cin / 2;
  int32_t* img = t_in.Get(hp * wp * cin2);
  if (!img) return FastConvAvx512()->forwardImage(kh, kw, hp, wp, cin, in, oh, ow, cout, packed, bias, relu, out);
  ToBf16(in, hp * wp * cin, img);
  int64_t tapOff[64];
  for (int64_t ky = 0; ky < kh; ++ky)
    for (int64_t kx = 0; kx < kw; ++kx) tapOff[ky * kw + kx] = (ky * wp + kx) * cin2;
  ForwardBlocks<Ops>(img, tapOff, kh * kw, cin2, wp, reinterpret_cast<const int32_t*>(packed), BlockOf(cout), bias, relu,
                     out, oh, ow, cout);
}

void WeightGradImage(const Conv2dDims& d, const float* xin, int64_t wp, const float* g, int64_t ldgRow, float* dw) {
  const int64_t C = d.c, OC = d.oc, ow = d.ow, kh = d.kh, kw = d.kw;
  if (ow % 2 != 0 || kh * kw * C <= 12) return FastConvAvx512()->weightGradImage(d, xin, wp, g, ldgRow, dw);
  // rows per block (kWgradBlockBytes): per output row, ow / 2 pairs of dy (OC words each) and two
  // pair rows of input (wp / 2 x C words)
  const int64_t rowBytes = static_cast<int64_t>(sizeof(int32_t)) * (ow / 2 * OC + wp / 2 * 2 * C);
  const int64_t rowsPer = std::clamp<int64_t>(kWgradBlockBytes / rowBytes, 1, d.oh), half = ow / 2;
  const int64_t inRows = rowsPer + kh - 1, xw = wp / 2;  // pairs per input row (either parity)
  int32_t* gp = t_g.Get(rowsPer * half * OC);
  int32_t* xe = t_xe.Get(inRows * xw * C);
  int32_t* xo = t_xo.Get(inRows * xw * C);
  if (!gp || !xe || !xo) return FastConvAvx512()->weightGradImage(d, xin, wp, g, ldgRow, dw);
  const int64_t b = BlockOf(OC);
  for (int64_t oy = 0; oy < d.oh; oy += rowsPer) {
    const int64_t rows = std::min(rowsPer, d.oh - oy);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t q = 0; q < half; ++q) {
        const float* gr = g + (oy + r) * ldgRow + 2 * q * OC;
        PairsOf(gr, gr + OC, OC, gp + (r * half + q) * OC);
      }
    // input rows oy .. oy + rows + kh - 2: pairs (2q, 2q + 1) and (2q + 1, 2q + 2) of pixels
    for (int64_t r = 0; r < rows + kh - 1; ++r) {
      const float* xr = xin + (oy + r) * wp * C;
      for (int64_t q = 0; q < xw; ++q) {
        PairsOf(xr + 2 * q * C, xr + (2 * q + 1) * C, C, xe + (r * xw + q) * C);
        PairsOf(xr + (2 * q + 1) * C, 2 * q + 2 < wp ? xr + (2 * q + 2) * C : nullptr, C, xo + (r * xw + q) * C);
      }
    }
    for (int64_t ky = 0; ky < kh; ++ky)
      for (int64_t kx = 0; kx < kw; ++kx) {
        // output pair q of row r reads input pixels (2q + kx, 2q + 1 + kx) of input row r + ky
        const int32_t* xrow = (kx % 2 ? xo : xe) + (ky * xw + kx / 2) * C;
        float* dwt = dw + (ky * kw + kx) * C * OC;
        WgradBlocks<Ops>(C, OC, b, xrow, C, xw * C, gp, OC, half * OC, rows, half, dwt);
      }
  }
}

}  // namespace
TB_ISA_END

const FastConv kFast{16, 1, true, &PackWeights, &ForwardImage, &WeightGradImage};

}  // namespace avx512bf16

const FastConv* FastConvAvx512Bf16() { return FastConvAvx512() ? &avx512bf16::kFast : nullptr; }
#else
const FastConv* FastConvAvx512Bf16() { return nullptr; }
#endif

}  // namespace tb::cpu::conv
