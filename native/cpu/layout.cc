// Data movement: strided copy (permute, slice, concat, pad, broadcast and their gradients), gather
// with its scatter-add gradient, and one-hot encoding.
#include "cpu/layout.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "common/parallel.h"
#include "common/strided.h"

namespace tb::cpu {
namespace {

// Elements one copy task moves along the innermost axis: splits a single long row across threads.
constexpr int64_t kRowChunk = 1 << 14;
// Inner columns one scatter-add task owns (tasks own disjoint dx columns, so no atomics).
constexpr int64_t kScatterChunk = 1024;
// Side of the square tiles of a transposing copy (16 x 16 elements: 1 KiB per side).
constexpr int64_t kTile = 16;

struct Plan {
  int ndim = 0;
  int64_t shape[kMaxDims];
  int64_t src[kMaxDims];
  int64_t dst[kMaxDims];
};

// Drops size-1 axes and merges neighbours that are contiguous in both operands, so a slice of a
// contiguous block becomes a few long rows. Returns false when the shape is empty (nothing to do).
bool Coalesce(const int64_t* shape, const int64_t* ss, const int64_t* ds, int ndim, Plan* p) {
  p->ndim = 0;
  for (int i = 0; i < ndim; ++i) {
    if (shape[i] == 0) return false;
    if (shape[i] == 1) continue;
    const int k = p->ndim;
    if (k > 0 && p->src[k - 1] == ss[i] * shape[i] && p->dst[k - 1] == ds[i] * shape[i]) {
      p->shape[k - 1] *= shape[i];
      p->src[k - 1] = ss[i];
      p->dst[k - 1] = ds[i];
      continue;
    }
    p->shape[k] = shape[i];
    p->src[k] = ss[i];
    p->dst[k] = ds[i];
    ++p->ndim;
  }
  return true;
}

// Sufficient test that distinct indices reach distinct dst elements: sorted by stride, each axis
// must step past everything the smaller axes can reach.
bool DstInjective(const Plan& p) {
  int order[kMaxDims];
  for (int i = 0; i < p.ndim; ++i) {  // insertion sort by dst stride (at most kMaxDims axes)
    int j = i;
    for (; j > 0 && p.dst[order[j - 1]] > p.dst[i]; --j) order[j] = order[j - 1];
    order[j] = i;
  }
  int64_t reach = 0;  // largest offset reachable by the axes seen so far
  for (int i = 0; i < p.ndim; ++i) {
    const int ax = order[i];
    if (p.dst[ax] <= reach) return false;
    reach += (p.shape[ax] - 1) * p.dst[ax];
  }
  return true;
}

template <typename T>
inline void Row(const T* s, int64_t ss, T* d, int64_t ds, int64_t n, bool acc) {
  if (ss == 1 && ds == 1) {
    if (acc)
      for (int64_t i = 0; i < n; ++i) d[i] += s[i];
    else
      std::memcpy(d, s, static_cast<size_t>(n) * sizeof(T));
    return;
  }
  if (acc)
    for (int64_t i = 0; i < n; ++i) d[i * ds] += s[i * ss];
  else
    for (int64_t i = 0; i < n; ++i) d[i * ds] = s[i * ss];
}

// Transposing copies: the source is contiguous along axis k while the destination is contiguous
// along the last axis. Walking either one strides the other through memory, so the (k, last) plane
// is cut into kTile x kTile tiles that stay in L1 while both sides are touched.
template <typename T>
void CopyTiled(const T* src, T* dst, const Plan& p, int k, bool acc, bool parallel) {
  const int last = p.ndim - 1;
  // The remaining axes, plus a dummy unit axis so RowOffsets (which skips the last axis) visits them.
  Plan q;
  q.ndim = 0;
  for (int i = 0; i < last; ++i)
    if (i != k) {
      q.shape[q.ndim] = p.shape[i];
      q.src[q.ndim] = p.src[i];
      q.dst[q.ndim] = p.dst[i];
      ++q.ndim;
    }
  q.shape[q.ndim] = 1;
  q.src[q.ndim] = q.dst[q.ndim] = 0;
  ++q.ndim;
  int64_t rows = 1;
  for (int i = 0; i + 1 < q.ndim; ++i) rows *= q.shape[i];
  const int64_t nk = p.shape[k], nl = p.shape[last];
  const int64_t sk = p.src[k], dk = p.dst[k], sl = p.src[last], dl = p.dst[last];
  const int64_t tk = (nk + kTile - 1) / kTile, tl = (nl + kTile - 1) / kTile;
  const int64_t tasks = rows * tk * tl;
  const int64_t* strides[2] = {q.src, q.dst};
  TB_PARALLEL_FOR_IF(parallel, t, 0, tasks, {
    const int64_t r = t / (tk * tl), a = (t / tl) % tk, b = t % tl;
    int64_t off[2];
    RowOffsets<2>(r, q.shape, q.ndim, strides, off);
    const int64_t i1 = std::min(nk, (a + 1) * kTile), j1 = std::min(nl, (b + 1) * kTile);
    for (int64_t i = a * kTile; i < i1; ++i) {
      const T* s = src + off[0] + i * sk;
      T* d = dst + off[1] + i * dk;
      if (acc)
        for (int64_t j = b * kTile; j < j1; ++j) d[j * dl] += s[j * sl];
      else if (dl == 1)
        for (int64_t j = b * kTile; j < j1; ++j) d[j] = s[j * sl];
      else
        for (int64_t j = b * kTile; j < j1; ++j) d[j * dl] = s[j * sl];
    }
  });
}

template <typename T>
void CopyImpl(const T* src, const int64_t* ss, T* dst, const int64_t* ds, const int64_t* shape, int ndim, bool acc) {
  Plan p;
  if (!Coalesce(shape, ss, ds, ndim, &p)) return;
  if (p.ndim == 0) {
    Row(src, 1, dst, 1, 1, acc);
    return;
  }
  const int last = p.ndim - 1;
  const int64_t n = p.shape[last];
  const bool parallel = DstInjective(p) && NumElements(p.shape, p.ndim) >= kParallelGrain;
  if (p.src[last] != 1 && n >= 8) {
    for (int k = 0; k < last; ++k)
      if (p.src[k] == 1 && p.shape[k] >= 8) {
        CopyTiled(src, dst, p, k, acc, parallel);
        return;
      }
  }
  const int64_t chunks = (n + kRowChunk - 1) / kRowChunk;
  int64_t rows = 1;
  for (int i = 0; i < last; ++i) rows *= p.shape[i];
  const int64_t* strides[2] = {p.src, p.dst};
  const int64_t tasks = rows * chunks;
  TB_PARALLEL_FOR_IF(parallel, t, 0, tasks, {
    const int64_t r = t / chunks, c = t % chunks;
    int64_t off[2];
    RowOffsets<2>(r, p.shape, p.ndim, strides, off);
    const int64_t i0 = c * kRowChunk;
    Row(src + off[0] + i0 * p.src[last], p.src[last], dst + off[1] + i0 * p.dst[last], p.dst[last],
        std::min(kRowChunk, n - i0), acc);
  });
}

// Rows prefetched ahead of the one being copied by a gather.
constexpr int64_t kGatherAhead = 4;

template <typename T>
Status GatherImpl(const T* x, const int32_t* idx, int64_t n, T* y, int64_t outer, int64_t dim, int64_t inner,
                  bool threaded) {
  Status s = CheckIndices(idx, n, dim, "dim");
  if (!s.ok) return s;
  if (inner == 1) {  // one element per index: a plain indexed load, no per-element memcpy
    TB_PARALLEL_FOR_IF(threaded && outer * n >= kParallelGrain, o, 0, outer, {
      const T* xs = x + o * dim;
      T* ys = y + o * n;
      for (int64_t k = 0; k < n; ++k) ys[k] = xs[idx[k]];
    });
    return Status::Ok();
  }
  const int64_t rows = outer * n;
  const size_t bytes = static_cast<size_t>(inner) * sizeof(T);
  // Nothing to copy; an empty array may have a null data pointer, and memcpy(null, null, 0) is
  // undefined behaviour (UBSan).
  if (rows == 0 || bytes == 0) return Status::Ok();
  TB_PARALLEL_FOR_IF(threaded && rows * inner >= kParallelGrain, t, 0, rows, {
    const int64_t o = t / n, k = t % n;
    // Shuffled rows of a large data set (a training batch) come from DRAM one cache miss at a time:
    // asking for a later row's lines while this one is copied keeps several misses in flight
    // (MNIST batch of 128 rows of 3 KB: 110 -> 40 us).
    if (t + kGatherAhead < rows) {
      const int64_t tp = t + kGatherAhead;
      const char* ahead = reinterpret_cast<const char*>(x + ((tp / n) * dim + idx[tp % n]) * inner);
      for (size_t b = 0; b < bytes; b += 64) __builtin_prefetch(ahead + b);
    }
    std::memcpy(y + t * inner, x + (o * dim + idx[k]) * inner, bytes);
  });
  return Status::Ok();
}

}  // namespace

Status CheckIndices(const int32_t* idx, int64_t n, int64_t limit, const char* what) {
  for (int64_t k = 0; k < n; ++k)
    if (idx[k] < 0 || idx[k] >= limit)
      return Status::Error("index " + std::to_string(idx[k]) + " at position " + std::to_string(k) +
                           " is outside [0, " + std::to_string(limit) + ") of " + what);
  return Status::Ok();
}

void CopyStrided(const float* src, const int64_t* ss, float* dst, const int64_t* ds, const int64_t* shape, int ndim,
                 bool accumulate) {
  CopyImpl(src, ss, dst, ds, shape, ndim, accumulate);
}

void CopyStrided(const int32_t* src, const int64_t* ss, int32_t* dst, const int64_t* ds, const int64_t* shape,
                 int ndim, bool accumulate) {
  CopyImpl(src, ss, dst, ds, shape, ndim, accumulate);
}

Status Gather(const float* x, const int32_t* idx, int64_t n, float* y, int64_t outer, int64_t dim, int64_t inner,
              bool threaded) {
  return GatherImpl(x, idx, n, y, outer, dim, inner, threaded);
}

Status Gather(const int32_t* x, const int32_t* idx, int64_t n, int32_t* y, int64_t outer, int64_t dim,
              int64_t inner, bool threaded) {
  return GatherImpl(x, idx, n, y, outer, dim, inner, threaded);
}

Status GatherBackward(const float* dy, const int32_t* idx, int64_t n, float* dx, int64_t outer, int64_t dim,
                      int64_t inner) {
  Status s = CheckIndices(idx, n, dim, "dim");
  if (!s.ok) return s;
  const int64_t total = outer * dim * inner;
  TB_PARALLEL_FOR(total, i, 0, total, { dx[i] = 0.f; });
  if (inner == 0) return Status::Ok();
  // Each task owns one outer index and one column chunk of dx and walks the indices in order, so
  // repeated indices add up without races and in the same order on any thread count.
  const int64_t nc = (inner + kScatterChunk - 1) / kScatterChunk;
  const int64_t tasks = outer * nc;
  TB_PARALLEL_FOR(outer * n * inner, t, 0, tasks, {
    const int64_t o = t / nc, j0 = (t % nc) * kScatterChunk;
    const int64_t w = std::min(kScatterChunk, inner - j0);
    for (int64_t k = 0; k < n; ++k) {
      const float* g = dy + (o * n + k) * inner + j0;
      float* d = dx + (o * dim + idx[k]) * inner + j0;
      for (int64_t j = 0; j < w; ++j) d[j] += g[j];
    }
  });
  return Status::Ok();
}

Status OneHot(const int32_t* idx, int64_t n, float* out, int64_t depth, float on, float off) {
  Status s = CheckIndices(idx, n, depth, "depth");
  if (!s.ok) return s;
  TB_PARALLEL_FOR(n * depth, i, 0, n, {
    float* r = out + i * depth;
    for (int64_t j = 0; j < depth; ++j) r[j] = off;
    r[idx[i]] = on;
  });
  return Status::Ok();
}

}  // namespace tb::cpu
