// The one reduction engine of the CUDA backend (included by .cu files only): reduces an
// (outer, dim, inner) view along dim with a Rule, reading terms through a Load functor and writing
// results through a Store functor. reduce.cu, conv2d.cu (bias gradients), batchnorm.cu (channel
// statistics) and optim.cu (sum of squares) all use it.
//
// Determinism: each output's terms are combined in an order fixed by the shape alone: a long dim is
// cut into a shape-determined number of chunks, each chunk is reduced by a fixed thread layout and
// shuffle tree, and chunk partials are merged in chunk order. Same inputs, same bits, on any GPU.
#pragma once
#include "cuda/common.cuh"

namespace tb::cuda::red {

// Rule: using Acc; static Acc Init(); static Acc Merge(Acc, Acc) (associative; applied in a fixed order).
// Load: Acc operator()(int64_t o, int64_t d, int64_t i) const, one term as an Acc.
// Store: void operator()(int64_t o, int64_t i, Acc a) const.

struct SumD {
  using Acc = double;
  __device__ static Acc Init() { return 0.0; }
  __device__ static Acc Merge(Acc a, Acc b) { return a + b; }
};
struct ProdD {
  using Acc = double;
  __device__ static Acc Init() { return 1.0; }
  __device__ static Acc Merge(Acc a, Acc b) { return a * b; }
};
// NaN is sticky: once the accumulator is NaN nothing replaces it; a NaN term replaces a number.
struct MaxF {
  using Acc = float;
  __device__ static Acc Init() { return -INFINITY; }
  __device__ static Acc Merge(Acc a, Acc v) { return (v > a || v != v) && a == a ? v : a; }
};
struct MinF {
  using Acc = float;
  __device__ static Acc Init() { return INFINITY; }
  __device__ static Acc Merge(Acc a, Acc v) { return (v < a || v != v) && a == a ? v : a; }
};
// Two sums at once (batch norm's sum and sum of squares).
struct Sum2D {
  using Acc = double2;
  __device__ static Acc Init() { return make_double2(0.0, 0.0); }
  __device__ static Acc Merge(Acc a, Acc b) { return make_double2(a.x + b.x, a.y + b.y); }
};

// Rows of one chunk longer than this are split across chunks; at most kMaxChunks chunks per output.
constexpr int64_t kChunkRows = 4096;
constexpr int64_t kMaxChunks = 64;
// Up to this many rows, an inner == 1 reduction gives one warp (not one block) to each output.
constexpr int64_t kWarpRows = 1024;
constexpr int kColsX = 32, kColsY = 8;

inline int64_t NumChunks(int64_t dim) {
  if (dim <= kChunkRows) return 1;
  const int64_t c = (dim + kChunkRows - 1) / kChunkRows;
  return c < kMaxChunks ? c : kMaxChunks;
}

template <class Rule, class Load>
__device__ inline typename Rule::Acc Fold(typename Rule::Acc acc, const Load& load, int64_t o, int64_t d0, int64_t d1,
                                          int64_t step, int64_t i) {
  for (int64_t d = d0; d < d1; d += step) acc = Rule::Merge(acc, load(o, d, i));
  return acc;
}

// inner == 1, short rows: one warp per output row.
template <class Rule, class Load, class Store>
__global__ void WarpRowsKernel(int64_t outer, int64_t dim, Load load, Store store) {
  using Acc = typename Rule::Acc;
  const int lane = threadIdx.x % kWarp;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / kWarp);
  for (int64_t o = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp; o < outer; o += warps) {
    Acc acc = Fold<Rule>(Rule::Init(), load, o, lane, dim, kWarp, 0);
    acc = WarpReduce(acc, [](Acc a, Acc b) { return Rule::Merge(a, b); });
    if (lane == 0) store(o, 0, acc);
  }
}

// inner == 1, long rows: one block per (output row, chunk). blockIdx.x = o, blockIdx.y = chunk.
// With one chunk the result is stored; otherwise it goes to part[o * chunks + chunk].
template <class Rule, class Load, class Store>
__global__ void BlockRowsKernel(int64_t dim, int64_t rowsPer, Load load, Store store, typename Rule::Acc* part) {
  using Acc = typename Rule::Acc;
  __shared__ Acc warpAcc[kThreads / kWarp];
  const int64_t o = blockIdx.x, chunk = blockIdx.y, chunks = gridDim.y;
  const int64_t d0 = chunk * rowsPer, d1 = d0 + rowsPer < dim ? d0 + rowsPer : dim;
  Acc acc = Fold<Rule>(Rule::Init(), load, o, d0 + threadIdx.x, d1, blockDim.x, 0);
  acc = WarpReduce(acc, [](Acc a, Acc b) { return Rule::Merge(a, b); });
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  if (lane == 0) warpAcc[warp] = acc;
  __syncthreads();
  if (warp == 0) {
    acc = lane < static_cast<int>(blockDim.x / kWarp) ? warpAcc[lane] : Rule::Init();
    acc = WarpReduce(acc, [](Acc a, Acc b) { return Rule::Merge(a, b); });
    if (lane == 0) {
      if (chunks == 1) store(o, 0, acc);
      else part[o * chunks + chunk] = acc;
    }
  }
}

