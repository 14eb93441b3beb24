#pragma once
#include <cstdint>

#include "common/status.h"

namespace tb::cpu {

// The forward pass is cpu::Gather (layout.h) over the rows of the table.

// Embedding gradient: dw (V, D) = Σ over positions k with idx[k] = v of dy (n, D) row k, written
// as a gather: the positions are bucketed by row (a stable counting sort into ws, V + 1 + n ints),
// then each row of dw sums its own bucket in position order. No atomics, no races, and the same
// bits on any thread count. Row paddingIdx (>= 0) gets zero. Fails on an index outside [0, V).
Status EmbeddingBackward(const float* dy, const int32_t* idx, int64_t n, float* dw, int64_t V, int64_t D,
                         int64_t paddingIdx, int32_t* ws);

}  // namespace tb::cpu
