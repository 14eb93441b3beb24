// Dense layer: one GEMM with bias and activation applied in a single pass over the output, and a
// backward that masks dy once and feeds it to the bias sum and both GEMMs. A Keras Dense(relu) or a
// PyTorch Linear then costs one native call each way instead of three ops (matmul, add, relu) whose
// intermediates are allocated, written and read again.
#include "cpu/linear.h"

#include <algorithm>
#include <memory>
#include <new>

#include "common/parallel.h"
#include "cpu/gemm.h"
#include "cpu/isa.h"
#include "cpu/linear_sparse.h"

namespace tb::cpu {
namespace {

// Inputs with at most this fraction of non-zeros go through the sparse products (measured on the
// MNIST MLP's 784 -> 128 layer: the sparse forward and weight gradient overtake OpenBLAS below
// about 35-40% density; MNIST pixels are 19% non-zero).
constexpr double kSparseDensity = 0.3;

// Worth checking for zeros: large enough that a dense GEMM is not already trivial, and vector
// kernels to do it with (the portable loops lose to a dense GEMM: 480-650 us against about 260 at
// the MNIST layer on a Zen 5 core).
bool Sparse(const float* x, int64_t M, int64_t N, int64_t K) {
  return SparseLinearEnabled() && ActiveIsa() != Isa::kPortable && N >= 16 && K >= 64 && M * K >= 16384 &&
         MostlyZero(x, M * K, kSparseDensity);
}

// The masked gradient, per calling thread; only grows.
thread_local std::unique_ptr<float[]> t_masked;
thread_local int64_t t_maskedSize = 0;

float* MaskedBuffer(int64_t n) {
  if (n > t_maskedSize) {
    t_masked.reset(new (std::nothrow) float[static_cast<size_t>(n)]);
    t_maskedSize = t_masked ? n : 0;
  }
  return t_masked.get();
}

}  // namespace

Status LinearForward(const float* x, const float* w, bool transW, const float* b, float* y, int64_t M, int64_t N,
                     int64_t K, FusedAct act) {
  if (M == 0 || N == 0) return Status::Ok();
  const bool relu = act == FusedAct::kRelu;
  if (K > 0 && Sparse(x, M, N, K)) {
    bool done = false;
    const Status st = SparseTimesDense(x, w, transW, b, relu, y, M, N, K, &done);
    if (!st.ok || done) return st;
  }
  if (K == 0) {
    std::fill(y, y + M * N, 0.f);
  } else {
    Sgemm(false, transW, M, N, K, 1.f, x, K, w, transW ? K : N, 0.f, y, N);
  }
  if (!b && !relu) return Status::Ok();
  TB_PARALLEL_FOR(M * N, i, 0, M, {
    float* yr = y + i * N;
    if (b && relu)
      for (int64_t j = 0; j < N; ++j) {
        const float v = yr[j] + b[j];
        yr[j] = v < 0.f ? 0.f : v;  // NaN passes, like the relu op
      }
    else if (b)
      for (int64_t j = 0; j < N; ++j) yr[j] += b[j];
    else
      for (int64_t j = 0; j < N; ++j) yr[j] = yr[j] < 0.f ? 0.f : yr[j];
  });
  return Status::Ok();
}

Status LinearBackward(const float* x, const float* w, bool transW, const float* dy, const float* y, FusedAct act,
                      float* dx, float* dw, float* db, int64_t M, int64_t N, int64_t K) {
  const float* g = dy;
  if (act == FusedAct::kRelu && M * N > 0) {
    if (!y) return Status::Error("the output y is needed for the ReLU gradient");
    float* m = MaskedBuffer(M * N);
    if (!m) return Status::Error("out of memory for the gradient workspace");
    TB_PARALLEL_FOR(M * N, i, 0, M * N, { m[i] = y[i] > 0.f ? dy[i] : 0.f; });
    g = m;
  }
  if (db) {
    // Column sums: float over runs of 64 rows (vectorized), then double across runs.
    TB_PARALLEL_FOR(M * N, jb, 0, (N + 63) / 64, {
      const int64_t j0 = jb * 64;
      const int64_t jn = std::min<int64_t>(64, N - j0);
      double tot[64] = {};
      for (int64_t i0 = 0; i0 < M; i0 += 64) {
        float acc[64] = {};
        for (int64_t i = i0; i < std::min(M, i0 + 64); ++i)
          for (int64_t j = 0; j < jn; ++j) acc[j] += g[i * N + j0 + j];
        for (int64_t j = 0; j < jn; ++j) tot[j] += acc[j];
      }
      for (int64_t j = 0; j < jn; ++j) db[j0 + j] = static_cast<float>(tot[j]);
    });
  }
  if (dw) {
    if (M == 0 || N == 0 || K == 0)
      std::fill(dw, dw + N * K, 0.f);
    else {
      // dW (K, N) = x^T (K, M) @ g (M, N), or for (N, K) weights its transpose g^T (N, M) @ x (M, K)
      bool done = false;
      if (Sparse(x, M, N, K)) {
        const Status st = SparseTransposedTimesDense(x, g, dw, transW, M, N, K, &done);
        if (!st.ok) return st;
      }
      if (!done) {
        if (transW)
          Sgemm(true, false, N, K, M, 1.f, g, N, x, K, 0.f, dw, K);
        else
          Sgemm(true, false, K, N, M, 1.f, x, K, g, N, 0.f, dw, N);
      }
    }
  }
  if (dx) {
    if (M == 0 || K == 0) return Status::Ok();
    if (N == 0)
      std::fill(dx, dx + M * K, 0.f);
    else  // dX (M, K) = g (M, N) @ op(W)^T
      Sgemm(false, !transW, M, K, N, 1.f, g, N, w, transW ? K : N, 0.f, dx, K);
  }
  return Status::Ok();
}

}  // namespace tb::cpu
