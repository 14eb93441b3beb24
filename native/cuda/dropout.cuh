// Inverted dropout on the device, with the CPU kernel's generator (common/counter_rng.h): for the
// same seed, rate and n the mask is bit-identical to native/cpu/dropout.h's.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/status.h"

namespace tb::cuda {

// mask[i] = 0 with probability rate, else 1/(1-rate); y = x * mask. rate in [0, 1) (checked by the caller).
Status DropoutForward(const float* x, float* y, float* mask, int64_t n, double rate, uint64_t seed,
                      cudaStream_t stream);

// dx = dy * mask (n elements).
Status DropoutBackward(const float* dy, const float* mask, float* dx, int64_t n, cudaStream_t stream);

}  // namespace tb::cuda
