// cuda.softmax(x, y, outer, dim, inner, log), cuda.softmaxBackward(y, dy, dx, outer, dim, inner, log),
// cuda.softmaxXent(logits, n, c, labels, targets, smoothing, probs, loss),
// cuda.softmaxXentBackward(probs, n, c, labels, targets, smoothing, dloss, dlogits).
// A label outside [0, c) is found on the device and reported by the next download (runtime.cuh).
#include <cstdint>

#include "cuda/softmax_xent.cuh"
#include "napi/cuda/device_args.h"
#include "napi/register.h"

namespace tb::napi::cuda {
namespace {

namespace k = ::tb::cuda;

Napi::Value Softmax(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.softmax", 6);
  const int64_t outer = a.Int(2, "outer"), dim = a.Int(3, "dim"), inner = a.Int(4, "inner");
  const int64_t total = CheckedProduct(a, {outer, dim, inner});
  const float* x = a.DevF32(0, "x", total);
  float* y = a.DevF32(1, "y", total);
  const bool log = a.Bool(5, "log");
  a.NoAlias(1, "y", 0, "x");
  a.Check(k::SoftmaxForward(x, y, outer, dim, inner, log, a.Stream()));
  return info.Env().Undefined();
}

// dx may be the same buffer as y or dy (each element is read before it is written).
Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.softmaxBackward", 7);
  const int64_t outer = a.Int(3, "outer"), dim = a.Int(4, "dim"), inner = a.Int(5, "inner");
  const int64_t total = CheckedProduct(a, {outer, dim, inner});
  const float* y = a.DevF32(0, "y", total);
  const float* dy = a.DevF32(1, "dy", total);
  float* dx = a.DevF32(2, "dx", total);
  a.Check(k::SoftmaxBackward(y, dy, dx, outer, dim, inner, a.Bool(6, "log"), a.Stream()));
  return info.Env().Undefined();
}

struct XentArgs {
  int64_t n = 0, c = 0;
  const int32_t* labels = nullptr;
  const float* targets = nullptr;
  float smoothing = 0;
};

XentArgs ReadXent(const DevArgs& a) {
  XentArgs r;
  r.n = a.Int(1, "n");
  r.c = a.Int(2, "c");
  const int64_t nc = CheckedProduct(a, {r.n, r.c});
  if (r.c == 0 && r.n > 0) a.ThrowRange("c must be positive when n > 0 (softmax over zero classes)");
  if (a.IsNull(3) == a.IsNull(4)) a.Throw("exactly one of labels (argument 3) and targets (argument 4) must be non-null");
  r.labels = a.DevI32OrNull(3, "labels", r.n);
  r.targets = a.DevF32OrNull(4, "targets", nc);
  const double eps = a.Num(5, "smoothing");
  if (!(eps >= 0.0 && eps <= 1.0)) a.ThrowRange(a.Where(5, "smoothing") + " must be in [0, 1], got " + std::to_string(eps));
  r.smoothing = static_cast<float>(eps);
  return r;
}

Napi::Value SoftmaxXent(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.softmaxXent", 8);
  const XentArgs x = ReadXent(a);
  const float* logits = a.DevF32(0, "logits", x.n * x.c);
  float* probs = a.DevF32(6, "probs", x.n * x.c);
  float* loss = a.DevF32(7, "loss", x.n);
  for (size_t out : {6, 7})
    for (size_t in : {0, 4}) a.NoAlias(out, out == 6 ? "probs" : "loss", in, in == 0 ? "logits" : "targets");
  a.NoAlias(6, "probs", 7, "loss");
  a.Check(k::SoftmaxXentForward(logits, x.n, x.c, x.labels, x.targets, x.smoothing, probs, loss, a.Stream()));
  return info.Env().Undefined();
}

Napi::Value SoftmaxXentBackward(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.softmaxXentBackward", 8);
  const XentArgs x = ReadXent(a);
  const float* probs = a.DevF32(0, "probs", x.n * x.c);
  const float* dloss = a.DevF32(6, "dloss", x.n);
  float* dlogits = a.DevF32(7, "dlogits", x.n * x.c);
  a.NoAlias(7, "dlogits", 4, "targets");
  a.NoAlias(7, "dlogits", 6, "dloss");
  a.Check(k::SoftmaxXentBackward(probs, x.n, x.c, x.labels, x.targets, x.smoothing, dloss, dlogits, a.Stream()));
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  Napi::Object cuda = CudaExports(env, exports);
  TB_CUDA_EXPORT(cuda, "softmax", Softmax);
  TB_CUDA_EXPORT(cuda, "softmaxBackward", SoftmaxBackward);
  TB_CUDA_EXPORT(cuda, "softmaxXent", SoftmaxXent);
  TB_CUDA_EXPORT(cuda, "softmaxXentBackward", SoftmaxXentBackward);
}

TB_NAPI_REGISTER(Register);

}  // namespace
}  // namespace tb::napi::cuda
