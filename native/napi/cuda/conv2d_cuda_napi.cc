// cuda.conv2d(x, weight, bias, y, dims), cuda.conv2dBackward(x, weight, dy, dx, dweight, dbias, dims)
// dims: [n, c, h, w, oc, kh, kw, oh, ow, strideH, strideW, padTop, padLeft, layout (0 NCHW, 1 NHWC)],
// checked exactly as the CPU binding checks them (napi/conv2d_dims.h).
#include "cuda/conv2d.cuh"
#include "napi/conv2d_dims.h"
#include "napi/cuda/device_args.h"
#include "napi/register.h"

namespace tb::napi::cuda {
namespace {

constexpr int64_t kMax = INT32_MAX;
constexpr DimSpec kSpecs[14] = {
    {"n", 0, kMax},       {"c", 1, kMax},       {"h", 1, kMax},       {"w", 1, kMax},      {"oc", 1, kMax},
    {"kh", 1, kMax},      {"kw", 1, kMax},      {"oh", 1, kMax},      {"ow", 1, kMax},     {"strideH", 1, kMax},
    {"strideW", 1, kMax}, {"padTop", 0, kMax},  {"padLeft", 0, kMax}, {"layout", 0, 1},
};

struct Sizes {
  ::tb::cuda::Conv2dDims d;
  int64_t x, w, y;
};

Sizes ReadConvDims(const DevArgs& a, size_t i) {
  int64_t v[14];
  ReadDims(a, i, kSpecs, 14, v);
  Sizes s;
  s.d = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13] == 1};
  const auto& d = s.d;
  CheckWindowAxis(a, "height", d.h, d.kh, d.strideH, d.padTop, d.oh);
  CheckWindowAxis(a, "width", d.w, d.kw, d.strideW, d.padLeft, d.ow);
  s.x = CheckedProduct(a, {d.n, d.c, d.h, d.w});
  s.w = CheckedProduct(a, {d.oc, d.c, d.kh, d.kw});
  s.y = CheckedProduct(a, {d.n, d.oc, d.oh, d.ow});
  // cuBLAS takes int sizes and leading dimensions.
  if (CheckedProduct(a, {d.c, d.kh, d.kw}) > kMax || CheckedProduct(a, {d.oh, d.ow}) > kMax ||
      CheckedProduct(a, {d.n, d.oh, d.ow}) > kMax)
    a.ThrowRange("c*kh*kw, oh*ow and n*oh*ow must each be below 2^31");
  return s;
}

Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.conv2d", 5);
  const Sizes s = ReadConvDims(a, 4);
  const float* x = a.DevF32(0, "x", s.x);
  const float* w = a.DevF32(1, "weight", s.w);
  const float* b = a.DevF32OrNull(2, "bias", s.d.oc);
  float* y = a.DevF32(3, "y", s.y);
  a.NoAlias(3, "y", 0, "x");
  a.NoAlias(3, "y", 1, "weight");
  a.NoAlias(3, "y", 2, "bias");
  a.Check(::tb::cuda::Conv2dForward(s.d, x, w, b, y, a.Stream()));
  return info.Env().Undefined();
}

Napi::Value Conv2dBackward(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.conv2dBackward", 7);
  const Sizes s = ReadConvDims(a, 6);
  const float* x = a.DevF32(0, "x", s.x);
  const float* w = a.DevF32(1, "weight", s.w);
  const float* dy = a.DevF32(2, "dy", s.y);
  float* dx = a.DevF32OrNull(3, "dx", s.x);
  float* dw = a.DevF32OrNull(4, "dweight", s.w);
  float* db = a.DevF32OrNull(5, "dbias", s.d.oc);
  const char* names[] = {"x", "weight", "dy", "dx", "dweight", "dbias"};
  for (size_t out = 3; out < 6; ++out)
    for (size_t other = 0; other < out; ++other) a.NoAlias(out, names[out], other, names[other]);
  a.Check(::tb::cuda::Conv2dBackward(s.d, x, w, dy, dx, dw, db, a.Stream()));
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  Napi::Object cuda = CudaExports(env, exports);
  TB_CUDA_EXPORT(cuda, "conv2d", Conv2d);
  TB_CUDA_EXPORT(cuda, "conv2dBackward", Conv2dBackward);
}

TB_NAPI_REGISTER(Register);

}  // namespace
}  // namespace tb::napi::cuda
