// Data movement on the device: strided copy, gather with its scatter-add gradient, one-hot. Same
// contracts as native/cpu/layout.h, except for bad indices: the CPU kernels fail before writing;
// here an index outside its range is found on the device, the affected outputs are 0 (gather) or
// `off` (oneHot) or left out (gatherBackward), and the next synchronization throws an error naming
// the position and the index (runtime.cuh). Stride and shape arrays are host memory.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/status.h"

namespace tb::cuda {

// dst[i·dstStrides] = (or +=) src[i·srcStrides] for every multi-index i of shape; the regions were
// checked by the caller (in bounds, not overlapping).
Status CopyStrided(const float* src, const int64_t* srcStrides, float* dst, const int64_t* dstStrides,
                   const int64_t* shape, int ndim, bool accumulate, cudaStream_t stream);
Status CopyStrided(const int32_t* src, const int64_t* srcStrides, int32_t* dst, const int64_t* dstStrides,
                   const int64_t* shape, int ndim, bool accumulate, cudaStream_t stream);

// x (outer, dim, inner), idx (n) -> y (outer, n, inner).
Status Gather(const float* x, const int32_t* idx, int64_t n, float* y, int64_t outer, int64_t dim, int64_t inner,
              cudaStream_t stream);
Status Gather(const int32_t* x, const int32_t* idx, int64_t n, int32_t* y, int64_t outer, int64_t dim,
              int64_t inner, cudaStream_t stream);

// dx (outer, dim, inner) = 0, then dx[o, idx[k], :] += dy[o, k, :], k in order (repeated indices add
// up in the same order every time).
Status GatherBackward(const float* dy, const int32_t* idx, int64_t n, float* dx, int64_t outer, int64_t dim,
                      int64_t inner, cudaStream_t stream);

// out (n, depth): on at [i, idx[i]], off elsewhere.
Status OneHot(const int32_t* idx, int64_t n, float* out, int64_t depth, float on, float off, cudaStream_t stream);

}  // namespace tb::cuda
