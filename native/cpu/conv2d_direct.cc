// Direct NHWC convolution for a small window volume K = KH*KW*C (declared in cpu/conv2d_lowering.h).
// With K = 9 (a 3x3 kernel on one channel) im2col + GEMM spends its time packing 9-wide panels; here
// each output row is an accumulator of OC floats updated once per tap, and OC is a compile-time
// constant for the usual widths so the accumulator lives in vector registers.
#include <algorithm>

#include "cpu/conv2d_lowering.h"

namespace tb::cpu::conv {
namespace {

// Taps of output row r: calls f(tap, xp) for each in-bounds (ky, kx), xp pointing at the C input
// values and tap = ky*KW + kx (the weight rows tap*C .. tap*C + C - 1).
template <typename F>
inline void ForTaps(const Conv2dDims& d, const float* x, int64_t r, F&& f) {
  const int64_t ohw = d.oh * d.ow, n = r / ohw, p = r % ohw, oy = p / d.ow, ox = p % d.ow;
  const int64_t iy0 = oy * d.strideH - d.padTop, ix0 = ox * d.strideW - d.padLeft;
  const int64_t kyLo = std::max<int64_t>(0, -iy0), kyHi = std::min(d.kh, d.h - iy0);
  const int64_t kxLo = std::max<int64_t>(0, -ix0), kxHi = std::min(d.kw, d.w - ix0);
  const float* img = x + n * d.h * d.w * d.c;
  for (int64_t ky = kyLo; ky < kyHi; ++ky)
    for (int64_t kx = kxLo; kx < kxHi; ++kx) f(ky * d.kw + kx, img + ((iy0 + ky) * d.w + ix0 + kx) * d.c);
}

template <int kOC>
void Forward(const Conv2dDims& d, const float* x, const float* weight, const float* bias, float* y, int64_t r0,
             int64_t r1, bool relu) {
  const int64_t OC = kOC > 0 ? kOC : d.oc, C = d.c;
  constexpr int64_t kMax = kOC > 0 ? kOC : 256;
  for (int64_t r = r0; r < r1; ++r) {
    float acc[kMax];
    for (int64_t o = 0; o < OC; ++o) acc[o] = bias ? bias[o] : 0.f;
    ForTaps(d, x, r, [&](int64_t tap, const float* xp) {
      const float* w = weight + tap * C * OC;
      for (int64_t c = 0; c < C; ++c) {
        const float v = xp[c];
        const float* wr = w + c * OC;
        for (int64_t o = 0; o < OC; ++o) acc[o] += v * wr[o];
      }
    });
    float* yr = y + r * OC;
    if (relu)
      for (int64_t o = 0; o < OC; ++o) yr[o] = acc[o] < 0.f ? 0.f : acc[o];  // NaN passes, like the relu op
    else
      for (int64_t o = 0; o < OC; ++o) yr[o] = acc[o];
  }
}

template <int kOC>
void WeightGrad(const Conv2dDims& d, const float* x, const float* dy, const float* y, int64_t r0, int64_t r1,
                float* dw, double* db) {
  const int64_t OC = kOC > 0 ? kOC : d.oc, C = d.c;
  constexpr int64_t kMax = kOC > 0 ? kOC : 256;
  // The bias gradient is summed in float over runs of rows, then into double (as AddColumnSums).
  constexpr int64_t kRun = 64;
  float bsum[kMax] = {};
  for (int64_t r = r0; r < r1; ++r) {
    float g[kMax];
    const float* gr = dy + r * OC;
    if (y) {
      const float* yr = y + r * OC;
      for (int64_t o = 0; o < OC; ++o) g[o] = yr[o] > 0.f ? gr[o] : 0.f;
    } else {
      for (int64_t o = 0; o < OC; ++o) g[o] = gr[o];
    }
    if (db) {
      for (int64_t o = 0; o < OC; ++o) bsum[o] += g[o];
      if ((r - r0) % kRun == kRun - 1 || r == r1 - 1)
        for (int64_t o = 0; o < OC; ++o) {
          db[o] += bsum[o];
          bsum[o] = 0.f;
        }
    }
    if (!dw) continue;
    ForTaps(d, x, r, [&](int64_t tap, const float* xp) {
      float* w = dw + tap * C * OC;
      for (int64_t c = 0; c < C; ++c) {
        const float v = xp[c];
        float* wr = w + c * OC;
        for (int64_t o = 0; o < OC; ++o) wr[o] += v * g[o];
      }
    });
  }
}

}  // namespace

void DirectForwardNhwc(const Conv2dDims& d, const float* x, const float* weight, const float* bias, float* y,
                       int64_t r0, int64_t r1, bool relu) {
  switch (d.oc) {
    case 8: return Forward<8>(d, x, weight, bias, y, r0, r1, relu);
    case 16: return Forward<16>(d, x, weight, bias, y, r0, r1, relu);
    case 32: return Forward<32>(d, x, weight, bias, y, r0, r1, relu);
    case 64: return Forward<64>(d, x, weight, bias, y, r0, r1, relu);
    default: return Forward<0>(d, x, weight, bias, y, r0, r1, relu);
  }
}

void DirectWeightGradNhwc(const Conv2dDims& d, const float* x, const float* dy, const float* y, int64_t r0,
                          int64_t r1, float* dw, double* db) {
  switch (d.oc) {
    case 8: return WeightGrad<8>(d, x, dy, y, r0, r1, dw, db);
    case 16: return WeightGrad<16>(d, x, dy, y, r0, r1, dw, db);
    case 32: return WeightGrad<32>(d, x, dy, y, r0, r1, dw, db);
    case 64: return WeightGrad<64>(d, x, dy, y, r0, r1, dw, db);
    default: return WeightGrad<0>(d, x, dy, y, r0, r1, dw, db);
  }
}

}  // namespace tb::cpu::conv
