// cuda.dropout(x, y, mask, rate, seed), cuda.dropoutBackward(dy, mask, dx): the CPU mask for the same seed.
#include "cuda/dropout.cuh"
#include "napi/cuda/device_args.h"
#include "napi/register.h"

namespace tb::napi::cuda {
namespace {

constexpr int64_t kMaxSafe = (INT64_C(1) << 53) - 1;

Napi::Value Dropout(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.dropout", 5);
  const float* x = a.DevF32(0, "x");
  const int64_t n = a.DevLen(0);
  float* y = a.DevF32(1, "y", n);
  float* mask = a.DevF32(2, "mask", n);
  const double rate = a.Num(3, "rate");
  if (!(rate >= 0 && rate < 1)) a.ThrowRange("rate must be in [0, 1), got " + std::to_string(rate));
  const int64_t seed = a.Int(4, "seed", -kMaxSafe, kMaxSafe);
  a.NoAlias(2, "mask", 0, "x");
  a.NoAlias(2, "mask", 1, "y");
  a.Check(::tb::cuda::DropoutForward(x, y, mask, n, rate, static_cast<uint64_t>(seed), a.Stream()));
  return info.Env().Undefined();
}

Napi::Value DropoutBackward(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.dropoutBackward", 3);
  const float* dy = a.DevF32(0, "dy");
  const int64_t n = a.DevLen(0);
  const float* mask = a.DevF32(1, "mask", n);
  float* dx = a.DevF32(2, "dx", n);
  a.Check(::tb::cuda::DropoutBackward(dy, mask, dx, n, a.Stream()));
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  Napi::Object cuda = CudaExports(env, exports);
  TB_CUDA_EXPORT(cuda, "dropout", Dropout);
  TB_CUDA_EXPORT(cuda, "dropoutBackward", DropoutBackward);
}

TB_NAPI_REGISTER(Register);

}  // namespace
}  // namespace tb::napi::cuda
