// Softmax, log-softmax and the fused softmax + cross-entropy, forward and backward side by side.
// Rows (inner == 1, the (N, C) case) get one warp each: lanes stride over the row and butterfly
// shuffles give every lane the row max and sum. A strided axis (inner > 1) gets one thread per
// column, neighbouring threads on neighbouring columns, so every pass over dim reads contiguously.
#include "cuda/common.cuh"
#include "cuda/softmax_xent.cuh"

namespace tb::cuda {
namespace {

// Warp index and lane for warp-per-row kernels launched with GridFor(rows * kWarp).
#define TB_WARP_ROWS(row, rows)                                                                               \
  const int lane = threadIdx.x % kWarp;                                                                       \
  const int64_t tb_warps_ = static_cast<int64_t>(gridDim.x) * (blockDim.x / kWarp);                          \
  for (int64_t row = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp; row < (rows); \
       row += tb_warps_)

__device__ inline float RowMax(const float* x, int64_t d, int lane) {
  float m = -INFINITY;
  for (int64_t j = lane; j < d; j += kWarp) m = fmaxf(m, x[j]);
  return WarpAllMax(m);
}

__global__ void SoftmaxRowsKernel(const float* x, float* y, int64_t rows, int64_t d, bool log) {
  TB_WARP_ROWS(r, rows) {
    const float* xr = x + r * d;
    float* yr = y + r * d;
    const float m = RowMax(xr, d, lane);
    float s = 0.f;
    for (int64_t j = lane; j < d; j += kWarp) s += expf(xr[j] - m);
    s = WarpAllSum(s);
    if (log) {
      // (x - m) - log(sum): adding m and the log first would round at m's scale.
      const float ls = logf(s);
      for (int64_t j = lane; j < d; j += kWarp) yr[j] = (xr[j] - m) - ls;
    } else {
      const float inv = 1.f / s;
      for (int64_t j = lane; j < d; j += kWarp) yr[j] = expf(xr[j] - m) * inv;
    }
  }
}

__global__ void SoftmaxColsKernel(const float* x, float* y, int64_t outer, int64_t dim, int64_t inner, bool log) {
  TB_CUDA_LOOP(t, outer * inner) {
    const int64_t o = t / inner, i = t % inner;
    const float* xs = x + o * dim * inner + i;
    float* ys = y + o * dim * inner + i;
    float m = -INFINITY;
    for (int64_t d = 0; d < dim; ++d) m = fmaxf(m, xs[d * inner]);
    float s = 0.f;
    for (int64_t d = 0; d < dim; ++d) s += expf(xs[d * inner] - m);
    if (log) {
      const float ls = logf(s);
      for (int64_t d = 0; d < dim; ++d) ys[d * inner] = (xs[d * inner] - m) - ls;
    } else {
      const float inv = 1.f / s;
      for (int64_t d = 0; d < dim; ++d) ys[d * inner] = expf(xs[d * inner] - m) * inv;
    }
  }
}

__global__ void SoftmaxBackRowsKernel(const float* y, const float* dy, float* dx, int64_t rows, int64_t d, bool log) {
  TB_WARP_ROWS(r, rows) {
    const float* yr = y + r * d;
    const float* g = dy + r * d;
    float* out = dx + r * d;
    float s = 0.f;
    for (int64_t j = lane; j < d; j += kWarp) s += log ? g[j] : g[j] * yr[j];
    s = WarpAllSum(s);
    // Each lane rewrites only the elements it read, so dx may alias dy.
    for (int64_t j = lane; j < d; j += kWarp) out[j] = log ? g[j] - expf(yr[j]) * s : yr[j] * (g[j] - s);
  }
}

__global__ void SoftmaxBackColsKernel(const float* y, const float* dy, float* dx, int64_t outer, int64_t dim,
                                      int64_t inner, bool log) {
  TB_CUDA_LOOP(t, outer * inner) {
    const int64_t o = t / inner, i = t % inner, base = o * dim * inner + i;
    float s = 0.f;
    for (int64_t d = 0; d < dim; ++d) {
      const int64_t k = base + d * inner;
      s += log ? dy[k] : dy[k] * y[k];
    }
    for (int64_t d = 0; d < dim; ++d) {
      const int64_t k = base + d * inner;
      dx[k] = log ? dy[k] - expf(y[k]) * s : y[k] * (dy[k] - s);
    }
  }
}

// One warp per sample: probs = softmax(z); loss from the shifted logits, finite for finite logits.
__global__ void XentForwardKernel(const float* logits, int64_t n, int64_t c, const int32_t* labels,
                                  const float* targets, float smoothing, float* probs, float* loss, DeviceCheck* check) {
  const float keep = 1.f - smoothing, spread = smoothing / static_cast<float>(c);
  TB_WARP_ROWS(i, n) {
    const float* z = logits + i * c;
    float* p = probs + i * c;
    const float m = RowMax(z, c, lane);
    float s = 0.f;
    for (int64_t j = lane; j < c; j += kWarp) s += expf(z[j] - m);
    s = WarpAllSum(s);
    const float inv = 1.f / s;
    for (int64_t j = lane; j < c; j += kWarp) p[j] = expf(z[j] - m) * inv;
    // -log p_j = lse - (z_j - m), lse the log-sum-exp of the shifted logits (>= 0).
    const float lse = logf(s);
    if (labels) {
      const int32_t label = labels[i];
      const bool bad = label < 0 || label >= c;
      float zsum = 0.f;
      if (smoothing != 0.f) {
        // mean_j(z_j - m) as a sum of (z_j - m) / c, each term scaled first: logits near the ends of the
        // float range overflow a plain sum of z_j although the loss is finite (as on the CPU)
        const float cf = static_cast<float>(c);
        for (int64_t j = lane; j < c; j += kWarp) zsum += z[j] / cf - m / cf;
        zsum = WarpAllSum(zsum);
      }
      if (lane == 0) {
        if (bad) {
          ReportBad(check, CheckCode::kXentLabel, i, label, c);
          loss[i] = NAN;
        } else {
          const float nll = lse - (z[label] - m);
          // mean_j(-log p_j) = lse - mean_j(z_j - m)
          loss[i] = smoothing != 0.f ? keep * nll + smoothing * (lse - zsum) : nll;
        }
      }
    } else {
      const float* t = targets + i * c;
      float acc = 0.f;
      for (int64_t j = lane; j < c; j += kWarp) {
        const float tj = keep * t[j] + spread;
        // terms with t_j == 0 contribute 0 even where log p_j = -inf
        acc += tj != 0.f ? tj * (lse - (z[j] - m)) : 0.f;
      }
      acc = WarpAllSum(acc);
      if (lane == 0) loss[i] = acc;
    }
  }
}

__global__ void XentBackwardKernel(const float* probs, int64_t n, int64_t c, const int32_t* labels,
                                   const float* targets, float smoothing, const float* dloss, float* dlogits,
                                   DeviceCheck* check) {
  const float keep = 1.f - smoothing, spread = smoothing / static_cast<float>(c);
  TB_WARP_ROWS(i, n) {
    const float* p = probs + i * c;
    float* g = dlogits + i * c;
    const float dl = dloss[i];
    if (labels) {
      const int32_t label = labels[i];
      if (label < 0 || label >= c) {
        if (lane == 0) ReportBad(check, CheckCode::kXentBackwardLabel, i, label, c);
        for (int64_t j = lane; j < c; j += kWarp) g[j] = NAN;
        continue;
      }
      for (int64_t j = lane; j < c; j += kWarp) g[j] = dl * (p[j] - spread) - (j == label ? dl * keep : 0.f);
    } else {
      const float* t = targets + i * c;
      float st = 0.f;
      for (int64_t j = lane; j < c; j += kWarp) st += t[j];
      const float sumT = keep * WarpAllSum(st) + smoothing;
      for (int64_t j = lane; j < c; j += kWarp) g[j] = dl * (p[j] * sumT - (keep * t[j] + spread));
    }
  }
}

#undef TB_WARP_ROWS

}  // namespace

Status SoftmaxForward(const float* x, float* y, int64_t outer, int64_t dim, int64_t inner, bool log,
                      cudaStream_t stream) {
  if (dim == 0 || outer * inner == 0) return Status::Ok();
  if (inner == 1) SoftmaxRowsKernel<<<GridFor(outer * kWarp), kThreads, 0, stream>>>(x, y, outer, dim, log);
  else SoftmaxColsKernel<<<GridFor(outer * inner), kThreads, 0, stream>>>(x, y, outer, dim, inner, log);
  return LaunchStatus("softmax");
}

Status SoftmaxBackward(const float* y, const float* dy, float* dx, int64_t outer, int64_t dim, int64_t inner, bool log,
                       cudaStream_t stream) {
  if (dim == 0 || outer * inner == 0) return Status::Ok();
  if (inner == 1) SoftmaxBackRowsKernel<<<GridFor(outer * kWarp), kThreads, 0, stream>>>(y, dy, dx, outer, dim, log);
  else SoftmaxBackColsKernel<<<GridFor(outer * inner), kThreads, 0, stream>>>(y, dy, dx, outer, dim, inner, log);
  return LaunchStatus("softmaxBackward");
}

Status SoftmaxXentForward(const float* logits, int64_t n, int64_t c, const int32_t* labels, const float* targets,
                          float smoothing, float* probs, float* loss, cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  TB_TRY(Init());
  XentForwardKernel<<<GridFor(n * kWarp), kThreads, 0, stream>>>(logits, n, c, labels, targets, smoothing, probs, loss,
                                                                   CheckSlot());
  if (labels) NoteCheck();
  return LaunchStatus("softmaxXent");
}

Status SoftmaxXentBackward(const float* probs, int64_t n, int64_t c, const int32_t* labels, const float* targets,
                           float smoothing, const float* dloss, float* dlogits, cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  TB_TRY(Init());
  XentBackwardKernel<<<GridFor(n * kWarp), kThreads, 0, stream>>>(probs, n, c, labels, targets, smoothing, dloss,
                                                                    dlogits, CheckSlot());
  if (labels) NoteCheck();
  return LaunchStatus("softmaxXentBackward");
}

}  // namespace tb::cuda
