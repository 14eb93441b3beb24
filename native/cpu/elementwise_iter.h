// Iteration machinery of the elementwise family: coalesced strided index spaces, a parallel walk
// over them, and a deterministic broadcast-reducing accumulation for gradients.
// Internal to native/cpu/elementwise.cc (header only so the kernels inline their row loops).
#pragma once
#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "common/parallel.h"
#include "common/strided.h"

namespace tb::cpu::ew {

// An out-shaped index space with N operands' element strides, after coalescing: size-1 axes are
// dropped and neighbouring axes merged wherever every operand is contiguous across them. So a
// same-shape op becomes one flat axis, (N, C) + (C) becomes 2 axes with b's strides (0, 1), and a
// scalar operand has stride 0 on a single axis: the fast paths fall out of one code path.
// Inner loops are compiled for inner strides 0 and 1 only. Any other inner stride (reachable only
// through direct native calls with permuted strides) gets a trailing unit axis, so its rows are
// single elements: slower, still correct, and half the template instantiations.
template <int N>
struct Space {
  int ndim = 1;
  int64_t total = 0;
  int64_t shape[kMaxDims + 1] = {1};
  int64_t st[N][kMaxDims + 1] = {};
};

template <int N>
Space<N> Coalesce(const int64_t* shape, int ndim, const int64_t* const strides[N]) {
  Space<N> s;
  s.ndim = 0;
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
  if (s.ndim == 0) {  // every axis had size 1: one element
    s.ndim = 1;
    s.shape[0] = 1;
    for (int k = 0; k < N; ++k) s.st[k][0] = 0;
  }
  bool unitInner = true;
  for (int k = 0; k < N; ++k) unitInner = unitInner && s.st[k][s.ndim - 1] <= 1;
  if (!unitInner) {
    s.shape[s.ndim] = 1;
    for (int k = 0; k < N; ++k) s.st[k][s.ndim] = 0;
    ++s.ndim;
  }
  return s;
}

// Calls fn(off, len) for the pieces of rows covering flat out elements [e0, e1): off[k] is operand
// k's offset of the piece's first element; the piece's elements follow at the inner strides.
template <int N, typename Fn>
void WalkRange(const Space<N>& s, int64_t e0, int64_t e1, Fn&& fn) {
  if (e0 >= e1) return;
  const int last = s.ndim - 1;
  const int64_t inner = s.shape[last];
  const int64_t* strides[N];
  for (int k = 0; k < N; ++k) strides[k] = s.st[k];
  const int64_t row = e0 / inner;
  int64_t col = e0 % inner;
  int64_t idx[kMaxDims + 1] = {0};
  for (int64_t ax = last - 1, r = row; ax >= 0; --ax) {
    idx[ax] = r % s.shape[ax];
    r /= s.shape[ax];
  }
  int64_t base[N];
  RowOffsets<N>(row, s.shape, s.ndim, strides, base);
  for (int64_t e = e0; e < e1;) {
    const int64_t len = std::min(inner - col, e1 - e);
    int64_t off[N];
    for (int k = 0; k < N; ++k) off[k] = base[k] + col * s.st[k][last];
    fn(off, len);
    e += len;
    col = 0;
    for (int ax = last - 1; ax >= 0; --ax) {  // next row
      ++idx[ax];
      for (int k = 0; k < N; ++k) base[k] += s.st[k][ax];
      if (idx[ax] < s.shape[ax]) break;
      for (int k = 0; k < N; ++k) base[k] -= s.st[k][ax] * s.shape[ax];
      idx[ax] = 0;
    }
  }
}

// Fixed-size chunks of the flat index space, spread over threads; each element is visited once.
constexpr int64_t kChunk = 1 << 14;

template <int N, typename Fn>
void ParallelWalk(const Space<N>& s, Fn&& fn) {
  const int64_t total = s.total;
  const int64_t nchunks = (total + kChunk - 1) / kChunk;
  TB_PARALLEL_FOR(total, c, 0, nchunks, { WalkRange(s, c * kChunk, std::min(total, (c + 1) * kChunk), fn); });
}

// Compile-time inner stride kinds: 0 (broadcast) or 1 (contiguous); Coalesce guarantees one of them.
template <int S>
using Stride = std::integral_constant<int, S>;

template <int S>
inline float Ld(const float* p, int64_t j) {
  if constexpr (S == 0) return p[0];
  else return p[j];
}

// fn(Stride<0>{}) or fn(Stride<1>{}) by the runtime inner stride, so inner loops vectorize.
template <typename Fn>
inline void WithStride(int64_t s, Fn&& fn) {
  if (s == 0) fn(Stride<0>{});
  else fn(Stride<1>{});
}

// Sum of g(0..n-1) with 8 independent partial sums: vectorizable without -ffast-math and more
// accurate than one running float sum; the order is fixed, so results are repeatable.
template <typename G>
inline float SumRow(int64_t n, G&& g) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int k = 0; k < 8; ++k) acc[k] += g(j + k);
  float tail = 0;
  for (; j < n; ++j) tail += g(j);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail;
}

