// The zero-skipping products' inner loops for AVX-512 (cpu/linear_sparse_kernels.h): a 64-float
// panel row is four zmm loads; two non-zeros per step into two sets of four accumulators (eight FMA
// chains, as the AVX2 loop keeps), summed at the end; the left-pack of 16 values is one
// vcompressps (in registers: the store form is slow on AMD's cores).
#include <cstdint>

#include "common/isa_target.h"
#include "cpu/linear_sparse_kernels.h"

namespace tb::cpu::sparse {

#ifdef TB_ISA_X86
namespace avx2 {
int64_t Csc8Avx2(const float* x, int64_t M, int64_t K, int64_t k0, int32_t* rows, float* vals, int64_t st, int64_t* n);
}

namespace avx512 {
TB_ISA_BEGIN_AVX512
namespace {

// a[0:4] += v * r[0:64], r 64-byte aligned.
inline void Fma64(__m512 v, const float* r, __m512* a) {
  a[0] = _mm512_fmadd_ps(v, _mm512_load_ps(r), a[0]);
  a[1] = _mm512_fmadd_ps(v, _mm512_load_ps(r + 16), a[1]);
  a[2] = _mm512_fmadd_ps(v, _mm512_load_ps(r + 32), a[2]);
  a[3] = _mm512_fmadd_ps(v, _mm512_load_ps(r + 48), a[3]);
}

// a (and b, zero at first) += the terms of idx/val; returns a + b.
inline void Accumulate(const int32_t* idx, const float* val, int64_t nnz, const float* w, __m512* a) {
  __m512 b[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  int64_t q = 0;
  for (; q + 2 <= nnz; q += 2) {
    Fma64(_mm512_set1_ps(val[q]), w + static_cast<int64_t>(idx[q]) * kPanel, a);
    Fma64(_mm512_set1_ps(val[q + 1]), w + static_cast<int64_t>(idx[q + 1]) * kPanel, b);
  }
  if (q < nnz) Fma64(_mm512_set1_ps(val[q]), w + static_cast<int64_t>(idx[q]) * kPanel, a);
  for (int i = 0; i < 4; ++i) a[i] = _mm512_add_ps(a[i], b[i]);
}

void Gather64(const int32_t* idx, const float* val, int64_t nnz, const float* w, float* out) {
  __m512 a[4] = {_mm512_loadu_ps(out), _mm512_loadu_ps(out + 16), _mm512_loadu_ps(out + 32), _mm512_loadu_ps(out + 48)};
  Accumulate(idx, val, nnz, w, a);
  for (int i = 0; i < 4; ++i) _mm512_storeu_ps(out + 16 * i, a[i]);
}

void Sum64(const int32_t* idx, const float* val, int64_t nnz, const float* g, float* out) {
  __m512 a[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  Accumulate(idx, val, nnz, g, a);
  for (int i = 0; i < 4; ++i) _mm512_storeu_ps(out + 16 * i, a[i]);
}

int64_t Compress(const float* x, int64_t K, int32_t* idx, float* val, int32_t* bounds) {
  int64_t n = 0, k = 0;
  const __m512 zero = _mm512_setzero_ps();
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (; k + 16 <= K; k += 16) {  // kRowBlock is a multiple of 16
    if (k % kRowBlock == 0) bounds[k / kRowBlock] = static_cast<int32_t>(n);
    const __m512 v = _mm512_loadu_ps(x + k);
    const __mmask16 m = _mm512_cmp_ps_mask(v, zero, _CMP_NEQ_UQ);
    _mm512_storeu_ps(val + n, _mm512_maskz_compress_ps(m, v));
    _mm512_storeu_si512(idx + n, _mm512_maskz_compress_epi32(m, _mm512_add_epi32(iota, _mm512_set1_epi32(static_cast<int32_t>(k)))));
    n += __builtin_popcount(m);
  }
  for (; k < K; ++k) {
    if (k % kRowBlock == 0) bounds[k / kRowBlock] = static_cast<int32_t>(n);
    if (x[k] != 0.f) idx[n] = static_cast<int32_t>(k), val[n++] = x[k];
  }
  return n;
}

int64_t CountNonZero(const float* x, int64_t n) {
  int64_t nz = 0, k = 0;
  const __m512 zero = _mm512_setzero_ps();
  for (; k + 16 <= n; k += 16) nz += __builtin_popcount(_mm512_cmp_ps_mask(_mm512_loadu_ps(x + k), zero, _CMP_NEQ_UQ));
  for (; k < n; ++k) nz += x[k] != 0.f;
  return nz;
}

}  // namespace
TB_ISA_END

const Kernels kSet{&Gather64, &Sum64, &Compress, &avx2::Csc8Avx2, &CountNonZero};

}  // namespace avx512

const Kernels* Avx512Kernels() { return &avx512::kSet; }
#else
const Kernels* Avx512Kernels() { return nullptr; }
#endif

}  // namespace tb::cpu::sparse
