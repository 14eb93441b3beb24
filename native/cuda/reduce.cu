// Reductions, forward and backward side by side. The forward reductions run on the shared engine
// (reduce_kernels.cuh). The backward and arg kernels give one thread to each output column when
// inner > 1 (neighbouring threads read neighbouring columns) and one warp to each row when
// inner == 1 (lanes read neighbouring elements); both walk dim in order, so "first" means first.
#include "cuda/common.cuh"
#include "cuda/reduce.cuh"
#include "cuda/reduce_kernels.cuh"

namespace tb::cuda {
namespace {

template <class Acc>
struct StoreY {
  float* y;
  int64_t inner;
  double scale;  // mean: 1/dim (NaN for an empty dim); otherwise 1
  __device__ void operator()(int64_t o, int64_t i, Acc a) const {
    y[o * inner + i] = scale == 1.0 ? static_cast<float>(a) : static_cast<float>(static_cast<double>(a) * scale);
  }
};

template <class Rule>
Status ReduceWith(const float* x, float* y, int64_t outer, int64_t dim, int64_t inner, double scale,
                  cudaStream_t stream) {
  using Acc = typename Rule::Acc;
  return red::ReduceDim<Rule>(outer, dim, inner, red::ViewLoad<Acc>{x, dim, inner}, StoreY<Acc>{y, inner, scale},
                              stream, "reduce");
}

// dx = scale * dy broadcast along dim.
__global__ void BroadcastBackKernel(const float* dy, float* dx, int64_t outer, int64_t dim, int64_t inner, float scale) {
  TB_CUDA_LOOP(t, outer * dim * inner) {
    const int64_t i = t % inner, o = t / (dim * inner);
    dx[t] = dy[o * inner + i] * scale;
  }
}

__device__ inline bool Matches(float v, float t) { return t == t ? v == t : v != v; }

// Max/min backward, inner > 1: thread per column finds the first match, then writes the column.
__global__ void RouteColsKernel(const float* x, const float* y, const float* dy, float* dx, int64_t outer,
                                int64_t dim, int64_t inner) {
  TB_CUDA_LOOP(t, outer * inner) {
    const int64_t o = t / inner, i = t % inner;
    const float* xs = x + o * dim * inner + i;
    float* out = dx + o * dim * inner + i;
    const float target = y[t], g = dy[t];
    int64_t first = dim;
    for (int64_t d = 0; d < dim; ++d)
      if (Matches(xs[d * inner], target)) {
        first = d;
        break;
      }
    for (int64_t d = 0; d < dim; ++d) out[d * inner] = d == first ? g : 0.f;
  }
}

// Max/min backward, inner == 1: warp per row; a ballot over each 32-element run finds the first match.
__global__ void RouteRowsKernel(const float* x, const float* y, const float* dy, float* dx, int64_t outer,
                                int64_t dim) {
  const int lane = threadIdx.x % kWarp;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / kWarp);
  for (int64_t o = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp; o < outer; o += warps) {
    const float* xs = x + o * dim;
    const float target = y[o], g = dy[o];
    int64_t first = dim;
    for (int64_t base = 0; base < dim; base += kWarp) {
      const int64_t d = base + lane;
      const unsigned hits = __ballot_sync(0xffffffffu, d < dim && Matches(xs[d], target));
      if (hits) {
        first = base + __ffs(hits) - 1;
        break;
      }
    }
    for (int64_t d = lane; d < dim; d += kWarp) dx[o * dim + d] = d == first ? g : 0.f;
  }
}

// Prod backward: d/dx_d = dy * (product of the elements before d) * (product of those after),
// an exclusive prefix pass written into dx, then a suffix pass; no division, exact with zeros.
__global__ void ProdBackKernel(const float* x, const float* dy, float* dx, int64_t outer, int64_t dim, int64_t inner) {
  TB_CUDA_LOOP(t, outer * inner) {
    const int64_t o = t / inner, i = t % inner;
    const float* xs = x + o * dim * inner + i;
    float* out = dx + o * dim * inner + i;
    double a = 1.0;
    for (int64_t d = 0; d < dim; ++d) {
      out[d * inner] = static_cast<float>(a);
      a *= static_cast<double>(xs[d * inner]);
    }
    a = static_cast<double>(dy[t]);
    for (int64_t d = dim - 1; d >= 0; --d) {
      out[d * inner] = static_cast<float>(static_cast<double>(out[d * inner]) * a);
      a *= static_cast<double>(xs[d * inner]);
    }
  }
}

template <bool kMax>
__device__ inline bool Better(float v, float best) {
  return kMax ? v > best : v < best;
}

// Arg max/min, inner > 1: thread per column, as the CPU: a NaN best is final; a NaN value wins.
template <bool kMax>
__global__ void ArgColsKernel(const float* x, int32_t* out, int64_t outer, int64_t dim, int64_t inner) {
  TB_CUDA_LOOP(t, outer * inner) {
    const int64_t o = t / inner, i = t % inner;
    const float* xs = x + o * dim * inner + i;
    float best = xs[0];
    int32_t idx = 0;
    for (int64_t d = 1; d < dim; ++d) {
      const float v = xs[d * inner];
      if (best == best && (v != v || Better<kMax>(v, best))) {
        best = v;
        idx = static_cast<int32_t>(d);
      }
    }
    out[t] = idx;
  }
}

// (value, index) candidate of a warp lane; index -1 marks a lane that saw nothing.
struct Cand {
  float v;
  int32_t i;
};

// The better of two candidates: NaN beats numbers, a strictly better value wins, ties (and two NaNs)
// go to the smaller index. So the winner is the first extremum (or the first NaN), as on the CPU.
template <bool kMax>
__device__ inline Cand Pick(Cand a, Cand b) {
  if (a.i < 0) return b;
  if (b.i < 0) return a;
  const bool an = a.v != a.v, bn = b.v != b.v;
  if (an || bn) {
    if (an && bn) return a.i < b.i ? a : b;
    return an ? a : b;
  }
  if (Better<kMax>(b.v, a.v)) return b;
  if (Better<kMax>(a.v, b.v)) return a;
  return a.i < b.i ? a : b;
}

template <bool kMax>
__global__ void ArgRowsKernel(const float* x, int32_t* out, int64_t outer, int64_t dim) {
  const int lane = threadIdx.x % kWarp;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / kWarp);
  for (int64_t o = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp; o < outer; o += warps) {
    const float* xs = x + o * dim;
    Cand c{0.f, -1};
    for (int64_t d = lane; d < dim; d += kWarp) c = Pick<kMax>(c, Cand{xs[d], static_cast<int32_t>(d)});
    for (int s = kWarp / 2; s > 0; s /= 2) {
      const Cand other{__shfl_down_sync(0xffffffffu, c.v, s), __shfl_down_sync(0xffffffffu, c.i, s)};
      c = Pick<kMax>(c, other);
    }
    if (lane == 0) out[o] = c.i;
  }
}

}  // namespace

