#pragma once
#include <cstdint>

namespace tb::cpu {

// Inverted dropout over n elements: mask[i] = 0 with probability rate, else 1/(1-rate); y = x * mask.
// The draw for element i is a pure function of (seed, i), so the mask does not depend on the thread
// count or on how the loop is split. rate must be in [0, 1) (checked by the caller).
void DropoutForward(const float* x, float* y, float* mask, int64_t n, double rate, uint64_t seed);

// dx = dy * mask (n elements).
void DropoutBackward(const float* dy, const float* mask, float* dx, int64_t n);

}  // namespace tb::cpu
