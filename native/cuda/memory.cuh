// Buffer utilities on the device: fill, cast, axpy. Same contracts as native/cpu/memory.h.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/status.h"

namespace tb::cuda {

Status FillF32(float* out, int64_t n, float v, cudaStream_t stream);
Status FillI32(int32_t* out, int64_t n, int32_t v, cudaStream_t stream);
Status CastI32ToF32(const int32_t* x, float* y, int64_t n, cudaStream_t stream);
// Truncates; NaN -> 0, clamps to the int32 range (as the CPU kernel).
Status CastF32ToI32(const float* x, int32_t* y, int64_t n, cudaStream_t stream);
// y += alpha * x
Status Axpy(int64_t n, float alpha, const float* x, float* y, cudaStream_t stream);

}  // namespace tb::cuda
