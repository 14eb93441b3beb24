// gemm(a, b, c, transA, transB, m, n, k, alpha, beta, batch, strideA, strideB, strideC)
#include "cpu/gemm.h"
#include "napi/args.h"
#include "napi/register.h"

namespace tb::napi {
namespace {

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Args a(info, "gemm", 14);
  float* A = a.F32(0, "a");
  float* B = a.F32(1, "b");
  float* C = a.F32(2, "c");
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
  for (int64_t i = 0; i < batch; ++i)
    cpu::Sgemm(tA, tB, m, n, k, alpha, A + i * sA, lda == 0 ? 1 : lda, B + i * sB, ldb == 0 ? 1 : ldb, beta,
               C + i * sC, n);
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) { TB_EXPORT(exports, "gemm", Gemm); }

TB_NAPI_REGISTER(Register);

}  // namespace
}  // namespace tb::napi
