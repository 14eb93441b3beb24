// cuda.fill(out, value), cuda.cast(src, dst), cuda.axpy(alpha, x, y) over device buffers.
#include <cmath>

#include "cuda/memory.cuh"
#include "napi/cuda/device_args.h"
#include "napi/register.h"

namespace tb::napi::cuda {
namespace {

namespace k = ::tb::cuda;

Napi::Value Fill(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.fill", 2);
  int64_t n = 0;
  bool isInt = false;
  void* p = a.DevAny32(0, "out", &n, &isInt);
  const double v = a.Num(1, "value");
  if (isInt) a.Check(k::FillI32(static_cast<int32_t*>(p), n, static_cast<int32_t>(std::isfinite(v) ? v : 0), a.Stream()));
  else a.Check(k::FillF32(static_cast<float*>(p), n, static_cast<float>(v), a.Stream()));
  return info.Env().Undefined();
}

Napi::Value Cast(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.cast", 2);
  int64_t n = 0, m = 0;
  bool srcInt = false, dstInt = false;
  void* s = a.DevAny32(0, "src", &n, &srcInt);
  void* d = a.DevAny32(1, "dst", &m, &dstInt);
  if (n != m) a.ThrowRange("src has " + std::to_string(n) + " elements but dst has " + std::to_string(m));
  if (srcInt && !dstInt) a.Check(k::CastI32ToF32(static_cast<int32_t*>(s), static_cast<float*>(d), n, a.Stream()));
  else if (!srcInt && dstInt) a.Check(k::CastF32ToI32(static_cast<float*>(s), static_cast<int32_t*>(d), n, a.Stream()));
  else if (s != d) a.Check(::tb::cuda::CopyOnDevice(d, s, static_cast<size_t>(n) * 4, "cuda.cast"));
  return info.Env().Undefined();
}

Napi::Value Axpy(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.axpy", 3);
  const float alpha = static_cast<float>(a.Num(0, "alpha"));
  float* x = a.DevF32(1, "x");
  float* y = a.DevF32(2, "y", a.DevLen(1));
  a.Check(k::Axpy(a.DevLen(1), alpha, x, y, a.Stream()));
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  Napi::Object cuda = CudaExports(env, exports);
  TB_CUDA_EXPORT(cuda, "fill", Fill);
  TB_CUDA_EXPORT(cuda, "cast", Cast);
  TB_CUDA_EXPORT(cuda, "axpy", Axpy);
}

TB_NAPI_REGISTER(Register);

}  // namespace
}  // namespace tb::napi::cuda
