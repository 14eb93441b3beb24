// fill(out, value), cast(src, dst), axpy(alpha, x, y)
#include <algorithm>
#include <cmath>

#include "cpu/memory.h"
#include "napi/kernel.h"
#ifdef TENSORBOLT_CUDA
#include "cuda/memory.cuh"
#endif

namespace tb::napi {
namespace {

// cast between buffers of one dtype: a plain copy.
void CopyWords(const Args&, const void* src, void* dst, int64_t n) {
  std::copy_n(static_cast<const int32_t*>(src), n, static_cast<int32_t*>(dst));
}
#ifdef TENSORBOLT_CUDA
void CopyWords(const DevArgs& a, const void* src, void* dst, int64_t n) {
  a.Stream();  // initializes the device
  a.Check(::tb::cuda::CopyOnDevice(dst, src, static_cast<size_t>(n) * 4, "cuda.cast"));
}
#endif

template <class A>
Napi::Value Fill(const Napi::CallbackInfo& info) {
  A a(info, "fill", 2);
  int64_t n = 0;
  bool isInt = false;
  void* p = a.Any32(0, "out", &n, &isInt);
  const double v = a.Num(1, "value");
  if (isInt) {
    // Clamped first: casting NaN or a double outside int32 to int32 is undefined behaviour. Finite
    // values truncate toward zero and saturate, as CastF32ToI32 does.
    const double c = v != v ? 0.0 : std::fmin(std::fmax(v, -2147483648.0), 2147483647.0);
    TB_KERNEL(a, FillI32, static_cast<int32_t*>(p), n, static_cast<int32_t>(c));
  } else {
    TB_KERNEL(a, FillF32, static_cast<float*>(p), n, static_cast<float>(v));
  }
  return info.Env().Undefined();
}

template <class A>
Napi::Value Cast(const Napi::CallbackInfo& info) {
  A a(info, "cast", 2);
  int64_t n = 0, m = 0;
  bool srcInt = false, dstInt = false;
  void* s = a.Any32(0, "src", &n, &srcInt);
  void* d = a.Any32(1, "dst", &m, &dstInt);
  if (n != m) a.ThrowRange("src has " + std::to_string(n) + " elements but dst has " + std::to_string(m));
  a.NoOverlap(0, "src", 1, "dst", true);
  if (srcInt && !dstInt) TB_KERNEL(a, CastI32ToF32, static_cast<const int32_t*>(s), static_cast<float*>(d), n);
  else if (!srcInt && dstInt) TB_KERNEL(a, CastF32ToI32, static_cast<const float*>(s), static_cast<int32_t*>(d), n);
  else if (s != d && n > 0) CopyWords(a, s, d, n);
  return info.Env().Undefined();
}

template <class A>
Napi::Value Axpy(const Napi::CallbackInfo& info) {
  A a(info, "axpy", 3);
  const float alpha = static_cast<float>(a.Num(0, "alpha"));
  float* x = a.F32(1, "x");
  float* y = a.F32(2, "y", a.Len(1));
  a.NoOverlap(1, "x", 2, "y", true);
  TB_KERNEL(a, Axpy, a.Len(1), alpha, x, y);
  return info.Env().Undefined();
}

template <class A>
void Register(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "fill", Fill<A>);
  Export(env, exports, "cast", Cast<A>);
  Export(env, exports, "axpy", Axpy<A>);
}

TB_NAPI_REGISTER_KERNELS(Register);

}  // namespace
}  // namespace tb::napi
