// The dense layer as one op on the device: y = act(x @ W + b), forward and backward side by side.
// Same contract as native/cpu/linear.h.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/ops.h"
#include "common/status.h"

namespace tb::cuda {

// x (M, K); W (K, N), or (N, K) when transW (PyTorch's weight (out, in)); b (N) or null; y (M, N).
// One cuBLAS GEMM, then one pass over y for the bias and the activation.
Status LinearForward(const float* x, const float* w, bool transW, const float* b, float* y, int64_t M, int64_t N,
                     int64_t K, FusedAct act, cudaStream_t stream);

// Overwrites whichever of dx (M, K), dw (W's shape), db (N) is non-null. dy is the gradient of y;
// with act = kRelu, y (the forward's output) is needed and dy counts only where y > 0.
Status LinearBackward(const float* x, const float* w, bool transW, const float* dy, const float* y, FusedAct act,
                      float* dx, float* dw, float* db, int64_t M, int64_t N, int64_t K, cudaStream_t stream);

}  // namespace tb::cuda
