// cuda.maxPool2d(x, y, argmax, dims), cuda.maxPool2dBackward(dy, argmax, dx, dims),
// cuda.avgPool2d(x, y, dims), cuda.avgPool2dBackward(dy, dx, dims)
// dims: [n, c, h, w, oh, ow, kh, kw, strideH, strideW, padTop, padLeft, layout (0 NCHW, 1 NHWC)].
#include "cuda/pool2d.cuh"
#include "napi/conv2d_dims.h"
#include "napi/cuda/device_args.h"
#include "napi/register.h"

namespace tb::napi::cuda {
namespace {

constexpr int64_t kMax = INT32_MAX;
constexpr DimSpec kSpecs[13] = {
    {"n", 0, kMax},       {"c", 1, kMax},       {"h", 1, kMax},       {"w", 1, kMax},       {"oh", 1, kMax},
    {"ow", 1, kMax},      {"kh", 1, kMax},      {"kw", 1, kMax},      {"strideH", 1, kMax}, {"strideW", 1, kMax},
    {"padTop", 0, kMax},  {"padLeft", 0, kMax}, {"layout", 0, 1},
};

struct Sizes {
  ::tb::cuda::Pool2dDims d;
  int64_t x, y;
};

Sizes ReadPoolDims(const DevArgs& a, size_t i) {
  int64_t v[13];
  ReadDims(a, i, kSpecs, 13, v);
  Sizes s;
  s.d = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12] == 1};
  const auto& d = s.d;
  CheckWindowAxis(a, "height", d.h, d.kh, d.strideH, d.padTop, d.oh);
  CheckWindowAxis(a, "width", d.w, d.kw, d.strideW, d.padLeft, d.ow);
  s.x = CheckedProduct(a, {d.n, d.c, d.h, d.w});
  s.y = CheckedProduct(a, {d.n, d.c, d.oh, d.ow});
  if (s.x > kMax) a.ThrowRange("the input has " + std::to_string(s.x) + " elements; at most 2^31 - 1 are supported");
  return s;
}

Napi::Value MaxPool2d(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.maxPool2d", 4);
  const Sizes s = ReadPoolDims(a, 3);
  const float* x = a.DevF32(0, "x", s.x);
  float* y = a.DevF32(1, "y", s.y);
  int32_t* am = a.DevI32(2, "argmax", s.y);
  a.NoAlias(1, "y", 0, "x");
  a.Check(::tb::cuda::MaxPool2dForward(s.d, x, y, am, a.Stream()));
  return info.Env().Undefined();
}

Napi::Value MaxPool2dBackward(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.maxPool2dBackward", 4);
  const Sizes s = ReadPoolDims(a, 3);
  const float* dy = a.DevF32(0, "dy", s.y);
  const int32_t* am = a.DevI32(1, "argmax", s.y);
  float* dx = a.DevF32(2, "dx", s.x);
  a.NoAlias(2, "dx", 0, "dy");
  a.Check(::tb::cuda::MaxPool2dBackward(s.d, dy, am, dx, a.Stream()));
  return info.Env().Undefined();
}

Napi::Value AvgPool2d(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.avgPool2d", 3);
  const Sizes s = ReadPoolDims(a, 2);
  const float* x = a.DevF32(0, "x", s.x);
  float* y = a.DevF32(1, "y", s.y);
  a.NoAlias(1, "y", 0, "x");
  a.Check(::tb::cuda::AvgPool2dForward(s.d, x, y, a.Stream()));
  return info.Env().Undefined();
}

Napi::Value AvgPool2dBackward(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.avgPool2dBackward", 3);
  const Sizes s = ReadPoolDims(a, 2);
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
