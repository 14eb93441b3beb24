// The packed sgemm's AVX-512 register tile (cpu/gemm_tiled.h): MR = 12 rows x NR = 32 columns,
// 24 zmm accumulators. Per step of k: two loads of B, twelve broadcasts of A folded into the FMAs
// as memory operands ({1to16}), 24 FMAs. That is 12 cycles of two FMA pipes against 14 loads,
// so the loads never limit; 24 independent chains cover the FMA latency (4 cycles x 2 pipes = 8).
#include <cstdint>

#include "common/isa_target.h"
#include "cpu/gemm_tiled.h"

namespace tb::cpu::gemm {

#ifdef TB_ISA_X86
namespace avx512 {
TB_ISA_BEGIN_AVX512
namespace {

constexpr int64_t kMR = 12, kNR = 32;

template <int MR>
void Tile(int64_t kc, const float* __restrict Ap, const float* __restrict Bp, float* C, int64_t ldc, float alpha,
          float beta, int64_t mr, int64_t nr) {
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
  for (int64_t r = 0; r < mr; ++r) _mm_prefetch(reinterpret_cast<const char*>(C + r * ldc), _MM_HINT_T0);
  for (int64_t p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_load_ps(Bp + p * kNR), b1 = _mm512_load_ps(Bp + p * kNR + 16);
    const float* a = Ap + p * MR;
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(a[r]);
      c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
    }
  }
  // Every accumulator is named by a constant index (the loops unroll): an index known only at run
  // time would make the compiler keep the arrays in memory, with a store per FMA.
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

const KernelSet kSet{kMR, kNR, 256, 192, 3072, &Tile<kMR>};

}  // namespace
TB_ISA_END
}  // namespace avx512

const KernelSet* Avx512Kernels() { return &avx512::kSet; }
#else
const KernelSet* Avx512Kernels() { return nullptr; }
#endif

}  // namespace tb::cpu::gemm
