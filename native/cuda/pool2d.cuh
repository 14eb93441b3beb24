// Max and average pooling on the device, NCHW and NHWC. Same shapes and rules as
// native/cpu/pool2d.h: window (oy, ox) covers input rows [oy*strideH - padTop, +kh) and columns
// [ox*strideW - padLeft, +kw), cells outside the input are skipped; argmax holds flat input indices
// (first max on ties, NaN wins). Validated by the caller: every window holds an input cell, N*C*H*W < 2^31.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/status.h"

namespace tb::cuda {

struct Pool2dDims {
  int64_t n, c, h, w, oh, ow, kh, kw, strideH, strideW, padTop, padLeft;
  bool nhwc;
};

Status MaxPool2dForward(const Pool2dDims& d, const float* x, float* y, int32_t* argmax, cudaStream_t stream);

// dx (x's shape) = sum of dy over the outputs whose argmax is that cell. An argmax entry outside its
// output's window is skipped and reported at the next synchronization (runtime.cuh).
Status MaxPool2dBackward(const Pool2dDims& d, const float* dy, const int32_t* argmax, float* dx, cudaStream_t stream);

Status AvgPool2dForward(const Pool2dDims& d, const float* x, float* y, cudaStream_t stream);
Status AvgPool2dBackward(const Pool2dDims& d, const float* dy, float* dx, cudaStream_t stream);

}  // namespace tb::cuda
