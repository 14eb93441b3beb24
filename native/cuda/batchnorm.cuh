// Batch normalization on the device over the channel axis of x (outer, C, inner). Same contract as
// native/cpu/batchnorm.h (statistics in double, shifted by a sample of each channel; running stats
// with the unbiased variance), except in eval mode: a runningVar + eps that is not positive is
// found on the device, and the next synchronization throws an error naming the channel.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/status.h"

namespace tb::cuda {

// gamma/beta (C) may be null. mean/invstd (C) receive the statistics used.
Status BatchNormForward(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* invstd,
                        float* runningMean, float* runningVar, int64_t outer, int64_t C, int64_t inner,
                        double momentum, double eps, bool training, cudaStream_t stream);

// Training-mode gradients given the forward's mean/invstd; dx, dgamma, dbeta may be null.
Status BatchNormBackward(const float* x, const float* gamma, const float* mean, const float* invstd, const float* dy,
                         float* dx, float* dgamma, float* dbeta, int64_t outer, int64_t C, int64_t inner,
                         cudaStream_t stream);

}  // namespace tb::cuda
