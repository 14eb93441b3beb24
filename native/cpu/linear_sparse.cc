// The dense layer's products when its input x is mostly zeros (raw pixels of digits, one-hot or
// bag-of-words features, the output of a ReLU that is mostly off): only x's non-zeros are
// multiplied, so the work falls with the density. Declared in cpu/linear_sparse.h.
#include "cpu/linear_sparse.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "common/parallel.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace tb::cpu {
namespace {

const bool g_enabled = [] {
  const char* e = std::getenv("TENSORBOLT_SPARSE");
  return !(e && std::strcmp(e, "0") == 0);
}();

// acc[0:64] += v * w[0:64] for each (v, w row) of one row's non-zeros; out = act(acc + bias).
void Block64(const int32_t* idx, const float* val, int64_t nnz, const float* w, int64_t ldw, const float* bias,
             bool relu, float* out) {
#if defined(__AVX2__) && defined(__FMA__)
  __m256 a0 = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
  __m256 a1 = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
  __m256 a2 = bias ? _mm256_loadu_ps(bias + 16) : _mm256_setzero_ps();
  __m256 a3 = bias ? _mm256_loadu_ps(bias + 24) : _mm256_setzero_ps();
  __m256 a4 = bias ? _mm256_loadu_ps(bias + 32) : _mm256_setzero_ps();
  __m256 a5 = bias ? _mm256_loadu_ps(bias + 40) : _mm256_setzero_ps();
  __m256 a6 = bias ? _mm256_loadu_ps(bias + 48) : _mm256_setzero_ps();
  __m256 a7 = bias ? _mm256_loadu_ps(bias + 56) : _mm256_setzero_ps();
  for (int64_t q = 0; q < nnz; ++q) {
    const __m256 v = _mm256_set1_ps(val[q]);
    const float* r = w + static_cast<int64_t>(idx[q]) * ldw;
    a0 = _mm256_fmadd_ps(v, _mm256_loadu_ps(r), a0);
    a1 = _mm256_fmadd_ps(v, _mm256_loadu_ps(r + 8), a1);
    a2 = _mm256_fmadd_ps(v, _mm256_loadu_ps(r + 16), a2);
    a3 = _mm256_fmadd_ps(v, _mm256_loadu_ps(r + 24), a3);
    a4 = _mm256_fmadd_ps(v, _mm256_loadu_ps(r + 32), a4);
    a5 = _mm256_fmadd_ps(v, _mm256_loadu_ps(r + 40), a5);
    a6 = _mm256_fmadd_ps(v, _mm256_loadu_ps(r + 48), a6);
    a7 = _mm256_fmadd_ps(v, _mm256_loadu_ps(r + 56), a7);
  }
  if (relu) {
    const __m256 z = _mm256_setzero_ps();
    // max_ps returns its second operand for NaN: NaN passes, like the relu op
    a0 = _mm256_max_ps(z, a0), a1 = _mm256_max_ps(z, a1), a2 = _mm256_max_ps(z, a2), a3 = _mm256_max_ps(z, a3);
    a4 = _mm256_max_ps(z, a4), a5 = _mm256_max_ps(z, a5), a6 = _mm256_max_ps(z, a6), a7 = _mm256_max_ps(z, a7);
  }
  _mm256_storeu_ps(out, a0), _mm256_storeu_ps(out + 8, a1), _mm256_storeu_ps(out + 16, a2);
  _mm256_storeu_ps(out + 24, a3), _mm256_storeu_ps(out + 32, a4), _mm256_storeu_ps(out + 40, a5);
  _mm256_storeu_ps(out + 48, a6), _mm256_storeu_ps(out + 56, a7);
#else
  float acc[64];
  for (int j = 0; j < 64; ++j) acc[j] = bias ? bias[j] : 0.f;
  for (int64_t q = 0; q < nnz; ++q) {
    const float v = val[q];
    const float* r = w + static_cast<int64_t>(idx[q]) * ldw;
    for (int j = 0; j < 64; ++j) acc[j] += v * r[j];
  }
  for (int j = 0; j < 64; ++j) out[j] = relu && acc[j] < 0.f ? 0.f : acc[j];
#endif
}

// Same for a block narrower than 64 (the last columns).
void BlockTail(const int32_t* idx, const float* val, int64_t nnz, const float* w, int64_t ldw, int64_t width,
               const float* bias, bool relu, float* out) {
  float acc[64];
  for (int64_t j = 0; j < width; ++j) acc[j] = bias ? bias[j] : 0.f;
  for (int64_t q = 0; q < nnz; ++q) {
    const float v = val[q];
    const float* r = w + static_cast<int64_t>(idx[q]) * ldw;
    for (int64_t j = 0; j < width; ++j) acc[j] += v * r[j];
  }
  for (int64_t j = 0; j < width; ++j) out[j] = relu && acc[j] < 0.f ? 0.f : acc[j];
}

// Calls f(k) for each k in [0, K) with x[k] != 0, in increasing k. With AVX2, eight values are
// compared at once and only the set bits of the mask are visited, so a mostly-zero row costs a few
// cycles per 8 values instead of a dependent store per value.
template <typename F>
inline void ForNonZeros(const float* x, int64_t K, F&& f) {
  int64_t k = 0;
#if defined(__AVX2__) && defined(__FMA__)
  const __m256 zero = _mm256_setzero_ps();
  for (; k + 8 <= K; k += 8) {
    unsigned m = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + k), zero, _CMP_NEQ_UQ)));
    while (m) {
      f(k + __builtin_ctz(m));
      m &= m - 1;
    }
  }
