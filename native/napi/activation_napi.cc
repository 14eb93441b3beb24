// activation(op, x, y, alpha), activationBackward(op, x, y, dy, dx, alpha)
#include <cmath>

#include "common/ops.h"
#include "cpu/activation.h"
#include "napi/kernel.h"
#include "napi/pointwise_args.h"
#ifdef TENSORBOLT_CUDA
#include "cuda/activation.cuh"
#endif

namespace tb::napi {
namespace {

ActivationOp OpArg(const ArgsBase& a, size_t i) {
  return static_cast<ActivationOp>(a.Int(i, "op", 0, static_cast<int64_t>(ActivationOp::kCount) - 1));
}

float AlphaArg(const ArgsBase& a, size_t i) {
  const double alpha = a.Num(i, "alpha");
  if (!std::isfinite(alpha)) a.ThrowRange(a.Where(i, "alpha") + " must be finite, got " + std::to_string(alpha));
  return static_cast<float>(alpha);
}

template <class A>
Napi::Value Activation(const Napi::CallbackInfo& info) {
  A a(info, "activation", 4);
  const ActivationOp op = OpArg(a, 0);
  const Pointwise p = ReadPointwise(a, 1, "y");
  const float alpha = AlphaArg(a, 3);
  TB_KERNEL(a, ActivationForward, op, p.x, p.y, p.n, alpha);
  return info.Env().Undefined();
}

template <class A>
Napi::Value ActivationBackward(const Napi::CallbackInfo& info) {
  A a(info, "activationBackward", 6);
  const ActivationOp op = OpArg(a, 0);
  const PointwiseGrad p = ReadPointwiseGrad(a, 1);
  const float alpha = AlphaArg(a, 5);
  TB_KERNEL(a, ActivationBackward, op, p.x, p.y, p.dy, p.dx, p.n, alpha);
  return info.Env().Undefined();
}

template <class A>
void Register(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "activation", Activation<A>);
  Export(env, exports, "activationBackward", ActivationBackward<A>);
}

TB_NAPI_REGISTER_KERNELS(Register);

}  // namespace
}  // namespace tb::napi
