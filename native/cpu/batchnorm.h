#pragma once
#include <cstdint>

#include "common/status.h"

namespace tb::cpu {

// Batch normalization over the channel axis of x (outer, C, inner): NCHW is outer=N, inner=H*W;
// NHWC and (N, C) are outer=N*H*W (or N), inner=1. Statistics run over the outer*inner values of
// each channel, accumulated in double. gamma/beta (C) may be null (scale 1, shift 0).
//
// training: mean/invstd (C) receive the batch mean and 1/sqrt(biased var + eps); the running stats
// (C) become (1-momentum)*old + momentum*batch, with the unbiased variance (PyTorch). Needs
// outer*inner != 1 (checked by the caller); with no values at all the running stats are left as they are.
// eval: normalizes with the running stats; mean/invstd still receive them. Fails (nothing written)
// when runningVar + eps is not positive.
Status BatchNormForward(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                        float* invstd, float* runningMean, float* runningVar, int64_t outer, int64_t C,
                        int64_t inner, double momentum, double eps, bool training);

// Training-mode gradients through the batch statistics, given the forward's mean/invstd (C):
//   dbeta = sum(dy), dgamma = sum(dy * xhat),
//   dx = gamma * invstd * (dy - dbeta/M - xhat * dgamma/M),  M = outer*inner.
// dx (outer, C, inner), dgamma and dbeta (C) are overwritten; any of them may be null.
void BatchNormBackward(const float* x, const float* gamma, const float* mean, const float* invstd,
                       const float* dy, float* dx, float* dgamma, float* dbeta, int64_t outer, int64_t C,
                       int64_t inner);

}  // namespace tb::cpu