Status Reduce(ReduceOp op, const float* x, float* y, int64_t outer, int64_t dim, int64_t inner, cudaStream_t stream) {
  switch (op) {
    case ReduceOp::kSum: return ReduceWith<red::SumD>(x, y, outer, dim, inner, 1.0, stream);
    // 0/0 gives NaN for an empty dim, as NumPy does.
    case ReduceOp::kMean: {
      const double scale = dim > 0 ? 1.0 / static_cast<double>(dim) : NAN;
      return ReduceWith<red::SumD>(x, y, outer, dim, inner, scale, stream);
    }
    case ReduceOp::kProd: return ReduceWith<red::ProdD>(x, y, outer, dim, inner, 1.0, stream);
    case ReduceOp::kMax: return ReduceWith<red::MaxF>(x, y, outer, dim, inner, 1.0, stream);
    case ReduceOp::kMin: return ReduceWith<red::MinF>(x, y, outer, dim, inner, 1.0, stream);
    default: return Status::Error("unknown reduce op " + std::to_string(static_cast<int>(op)));
  }
}

Status ReduceBackward(ReduceOp op, const float* x, const float* y, const float* dy, float* dx, int64_t outer,
                      int64_t dim, int64_t inner, cudaStream_t stream) {
  const int64_t total = outer * dim * inner, cols = outer * inner;
  if (total == 0) return Status::Ok();
  switch (op) {
    case ReduceOp::kSum:
    case ReduceOp::kMean: {
      const float scale = op == ReduceOp::kSum ? 1.f : static_cast<float>(1.0 / static_cast<double>(dim));
      BroadcastBackKernel<<<GridFor(total), kThreads, 0, stream>>>(dy, dx, outer, dim, inner, scale);
      break;
    }
    case ReduceOp::kProd:
      ProdBackKernel<<<GridFor(cols), kThreads, 0, stream>>>(x, dy, dx, outer, dim, inner);
      break;
    case ReduceOp::kMax:
    case ReduceOp::kMin:
      if (inner == 1) RouteRowsKernel<<<GridFor(outer * kWarp), kThreads, 0, stream>>>(x, y, dy, dx, outer, dim);
      else RouteColsKernel<<<GridFor(cols), kThreads, 0, stream>>>(x, y, dy, dx, outer, dim, inner);
      break;
    default:
      return Status::Error("unknown reduce op " + std::to_string(static_cast<int>(op)));
  }
  return LaunchStatus("reduceBackward");
}

Status ArgReduce(ArgReduceOp op, const float* x, int32_t* out, int64_t outer, int64_t dim, int64_t inner,
                 cudaStream_t stream) {
  if (dim <= 0 || outer * inner == 0) return Status::Ok();
  const bool mx = op == ArgReduceOp::kArgMax;
  if (inner == 1) {
    const unsigned grid = GridFor(outer * kWarp);
    if (mx) ArgRowsKernel<true><<<grid, kThreads, 0, stream>>>(x, out, outer, dim);
    else ArgRowsKernel<false><<<grid, kThreads, 0, stream>>>(x, out, outer, dim);
  } else {
    const unsigned grid = GridFor(outer * inner);
    if (mx) ArgColsKernel<true><<<grid, kThreads, 0, stream>>>(x, out, outer, dim, inner);
    else ArgColsKernel<false><<<grid, kThreads, 0, stream>>>(x, out, outer, dim, inner);
  }
  return LaunchStatus("argReduce");
}

}  // namespace tb::cuda
