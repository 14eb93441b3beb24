// maxPool2d(x, y, argmax, dims), maxPool2dBackward(dy, argmax, dx, dims), avgPool2d(x, y, dims),
// avgPool2dBackward(dy, dx, dims)
// dims: [n, c, h, w, oh, ow, kh, kw, strideH, strideW, padTop, padLeft, layout (0 NCHW, 1 NHWC)]
#include "cpu/pool2d.h"
#include "napi/kernel.h"
#include "napi/pool2d_dims.h"
#ifdef TENSORBOLT_CUDA
#include "cuda/pool2d.cuh"
#endif

namespace tb::napi {
namespace {

TB_DEVICE_TYPE(PoolDims, Pool2dDims);

template <class A>
PoolSizes<PoolDims<A>> ReadSizes(const A& a, size_t i) {
  return ReadPoolDims<PoolDims<A>>(a, i);
}

template <class A>
Napi::Value MaxPool2d(const Napi::CallbackInfo& info) {
  A a(info, "maxPool2d", 4);
  const auto s = ReadSizes(a, 3);
  const float* x = a.F32(0, "x", s.x);
  float* y = a.F32(1, "y", s.y);
  int32_t* am = a.I32(2, "argmax", s.y);
  a.NotShared(1, "y", 0, "x");
  a.NotShared(2, "argmax", 0, "x");
  a.NotShared(2, "argmax", 1, "y");
  TB_KERNEL(a, MaxPool2dForward, s.d, x, y, am);
  return info.Env().Undefined();
}

template <class A>
Napi::Value MaxPool2dBackward(const Napi::CallbackInfo& info) {
  A a(info, "maxPool2dBackward", 4);
  const auto s = ReadSizes(a, 3);
  const float* dy = a.F32(0, "dy", s.y);
  const int32_t* am = a.I32(1, "argmax", s.y);
  float* dx = a.F32(2, "dx", s.x);
  a.NotShared(2, "dx", 0, "dy");
  a.NotShared(2, "dx", 1, "argmax");
  TB_KERNEL(a, MaxPool2dBackward, s.d, dy, am, dx);
  return info.Env().Undefined();
}

template <class A>
Napi::Value AvgPool2d(const Napi::CallbackInfo& info) {
  A a(info, "avgPool2d", 3);
  const auto s = ReadSizes(a, 2);
  const float* x = a.F32(0, "x", s.x);
  float* y = a.F32(1, "y", s.y);
  a.NotShared(1, "y", 0, "x");
  TB_KERNEL(a, AvgPool2dForward, s.d, x, y);
  return info.Env().Undefined();
}

template <class A>
Napi::Value AvgPool2dBackward(const Napi::CallbackInfo& info) {
  A a(info, "avgPool2dBackward", 3);
  const auto s = ReadSizes(a, 2);
  const float* dy = a.F32(0, "dy", s.y);
  float* dx = a.F32(1, "dx", s.x);
  a.NotShared(1, "dx", 0, "dy");
  TB_KERNEL(a, AvgPool2dBackward, s.d, dy, dx);
  return info.Env().Undefined();
}

template <class A>
void Register(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "maxPool2d", MaxPool2d<A>);
  Export(env, exports, "maxPool2dBackward", MaxPool2dBackward<A>);
  Export(env, exports, "avgPool2d", AvgPool2d<A>);
  Export(env, exports, "avgPool2dBackward", AvgPool2dBackward<A>);
}

TB_NAPI_REGISTER_KERNELS(Register);

}  // namespace
}  // namespace tb::napi
