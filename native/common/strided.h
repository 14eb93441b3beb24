// Iteration over an N-d index space with per-operand element strides (0 for a broadcast axis).
// The innermost axis is looped directly so the compiler can vectorize when its stride is 1 or 0.
#pragma once
#include <cstdint>
#include <vector>

namespace tb {

constexpr int kMaxDims = 8;

struct StridedShape {
  int ndim = 0;
  int64_t shape[kMaxDims] = {0};
};

inline int64_t NumElements(const int64_t* shape, int ndim) {
  int64_t n = 1;
  for (int i = 0; i < ndim; ++i) n *= shape[i];
  return n;
}

// Calls fn(offsets..., inner_len) once per innermost row. `strides` is an array of `nops` stride
// vectors each of length ndim; offsets are element offsets for each operand at the row start.
template <int NOPS, typename Fn>
void ForEachRow(const int64_t* shape, int ndim, const int64_t* const strides[NOPS], Fn&& fn) {
  if (ndim == 0) {
    int64_t off[NOPS] = {0};
    fn(off, int64_t{1});
    return;
  }
  for (int i = 0; i < ndim; ++i)
    if (shape[i] == 0) return;
  const int last = ndim - 1;
  int64_t rows = 1;
  for (int i = 0; i < last; ++i) rows *= shape[i];
  int64_t idx[kMaxDims] = {0};
  int64_t off[NOPS] = {0};
  for (int64_t r = 0; r < rows; ++r) {
    fn(off, shape[last]);
    // advance the multi-index over axes [0, last)
    for (int ax = last - 1; ax >= 0; --ax) {
      ++idx[ax];
      for (int k = 0; k < NOPS; ++k) off[k] += strides[k][ax];
      if (idx[ax] < shape[ax]) break;
      for (int k = 0; k < NOPS; ++k) off[k] -= strides[k][ax] * shape[ax];
      idx[ax] = 0;
    }
  }
}

// Offsets for row r (used to split rows across threads without sharing an incremental counter).
template <int NOPS>
inline void RowOffsets(int64_t r, const int64_t* shape, int ndim, const int64_t* const strides[NOPS],
                       int64_t off[NOPS]) {
  for (int k = 0; k < NOPS; ++k) off[k] = 0;
  for (int ax = ndim - 2; ax >= 0; --ax) {
    int64_t i = r % shape[ax];
    r /= shape[ax];
    for (int k = 0; k < NOPS; ++k) off[k] += i * strides[k][ax];
  }
}

}  // namespace tb
