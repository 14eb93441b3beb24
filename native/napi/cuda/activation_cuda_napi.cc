// cuda.activation(op, x, y, alpha), cuda.activationBackward(op, x, y, dy, dx, alpha).
#include <cmath>

#include "common/ops.h"
#include "cuda/activation.cuh"
#include "napi/cuda/device_args.h"
#include "napi/register.h"

namespace tb::napi::cuda {
namespace {

ActivationOp OpArg(const DevArgs& a, size_t i) {
  return static_cast<ActivationOp>(a.Int(i, "op", 0, static_cast<int64_t>(ActivationOp::kCount) - 1));
}

float AlphaArg(const DevArgs& a, size_t i) {
  const double alpha = a.Num(i, "alpha");
  if (!std::isfinite(alpha)) a.ThrowRange(a.Where(i, "alpha") + " must be finite, got " + std::to_string(alpha));
  return static_cast<float>(alpha);
}

Napi::Value Activation(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.activation", 4);
  const ActivationOp op = OpArg(a, 0);
  const float* x = a.DevF32(1, "x");
  const int64_t n = a.DevLen(1);
  float* y = a.DevF32(2, "y", n);
  a.Check(::tb::cuda::ActivationForward(op, x, y, n, AlphaArg(a, 3), a.Stream()));
  return info.Env().Undefined();
}

Napi::Value ActivationBackward(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.activationBackward", 6);
  const ActivationOp op = OpArg(a, 0);
  const float* x = a.DevF32(1, "x");
  const int64_t n = a.DevLen(1);
  const float* y = a.DevF32(2, "y", n);
  const float* dy = a.DevF32(3, "dy", n);
  float* dx = a.DevF32(4, "dx", n);
  a.Check(::tb::cuda::ActivationBackward(op, x, y, dy, dx, n, AlphaArg(a, 5), a.Stream()));
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  Napi::Object cuda = CudaExports(env, exports);
  TB_CUDA_EXPORT(cuda, "activation", Activation);
  TB_CUDA_EXPORT(cuda, "activationBackward", ActivationBackward);
}

TB_NAPI_REGISTER(Register);

}  // namespace
}  // namespace tb::napi::cuda