#endif
  for (; k < K; ++k)
    if (x[k] != 0.f) f(k);
}

// Calls f(mask) for each group of 8 values (bit b set: x[k + b] != 0); the last group may be partial.
template <typename F>
inline void ForNonZeroMasks(const float* x, int64_t n, F&& f) {
  int64_t k = 0;
#if defined(__AVX2__) && defined(__FMA__)
  const __m256 zero = _mm256_setzero_ps();
  for (; k + 8 <= n; k += 8)
    f(static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + k), zero, _CMP_NEQ_UQ))));
#endif
  for (; k < n; k += 8) {
    unsigned m = 0;
    for (int64_t b = 0; b < 8 && k + b < n; ++b) m |= static_cast<unsigned>(x[k + b] != 0.f) << b;
    f(m);
  }
}

// Non-zeros of row x[0:K] into idx/val; returns their count.
inline int64_t Compress(const float* x, int64_t K, int32_t* idx, float* val) {
  int64_t n = 0;
  ForNonZeros(x, K, [&](int64_t k) {
    idx[n] = static_cast<int32_t>(k);
    val[n++] = x[k];
  });
  return n;
}

}  // namespace

bool SparseLinearEnabled() { return g_enabled; }

bool MostlyZero(const float* x, int64_t n, double maxDensity) {
  if (!g_enabled || n == 0) return false;
  // The first 16K values decide (a dense input is rejected after one short pass; the products
  // stay correct whatever the rest holds, only their speed depends on the density).
  const int64_t m = std::min<int64_t>(n, 16384);
  int64_t nz = 0;
  ForNonZeroMasks(x, m, [&](unsigned mask) { nz += __builtin_popcount(mask); });
  return static_cast<double>(nz) <= maxDensity * static_cast<double>(m);
}

bool AllFinite(const float* p, int64_t n) {
  // A non-finite value times a skipped zero would have been NaN: such inputs take the dense path.
  // Exponent bits all ones <=> inf or NaN; an integer test, so the loop vectorizes.
  uint32_t bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t b;
    std::memcpy(&b, p + i, 4);
    bad |= static_cast<uint32_t>((b & 0x7f800000u) == 0x7f800000u);
  }
  return bad == 0;
}

