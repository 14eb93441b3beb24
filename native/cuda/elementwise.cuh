// Elementwise kernels on the device: unary math, broadcasting binary ops and where(), with their
// gradients. Same contracts as native/cpu/elementwise.h (strides are per-out-axis element strides,
// 0 on a broadcast axis; gradient outputs are overwritten and laid out by broadcast strides of a
// contiguous array, which the N-API layer checks). Stride and shape arrays are host memory.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/ops.h"
#include "common/status.h"

namespace tb::cuda {

Status Unary(UnaryOp op, const float* x, float* y, int64_t n, float p1, float p2, cudaStream_t stream);
Status UnaryBackward(UnaryOp op, const float* x, const float* y, const float* dy, float* dx, int64_t n, float p1,
                     float p2, cudaStream_t stream);

Status Binary(BinaryOp op, const float* a, const int64_t* aStrides, const float* b, const int64_t* bStrides,
              float* out, const int64_t* shape, int ndim, cudaStream_t stream);
// Gradients reduced over broadcast axes in a fixed order (no atomics): the same inputs give the
// same bits. op must be differentiable.
Status BinaryBackward(BinaryOp op, const float* a, const int64_t* aStrides, const float* b, const int64_t* bStrides,
                      const float* dy, const int64_t* shape, int ndim, float* da, int64_t daLen, float* db,
                      int64_t dbLen, cudaStream_t stream);

Status Where(const float* cond, const int64_t* cStrides, const float* a, const int64_t* aStrides, const float* b,
             const int64_t* bStrides, float* out, const int64_t* shape, int ndim, cudaStream_t stream);
Status WhereBackward(const float* cond, const int64_t* cStrides, const float* dy, const int64_t* shape, int ndim,
                     float* da, const int64_t* aStrides, int64_t daLen, float* db, const int64_t* bStrides,
                     int64_t dbLen, cudaStream_t stream);

Status SumToStrides(const float* src, const int64_t* shape, int ndim, float* dst, const int64_t* dstStrides,
                    int64_t dstLen, cudaStream_t stream);

}  // namespace tb::cuda
