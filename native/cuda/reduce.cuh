// Reductions along one axis of an (outer, dim, inner) view, their gradients, and argmax/argmin, on
// the device. Same contracts as native/cpu/reduce.h: sum, mean and prod accumulate in double;
// max/min propagate NaN; an empty dim gives sum 0, mean NaN, prod 1 (max/min are rejected by the caller).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/ops.h"
#include "common/status.h"

namespace tb::cuda {

// x (outer, dim, inner) -> y (outer, inner).
Status Reduce(ReduceOp op, const float* x, float* y, int64_t outer, int64_t dim, int64_t inner, cudaStream_t stream);

// dx (outer, dim, inner) from dy (outer, inner), overwritten. Max/min route dy to the first element
// equal to y (the first NaN when y is NaN); prod uses prefix/suffix products, exact with zeros.
Status ReduceBackward(ReduceOp op, const float* x, const float* y, const float* dy, float* dx, int64_t outer,
                      int64_t dim, int64_t inner, cudaStream_t stream);

// out (outer, inner): index of the first max/min along dim (of the first NaN when there is one). dim >= 1.
Status ArgReduce(ArgReduceOp op, const float* x, int32_t* out, int64_t outer, int64_t dim, int64_t inner,
                 cudaStream_t stream);

}  // namespace tb::cuda
