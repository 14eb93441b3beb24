// softmax(x, y, outer, dim, inner, log)
// softmaxBackward(y, dy, dx, outer, dim, inner, log)
// softmaxXent(logits, n, c, labels, targets, smoothing, probs, loss)
// softmaxXentBackward(probs, n, c, labels, targets, smoothing, dloss, dlogits)
#include <cmath>
#include <cstdint>

#include "cpu/softmax_xent.h"
#include "napi/kernel.h"
#ifdef TENSORBOLT_CUDA
#include "cuda/softmax_xent.cuh"
#endif

namespace tb::napi {
namespace {

// The kernels read inputs after writing outputs, so sharing memory would corrupt results. With
// allowSame, two arrays over exactly the same memory pass (kernels that read each element just
// before writing the same element).
template <class A>
void CheckNoOverlap(const A& a, size_t i, const char* ni, size_t j, const char* nj, bool allowSame = false) {
  const auto [p, pe] = a.Span(i);  // empty for null and for empty arrays
  const auto [q, qe] = a.Span(j);
  if (p == pe || q == qe) return;
  if (allowSame && p == q && pe == qe) return;
  if (p < qe && q < pe) a.ThrowRange(std::string(ni) + " and " + nj + " must not share memory");
}

template <class A>
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  A a(info, "softmax", 6);
  const int64_t outer = a.Int(2, "outer"), dim = a.Int(3, "dim"), inner = a.Int(4, "inner");
  const int64_t total = CheckedProduct(a, {outer, dim, inner});
  const float* x = a.F32(0, "x", total);
  float* y = a.F32(1, "y", total);
  const bool log = a.Bool(5, "log");
  CheckNoOverlap(a, 0, "x", 1, "y");
  TB_KERNEL(a, SoftmaxForward, x, y, outer, dim, inner, log);
  return info.Env().Undefined();
}

template <class A>
Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  A a(info, "softmaxBackward", 7);
  const int64_t outer = a.Int(3, "outer"), dim = a.Int(4, "dim"), inner = a.Int(5, "inner");
  const int64_t total = CheckedProduct(a, {outer, dim, inner});
  const float* y = a.F32(0, "y", total);
  const float* dy = a.F32(1, "dy", total);
  float* dx = a.F32(2, "dx", total);
  const bool log = a.Bool(6, "log");
  CheckNoOverlap(a, 0, "y", 2, "dx", true);
  CheckNoOverlap(a, 1, "dy", 2, "dx", true);
  TB_KERNEL(a, SoftmaxBackward, y, dy, dx, outer, dim, inner, log);
  return info.Env().Undefined();
}

struct XentArgs {
  int64_t n = 0, c = 0;
  const int32_t* labels = nullptr;
  const float* targets = nullptr;
  float smoothing = 0;
};

// Arguments 1..5 of both xent functions: n, c, labels, targets, smoothing.
template <class A>
XentArgs ReadXent(const A& a) {
  XentArgs r;
  r.n = a.Int(1, "n");
  r.c = a.Int(2, "c");
  const int64_t nc = CheckedProduct(a, {r.n, r.c});
  if (r.c == 0 && r.n > 0) a.ThrowRange("c must be positive when n > 0 (softmax over zero classes)");
  if (a.IsNull(3) == a.IsNull(4)) a.Throw("exactly one of labels (argument 3) and targets (argument 4) must be non-null");
  r.labels = a.I32OrNull(3, "labels", r.n);
  r.targets = a.F32OrNull(4, "targets", nc);
  const double eps = a.Num(5, "smoothing");
  if (!(eps >= 0.0 && eps <= 1.0)) a.ThrowRange(a.Where(5, "smoothing") + " must be in [0, 1], got " + std::to_string(eps));
  r.smoothing = static_cast<float>(eps);
  return r;
}

template <class A>
Napi::Value SoftmaxXent(const Napi::CallbackInfo& info) {
  A a(info, "softmaxXent", 8);
  const XentArgs x = ReadXent(a);
  const int64_t nc = x.n * x.c;
  const float* logits = a.F32(0, "logits", nc);
  float* probs = a.F32(6, "probs", nc);
  float* loss = a.F32(7, "loss", x.n);
  for (size_t in : {0, 3, 4})
    for (size_t out : {6, 7}) CheckNoOverlap(a, in, in == 0 ? "logits" : in == 3 ? "labels" : "targets", out,
                                             out == 6 ? "probs" : "loss");
  CheckNoOverlap(a, 6, "probs", 7, "loss");
  TB_KERNEL(a, SoftmaxXentForward, logits, x.n, x.c, x.labels, x.targets, x.smoothing, probs, loss);
  return info.Env().Undefined();
}

template <class A>
Napi::Value SoftmaxXentBackward(const Napi::CallbackInfo& info) {
  A a(info, "softmaxXentBackward", 8);
  const XentArgs x = ReadXent(a);
  const int64_t nc = x.n * x.c;
  const float* probs = a.F32(0, "probs", nc);
  const float* dloss = a.F32(6, "dloss", x.n);
  float* dlogits = a.F32(7, "dlogits", nc);
  CheckNoOverlap(a, 0, "probs", 7, "dlogits", true);
  CheckNoOverlap(a, 4, "targets", 7, "dlogits");
  CheckNoOverlap(a, 3, "labels", 7, "dlogits");
  CheckNoOverlap(a, 6, "dloss", 7, "dlogits");
  TB_KERNEL(a, SoftmaxXentBackward, probs, x.n, x.c, x.labels, x.targets, x.smoothing, dloss, dlogits);
  return info.Env().Undefined();
}

template <class A>
void Register(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "softmax", Softmax<A>);
  Export(env, exports, "softmaxBackward", SoftmaxBackward<A>);
  Export(env, exports, "softmaxXent", SoftmaxXent<A>);
  Export(env, exports, "softmaxXentBackward", SoftmaxXentBackward<A>);
}

TB_NAPI_REGISTER_KERNELS(Register);

}  // namespace
}  // namespace tb::napi
