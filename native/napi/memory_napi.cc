// fill(out, value), cast(src, dst), axpy(alpha, x, y)
#include <cmath>

#include "cpu/memory.h"
#include "napi/args.h"
#include "napi/register.h"

namespace tb::napi {
namespace {

Napi::Value Fill(const Napi::CallbackInfo& info) {
  Args a(info, "fill", 2);
  int64_t n = 0;
  bool isInt = false;
  void* p = a.Any32(0, "out", &n, &isInt);
  const double v = a.Num(1, "value");
  if (isInt) {
    // Clamped first: casting NaN or a double outside int32 to int32 is undefined behaviour. Finite
    // values truncate toward zero and saturate, as CastF32ToI32 does.
    const double c = v != v ? 0.0 : std::fmin(std::fmax(v, -2147483648.0), 2147483647.0);
    cpu::FillI32(static_cast<int32_t*>(p), n, static_cast<int32_t>(c));
  }
  else cpu::FillF32(static_cast<float*>(p), n, static_cast<float>(v));
  return info.Env().Undefined();
}

Napi::Value Cast(const Napi::CallbackInfo& info) {
  Args a(info, "cast", 2);
  int64_t n = 0, m = 0;
  bool srcInt = false, dstInt = false;
  void* s = a.Any32(0, "src", &n, &srcInt);
  void* d = a.Any32(1, "dst", &m, &dstInt);
  if (n != m) a.ThrowRange("src has " + std::to_string(n) + " elements but dst has " + std::to_string(m));
  a.NoOverlap(0, "src", 1, "dst", true);
  if (srcInt && !dstInt) cpu::CastI32ToF32(static_cast<int32_t*>(s), static_cast<float*>(d), n);
  else if (!srcInt && dstInt) cpu::CastF32ToI32(static_cast<float*>(s), static_cast<int32_t*>(d), n);
  else if (s != d) std::copy_n(static_cast<int32_t*>(s), n, static_cast<int32_t*>(d));
  return info.Env().Undefined();
}

Napi::Value Axpy(const Napi::CallbackInfo& info) {
  Args a(info, "axpy", 3);
  const float alpha = static_cast<float>(a.Num(0, "alpha"));
  float* x = a.F32(1, "x");
  float* y = a.F32(2, "y", a.Len(1));
  a.NoOverlap(1, "x", 2, "y", true);
  cpu::Axpy(a.Len(1), alpha, x, y);
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  TB_EXPORT(exports, "fill", Fill);
  TB_EXPORT(exports, "cast", Cast);
  TB_EXPORT(exports, "axpy", Axpy);
}

TB_NAPI_REGISTER(Register);

}  // namespace
}  // namespace tb::napi
