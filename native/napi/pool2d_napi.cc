// maxPool2d(x, y, argmax, dims), maxPool2dBackward(dy, argmax, dx, dims), avgPool2d(x, y, dims),
// avgPool2dBackward(dy, dx, dims)
// dims: [n, c, h, w, oh, ow, kh, kw, strideH, strideW, padTop, padLeft, layout (0 NCHW, 1 NHWC)]
#include "cpu/pool2d.h"
#include "napi/args.h"
#include "napi/pool2d_dims.h"
#include "napi/register.h"

namespace tb::napi {
namespace {

using Sizes = PoolSizes<cpu::Pool2dDims>;

void NoAlias(const Args& a, const void* out, int64_t nOut, const char* outName, const void* in, int64_t nIn,
             const char* inName) {
  if (Overlaps(out, nOut, in, nIn)) a.Throw(std::string(outName) + " must not share memory with " + inName);
}

Napi::Value MaxPool2d(const Napi::CallbackInfo& info) {
  Args a(info, "maxPool2d", 4);
  const Sizes s = ReadPoolDims<cpu::Pool2dDims>(a, 3);
  const float* x = a.F32(0, "x", s.x);
  float* y = a.F32(1, "y", s.y);
  int32_t* am = a.I32(2, "argmax", s.y);
  NoAlias(a, y, s.y, "y", x, s.x, "x");
  NoAlias(a, am, s.y, "argmax", x, s.x, "x");
  NoAlias(a, am, s.y, "argmax", y, s.y, "y");
  cpu::MaxPool2dForward(s.d, x, y, am);
  return info.Env().Undefined();
}

Napi::Value MaxPool2dBackward(const Napi::CallbackInfo& info) {
  Args a(info, "maxPool2dBackward", 4);
  const Sizes s = ReadPoolDims<cpu::Pool2dDims>(a, 3);
  const float* dy = a.F32(0, "dy", s.y);
  const int32_t* am = a.I32(1, "argmax", s.y);
  float* dx = a.F32(2, "dx", s.x);
  NoAlias(a, dx, s.x, "dx", dy, s.y, "dy");
  NoAlias(a, dx, s.x, "dx", am, s.y, "argmax");
  const Status st = cpu::MaxPool2dBackward(s.d, dy, am, dx);
  if (!st.ok) throw Napi::RangeError::New(info.Env(), "tensorbolt.maxPool2dBackward: " + st.message);
  return info.Env().Undefined();
}

Napi::Value AvgPool2d(const Napi::CallbackInfo& info) {
  Args a(info, "avgPool2d", 3);
  const Sizes s = ReadPoolDims<cpu::Pool2dDims>(a, 2);
  const float* x = a.F32(0, "x", s.x);
  float* y = a.F32(1, "y", s.y);
  NoAlias(a, y, s.y, "y", x, s.x, "x");
  cpu::AvgPool2dForward(s.d, x, y);
  return info.Env().Undefined();
}

Napi::Value AvgPool2dBackward(const Napi::CallbackInfo& info) {
  Args a(info, "avgPool2dBackward", 3);
  const Sizes s = ReadPoolDims<cpu::Pool2dDims>(a, 2);
  const float* dy = a.F32(0, "dy", s.y);
  float* dx = a.F32(1, "dx", s.x);
  NoAlias(a, dx, s.x, "dx", dy, s.y, "dy");
  cpu::AvgPool2dBackward(s.d, dy, dx);
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  TB_EXPORT(exports, "maxPool2d", MaxPool2d);
  TB_EXPORT(exports, "maxPool2dBackward", MaxPool2dBackward);
  TB_EXPORT(exports, "avgPool2d", AvgPool2d);
  TB_EXPORT(exports, "avgPool2dBackward", AvgPool2dBackward);
}

TB_NAPI_REGISTER(Register);

}  // namespace
}  // namespace tb::napi
