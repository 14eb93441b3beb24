// cuda.maxPool2d(x, y, argmax, dims), cuda.maxPool2dBackward(dy, argmax, dx, dims),
// cuda.avgPool2d(x, y, dims), cuda.avgPool2dBackward(dy, dx, dims)
// dims: [n, c, h, w, oh, ow, kh, kw, strideH, strideW, padTop, padLeft, layout (0 NCHW, 1 NHWC)].
#include "cuda/pool2d.cuh"
#include "napi/pool2d_dims.h"
#include "napi/cuda/device_args.h"
#include "napi/register.h"

namespace tb::napi::cuda {
namespace {

using Sizes = PoolSizes<::tb::cuda::Pool2dDims>;

Napi::Value MaxPool2d(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.maxPool2d", 4);
  const Sizes s = ReadPoolDims<::tb::cuda::Pool2dDims>(a, 3);
  const float* x = a.DevF32(0, "x", s.x);
  float* y = a.DevF32(1, "y", s.y);
  int32_t* am = a.DevI32(2, "argmax", s.y);
  a.NoAlias(1, "y", 0, "x");
  a.Check(::tb::cuda::MaxPool2dForward(s.d, x, y, am, a.Stream()));
  return info.Env().Undefined();
}

Napi::Value MaxPool2dBackward(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.maxPool2dBackward", 4);
  const Sizes s = ReadPoolDims<::tb::cuda::Pool2dDims>(a, 3);
  const float* dy = a.DevF32(0, "dy", s.y);
  const int32_t* am = a.DevI32(1, "argmax", s.y);
  float* dx = a.DevF32(2, "dx", s.x);
  a.NoAlias(2, "dx", 0, "dy");
  a.Check(::tb::cuda::MaxPool2dBackward(s.d, dy, am, dx, a.Stream()));
  return info.Env().Undefined();
}

Napi::Value AvgPool2d(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.avgPool2d", 3);
  const Sizes s = ReadPoolDims<::tb::cuda::Pool2dDims>(a, 2);
  const float* x = a.DevF32(0, "x", s.x);
  float* y = a.DevF32(1, "y", s.y);
  a.NoAlias(1, "y", 0, "x");
  a.Check(::tb::cuda::AvgPool2dForward(s.d, x, y, a.Stream()));
  return info.Env().Undefined();
}

Napi::Value AvgPool2dBackward(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.avgPool2dBackward", 3);
  const Sizes s = ReadPoolDims<::tb::cuda::Pool2dDims>(a, 2);
  const float* dy = a.DevF32(0, "dy", s.y);
  float* dx = a.DevF32(1, "dx", s.x);
  a.NoAlias(1, "dx", 0, "dy");
  a.Check(::tb::cuda::AvgPool2dBackward(s.d, dy, dx, a.Stream()));
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  Napi::Object cuda = CudaExports(env, exports);
  TB_CUDA_EXPORT(cuda, "maxPool2d", MaxPool2d);
  TB_CUDA_EXPORT(cuda, "maxPool2dBackward", MaxPool2dBackward);
  TB_CUDA_EXPORT(cuda, "avgPool2d", AvgPool2d);
  TB_CUDA_EXPORT(cuda, "avgPool2dBackward", AvgPool2dBackward);
}

TB_NAPI_REGISTER(Register);

}  // namespace
}  // namespace tb::napi::cuda
