// The pooling dims array, read and checked once for both backends (CPU and CUDA N-API layers):
// [n, c, h, w, oh, ow, kh, kw, strideH, strideW, padTop, padLeft, layout (0 NCHW, 1 NHWC)].
#pragma once
#include <string>

#include "napi/args.h"
#include "napi/conv2d_dims.h"

namespace tb::napi {

template <class Dims>
struct PoolSizes {
  Dims d;
  int64_t x, y;  // element counts of the input and the output
};

// Dims is cpu::Pool2dDims or cuda::Pool2dDims (same fields).
template <class Dims>
PoolSizes<Dims> ReadPoolDims(const ArgsBase& a, size_t i) {
  constexpr int64_t kMax = INT32_MAX;
  static constexpr DimSpec kSpecs[13] = {
      {"n", 0, kMax},       {"c", 1, kMax},       {"h", 1, kMax},       {"w", 1, kMax},       {"oh", 1, kMax},
      {"ow", 1, kMax},      {"kh", 1, kMax},      {"kw", 1, kMax},      {"strideH", 1, kMax}, {"strideW", 1, kMax},
      {"padTop", 0, kMax},  {"padLeft", 0, kMax}, {"layout", 0, 1},
  };
  int64_t v[13];
  ReadDims(a, i, kSpecs, 13, v);
  PoolSizes<Dims> s;
  s.d = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12] == 1};
  const auto& d = s.d;
  CheckWindowAxis(a, "height", d.h, d.kh, d.strideH, d.padTop, d.oh);
  CheckWindowAxis(a, "width", d.w, d.kw, d.strideW, d.padLeft, d.ow);
  s.x = CheckedProduct(a, {d.n, d.c, d.h, d.w});
  s.y = CheckedProduct(a, {d.n, d.c, d.oh, d.ow});
  // argmax holds flat input indices as int32.
  if (s.x > kMax) a.ThrowRange("the input has " + std::to_string(s.x) + " elements; at most 2^31 - 1 are supported");
  return s;
}

}  // namespace tb::napi
