// Dropout, forward and backward. The draw for element i is rng::Bits(key, i), the same pure function
// the CPU kernel evaluates, and the threshold and scale are computed on the host by the same code,
// so both backends drop exactly the same elements.
#include "common/counter_rng.h"
#include "cuda/common.cuh"
#include "cuda/dropout.cuh"

namespace tb::cuda {
namespace {

__global__ void ForwardKernel(const float* x, float* y, float* mask, int64_t n, uint64_t key, uint64_t threshold,
                              float keep) {
  TB_CUDA_LOOP(i, n) {
    const float m = rng::Bits(key, static_cast<uint64_t>(i)) < threshold ? 0.f : keep;
    mask[i] = m;
    y[i] = x[i] * m;
  }
}

__global__ void BackwardKernel(const float* dy, const float* mask, float* dx, int64_t n) {
  TB_CUDA_LOOP(i, n) dx[i] = dy[i] * mask[i];
}

}  // namespace

Status DropoutForward(const float* x, float* y, float* mask, int64_t n, double rate, uint64_t seed,
                      cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  ForwardKernel<<<GridFor(n), kThreads, 0, stream>>>(x, y, mask, n, rng::Key(seed), rng::DropThreshold(rate),
                                                     rng::KeepScale(rate));
  return LaunchStatus("dropout");
}

Status DropoutBackward(const float* dy, const float* mask, float* dx, int64_t n, cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  BackwardKernel<<<GridFor(n), kThreads, 0, stream>>>(dy, mask, dx, n);
  return LaunchStatus("dropoutBackward");
}

}  // namespace tb::cuda
