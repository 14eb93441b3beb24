#pragma once
#include <cstdint>

#include "common/status.h"

namespace tb::cpu {

// Shapes of one 2-D pooling. NCHW: x (N, C, H, W), y (N, C, OH, OW); NHWC: x (N, H, W, C),
// y (N, OH, OW, C). Window (oy, ox) covers input rows [oy*strideH - padTop, +kh) and columns
// [ox*strideW - padLeft, +kw); cells outside the input are skipped (never selected, never counted).
// Validated by the caller: every window holds at least one input cell, and N*C*H*W < 2^31.
struct Pool2dDims {
  int64_t n, c, h, w, oh, ow, kh, kw, strideH, strideW, padTop, padLeft;
  bool nhwc;
};

// y = max over each window; argmax (y's shape) = flat index into x of the max (the first on ties;
// NaN wins, so NaNs propagate).
void MaxPool2dForward(const Pool2dDims& d, const float* x, float* y, int32_t* argmax);

// dx (x's shape) overwritten: zero, then dx[argmax[i]] += dy[i]. Fails (dx then unspecified but
// never written out of bounds) when an argmax entry is not a cell of its own output's image and channel.
Status MaxPool2dBackward(const Pool2dDims& d, const float* dy, const int32_t* argmax, float* dx);

// y = mean over the window's cells inside the input.
void AvgPool2dForward(const Pool2dDims& d, const float* x, float* y);

// dx (x's shape) overwritten with the gradient of AvgPool2dForward.
void AvgPool2dBackward(const Pool2dDims& d, const float* dy, float* dx);

}  // namespace tb::cpu
