// dropout(x, y, mask, rate, seed), dropoutBackward(dy, mask, dx): the same mask for a seed on both devices.
#include <cmath>

#include "cpu/dropout.h"
#include "napi/kernel.h"
#ifdef TENSORBOLT_CUDA
#include "cuda/dropout.cuh"
#endif

namespace tb::napi {
namespace {

// Seeds are JS integers; every safe integer is accepted and reinterpreted as 64 bits.
constexpr int64_t kMaxSafe = (INT64_C(1) << 53) - 1;

template <class A>
Napi::Value Dropout(const Napi::CallbackInfo& info) {
  A a(info, "dropout", 5);
  const float* x = a.F32(0, "x");
  const int64_t n = a.Len(0);
  float* y = a.F32(1, "y", n);
  float* mask = a.F32(2, "mask", n);
  a.NoOverlap(1, "y", 0, "x", true);
  a.OutputsDisjoint({{2, "mask"}}, {{0, "x"}, {1, "y"}});
  const double rate = a.Num(3, "rate");
  if (!(rate >= 0 && rate < 1)) a.ThrowRange("rate must be in [0, 1), got " + std::to_string(rate));
  const int64_t seed = a.Int(4, "seed", -kMaxSafe, kMaxSafe);
  TB_KERNEL(a, DropoutForward, x, y, mask, n, rate, static_cast<uint64_t>(seed));
  return info.Env().Undefined();
}

template <class A>
Napi::Value DropoutBackward(const Napi::CallbackInfo& info) {
  A a(info, "dropoutBackward", 3);
  const float* dy = a.F32(0, "dy");
  const int64_t n = a.Len(0);
  const float* mask = a.F32(1, "mask", n);
  float* dx = a.F32(2, "dx", n);
  a.NoOverlap(2, "dx", 0, "dy", true);
  a.NoOverlap(2, "dx", 1, "mask", true);
  TB_KERNEL(a, DropoutBackward, dy, mask, dx, n);
  return info.Env().Undefined();
}

template <class A>
void Register(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "dropout", Dropout<A>);
  Export(env, exports, "dropoutBackward", DropoutBackward<A>);
}

TB_NAPI_REGISTER_KERNELS(Register);

}  // namespace
}  // namespace tb::napi
