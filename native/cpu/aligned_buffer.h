// A growing, 64-byte-aligned buffer of T for one thread and purpose (kept thread_local, so a
// training loop allocates it once): packed GEMM panels, sparse-product panels, bf16 images. JS
// buffers are only 16-byte aligned; kernels that load whole cache lines want their own copies.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace tb::cpu {

template <typename T>
struct AlignedBuffer {
  std::unique_ptr<T, decltype(&std::free)> p{nullptr, &std::free};
  int64_t size = 0;
  // At least n elements, or null when the allocation fails (the buffer is then empty).
  T* Get(int64_t n) {
    if (n > size) {
      const size_t bytes = (static_cast<size_t>(n) * sizeof(T) + 63) / 64 * 64;
      p.reset(static_cast<T*>(std::aligned_alloc(64, bytes)));
      size = p ? n : 0;
    }
    return p.get();
  }
};

}  // namespace tb::cpu
