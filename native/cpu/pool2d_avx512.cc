// 2 x 2, stride-2 max pooling of NCHW planes for AVX-512 (cpu/pool2d.cc dispatches here): an
// output row of up to 16 columns is two (masked) loads per input row, split into even and odd
// columns by one two-source permute each, then the four cells compared in window order with masks.
#include <cstdint>

#include "common/isa_target.h"
#include "common/parallel.h"
#include "cpu/pool2d.h"

namespace tb::cpu {

#ifdef TB_ISA_X86
namespace avx512 {
TB_ISA_BEGIN_AVX512
namespace {

// The pool's Better(): larger, or NaN (so NaNs propagate); later cells replace on those terms.
inline __mmask16 Better(__m512 v, __m512 best) {
  return _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
}

void MaxPool2x2Nchw(const Pool2dDims& d, const float* x, float* y, int32_t* argmax) {
  const int64_t hw = d.h * d.w, ohw = d.oh * d.ow;
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const __m512i twice = _mm512_slli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 1);
  TB_PARALLEL_FOR(d.n * d.c * ohw * 4, pl, 0, d.n * d.c, {
    const float* xp = x + pl * hw;
    for (int64_t oy = 0; oy < d.oh; ++oy) {
      const float* a = xp + 2 * oy * d.w;
      const float* b = a + d.w;
      const int32_t base = static_cast<int32_t>(pl * hw + 2 * oy * d.w);
      for (int64_t ox = 0; ox < d.ow; ox += 16) {
        const int64_t n = d.ow - ox < 16 ? d.ow - ox : 16;  // outputs; 2n inputs per row
        const __mmask16 lo = 2 * n >= 16 ? 0xffff : static_cast<__mmask16>((1u << (2 * n)) - 1);
        const __mmask16 hi = 2 * n >= 32 ? 0xffff : 2 * n <= 16 ? 0 : static_cast<__mmask16>((1u << (2 * n - 16)) - 1);
        const __mmask16 out = n >= 16 ? 0xffff : static_cast<__mmask16>((1u << n) - 1);
        const __m512 a0 = _mm512_maskz_loadu_ps(lo, a + 2 * ox), a1 = _mm512_maskz_loadu_ps(hi, a + 2 * ox + 16);
        const __m512 b0 = _mm512_maskz_loadu_ps(lo, b + 2 * ox), b1 = _mm512_maskz_loadu_ps(hi, b + 2 * ox + 16);
        const __m512 v1 = _mm512_permutex2var_ps(a0, odd, a1), v2 = _mm512_permutex2var_ps(b0, even, b1),
                     v3 = _mm512_permutex2var_ps(b0, odd, b1);
        __m512 best = _mm512_permutex2var_ps(a0, even, a1);
        __m512i bi = _mm512_add_epi32(twice, _mm512_set1_epi32(base + static_cast<int32_t>(2 * ox)));
        __mmask16 t = Better(v1, best);
        best = _mm512_mask_mov_ps(best, t, v1);
        bi = _mm512_mask_add_epi32(bi, t, bi, _mm512_set1_epi32(1));
        const __m512i row1 = _mm512_add_epi32(_mm512_add_epi32(twice, _mm512_set1_epi32(base + static_cast<int32_t>(2 * ox))),
                                              _mm512_set1_epi32(static_cast<int32_t>(d.w)));
        t = Better(v2, best);
        best = _mm512_mask_mov_ps(best, t, v2);
        bi = _mm512_mask_mov_epi32(bi, t, row1);
        t = Better(v3, best);
        best = _mm512_mask_mov_ps(best, t, v3);
        bi = _mm512_mask_mov_epi32(bi, t, _mm512_add_epi32(row1, _mm512_set1_epi32(1)));
        _mm512_mask_storeu_ps(y + pl * ohw + oy * d.ow + ox, out, best);
        _mm512_mask_storeu_epi32(argmax + pl * ohw + oy * d.ow + ox, out, bi);
      }
    }
  });
}

}  // namespace
TB_ISA_END
}  // namespace avx512

namespace pool_detail {
using Fn = void (*)(const Pool2dDims&, const float*, float*, int32_t*);
Fn MaxPool2x2NchwAvx512() { return &avx512::MaxPool2x2Nchw; }
}  // namespace pool_detail
#else
namespace pool_detail {
using Fn = void (*)(const Pool2dDims&, const float*, float*, int32_t*);
Fn MaxPool2x2NchwAvx512() { return nullptr; }
}  // namespace pool_detail
#endif

}  // namespace tb::cpu
