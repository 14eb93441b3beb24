// sgdStep, adamStep, rmspropStep, adagradStep, adadeltaStep, sumSquares, scale.
// Every state buffer must match the parameter's length (a short buffer would be read past its end),
// hyper-parameters must be finite, and those whose range the update's arithmetic depends on (betas
// below 1, eps >= 0, step >= 1) are checked here too, so no call can write NaN by construction.
#include <cmath>
#include <string>

#include "cpu/optim.h"
#include "napi/kernel.h"
#ifdef TENSORBOLT_CUDA
#include "cuda/optim.cuh"
#endif

namespace tb::napi {
namespace {

constexpr int64_t kMaxStep = INT64_C(1) << 52;

float Finite(const ArgsBase& a, size_t i, const char* name) {
  const double d = a.Num(i, name);
  // Checked after the narrowing too: a finite double such as 1e300 is infinite as a float.
  if (!std::isfinite(d) || !std::isfinite(static_cast<float>(d)))
    a.ThrowRange(a.Where(i, name) + " must be a finite float32, got " + std::to_string(d));
  return static_cast<float>(d);
}

float InRange(const ArgsBase& a, size_t i, const char* name, double lo, double hi, bool hiOpen) {
  const float v = Finite(a, i, name);
  if (v < lo || v > hi || (hiOpen && v == hi))
    a.ThrowRange(a.Where(i, name) + " = " + std::to_string(v) + " is outside [" + std::to_string(lo) + ", " +
                 std::to_string(hi) + (hiOpen ? ")" : "]"));
  return v;
}

// sumSquares returns a number: on the device it waits for the result.
double SumOfSquares(const Args&, int64_t n, const float* x) { return cpu::SumSquares(n, x); }
#ifdef TENSORBOLT_CUDA
double SumOfSquares(const DevArgs& a, int64_t n, const float* x) {
  cudaStream_t stream = a.Stream();
  ::tb::cuda::Scratch out;
  a.Check(out.Alloc(sizeof(double), "cuda.sumSquares"));
  a.Check(::tb::cuda::SumSquares(n, x, out.As<double>(), stream));
  double host = 0.0;
  a.Check(::tb::cuda::CopyToHost(&host, out.As<double>(), sizeof host, "cuda.sumSquares"));
  return host;
}
#endif

// The parameter (argument 0) and its gradient (argument 1), which must have the same length.
struct ParamGrad {
  float* p;
  const float* g;
  int64_t n;
};

template <class A>
ParamGrad Pair(const A& a) {
  float* p = a.F32(0, "param");
  const int64_t n = a.Len(0);
  const float* g = a.F32(1, "grad", n);
  a.NoOverlap(0, "param", 1, "grad");
  return {p, g, n};
}

template <class A>
Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  A a(info, "sgdStep", 9);
  auto [p, g, n] = Pair(a);
  float* buf = a.F32OrNull(2, "momentumBuf", n);
  const float lr = Finite(a, 3, "lr"), momentum = Finite(a, 4, "momentum"), damp = Finite(a, 5, "dampening"),
              wd = Finite(a, 6, "weightDecay");
  const bool nesterov = a.Bool(7, "nesterov"), first = a.Bool(8, "firstStep");
  // An empty typed array may have a null data pointer: test the argument, not the pointer.
  if (momentum != 0.f && a.IsNull(2)) a.Throw("momentum " + std::to_string(momentum) + " needs a momentumBuf");
  if (nesterov && momentum == 0.f) a.ThrowRange("nesterov needs a non-zero momentum");
  a.OutputsDisjoint({{0, "param"}, {2, "momentumBuf"}}, {{1, "grad"}});
  TB_KERNEL(a, SgdStep, n, p, g, buf, lr, momentum, damp, wd, nesterov, first);
  return info.Env().Undefined();
}

template <class A>
Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  A a(info, "adamStep", 12);
  auto [p, g, n] = Pair(a);
  float* m = a.F32(2, "m", n);
  float* v = a.F32(3, "v", n);
  float* vmax = a.F32OrNull(4, "vmax", n);
  const float lr = Finite(a, 5, "lr");
  const float beta1 = InRange(a, 6, "beta1", 0, 1, true), beta2 = InRange(a, 7, "beta2", 0, 1, true);
  const float eps = InRange(a, 8, "eps", 0, HUGE_VAL, false);
  const float wd = Finite(a, 9, "weightDecay");
  const bool decoupled = a.Bool(10, "decoupled");
  const int64_t step = a.Int(11, "step", 1, kMaxStep);
  a.OutputsDisjoint({{0, "param"}, {2, "m"}, {3, "v"}, {4, "vmax"}}, {{1, "grad"}});
  TB_KERNEL(a, AdamStep, n, p, g, m, v, vmax, lr, beta1, beta2, eps, wd, decoupled, step);
  return info.Env().Undefined();
}

