// The packed sgemm's bf16 register tile (cpu/gemm_tiled.h), for CPUs with AVX512_BF16: operands
// rounded to bf16 (round to nearest even), products summed in fp32 by vdpbf16ps, which multiplies
// two adjacent pairs of bf16 and adds both products to an fp32 lane. The panels are packed in fp32
// as always, then rewritten in place as pairs along k: Ap[p2 * MR + r] holds rows (2 p2, 2 p2 + 1)
// of the fp32 panel's column r as two bf16 in 32 bits (low half: the even k). The tile is the fp32
// one's shape (12 x 32, 24 accumulators) doing two steps of k per instruction.
#include <cstdint>

#include "common/isa_target.h"
#include "cpu/gemm_tiled.h"

namespace tb::cpu::gemm {

#ifdef TB_ISA_X86
namespace avx512bf16 {
TB_ISA_BEGIN_AVX512BF16
namespace {

constexpr int64_t kMR = 12, kNR = 32;

// 16 floats (masked) -> bf16 in the low halves of 16 32-bit lanes
inline __m512i Bf16Lanes(__mmask16 m, const float* p) {
  const __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, p));
  return _mm512_cvtepu16_epi32(reinterpret_cast<const __m256i&>(h));
}

// In place: rows (2 p2, 2 p2 + 1) of a kc x width fp32 panel become row p2 of bf16 pairs (an odd
// last row pairs with zero). Row p2 is written only after rows 2 p2 and 2 p2 + 1 are read, and
// later rows are read from 2 p2 + 2 on, so nothing is overwritten before it is read.
void ToPairs(float* panel, int64_t kc, int64_t width) {
  for (int64_t p2 = 0; 2 * p2 < kc; ++p2) {
    const float* lo = panel + 2 * p2 * width;
    const float* hi = lo + width;
    const bool haveHi = 2 * p2 + 1 < kc;
    for (int64_t j = 0; j < width; j += 16) {
      const __mmask16 m = width - j >= 16 ? 0xffff : static_cast<__mmask16>((1u << (width - j)) - 1);
      const __m512i a = Bf16Lanes(m, lo + j);
      const __m512i b = haveHi ? _mm512_slli_epi32(Bf16Lanes(m, hi + j), 16) : _mm512_setzero_si512();
      _mm512_mask_storeu_epi32(panel + p2 * width + j, m, _mm512_or_si512(a, b));
    }
  }
}

template <int MR>
void Tile(int64_t kc2, const float* __restrict Ap, const float* __restrict Bp, float* C, int64_t ldc, float alpha,
          float beta, int64_t mr, int64_t nr) {
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
  for (int64_t r = 0; r < mr; ++r) _mm_prefetch(reinterpret_cast<const char*>(C + r * ldc), _MM_HINT_T0);
  const int32_t* a32 = reinterpret_cast<const int32_t*>(Ap);
  for (int64_t p = 0; p < kc2; ++p) {
    const __m512i b0 = _mm512_load_si512(Bp + p * kNR), b1 = _mm512_load_si512(Bp + p * kNR + 16);
    const int32_t* a = a32 + p * MR;
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512i av = _mm512_set1_epi32(a[r]);
      c0[r] = _mm512_dpbf16_ps(c0[r], reinterpret_cast<const __m512bh&>(av), reinterpret_cast<const __m512bh&>(b0));
      c1[r] = _mm512_dpbf16_ps(c1[r], reinterpret_cast<const __m512bh&>(av), reinterpret_cast<const __m512bh&>(b1));
    }
  }
  // As the fp32 tile: constant indices only (a run-time one would keep the arrays in memory).
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  if (mr == MR) {
    const __mmask16 m0 = nr >= 16 ? 0xffff : static_cast<__mmask16>((1u << nr) - 1);
    const __mmask16 m1 = nr >= 32 ? 0xffff : nr <= 16 ? 0 : static_cast<__mmask16>((1u << (nr - 16)) - 1);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      float* c = C + r * ldc;
      __m512 x0 = _mm512_mul_ps(c0[r], va), x1 = _mm512_mul_ps(c1[r], va);
      if (beta != 0.f) {
        x0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, c), vb, x0);
        x1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, c + 16), vb, x1);
      }
      _mm512_mask_storeu_ps(c, m0, x0);
      _mm512_mask_storeu_ps(c + 16, m1, x1);
    }
    return;
  }
  alignas(64) float t[MR * kNR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    _mm512_store_ps(t + r * kNR, _mm512_mul_ps(c0[r], va));
    _mm512_store_ps(t + r * kNR + 16, _mm512_mul_ps(c1[r], va));
  }
  for (int64_t r = 0; r < mr; ++r) {
    float* c = C + r * ldc;
    if (beta == 0.f)
      for (int64_t j = 0; j < nr; ++j) c[j] = t[r * kNR + j];
    else
      for (int64_t j = 0; j < nr; ++j) c[j] = t[r * kNR + j] + beta * c[j];
  }
}

const KernelSet kSet{kMR, kNR, 256, 192, 3072, &Tile<kMR>, &ToPairs};

}  // namespace
TB_ISA_END
}  // namespace avx512bf16

const KernelSet* Avx512Bf16Kernels() { return &avx512bf16::kSet; }
#else
const KernelSet* Avx512Bf16Kernels() { return nullptr; }
#endif

}  // namespace tb::cpu::gemm
