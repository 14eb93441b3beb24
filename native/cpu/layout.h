#pragma once
#include <cstdint>

#include "common/status.h"

namespace tb::cpu {

// dst[i·dstStrides] = (or +=) src[i·srcStrides] for every multi-index i of shape (ndim <= kMaxDims).
// The caller has checked that every reachable offset lies inside both buffers and that they do not
// overlap. Runs in parallel only when distinct i reach distinct dst elements.
void CopyStrided(const float* src, const int64_t* srcStrides, float* dst, const int64_t* dstStrides,
                 const int64_t* shape, int ndim, bool accumulate);
void CopyStrided(const int32_t* src, const int64_t* srcStrides, int32_t* dst, const int64_t* dstStrides,
                 const int64_t* shape, int ndim, bool accumulate);

// Ok when every idx[k] is in [0, limit); otherwise an error naming the position, the value and `what`.
Status CheckIndices(const int32_t* idx, int64_t n, int64_t limit, const char* what);

// x (outer, dim, inner), idx (n) -> y (outer, n, inner). Fails (writing nothing) on an index outside
// [0, dim), naming its position and value. threaded = false keeps it on the calling thread (a gather
// run beside training, on a thread of its own, must not start a second OpenMP team).
Status Gather(const float* x, const int32_t* idx, int64_t n, float* y, int64_t outer, int64_t dim, int64_t inner,
              bool threaded = true);
Status Gather(const int32_t* x, const int32_t* idx, int64_t n, int32_t* y, int64_t outer, int64_t dim,
              int64_t inner, bool threaded = true);

// dx (outer, dim, inner) = 0, then dx[o, idx[k], :] += dy[o, k, :] (repeated indices add up).
Status GatherBackward(const float* dy, const int32_t* idx, int64_t n, float* dx, int64_t outer, int64_t dim,
                      int64_t inner);

// out (n, depth): on at [i, idx[i]], off elsewhere. Fails on an index outside [0, depth).
Status OneHot(const int32_t* idx, int64_t n, float* out, int64_t depth, float on, float off);

}  // namespace tb::cpu
