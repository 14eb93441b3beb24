#pragma once
#include <cstdint>

#include "common/ops.h"
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

// y = act(conv(x, weight) + bias); bias (OC) may be null. Fails only when a workspace cannot be
// allocated.
Status Conv2dForward(const Conv2dDims& d, const float* x, const float* weight, const float* bias, float* y,
                     FusedAct act = FusedAct::kNone);

// Overwrites whichever of dx (x's shape), dweight (weight's shape), dbias (OC) is non-null. dy is the
// gradient of the output y; with act = kRelu, y (the forward's output) is needed and dy is taken as
// zero where y <= 0. Results do not depend on the thread count.
Status Conv2dBackward(const Conv2dDims& d, const float* x, const float* weight, const float* dy, float* dx,
                      float* dweight, float* dbias, const float* y = nullptr, FusedAct act = FusedAct::kNone);

}  // namespace tb::cpu
