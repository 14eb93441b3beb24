// gemm(a, b, c, transA, transB, m, n, k, alpha, beta, batch, strideA, strideB, strideC)
#include "cpu/gemm.h"
#include "napi/kernel.h"
#ifdef TENSORBOLT_CUDA
#include "cuda/gemm.cuh"
#endif

namespace tb::napi {
namespace {

// For i in [0, batch): C_i = alpha * op(A_i) @ op(B_i) + beta * C_i, operand i at i * stride.
// The CPU runs one GEMM per batch entry (each split over the threads), the device one cuBLAS call.
void StridedBatched(const Args&, bool tA, bool tB, int64_t m, int64_t n, int64_t k, float alpha, const float* A,
                    int64_t lda, int64_t sA, const float* B, int64_t ldb, int64_t sB, float beta, float* C, int64_t sC,
                    int64_t batch) {
  for (int64_t i = 0; i < batch; ++i)
    cpu::Sgemm(tA, tB, m, n, k, alpha, A + i * sA, lda, B + i * sB, ldb, beta, C + i * sC, n);
}
#ifdef TENSORBOLT_CUDA
void StridedBatched(const DevArgs& a, bool tA, bool tB, int64_t m, int64_t n, int64_t k, float alpha, const float* A,
                    int64_t lda, int64_t sA, const float* B, int64_t ldb, int64_t sB, float beta, float* C, int64_t sC,
                    int64_t batch) {
  cudaStream_t stream = a.Stream();
  a.Check(::tb::cuda::SgemmStridedBatched(tA, tB, m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, n, sC, batch, stream,
                                          "gemm"));
}
#endif

template <class A>
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  A a(info, "gemm", 14);
  float* pa = a.F32(0, "a");
  float* pb = a.F32(1, "b");
  float* pc = a.F32(2, "c");
  const bool tA = a.Bool(3, "transA"), tB = a.Bool(4, "transB");
  const int64_t m = a.Int(5, "m"), n = a.Int(6, "n"), k = a.Int(7, "k");
  const float alpha = static_cast<float>(a.Num(8, "alpha")), beta = static_cast<float>(a.Num(9, "beta"));
  const int64_t batch = a.Int(10, "batch");
  const int64_t sA = a.Int(11, "strideA", 0, INT64_C(1) << 40), sB = a.Int(12, "strideB", 0, INT64_C(1) << 40),
                sC = a.Int(13, "strideC", 0, INT64_C(1) << 40);
  if (batch == 0 || m == 0 || n == 0) return info.Env().Undefined();
  // C is written while A and B are still being read (and OpenBLAS assumes no aliasing).
  a.OutputsDisjoint({{2, "c"}}, {{0, "a"}, {1, "b"}});
  // Every batch's operand must lie inside its buffer.
  auto need = [&](int64_t stride, int64_t per) { return per == 0 ? 0 : (batch - 1) * stride + per; };
  const int64_t needA = need(sA, CheckedProduct(a, {m, k})), needB = need(sB, CheckedProduct(a, {k, n})),
                needC = need(sC, CheckedProduct(a, {m, n}));
  if (a.Len(0) < needA) a.ThrowRange("a holds " + std::to_string(a.Len(0)) + " floats; needs " + std::to_string(needA));
  if (a.Len(1) < needB) a.ThrowRange("b holds " + std::to_string(a.Len(1)) + " floats; needs " + std::to_string(needB));
  if (a.Len(2) < needC) a.ThrowRange("c holds " + std::to_string(a.Len(2)) + " floats; needs " + std::to_string(needC));
  if (batch > 1 && sC < m * n) a.ThrowRange("strideC must be at least m*n so outputs do not overlap");
  const int64_t lda = tA ? m : k, ldb = tB ? k : n;
  StridedBatched(a, tA, tB, m, n, k, alpha, pa, lda == 0 ? 1 : lda, sA, pb, ldb == 0 ? 1 : ldb, sB, beta, pc, sC, batch);
  return info.Env().Undefined();
}

template <class A>
void Register(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "gemm", Gemm<A>);
}

TB_NAPI_REGISTER_KERNELS(Register);

}  // namespace
}  // namespace tb::napi
