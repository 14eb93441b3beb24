#pragma once
#include <cstdint>

#include "common/status.h"

namespace tb::cpu {

// Shapes of one 2-D convolution (dilation 1). NCHW: x (N, C, H, W), weight (OC, C, KH, KW),
// y (N, OC, OH, OW). NHWC: x (N, H, W, C), weight (KH, KW, C, OC), y (N, OH, OW, OC).
// Input cells outside [0, H) x [0, W) (padding) read as zero. All sizes were validated by the
// caller: n >= 0, the rest >= 1, 0 <= padTop < kh, 0 <= padLeft < kw.
struct Conv2dDims {
  int64_t n, c, h, w, oc, kh, kw, oh, ow, strideH, strideW, padTop, padLeft;
  bool nhwc;
};

// y = conv(x, weight) + bias; bias (OC) may be null. Fails only when the workspace cannot be allocated.
Status Conv2dForward(const Conv2dDims& d, const float* x, const float* weight, const float* bias, float* y);

// Overwrites whichever of dx (x's shape), dweight (weight's shape), dbias (OC) is non-null.
Status Conv2dBackward(const Conv2dDims& d, const float* x, const float* weight, const float* dy, float* dx,
                      float* dweight, float* dbias);

}  // namespace tb::cpu
