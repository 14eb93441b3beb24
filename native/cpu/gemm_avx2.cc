// The packed sgemm's AVX2 register tile (cpu/gemm_tiled.h): MR = 6 rows x NR = 16 columns, 12 ymm
// accumulators, two B vectors and one broadcast: 15 of the 16 registers. Per step of k: 12 FMAs
// against 2 + 6 loads.
#include <cstdint>

#include "common/isa_target.h"
#include "cpu/gemm_tiled.h"

namespace tb::cpu::gemm {

#ifdef TB_ISA_X86
namespace avx2 {
TB_ISA_BEGIN_AVX2
namespace {

constexpr int64_t kMR = 6, kNR = 16;

void Tile(int64_t kc, const float* __restrict Ap, const float* __restrict Bp, float* C, int64_t ldc, float alpha,
          float beta, int64_t mr, int64_t nr) {
  __m256 c0[kMR], c1[kMR];
#pragma GCC unroll 8
  for (int r = 0; r < kMR; ++r) c0[r] = c1[r] = _mm256_setzero_ps();
  for (int64_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_load_ps(Bp + p * kNR), b1 = _mm256_load_ps(Bp + p * kNR + 8);
    const float* a = Ap + p * kMR;
#pragma GCC unroll 8
    for (int r = 0; r < kMR; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r);
      c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
    }
  }
  // Every accumulator is named by a constant index (the loops unroll): an index known only at run
  // time would make the compiler keep the array in memory, with a store per FMA.
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  if (mr == kMR && nr == kNR) {
#pragma GCC unroll 8
    for (int r = 0; r < kMR; ++r) {
      float* c = C + r * ldc;
      __m256 x0 = _mm256_mul_ps(c0[r], va), x1 = _mm256_mul_ps(c1[r], va);
      if (beta != 0.f) {
        x0 = _mm256_fmadd_ps(_mm256_loadu_ps(c), vb, x0);
        x1 = _mm256_fmadd_ps(_mm256_loadu_ps(c + 8), vb, x1);
      }
      _mm256_storeu_ps(c, x0);
      _mm256_storeu_ps(c + 8, x1);
    }
    return;
  }
  alignas(32) float t[kMR * kNR];
#pragma GCC unroll 8
  for (int r = 0; r < kMR; ++r) {
    _mm256_store_ps(t + r * kNR, _mm256_mul_ps(c0[r], va));
    _mm256_store_ps(t + r * kNR + 8, _mm256_mul_ps(c1[r], va));
  }
  for (int64_t r = 0; r < mr; ++r) {
    float* c = C + r * ldc;
    if (beta == 0.f)
      for (int64_t j = 0; j < nr; ++j) c[j] = t[r * kNR + j];
    else
      for (int64_t j = 0; j < nr; ++j) c[j] = t[r * kNR + j] + beta * c[j];
  }
}

const KernelSet kSet{kMR, kNR, 256, 72, 3072, &Tile};

}  // namespace
TB_ISA_END
}  // namespace avx2

const KernelSet* Avx2Kernels() { return &avx2::kSet; }
#else
const KernelSet* Avx2Kernels() { return nullptr; }
#endif

}  // namespace tb::cpu::gemm
