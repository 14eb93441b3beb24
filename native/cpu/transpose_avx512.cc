// The AVX-512 transpose (cpu/transpose.h): 16 rows loaded (masked at the edges), transposed in
// registers by four rounds of shuffles, 16 rows stored.
#include <algorithm>
#include <cstdint>

#include "common/isa_target.h"
#include "cpu/transpose.h"

namespace tb::cpu {

#ifdef TB_ISA_X86
namespace avx512 {
TB_ISA_BEGIN_AVX512
namespace {

// The 16 x 16 block at src (row stride lds; rows x cols valid, the rest read as zero) transposed to
// dst (row stride ldd; cols x rows written), optionally zeroed where mask (src's layout) is not > 0.
inline void Block16(const float* src, int64_t lds, const float* mask, int64_t rows, int64_t cols, float* dst,
                    int64_t ldd) {
  const __mmask16 cm = cols >= 16 ? 0xffff : static_cast<__mmask16>((1u << cols) - 1);
  const __mmask16 rm = rows >= 16 ? 0xffff : static_cast<__mmask16>((1u << rows) - 1);
  __m512 r[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) {
    r[i] = i < rows ? _mm512_maskz_loadu_ps(cm, src + i * lds) : _mm512_setzero_ps();
    if (mask && i < rows) {
      const __mmask16 on = _mm512_mask_cmp_ps_mask(cm, _mm512_maskz_loadu_ps(cm, mask + i * lds), _mm512_setzero_ps(), _CMP_GT_OQ);
      r[i] = _mm512_maskz_mov_ps(on, r[i]);
    }
  }
  // 2 x 2 blocks of floats, then of pairs, then of 4-float lanes, then of 8
  __m512 t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
  }
  // r[4q + k] now holds, in each 128-bit lane L, elements (rows 4q..4q+3) of column 4L + k
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    t[k] = _mm512_shuffle_f32x4(r[k], r[4 + k], 0x88);       // lanes 0, 2 of r[k], r[4+k]
    t[4 + k] = _mm512_shuffle_f32x4(r[k], r[4 + k], 0xdd);   // lanes 1, 3
    t[8 + k] = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0x88);
    t[12 + k] = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0xdd);
  }
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    // column k (lane 0) and 8 + k (lane 2); column 4 + k and 12 + k from the 0xdd halves
    r[k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0x88);
    r[8 + k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0xdd);
    r[4 + k] = _mm512_shuffle_f32x4(t[4 + k], t[12 + k], 0x88);
    r[12 + k] = _mm512_shuffle_f32x4(t[4 + k], t[12 + k], 0xdd);
  }
#pragma GCC unroll 16
  for (int j = 0; j < 16; ++j)
    if (j < cols) _mm512_mask_storeu_ps(dst + j * ldd, rm, r[j]);
}

// dst[c * ldd + p] = src[p * lds + c] (zero where mask[p * lds + c] is not > 0, when mask is given).
void Transpose(const float* src, const float* mask, int64_t rows, int64_t cols, int64_t lds, float* dst,
               int64_t ldd, bool dstRows) {
  auto block = [&](int64_t p0, int64_t c0) {
    Block16(src + p0 * lds + c0, lds, mask ? mask + p0 * lds + c0 : nullptr, std::min<int64_t>(16, rows - p0),
            std::min<int64_t>(16, cols - c0), dst + c0 * ldd + p0, ldd);
  };
  if (dstRows) {
    for (int64_t c0 = 0; c0 < cols; c0 += 16)
      for (int64_t p0 = 0; p0 < rows; p0 += 16) block(p0, c0);
  } else {
    for (int64_t p0 = 0; p0 < rows; p0 += 16)
      for (int64_t c0 = 0; c0 < cols; c0 += 16) block(p0, c0);
  }
}

}  // namespace
TB_ISA_END
}  // namespace avx512

transpose_detail::Fn transpose_detail::Avx512() { return &avx512::Transpose; }
#else
transpose_detail::Fn transpose_detail::Avx512() { return nullptr; }
#endif

}  // namespace tb::cpu
