// cuda.sgdStep, adamStep, rmspropStep, adagradStep, adadeltaStep, sumSquares, scale: the CPU
// functions' contracts (native/napi/optim_napi.cc) over device buffers. sumSquares returns a number,
// so it waits for the device.
#include <cmath>
#include <string>

#include "cuda/optim.cuh"
#include "cuda/runtime.cuh"
#include "napi/cuda/device_args.h"
#include "napi/register.h"

namespace tb::napi::cuda {
namespace {

namespace k = ::tb::cuda;

constexpr int64_t kMaxStep = INT64_C(1) << 52;

float Finite(const DevArgs& a, size_t i, const char* name) {
  const double d = a.Num(i, name);
  if (!std::isfinite(d) || !std::isfinite(static_cast<float>(d)))
    a.ThrowRange(a.Where(i, name) + " must be a finite float32, got " + std::to_string(d));
  return static_cast<float>(d);
}

float InRange(const DevArgs& a, size_t i, const char* name, double lo, double hi, bool hiOpen) {
  const float v = Finite(a, i, name);
  if (v < lo || v > hi || (hiOpen && v == hi))
    a.ThrowRange(a.Where(i, name) + " = " + std::to_string(v) + " is outside [" + std::to_string(lo) + ", " +
                 std::to_string(hi) + (hiOpen ? ")" : "]"));
  return v;
}

struct ParamGrad {
  float* p;
  const float* g;
  int64_t n;
};

// param (argument 0) and grad (argument 1) of the same length; state buffers (2..last) must be
// distinct from them and from each other.
ParamGrad Pair(const DevArgs& a, size_t lastState) {
  float* p = a.DevF32(0, "param");
  const int64_t n = a.DevLen(0);
  const float* g = a.DevF32(1, "grad", n);
  for (size_t i = 1; i <= lastState; ++i)
    for (size_t j = 0; j < i; ++j)
      if (a.Same(i, j)) a.Throw(a.Where(i, "buffer") + " must not be the same buffer as " + a.Where(j, "buffer"));
  return {p, g, n};
}

Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.sgdStep", 9);
  auto [p, g, n] = Pair(a, 2);
  float* buf = a.DevF32OrNull(2, "momentumBuf", n);
  const float lr = Finite(a, 3, "lr"), momentum = Finite(a, 4, "momentum"), damp = Finite(a, 5, "dampening"),
              wd = Finite(a, 6, "weightDecay");
  const bool nesterov = a.Bool(7, "nesterov"), first = a.Bool(8, "firstStep");
  if (momentum != 0.f && a.IsNull(2)) a.Throw("momentum " + std::to_string(momentum) + " needs a momentumBuf");
  if (nesterov && momentum == 0.f) a.ThrowRange("nesterov needs a non-zero momentum");
  a.Check(k::SgdStep(n, p, g, buf, lr, momentum, damp, wd, nesterov, first, a.Stream()));
  return info.Env().Undefined();
}

Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.adamStep", 12);
  auto [p, g, n] = Pair(a, 4);
  float* m = a.DevF32(2, "m", n);
  float* v = a.DevF32(3, "v", n);
  float* vmax = a.DevF32OrNull(4, "vmax", n);
  const float lr = Finite(a, 5, "lr");
  const float beta1 = InRange(a, 6, "beta1", 0, 1, true), beta2 = InRange(a, 7, "beta2", 0, 1, true);
  const float eps = InRange(a, 8, "eps", 0, HUGE_VAL, false);
  const float wd = Finite(a, 9, "weightDecay");
  const bool decoupled = a.Bool(10, "decoupled");
  const int64_t step = a.Int(11, "step", 1, kMaxStep);
  a.Check(k::AdamStep(n, p, g, m, v, vmax, lr, beta1, beta2, eps, wd, decoupled, step, a.Stream()));
  return info.Env().Undefined();
}

