// The zero-skipping products' inner loops for AVX2 + FMA (cpu/linear_sparse_kernels.h).
// The non-zeros are found by a branch-free left-pack of each group of 8 values (a branch per value
// mispredicted on MNIST's pixels); panels are 64-byte aligned, so no 32-byte load straddles a cache
// line (with w read in place, 16-byte aligned, the gather ran at half speed on a Zen 3 core).
#include <cstdint>

#include "common/isa_target.h"
#include "cpu/linear_sparse_kernels.h"

namespace tb::cpu::sparse {

#ifdef TB_ISA_X86
namespace avx2 {

// lanes[m] lists the set bits of the 8-bit mask m, lowest first: the lanes to keep, left-packed.
struct PackTable {
  alignas(32) int32_t lanes[256][8];
  PackTable() {
    for (int m = 0; m < 256; ++m) {
      int n = 0;
      for (int b = 0; b < 8; ++b)
        if (m & (1 << b)) lanes[m][n++] = b;
      while (n < 8) lanes[m][n++] = 0;
    }
  }
};
const PackTable kPack;

TB_ISA_BEGIN_AVX2
namespace {

// a0..a3 += v * r[0:32], r 32-byte aligned.
inline void Fma32(__m256 v, const float* r, __m256& a0, __m256& a1, __m256& a2, __m256& a3) {
  a0 = _mm256_fmadd_ps(v, _mm256_load_ps(r), a0);
  a1 = _mm256_fmadd_ps(v, _mm256_load_ps(r + 8), a1);
  a2 = _mm256_fmadd_ps(v, _mm256_load_ps(r + 16), a2);
  a3 = _mm256_fmadd_ps(v, _mm256_load_ps(r + 24), a3);
}

// a[0:8] += the terms of idx/val: eight accumulators, eight FMA chains in flight, terms in q order.
inline void Accumulate(const int32_t* idx, const float* val, int64_t nnz, const float* w, __m256* a) {
  for (int64_t q = 0; q < nnz; ++q) {
    const __m256 v = _mm256_set1_ps(val[q]);
    const float* r = w + static_cast<int64_t>(idx[q]) * kPanel;
    Fma32(v, r, a[0], a[1], a[2], a[3]);
    Fma32(v, r + 32, a[4], a[5], a[6], a[7]);
  }
}

void Gather64(const int32_t* idx, const float* val, int64_t nnz, const float* w, float* out) {
  __m256 a[8];
  for (int i = 0; i < 8; ++i) a[i] = _mm256_loadu_ps(out + 8 * i);
  Accumulate(idx, val, nnz, w, a);
  for (int i = 0; i < 8; ++i) _mm256_storeu_ps(out + 8 * i, a[i]);
}

void Sum64(const int32_t* idx, const float* val, int64_t nnz, const float* g, float* out) {
  __m256 a[8];
  for (int i = 0; i < 8; ++i) a[i] = _mm256_setzero_ps();
  Accumulate(idx, val, nnz, g, a);
  for (int i = 0; i < 8; ++i) _mm256_storeu_ps(out + 8 * i, a[i]);
}

// Each group of 8 is left-packed with one permute and stored whole.
int64_t Compress(const float* x, int64_t K, int32_t* idx, float* val, int32_t* bounds) {
  int64_t n = 0, k = 0;
  const __m256 zero = _mm256_setzero_ps();
  for (; k + 8 <= K; k += 8) {
    if (k % kRowBlock == 0) bounds[k / kRowBlock] = static_cast<int32_t>(n);
    const __m256 v = _mm256_loadu_ps(x + k);
    const unsigned m = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, zero, _CMP_NEQ_UQ)));
    const __m256i lanes = _mm256_load_si256(reinterpret_cast<const __m256i*>(kPack.lanes[m]));
    _mm256_storeu_ps(val + n, _mm256_permutevar8x32_ps(v, lanes));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(idx + n), _mm256_add_epi32(lanes, _mm256_set1_epi32(static_cast<int32_t>(k))));
    n += __builtin_popcount(m);
  }
  for (; k < K; ++k) {
    if (k % kRowBlock == 0) bounds[k / kRowBlock] = static_cast<int32_t>(n);
    if (x[k] != 0.f) idx[n] = static_cast<int32_t>(k), val[n++] = x[k];
  }
  return n;
}

// Each 8 x 8 tile is transposed in registers and each of its columns left-packed like Compress.
int64_t Csc8(const float* x, int64_t M, int64_t K, int64_t k0, int32_t* rows, float* vals, int64_t st, int64_t* n) {
  const __m256 zero = _mm256_setzero_ps();
  int64_t i0 = 0;
  for (; i0 + 8 <= M; i0 += 8) {
    const float* xr = x + i0 * K + k0;
    const __m256 r0 = _mm256_loadu_ps(xr), r1 = _mm256_loadu_ps(xr + K), r2 = _mm256_loadu_ps(xr + 2 * K);
    const __m256 r3 = _mm256_loadu_ps(xr + 3 * K), r4 = _mm256_loadu_ps(xr + 4 * K);
    const __m256 r5 = _mm256_loadu_ps(xr + 5 * K), r6 = _mm256_loadu_ps(xr + 6 * K);
    const __m256 r7 = _mm256_loadu_ps(xr + 7 * K);
    // c[j] holds column k0 + j of rows i0 .. i0 + 7.
    const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    const __m256 c[8] = {_mm256_permute2f128_ps(s0, s4, 0x20), _mm256_permute2f128_ps(s1, s5, 0x20),
                         _mm256_permute2f128_ps(s2, s6, 0x20), _mm256_permute2f128_ps(s3, s7, 0x20),
                         _mm256_permute2f128_ps(s0, s4, 0x31), _mm256_permute2f128_ps(s1, s5, 0x31),
                         _mm256_permute2f128_ps(s2, s6, 0x31), _mm256_permute2f128_ps(s3, s7, 0x31)};
    const __m256i base = _mm256_set1_epi32(static_cast<int32_t>(i0));
    for (int j = 0; j < 8; ++j) {
      const unsigned m = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(c[j], zero, _CMP_NEQ_UQ)));
      const int64_t at = (k0 + j) * st + n[j];
      const __m256i lanes = _mm256_load_si256(reinterpret_cast<const __m256i*>(kPack.lanes[m]));
      _mm256_storeu_ps(vals + at, _mm256_permutevar8x32_ps(c[j], lanes));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(rows + at), _mm256_add_epi32(lanes, base));
      n[j] += __builtin_popcount(m);
    }
  }
  return i0;
}

int64_t CountNonZero(const float* x, int64_t n) {
  int64_t nz = 0, k = 0;
  const __m256 zero = _mm256_setzero_ps();
  for (; k + 8 <= n; k += 8)
    nz += __builtin_popcount(static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + k), zero, _CMP_NEQ_UQ))));
  for (; k < n; ++k) nz += x[k] != 0.f;
  return nz;
}

const Kernels kSet{&Gather64, &Sum64, &Compress, &Csc8, &CountNonZero};

}  // namespace
TB_ISA_END

// The AVX-512 set reuses the CSC build (its 8 x 8 transposes are not the bottleneck).
int64_t Csc8Avx2(const float* x, int64_t M, int64_t K, int64_t k0, int32_t* rows, float* vals, int64_t st, int64_t* n) {
  return Csc8(x, M, K, k0, rows, vals, st, n);
}

}  // namespace avx2

const Kernels* Avx2Kernels() { return &avx2::kSet; }
#else
const Kernels* Avx2Kernels() { return nullptr; }
#endif

}  // namespace tb::cpu::sparse
