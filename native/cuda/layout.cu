// Strided copy (permute, slice, concat, pad, broadcast and their gradients), gather and its
// scatter-add gradient, one-hot: forward and backward side by side.
#include "cuda/common.cuh"
#include "cuda/layout.cuh"

namespace tb::cuda {
namespace {

// Sufficient test that distinct indices reach distinct dst elements: sorted by stride, each axis
// must step past everything the smaller axes reach (the CPU kernel's test).
bool DstInjective(const Space<2>& s) {
  int order[kMaxDims];
  for (int i = 0; i < s.ndim; ++i) {
    int j = i;
    for (; j > 0 && s.st[1][order[j - 1]] > s.st[1][i]; --j) order[j] = order[j - 1];
    order[j] = i;
  }
  int64_t reach = 0;
  for (int i = 0; i < s.ndim; ++i) {
    const int ax = order[i];
    if (s.st[1][ax] <= reach) return false;
    reach += (s.shape[ax] - 1) * s.st[1][ax];
  }
  return true;
}

template <class T>
__global__ void CopyKernel(Space<2> s, const T* src, T* dst, bool acc) {
  TB_CUDA_LOOP(i, s.total) {
    int64_t off[2];
    Offsets(s, i, off);
    if (acc) dst[off[1]] += src[off[0]];
    else dst[off[1]] = src[off[0]];
  }
}

// Several indices reach the same dst element: one thread walks them in index order, which is the
// CPU kernel's order, so accumulations round the same way (slow; no caller in lib/ does this).
template <class T>
__global__ void CopySerialKernel(Space<2> s, const T* src, T* dst, bool acc) {
  for (int64_t i = 0; i < s.total; ++i) {
    int64_t off[2];
    Offsets(s, i, off);
    if (acc) dst[off[1]] += src[off[0]];
    else dst[off[1]] = src[off[0]];
  }
}

template <class T>
Status CopyImpl(const T* src, const int64_t* ss, T* dst, const int64_t* ds, const int64_t* shape, int ndim, bool acc,
                cudaStream_t stream) {
  const int64_t* st[2] = {ss, ds};
  const Space<2> s = Coalesce<2>(shape, ndim, st);
  if (s.total == 0) return Status::Ok();
  if (DstInjective(s)) CopyKernel<T><<<GridFor(s.total), kThreads, 0, stream>>>(s, src, dst, acc);
  else CopySerialKernel<T><<<1, 1, 0, stream>>>(s, src, dst, acc);
  return LaunchStatus("copyStrided");
}

template <class T>
__global__ void GatherKernel(const T* x, const int32_t* idx, int64_t n, T* y, int64_t outer, int64_t dim,
                             int64_t inner, DeviceCheck* check) {
  TB_CUDA_LOOP(t, outer * n * inner) {
    const int64_t i = t % inner, k = (t / inner) % n, o = t / (inner * n);
    const int32_t j = idx[k];
    if (j < 0 || j >= dim) {
      ReportBad(check, CheckCode::kGatherIndex, k, j, dim);
      y[t] = T(0);
    } else {
      y[t] = x[(o * dim + j) * inner + i];
    }
  }
}

// Each thread owns one (o, i) column of dx, so repeated indices never race and always add in k order.
__global__ void GatherBackwardKernel(const float* dy, const int32_t* idx, int64_t n, float* dx, int64_t outer,
                                     int64_t dim, int64_t inner, DeviceCheck* check) {
  TB_CUDA_LOOP(t, outer * inner) {
    const int64_t o = t / inner, i = t % inner;
    for (int64_t k = 0; k < n; ++k) {
      const int32_t j = idx[k];
      if (j < 0 || j >= dim) {
        ReportBad(check, CheckCode::kGatherBackwardIndex, k, j, dim);
        continue;
      }
      dx[(o * dim + j) * inner + i] += dy[(o * n + k) * inner + i];
    }
  }
}

__global__ void OneHotKernel(const int32_t* idx, int64_t n, float* out, int64_t depth, float on, float off,
                             DeviceCheck* check) {
  TB_CUDA_LOOP(t, n * depth) {
    const int64_t i = t / depth, j = t % depth;
    const int32_t h = idx[i];
    if ((h < 0 || h >= depth) && j == 0) ReportBad(check, CheckCode::kOneHotIndex, i, h, depth);
    out[t] = h == j ? on : off;
  }
}

template <class T>
Status GatherImpl(const T* x, const int32_t* idx, int64_t n, T* y, int64_t outer, int64_t dim, int64_t inner,
                  cudaStream_t stream) {
  const int64_t total = outer * n * inner;
  if (total == 0) return Status::Ok();
  TB_TRY(Init());
  GatherKernel<T><<<GridFor(total), kThreads, 0, stream>>>(x, idx, n, y, outer, dim, inner, CheckSlot());
  NoteCheck();
  return LaunchStatus("gather");
}

}  // namespace

Status CopyStrided(const float* src, const int64_t* ss, float* dst, const int64_t* ds, const int64_t* shape, int ndim,
                   bool accumulate, cudaStream_t stream) {
  return CopyImpl(src, ss, dst, ds, shape, ndim, accumulate, stream);
}

Status CopyStrided(const int32_t* src, const int64_t* ss, int32_t* dst, const int64_t* ds, const int64_t* shape,
                   int ndim, bool accumulate, cudaStream_t stream) {
  return CopyImpl(src, ss, dst, ds, shape, ndim, accumulate, stream);
}

Status Gather(const float* x, const int32_t* idx, int64_t n, float* y, int64_t outer, int64_t dim, int64_t inner,
              cudaStream_t stream) {
  return GatherImpl(x, idx, n, y, outer, dim, inner, stream);
}

Status Gather(const int32_t* x, const int32_t* idx, int64_t n, int32_t* y, int64_t outer, int64_t dim,
              int64_t inner, cudaStream_t stream) {
  return GatherImpl(x, idx, n, y, outer, dim, inner, stream);
}

Status GatherBackward(const float* dy, const int32_t* idx, int64_t n, float* dx, int64_t outer, int64_t dim,
                      int64_t inner, cudaStream_t stream) {
  const int64_t total = outer * dim * inner;
  if (total == 0) return Status::Ok();
  const cudaError_t e = cudaMemsetAsync(dx, 0, static_cast<size_t>(total) * sizeof(float), stream);
  if (e != cudaSuccess) return FromCuda(e, "gatherBackward", "cudaMemsetAsync");
  if (n == 0 || inner == 0) return Status::Ok();
  TB_TRY(Init());
  GatherBackwardKernel<<<GridFor(outer * inner), kThreads, 0, stream>>>(dy, idx, n, dx, outer, dim, inner, CheckSlot());
  NoteCheck();
  return LaunchStatus("gatherBackward");
}

Status OneHot(const int32_t* idx, int64_t n, float* out, int64_t depth, float on, float off, cudaStream_t stream) {
  if (n * depth == 0) return Status::Ok();
  TB_TRY(Init());
  OneHotKernel<<<GridFor(n * depth), kThreads, 0, stream>>>(idx, n, out, depth, on, off, CheckSlot());
  NoteCheck();
  return LaunchStatus("oneHot");
}

}  // namespace tb::cuda