Napi::Value RmspropStep(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.rmspropStep", 11);
  auto [p, g, n] = Pair(a, 4);
  float* sq = a.DevF32(2, "sq", n);
  float* mom = a.DevF32OrNull(3, "momBuf", n);
  float* gavg = a.DevF32OrNull(4, "gradAvg", n);
  const float lr = Finite(a, 5, "lr"), alpha = InRange(a, 6, "alpha", 0, 1, false);
  const float eps = InRange(a, 7, "eps", 0, HUGE_VAL, false);
  const float wd = Finite(a, 8, "weightDecay"), momentum = Finite(a, 9, "momentum");
  const bool epsInSqrt = a.Bool(10, "epsInSqrt");
  if (momentum > 0.f && a.IsNull(3)) a.Throw("momentum " + std::to_string(momentum) + " needs a momBuf");
  a.Check(k::RmspropStep(n, p, g, sq, mom, gavg, lr, alpha, eps, wd, momentum, epsInSqrt, a.Stream()));
  return info.Env().Undefined();
}

Napi::Value AdagradStep(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.adagradStep", 9);
  auto [p, g, n] = Pair(a, 2);
  float* sum = a.DevF32(2, "sum", n);
  const float lr = Finite(a, 3, "lr"), lrDecay = InRange(a, 4, "lrDecay", 0, HUGE_VAL, false),
              wd = Finite(a, 5, "weightDecay"), eps = InRange(a, 6, "eps", 0, HUGE_VAL, false);
  const int64_t step = a.Int(7, "step", 1, kMaxStep);
  const bool epsInSqrt = a.Bool(8, "epsInSqrt");
  a.Check(k::AdagradStep(n, p, g, sum, lr, lrDecay, wd, eps, step, epsInSqrt, a.Stream()));
  return info.Env().Undefined();
}

Napi::Value AdadeltaStep(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.adadeltaStep", 8);
  auto [p, g, n] = Pair(a, 3);
  float* sq = a.DevF32(2, "sq", n);
  float* acc = a.DevF32(3, "acc", n);
  const float lr = Finite(a, 4, "lr"), rho = InRange(a, 5, "rho", 0, 1, false),
              eps = InRange(a, 6, "eps", 0, HUGE_VAL, false), wd = Finite(a, 7, "weightDecay");
  a.Check(k::AdadeltaStep(n, p, g, sq, acc, lr, rho, eps, wd, a.Stream()));
  return info.Env().Undefined();
}

Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.sumSquares", 1);
  const float* x = a.DevF32(0, "x");
  cudaStream_t stream = a.Stream();
  k::Scratch out;
  a.Check(out.Alloc(sizeof(double), "cuda.sumSquares"));
  a.Check(k::SumSquares(a.DevLen(0), x, out.As<double>(), stream));
  double host = 0.0;
  a.Check(k::CopyToHost(&host, out.As<double>(), sizeof host, "cuda.sumSquares"));
  return Napi::Number::New(info.Env(), host);
}

Napi::Value Scale(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.scale", 2);
  float* x = a.DevF32(0, "x");
  a.Check(k::Scale(a.DevLen(0), x, Finite(a, 1, "alpha"), a.Stream()));
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  Napi::Object cuda = CudaExports(env, exports);
  TB_CUDA_EXPORT(cuda, "sgdStep", SgdStep);
  TB_CUDA_EXPORT(cuda, "adamStep", AdamStep);
  TB_CUDA_EXPORT(cuda, "rmspropStep", RmspropStep);
  TB_CUDA_EXPORT(cuda, "adagradStep", AdagradStep);
  TB_CUDA_EXPORT(cuda, "adadeltaStep", AdadeltaStep);
  TB_CUDA_EXPORT(cuda, "sumSquares", SumSquares);
  TB_CUDA_EXPORT(cuda, "scale", Scale);
}

TB_NAPI_REGISTER(Register);

}  // namespace
}  // namespace tb::napi::cuda