// inner > 1: a (32 x 8) block owns 32 neighbouring columns of one outer index and one chunk of rows;
// threadIdx.x walks columns (contiguous loads), threadIdx.y interleaves rows.
// blockIdx.x = o * tiles + tile, blockIdx.y = chunk. Partials go to part[(o * chunks + chunk) * inner + i].
template <class Rule, class Load, class Store>
__global__ void ColsKernel(int64_t dim, int64_t inner, int64_t tiles, int64_t rowsPer, Load load, Store store,
                           typename Rule::Acc* part) {
  using Acc = typename Rule::Acc;
  __shared__ Acc buf[kColsY][kColsX];
  const int64_t o = blockIdx.x / tiles, tile = blockIdx.x % tiles, chunk = blockIdx.y, chunks = gridDim.y;
  const int64_t i = tile * kColsX + threadIdx.x;
  const int64_t d0 = chunk * rowsPer, d1 = d0 + rowsPer < dim ? d0 + rowsPer : dim;
  Acc acc = Rule::Init();
  if (i < inner) acc = Fold<Rule>(acc, load, o, d0 + threadIdx.y, d1, kColsY, i);
  buf[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && i < inner) {
    for (int y = 1; y < kColsY; ++y) acc = Rule::Merge(acc, buf[y][threadIdx.x]);
    if (chunks == 1) store(o, i, acc);
    else part[(o * chunks + chunk) * inner + i] = acc;
  }
}

// Merges the chunk partials of each output in chunk order.
template <class Rule, class Store>
__global__ void MergeKernel(int64_t outer, int64_t inner, int64_t chunks, const typename Rule::Acc* part,
                            Store store) {
  TB_CUDA_LOOP(t, outer * inner) {
    const int64_t o = t / inner, i = t % inner;
    const typename Rule::Acc* p = part + o * chunks * inner + i;
    typename Rule::Acc acc = p[0];
    for (int64_t c = 1; c < chunks; ++c) acc = Rule::Merge(acc, p[c * inner]);
    store(o, i, acc);
  }
}

// Reduces the (outer, dim, inner) view along dim: store(o, i, fold of load(o, d, i) over d).
// An empty dim stores Rule::Init(). Fails only when the chunk partials cannot be allocated.
template <class Rule, class Load, class Store>
Status ReduceDim(int64_t outer, int64_t dim, int64_t inner, Load load, Store store, cudaStream_t stream,
                 const char* op) {
  using Acc = typename Rule::Acc;
  if (outer == 0 || inner == 0) return Status::Ok();
  const int64_t chunks = NumChunks(dim);
  const int64_t rowsPer = chunks == 1 ? (dim > 0 ? dim : 1) : (dim + chunks - 1) / chunks;
  Scratch part;
  if (chunks > 1) TB_TRY(part.Alloc(static_cast<size_t>(outer * chunks * inner) * sizeof(Acc), op));
  if (inner == 1 && chunks == 1 && dim <= kWarpRows) {
    WarpRowsKernel<Rule><<<GridFor(outer * kWarp), kThreads, 0, stream>>>(outer, dim, load, store);
    return LaunchStatus(op);
  }
  if (outer > 0x7fffffff) return Status::Error("reduction with more than 2^31 outer rows");
  if (inner == 1) {
    BlockRowsKernel<Rule><<<dim3(static_cast<unsigned>(outer), static_cast<unsigned>(chunks)), kThreads, 0, stream>>>(
        dim, rowsPer, load, store, part.As<Acc>());
  } else {
    const int64_t tiles = (inner + kColsX - 1) / kColsX;
    if (outer * tiles > 0x7fffffff) return Status::Error("reduction with more than 2^31 column tiles");
    ColsKernel<Rule><<<dim3(static_cast<unsigned>(outer * tiles), static_cast<unsigned>(chunks)), dim3(kColsX, kColsY), 0,
                       stream>>>(dim, inner, tiles, rowsPer, load, store, part.As<Acc>());
  }
  TB_TRY(LaunchStatus(op));
  if (chunks > 1) {
    MergeKernel<Rule><<<GridFor(outer * inner), kThreads, 0, stream>>>(outer, inner, chunks, part.As<Acc>(), store);
    TB_TRY(LaunchStatus(op));
  }
  return Status::Ok();
}

// Loads x[(o * dim + d) * inner + i] of a contiguous float view, widened to the rule's Acc.
template <class Acc>
struct ViewLoad {
  const float* x;
  int64_t dim, inner;
  __device__ Acc operator()(int64_t o, int64_t d, int64_t i) const { return static_cast<Acc>(x[(o * dim + d) * inner + i]); }
};

}  // namespace tb::cuda::red
