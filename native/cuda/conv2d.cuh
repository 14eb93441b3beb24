// 2-D convolution on the device (dilation 1), as im2col + cuBLAS GEMM. Same shapes as
// native/cpu/conv2d.h. NCHW: x (N, C, H, W), weight (OC, C, KH, KW), y (N, OC, OH, OW).
// NHWC: x (N, H, W, C), weight (KH, KW, C, OC), y (N, OH, OW, OC). Padding cells read as zero.
// Validated by the caller: n >= 0, the rest >= 1, 0 <= padTop < kh, 0 <= padLeft < kw.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/ops.h"
#include "common/status.h"

namespace tb::cuda {

struct Conv2dDims {
  int64_t n, c, h, w, oc, kh, kw, oh, ow, strideH, strideW, padTop, padLeft;
  bool nhwc;
};

// y = act(conv(x, weight) + bias); bias (OC) may be null. Fails when the workspace cannot be
// allocated (out of memory) or cuBLAS fails.
Status Conv2dForward(const Conv2dDims& d, const float* x, const float* weight, const float* bias, float* y,
                     FusedAct act, cudaStream_t stream);

// Overwrites whichever of dx (x's shape), dweight (weight's shape), dbias (OC) is non-null. dy is the
// gradient of the output y; with act = kRelu, y (the forward's output) is needed and dy is taken as
// zero where y <= 0.
Status Conv2dBackward(const Conv2dDims& d, const float* x, const float* weight, const float* dy, float* dx,
                      float* dweight, float* dbias, const float* y, FusedAct act, cudaStream_t stream);

}  // namespace tb::cuda