// Writes (assign) or adds values g(0..len-1) of one row piece into dst (inner stride SD), summing
// the row first when SD is 0 (the destination is broadcast along the row).
template <int SD, typename G>
inline void StoreRow(float* d, int64_t len, bool assign, G&& g) {
  if constexpr (SD == 0) {
    const float s = SumRow(len, g);
    if (assign) d[0] = s;
    else d[0] += s;
  } else if (assign) {
    for (int64_t j = 0; j < len; ++j) d[j] = g(j);
  } else {
    for (int64_t j = 0; j < len; ++j) d[j] += g(j);
  }
}

// dst (dlen floats, laid out by operand D's strides, which are broadcast strides of a contiguous
// array) = sum, over every out element, of the values row(...) produces at operand D's offsets.
// row(off, len, base, assign) writes/adds one row piece into base + off[D].
//
// Determinism: when D broadcasts (a true reduction), the flat index space is cut into P parts
// fixed by the sizes alone (not by the thread count); each part sums into its own partial buffer
// in index order and the partials are added in part order. Same inputs, same bits, any threads.
template <int N, int D, typename Row>
void ReduceInto(const Space<N>& s, float* dst, int64_t dlen, Row&& row) {
  if (s.total == 0) {
    std::fill(dst, dst + dlen, 0.f);
    return;
  }
  bool reduces = false;
  for (int ax = 0; ax < s.ndim; ++ax) reduces = reduces || (s.st[D][ax] == 0 && s.shape[ax] > 1);
  if (!reduces) {  // one out element per dst element: plain parallel writes
    ParallelWalk(s, [&](const int64_t* off, int64_t len) { row(off, len, dst, true); });
    return;
  }
  int64_t parts = 1;
  if (s.total >= kParallelGrain)
    parts = std::max<int64_t>(1, std::min<int64_t>({16, s.total / (kParallelGrain / 2), s.total / (4 * dlen)}));
  thread_local std::vector<float> scratch;  // per JS thread; grows once, reused by later calls
  if (parts > 1) {
    try {
      if (scratch.size() < static_cast<size_t>(parts * dlen)) scratch.resize(parts * dlen);
    } catch (...) {  // out of memory: the serial path needs no scratch
      parts = 1;
    }
  }
  if (parts == 1) {
    std::fill(dst, dst + dlen, 0.f);
    WalkRange(s, 0, s.total, [&](const int64_t* off, int64_t len) { row(off, len, dst, false); });
    return;
  }
  float* part = scratch.data();
  const int64_t per = (s.total + parts - 1) / parts;
  TB_PARALLEL_FOR(s.total, p, 0, parts, {
    float* buf = part + p * dlen;
    std::fill(buf, buf + dlen, 0.f);
    WalkRange(s, p * per, std::min(s.total, (p + 1) * per),
              [&](const int64_t* off, int64_t len) { row(off, len, buf, false); });
  });
  TB_PARALLEL_FOR(dlen * parts, i, 0, dlen, {
    float v = part[i];
    for (int64_t p = 1; p < parts; ++p) v += part[p * dlen + i];
    dst[i] = v;
  });
}

}  // namespace tb::cpu::ew
