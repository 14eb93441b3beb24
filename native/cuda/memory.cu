// fill, cast, axpy: one grid-stride pass each.
#include "cuda/common.cuh"
#include "cuda/memory.cuh"

namespace tb::cuda {
namespace {

template <class T>
__global__ void FillKernel(T* out, int64_t n, T v) {
  TB_CUDA_LOOP(i, n) out[i] = v;
}

__global__ void CastI2F(const int32_t* x, float* y, int64_t n) {
  TB_CUDA_LOOP(i, n) y[i] = static_cast<float>(x[i]);
}

__global__ void CastF2I(const float* x, int32_t* y, int64_t n) {
  TB_CUDA_LOOP(i, n) {
    const float v = x[i];
    // A plain conversion is undefined for NaN and out-of-range values; define them as the CPU does.
    y[i] = !(v == v) ? 0 : (v >= 2147483647.f ? INT32_MAX : (v <= -2147483648.f ? INT32_MIN : static_cast<int32_t>(v)));
  }
}

__global__ void AxpyKernel(int64_t n, float alpha, const float* x, float* y) {
  TB_CUDA_LOOP(i, n) y[i] += alpha * x[i];
}

}  // namespace

Status FillF32(float* out, int64_t n, float v, cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  FillKernel<<<GridFor(n), kThreads, 0, stream>>>(out, n, v);
  return LaunchStatus("fill");
}

Status FillI32(int32_t* out, int64_t n, int32_t v, cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  FillKernel<<<GridFor(n), kThreads, 0, stream>>>(out, n, v);
  return LaunchStatus("fill");
}

Status CastI32ToF32(const int32_t* x, float* y, int64_t n, cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  CastI2F<<<GridFor(n), kThreads, 0, stream>>>(x, y, n);
  return LaunchStatus("cast");
}

Status CastF32ToI32(const float* x, int32_t* y, int64_t n, cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  CastF2I<<<GridFor(n), kThreads, 0, stream>>>(x, y, n);
  return LaunchStatus("cast");
}

Status Axpy(int64_t n, float alpha, const float* x, float* y, cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  AxpyKernel<<<GridFor(n), kThreads, 0, stream>>>(n, alpha, x, y);
  return LaunchStatus("axpy");
}

}  // namespace tb::cuda
