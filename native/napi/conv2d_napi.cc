// conv2d(x, weight, bias, y, dims, act), conv2dBackward(x, weight, dy, dx, dweight, dbias, dims, y, act)
// dims: [n, c, h, w, oc, kh, kw, oh, ow, strideH, strideW, padTop, padLeft, layout (0 NCHW, 1 NHWC)]
// act: 0 none, 1 ReLU fused into the output; its backward needs the forward's output y.
#include "cpu/conv2d.h"
#include "napi/conv2d_dims.h"
#include "napi/kernel.h"
#ifdef TENSORBOLT_CUDA
#include "cuda/conv2d.cuh"
#endif

namespace tb::napi {
namespace {

constexpr int64_t kMax = INT32_MAX;
constexpr DimSpec kSpecs[14] = {
    {"n", 0, kMax},       {"c", 1, kMax},       {"h", 1, kMax},      {"w", 1, kMax},      {"oc", 1, kMax},
    {"kh", 1, kMax},      {"kw", 1, kMax},      {"oh", 1, kMax},     {"ow", 1, kMax},     {"strideH", 1, kMax},
    {"strideW", 1, kMax}, {"padTop", 0, kMax},  {"padLeft", 0, kMax}, {"layout", 0, 1},
};

TB_DEVICE_TYPE(ConvDims, Conv2dDims);

template <class Dims>
struct Sizes {
  Dims d;
  int64_t x, w, y;  // element counts of x, weight, y
};

template <class A>
Sizes<ConvDims<A>> ReadConvDims(const A& a, size_t i) {
  int64_t v[14];
  ReadDims(a, i, kSpecs, 14, v);
  Sizes<ConvDims<A>> s;
  s.d = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13] == 1};
  const auto& d = s.d;
  CheckWindowAxis(a, "height", d.h, d.kh, d.strideH, d.padTop, d.oh);
  CheckWindowAxis(a, "width", d.w, d.kw, d.strideW, d.padLeft, d.ow);
  s.x = CheckedProduct(a, {d.n, d.c, d.h, d.w});
  s.w = CheckedProduct(a, {d.oc, d.c, d.kh, d.kw});
  s.y = CheckedProduct(a, {d.n, d.oc, d.oh, d.ow});
  // GEMM takes int sizes and leading dimensions.
  if (CheckedProduct(a, {d.c, d.kh, d.kw}) > kMax || CheckedProduct(a, {d.oh, d.ow}) > kMax)
    a.ThrowRange("c*kh*kw and oh*ow must each be below 2^31");
  return s;
}

// The activation code: required, so that a missing argument is an error like any other.
FusedAct ReadAct(const ArgsBase& a, size_t i) { return static_cast<FusedAct>(a.Int(i, "act", 0, 1)); }

template <class A>
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  A a(info, "conv2d", 6);
  const auto s = ReadConvDims(a, 4);
  const float* x = a.F32(0, "x", s.x);
  const float* w = a.F32(1, "weight", s.w);
  const float* b = a.F32OrNull(2, "bias", s.d.oc);
  float* y = a.F32(3, "y", s.y);
  a.OutputsUnshared({{3, "y"}}, {{0, "x"}, {1, "weight"}, {2, "bias"}});
  const FusedAct act = ReadAct(a, 5);
  TB_KERNEL(a, Conv2dForward, s.d, x, w, b, y, act);
  return info.Env().Undefined();
}

template <class A>
Napi::Value Conv2dBackward(const Napi::CallbackInfo& info) {
  A a(info, "conv2dBackward", 9);
  const auto s = ReadConvDims(a, 6);
  const float* x = a.F32(0, "x", s.x);
  const float* w = a.F32(1, "weight", s.w);
  const float* dy = a.F32(2, "dy", s.y);
  float* dx = a.F32OrNull(3, "dx", s.x);
  float* dw = a.F32OrNull(4, "dweight", s.w);
  float* db = a.F32OrNull(5, "dbias", s.d.oc);
  a.OutputsUnshared({{3, "dx"}, {4, "dweight"}, {5, "dbias"}}, {{0, "x"}, {1, "weight"}, {2, "dy"}});
  const FusedAct act = ReadAct(a, 8);
  // y is checked whenever given (null allowed without a fused activation)
  const float* y = act == FusedAct::kNone ? a.F32OrNull(7, "y", s.y) : a.F32(7, "y", s.y);
  if (y)
    for (const auto& o : {std::pair<size_t, const char*>{3, "dx"}, {4, "dweight"}, {5, "dbias"}})
      a.NotShared(o.first, o.second, 7, "y");
  TB_KERNEL(a, Conv2dBackward, s.d, x, w, dy, dx, dw, db, act == FusedAct::kNone ? nullptr : y, act);
  return info.Env().Undefined();
}

template <class A>
void Register(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "conv2d", Conv2d<A>);
  Export(env, exports, "conv2dBackward", Conv2dBackward<A>);
}

TB_NAPI_REGISTER_KERNELS(Register);

}  // namespace
}  // namespace tb::napi
