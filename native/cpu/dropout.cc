// Dropout with a counter-based generator: splitmix64's finalizer applied to (hashed seed + i * golden
// gamma). Stateless per element, so any thread can draw element i and masks are reproducible across
// thread counts (the idea behind Philox in cuRAND/JAX, with a cheaper mix that is still well within
// what dropout needs: the finalizer passes BigCrush on a sequential counter).
#include "cpu/dropout.h"

#include <cmath>

#include "common/parallel.h"

namespace tb::cpu {
namespace {

constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;

inline uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Seeds that differ by a little (0, 1, 2...) must give unrelated streams: hash the seed first.
inline uint64_t Key(uint64_t seed) { return Mix64(seed ^ 0x6A09E667F3BCC909ull); }

inline uint32_t Bits(uint64_t key, uint64_t i) { return static_cast<uint32_t>(Mix64(key + (i + 1) * kGolden) >> 32); }

}  // namespace

void DropoutForward(const float* x, float* y, float* mask, int64_t n, double rate, uint64_t seed) {
  const uint64_t key = Key(seed);
  // Drop when the 32-bit draw falls below rate * 2^32: exact to 2^-32, and rate 0 never drops.
  const uint64_t threshold = static_cast<uint64_t>(std::floor(rate * 4294967296.0));
  const float keep = static_cast<float>(1.0 / (1.0 - rate));
  TB_PARALLEL_FOR(n)
  for (int64_t i = 0; i < n; ++i) {
    const float m = Bits(key, static_cast<uint64_t>(i)) < threshold ? 0.f : keep;
    mask[i] = m;
    y[i] = x[i] * m;
  }
}

void DropoutBackward(const float* dy, const float* mask, float* dx, int64_t n) {
  TB_PARALLEL_FOR(n)
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * mask[i];
}

}  // namespace tb::cpu