template <class A>
Napi::Value RmspropStep(const Napi::CallbackInfo& info) {
  A a(info, "rmspropStep", 11);
  auto [p, g, n] = Pair(a);
  float* sq = a.F32(2, "sq", n);
  float* mom = a.F32OrNull(3, "momBuf", n);
  float* gavg = a.F32OrNull(4, "gradAvg", n);
  const float lr = Finite(a, 5, "lr"), alpha = InRange(a, 6, "alpha", 0, 1, false);
  const float eps = InRange(a, 7, "eps", 0, HUGE_VAL, false);
  const float wd = Finite(a, 8, "weightDecay"), momentum = Finite(a, 9, "momentum");
  const bool epsInSqrt = a.Bool(10, "epsInSqrt");
  if (momentum > 0.f && a.IsNull(3)) a.Throw("momentum " + std::to_string(momentum) + " needs a momBuf");
  a.OutputsDisjoint({{0, "param"}, {2, "sq"}, {3, "momBuf"}, {4, "gradAvg"}}, {{1, "grad"}});
  TB_KERNEL(a, RmspropStep, n, p, g, sq, mom, gavg, lr, alpha, eps, wd, momentum, epsInSqrt);
  return info.Env().Undefined();
}

template <class A>
Napi::Value AdagradStep(const Napi::CallbackInfo& info) {
  A a(info, "adagradStep", 9);
  auto [p, g, n] = Pair(a);
  float* sum = a.F32(2, "sum", n);
  const float lr = Finite(a, 3, "lr"), lrDecay = InRange(a, 4, "lrDecay", 0, HUGE_VAL, false),
              wd = Finite(a, 5, "weightDecay"), eps = InRange(a, 6, "eps", 0, HUGE_VAL, false);
  const int64_t step = a.Int(7, "step", 1, kMaxStep);
  const bool epsInSqrt = a.Bool(8, "epsInSqrt");
  a.OutputsDisjoint({{0, "param"}, {2, "sum"}}, {{1, "grad"}});
  TB_KERNEL(a, AdagradStep, n, p, g, sum, lr, lrDecay, wd, eps, step, epsInSqrt);
  return info.Env().Undefined();
}

template <class A>
Napi::Value AdadeltaStep(const Napi::CallbackInfo& info) {
  A a(info, "adadeltaStep", 8);
  auto [p, g, n] = Pair(a);
  float* sq = a.F32(2, "sq", n);
  float* acc = a.F32(3, "acc", n);
  const float lr = Finite(a, 4, "lr"), rho = InRange(a, 5, "rho", 0, 1, false),
              eps = InRange(a, 6, "eps", 0, HUGE_VAL, false), wd = Finite(a, 7, "weightDecay");
  a.OutputsDisjoint({{0, "param"}, {2, "sq"}, {3, "acc"}}, {{1, "grad"}});
  TB_KERNEL(a, AdadeltaStep, n, p, g, sq, acc, lr, rho, eps, wd);
  return info.Env().Undefined();
}

template <class A>
Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  A a(info, "sumSquares", 1);
  const float* x = a.F32(0, "x");
  return Napi::Number::New(info.Env(), SumOfSquares(a, a.Len(0), x));
}

template <class A>
Napi::Value Scale(const Napi::CallbackInfo& info) {
  A a(info, "scale", 2);
  float* x = a.F32(0, "x");
  const float alpha = Finite(a, 1, "alpha");
  TB_KERNEL(a, Scale, a.Len(0), x, alpha);
  return info.Env().Undefined();
}

template <class A>
void Register(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "sgdStep", SgdStep<A>);
  Export(env, exports, "adamStep", AdamStep<A>);
  Export(env, exports, "rmspropStep", RmspropStep<A>);
  Export(env, exports, "adagradStep", AdagradStep<A>);
  Export(env, exports, "adadeltaStep", AdadeltaStep<A>);
  Export(env, exports, "sumSquares", SumSquares<A>);
  Export(env, exports, "scale", Scale<A>);
}

TB_NAPI_REGISTER_KERNELS(Register);

}  // namespace
}  // namespace tb::napi