void SparseTimesDense(const float* x, const float* w, const float* bias, bool relu, float* y, int64_t M, int64_t N,
                      int64_t K) {
  // x's non-zeros row by row (CSR), then 64-column blocks of w outermost: a block of w (K x 64
  // floats, 200 KB for K = 784) stays in L2 while every row gathers from it.
  thread_local std::vector<int32_t> start, idx;
  thread_local std::vector<float> val;
  start.assign(static_cast<size_t>(M + 1), 0);
  if (static_cast<int64_t>(idx.size()) < M * K) idx.resize(static_cast<size_t>(M * K)), val.resize(static_cast<size_t>(M * K));
  for (int64_t i = 0; i < M; ++i)
    start[i + 1] = start[i] + static_cast<int32_t>(Compress(x + i * K, K, idx.data() + start[i], val.data() + start[i]));
  const int32_t* st = start.data();
  const int32_t* ix = idx.data();
  const float* vl = val.data();
  for (int64_t j0 = 0; j0 < N; j0 += 64) {
    const int64_t width = std::min<int64_t>(64, N - j0);
    const float* b = bias ? bias + j0 : nullptr;
    TB_PARALLEL_FOR(int64_t{st[M]} * width)
    for (int64_t i = 0; i < M; ++i) {
      const int64_t q0 = st[i], n = st[i + 1] - q0;
      if (width == 64)
        Block64(ix + q0, vl + q0, n, w + j0, N, b, relu, y + i * N + j0);
      else
        BlockTail(ix + q0, vl + q0, n, w + j0, N, width, b, relu, y + i * N + j0);
    }
  }
}

void SparseTransposedTimesDense(const float* x, const float* g, float* dw, int64_t M, int64_t N, int64_t K) {
  // dw (K, N) = x^T (K, M) @ g (M, N). x's non-zeros regrouped by column k (rows ascending), then
  // row k of dw is one register-accumulated sum over its list: no read-modify-write of dw, and the
  // order of the additions (i ascending) does not depend on the thread count.
  thread_local std::vector<int32_t> start, rows;
  thread_local std::vector<float> vals;
  start.assign(static_cast<size_t>(K + 1), 0);
  for (int64_t i = 0; i < M; ++i) {
    const float* xr = x + i * K;
    for (int64_t k = 0; k < K; ++k) start[k + 1] += xr[k] != 0.f;
  }
  for (int64_t k = 0; k < K; ++k) start[k + 1] += start[k];
  const int64_t nnz = start[K];
  if (static_cast<int64_t>(rows.size()) < nnz) rows.resize(static_cast<size_t>(nnz)), vals.resize(static_cast<size_t>(nnz));
  std::vector<int32_t> fill(start.begin(), start.end() - 1);
  for (int64_t i = 0; i < M; ++i) {
    const float* xr = x + i * K;
    ForNonZeros(xr, K, [&](int64_t k) {
      const int32_t q = fill[k]++;
      rows[q] = static_cast<int32_t>(i);
      vals[q] = xr[k];
    });
  }
  const int32_t* st = start.data();
  const int32_t* rw = rows.data();
  const float* vl = vals.data();
  TB_PARALLEL_FOR(nnz * N)
  for (int64_t k = 0; k < K; ++k) {
    const int64_t q0 = st[k], n = st[k + 1] - q0;
    float* out = dw + k * N;
    int64_t j0 = 0;
    // Block64 with "rows of w" = rows of g: the same gather-and-accumulate kernel as the forward.
    for (; j0 + 64 <= N; j0 += 64) Block64(rw + q0, vl + q0, n, g + j0, N, nullptr, false, out + j0);
    if (j0 < N) BlockTail(rw + q0, vl + q0, n, g + j0, N, N - j0, nullptr, false, out + j0);
  }
}

}  // namespace tb::cpu
