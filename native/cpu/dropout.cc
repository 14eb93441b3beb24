// Dropout with the counter-based generator of common/counter_rng.h: the draw for element i is a pure
// function of (seed, i), so masks are reproducible across thread counts and identical to the CUDA
// kernel's (native/cuda/dropout.cu uses the same header).
#include "cpu/dropout.h"

#include "common/counter_rng.h"
#include "common/parallel.h"

namespace tb::cpu {

void DropoutForward(const float* x, float* y, float* mask, int64_t n, double rate, uint64_t seed) {
  const uint64_t key = rng::Key(seed);
  const uint64_t threshold = rng::DropThreshold(rate);
  const float keep = rng::KeepScale(rate);
  TB_PARALLEL_FOR(n, i, 0, n, {
    const float m = rng::Bits(key, static_cast<uint64_t>(i)) < threshold ? 0.f : keep;
    mask[i] = m;
    y[i] = x[i] * m;
  });
}

void DropoutBackward(const float* dy, const float* mask, float* dx, int64_t n) {
  TB_PARALLEL_FOR(n, i, 0, n, { dx[i] = dy[i] * mask[i]; });
}

}  // namespace tb::cpu
