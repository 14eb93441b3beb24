// cuda.gemm(a, b, c, transA, transB, m, n, k, alpha, beta, batch, strideA, strideB, strideC): the CPU
// gemm's contract (lib/native/binding.ts) over device buffers, one cuBLAS call for the whole batch.
#include "cuda/gemm.cuh"
#include "napi/cuda/device_args.h"
#include "napi/register.h"

namespace tb::napi::cuda {
namespace {

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.gemm", 14);
  float* A = a.DevF32(0, "a");
  float* B = a.DevF32(1, "b");
  float* C = a.DevF32(2, "c");
  const bool tA = a.Bool(3, "transA"), tB = a.Bool(4, "transB");
  const int64_t m = a.Int(5, "m"), n = a.Int(6, "n"), k = a.Int(7, "k");
  const float alpha = static_cast<float>(a.Num(8, "alpha")), beta = static_cast<float>(a.Num(9, "beta"));
  const int64_t batch = a.Int(10, "batch");
  const int64_t sA = a.Int(11, "strideA", 0, INT64_C(1) << 40), sB = a.Int(12, "strideB", 0, INT64_C(1) << 40),
                sC = a.Int(13, "strideC", 0, INT64_C(1) << 40);
  if (batch == 0 || m == 0 || n == 0) return info.Env().Undefined();
  auto need = [&](int64_t stride, int64_t per) { return per == 0 ? 0 : (batch - 1) * stride + per; };
  const int64_t needA = need(sA, CheckedProduct(a, {m, k})), needB = need(sB, CheckedProduct(a, {k, n})),
                needC = need(sC, CheckedProduct(a, {m, n}));
  if (a.DevLen(0) < needA) a.ThrowRange("a holds " + std::to_string(a.DevLen(0)) + " floats; needs " + std::to_string(needA));
  if (a.DevLen(1) < needB) a.ThrowRange("b holds " + std::to_string(a.DevLen(1)) + " floats; needs " + std::to_string(needB));
  if (a.DevLen(2) < needC) a.ThrowRange("c holds " + std::to_string(a.DevLen(2)) + " floats; needs " + std::to_string(needC));
  if (batch > 1 && sC < m * n) a.ThrowRange("strideC must be at least m*n so outputs do not overlap");
  if (a.Same(2, 0) || a.Same(2, 1)) a.Throw("c must not be the same buffer as a or b");
  const int64_t lda = tA ? m : k, ldb = tB ? k : n;
  a.Check(::tb::cuda::SgemmStridedBatched(tA, tB, m, n, k, alpha, A, lda == 0 ? 1 : lda, sA, B, ldb == 0 ? 1 : ldb, sB,
                                          beta, C, n, sC, batch, a.Stream(), "gemm"));
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  Napi::Object cuda = CudaExports(env, exports);
  TB_CUDA_EXPORT(cuda, "gemm", Gemm);
}

TB_NAPI_REGISTER(Register);

}  // namespace
}  // namespace tb::napi::cuda
