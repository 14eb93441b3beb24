// Device-side helpers shared by the kernel files (included by .cu files only): launch geometry,
// grid-stride loops, warp reductions, the strided index spaces of the elementwise and layout
// kernels, and the device half of the data checks.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "common/status.h"
#include "common/strided.h"
#include "cuda/runtime.cuh"

namespace tb::cuda {

constexpr int kThreads = 256;
constexpr int kWarp = 32;
// Grid-stride loops cover any n with at most this many blocks (2^16 * 256 = 16M threads, more than
// any current GPU keeps resident), so grid sizes never overflow and tiny launches stay tiny.
constexpr int64_t kMaxBlocks = int64_t{1} << 16;

inline unsigned GridFor(int64_t n, int threads = kThreads) {
  const int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > kMaxBlocks ? kMaxBlocks : b));
}

#define TB_CUDA_LOOP(i, n)                                                                  \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)

// Returns from the enclosing function when expr (a Status) is an error.
#define TB_TRY(expr)              \
  do {                            \
    ::tb::Status tb_s_ = (expr);  \
    if (!tb_s_.ok) return tb_s_;  \
  } while (0)

// ---- warp reductions (fixed shuffle tree: the same inputs give the same bits) ----

template <class T>
__device__ inline T ShflDown(T v, int d) {
  return __shfl_down_sync(0xffffffffu, v, d);
}
template <>
__device__ inline double2 ShflDown<double2>(double2 v, int d) {
  return make_double2(__shfl_down_sync(0xffffffffu, v.x, d), __shfl_down_sync(0xffffffffu, v.y, d));
}

// Lane 0 gets merge(all 32 lanes' values). Every lane of the warp must call it.
template <class T, class Merge>
__device__ inline T WarpReduce(T v, Merge merge) {
  for (int d = kWarp / 2; d > 0; d /= 2) v = merge(v, ShflDown(v, d));
  return v;
}

template <class T>
__device__ inline T WarpSum(T v) {
  return WarpReduce(v, [](T a, T b) { return a + b; });
}

// Every lane gets the warp's sum / max (butterfly).
__device__ inline float WarpAllSum(float v) {
  for (int d = kWarp / 2; d > 0; d /= 2) v += __shfl_xor_sync(0xffffffffu, v, d);
  return v;
}
__device__ inline float WarpAllMax(float v) {
  for (int d = kWarp / 2; d > 0; d /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, d));
  return v;
}

// ---- strided index spaces ----

// N operands' element strides over one index space, after coalescing (size-1 axes dropped,
// neighbours merged where every operand is contiguous across them).
template <int N>
struct Space {
  int ndim = 0;
  int64_t total = 0;
  int64_t shape[kMaxDims] = {};
  int64_t st[N][kMaxDims] = {};
};

template <int N>
inline Space<N> Coalesce(const int64_t* shape, int ndim, const int64_t* const strides[N]) {
  Space<N> s;
  s.total = NumElements(shape, ndim);
  for (int i = 0; i < ndim; ++i) {
    if (shape[i] == 1) continue;
    if (s.ndim > 0) {
      const int p = s.ndim - 1;
      bool merge = true;
      for (int k = 0; k < N; ++k) merge = merge && s.st[k][p] == strides[k][i] * shape[i];
      if (merge) {
        s.shape[p] *= shape[i];
        for (int k = 0; k < N; ++k) s.st[k][p] = strides[k][i];
        continue;
      }
    }
    s.shape[s.ndim] = shape[i];
    for (int k = 0; k < N; ++k) s.st[k][s.ndim] = strides[k][i];
    ++s.ndim;
  }
  return s;  // ndim 0: one element (or an empty space when total is 0)
}

// Offsets of linear index i (row-major over s.shape) for every operand.
template <int N>
__device__ inline void Offsets(const Space<N>& s, int64_t i, int64_t off[N]) {
  for (int k = 0; k < N; ++k) off[k] = 0;
  for (int ax = s.ndim - 1; ax >= 0; --ax) {
    const int64_t n = s.shape[ax];
    const int64_t q = i % n;
    i /= n;
    for (int k = 0; k < N; ++k) off[k] += q * s.st[k][ax];
  }
}

// Row-major contiguous strides of shape.
inline void ContiguousStrides(const int64_t* shape, int ndim, int64_t* st) {
  int64_t acc = 1;
  for (int i = ndim - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= shape[i];
  }
}

// ---- data checks ----

// Records a failure in the check slot unless one is recorded already (the first to arrive wins).
__device__ inline void ReportBad(DeviceCheck* slot, CheckCode code, long long index, long long value,
                                 long long limit) {
  if (atomicCAS(&slot->code, 0, static_cast<int>(code)) == 0) {
    slot->index = index;
    slot->value = value;
    slot->limit = limit;
  }
}

}  // namespace tb::cuda
