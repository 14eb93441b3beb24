#pragma once
#include <cstdint>

#include "common/ops.h"

namespace tb::cpu {

// Every reduction views its input as (outer, dim, inner) and reduces along dim.

// x (outer, dim, inner) -> y (outer, inner). Sum, mean and prod accumulate in double. Max/min
// propagate NaN. An empty dim gives sum 0, mean NaN, prod 1 (max/min are rejected by the caller).
void Reduce(ReduceOp op, const float* x, float* y, int64_t outer, int64_t dim, int64_t inner);

// dx (outer, dim, inner) from dy (outer, inner), overwritten. Max/min route dy to the first element
// equal to y (the first NaN when y is NaN); prod uses prefix/suffix products, so zeros are exact.
void ReduceBackward(ReduceOp op, const float* x, const float* y, const float* dy, float* dx, int64_t outer,
                    int64_t dim, int64_t inner);

// x (outer, dim, inner) -> out (outer, inner): index of the first max/min along dim (of the first
// NaN when the slice holds one). dim must be >= 1.
void ArgReduce(ArgReduceOp op, const float* x, int32_t* out, int64_t outer, int64_t dim, int64_t inner);

}  // namespace tb::cpu
