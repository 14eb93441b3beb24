// linear(x, w, b, y, m, n, k, transW, act), linearBackward(x, w, dy, y, dx, dw, db, m, n, k, transW, act)
// x (m, k); w (k, n), or (n, k) when transW; b (n) or null; y (m, n); act 0 none, 1 ReLU.
#include <string>

#include "common/ops.h"
#include "cpu/linear.h"
#include "napi/kernel.h"
#ifdef TENSORBOLT_CUDA
#include "cuda/linear.cuh"
#endif

namespace tb::napi {
namespace {

struct Dims {
  int64_t m, n, k;
  bool transW;
  FusedAct act;
};

Dims ReadDims(const ArgsBase& a, size_t i) {
  Dims d{a.Int(i, "m"), a.Int(i + 1, "n"), a.Int(i + 2, "k"), a.Bool(i + 3, "transW"),
         static_cast<FusedAct>(a.Int(i + 4, "act", 0, static_cast<int64_t>(FusedAct::kCount) - 1))};
  CheckedProduct(a, {d.m, d.k});
  CheckedProduct(a, {d.m, d.n});
  CheckedProduct(a, {d.n, d.k});
  return d;
}

template <class A>
Napi::Value Linear(const Napi::CallbackInfo& info) {
  A a(info, "linear", 9);
  const Dims d = ReadDims(a, 4);
  const float* x = a.F32(0, "x", d.m * d.k);
  const float* w = a.F32(1, "w", d.n * d.k);
  const float* b = a.F32OrNull(2, "b", d.n);
  float* y = a.F32(3, "y", d.m * d.n);
  a.OutputsUnshared({{3, "y"}}, {{0, "x"}, {1, "w"}, {2, "b"}});
  TB_KERNEL(a, LinearForward, x, w, d.transW, b, y, d.m, d.n, d.k, d.act);
  return info.Env().Undefined();
}

template <class A>
Napi::Value LinearBackward(const Napi::CallbackInfo& info) {
  A a(info, "linearBackward", 12);
  const Dims d = ReadDims(a, 7);
  const float* x = a.F32(0, "x", d.m * d.k);
  const float* w = a.F32(1, "w", d.n * d.k);
  const float* dy = a.F32(2, "dy", d.m * d.n);
  // y is checked whenever given (null allowed without a fused activation)
  const float* y = d.act == FusedAct::kNone ? a.F32OrNull(3, "y", d.m * d.n) : a.F32(3, "y", d.m * d.n);
  float* dx = a.F32OrNull(4, "dx", d.m * d.k);
  float* dw = a.F32OrNull(5, "dw", d.n * d.k);
  float* db = a.F32OrNull(6, "db", d.n);
  a.OutputsUnshared({{4, "dx"}, {5, "dw"}, {6, "db"}}, {{0, "x"}, {1, "w"}, {2, "dy"}, {3, "y"}});
  TB_KERNEL(a, LinearBackward, x, w, d.transW, dy, y, d.act, dx, dw, db, d.m, d.n, d.k);
  return info.Env().Undefined();
}

template <class A>
void Register(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "linear", Linear<A>);
  Export(env, exports, "linearBackward", LinearBackward<A>);
}

TB_NAPI_REGISTER_KERNELS(Register);

}  // namespace
}  // namespace tb::napi
