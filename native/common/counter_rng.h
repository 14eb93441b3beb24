// The counter-based generator behind dropout, shared by the CPU and CUDA kernels so that one seed
// gives the same mask on either backend: splitmix64's finalizer applied to (hashed seed + i * golden
// gamma). Stateless per element, so any thread can draw element i (the idea behind Philox in
// cuRAND/JAX, with a cheaper mix that is still well within what dropout needs: the finalizer passes
// BigCrush on a sequential counter).
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define TB_HOST_DEVICE __host__ __device__
#else
#define TB_HOST_DEVICE
#endif

namespace tb::rng {

constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;

TB_HOST_DEVICE inline uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Seeds that differ by a little (0, 1, 2...) must give unrelated streams: hash the seed first.
TB_HOST_DEVICE inline uint64_t Key(uint64_t seed) { return Mix64(seed ^ 0x6A09E667F3BCC909ull); }

// 32 random bits for element i.
TB_HOST_DEVICE inline uint32_t Bits(uint64_t key, uint64_t i) {
  return static_cast<uint32_t>(Mix64(key + (i + 1) * kGolden) >> 32);
}

// Element i is dropped when its 32-bit draw falls below rate * 2^32: exact to 2^-32, and rate 0
// never drops. Computed once on the host (in double) so both backends compare against the same value.
inline uint64_t DropThreshold(double rate) { return static_cast<uint64_t>(std::floor(rate * 4294967296.0)); }

// The inverted-dropout scale 1/(1 - rate), rounded to float once.
inline float KeepScale(double rate) { return static_cast<float>(1.0 / (1.0 - rate)); }

}  // namespace tb::rng
