// Fused optimizer updates on the device: one kernel launch per parameter, reading its gradient and
// updating the parameter and its state buffers in place. Same rules as native/cpu/optim.h (PyTorch's).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/status.h"

namespace tb::cuda {

Status SgdStep(int64_t n, float* param, const float* grad, float* momentumBuf, float lr, float momentum,
               float dampening, float weightDecay, bool nesterov, bool firstStep, cudaStream_t stream);

Status AdamStep(int64_t n, float* param, const float* grad, float* m, float* v, float* vmax, float lr, float beta1,
                float beta2, float eps, float weightDecay, bool decoupled, int64_t step, cudaStream_t stream);

Status RmspropStep(int64_t n, float* param, const float* grad, float* sq, float* momBuf, float* gradAvg, float lr,
                   float alpha, float eps, float weightDecay, float momentum, bool epsInSqrt, cudaStream_t stream);

Status AdagradStep(int64_t n, float* param, const float* grad, float* sum, float lr, float lrDecay, float weightDecay,
                   float eps, int64_t step, bool epsInSqrt, cudaStream_t stream);

Status AdadeltaStep(int64_t n, float* param, const float* grad, float* sq, float* acc, float lr, float rho, float eps,
                    float weightDecay, cudaStream_t stream);

// *out (a device double) = sum of x[i]^2, accumulated in double.
Status SumSquares(int64_t n, const float* x, double* out, cudaStream_t stream);

// x *= alpha.
Status Scale(int64_t n, float* x, float alpha, cudaStream_t stream);

}  // namespace tb::cuda
