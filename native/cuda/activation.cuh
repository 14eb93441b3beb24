// Pointwise activations and their gradients on the device. Same contract as native/cpu/activation.h:
// x, y, dy, dx are flat (n); alpha is the op's parameter (leakyRelu slope, elu alpha).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/ops.h"
#include "common/status.h"

namespace tb::cuda {

// y = f(x). y may alias x.
Status ActivationForward(ActivationOp op, const float* x, float* y, int64_t n, float alpha, cudaStream_t stream);

// dx = dy * f'(x); y must hold f(x) (sigmoid and tanh read their derivative from it). dx may alias dy.
Status ActivationBackward(ActivationOp op, const float* x, const float* y, const float* dy, float* dx, int64_t n,
                          float alpha, cudaStream_t stream);

// The epilogue of the GEMM-based layers (linear, conv2d): y (rows, cols) = act(y + bias) in place;
// bias (cols) may be null. NaN passes the ReLU, as in the relu op. op names the caller in errors.
Status FusedEpilogue(float* y, int64_t rows, int64_t cols, const float* bias, FusedAct act, cudaStream_t stream,
                     const char* op);

// The gradient through their fused activation: g = dy where y > 0, else 0 (ReLU). g may be dy.
Status FusedGrad(const float* y, const float* dy, float* g, int64_t n, FusedAct act, cudaStream_t stream,
                 const char* op);

}  // namespace tb::cuda
