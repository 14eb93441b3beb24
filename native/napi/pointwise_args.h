// The buffers of a pointwise kernel (unary, activation) and of its gradient, read from consecutive
// arguments: all of x's length, and each output either disjoint from an input or exactly it (in
// place: every element is read just before the same element is written).
#pragma once
#include <cstdint>

#include "napi/args.h"

namespace tb::napi {

struct Pointwise {
  const float* x;
  float* y;
  int64_t n;
};

// x at argument i, its output (named out) at i + 1.
template <class A>
Pointwise ReadPointwise(const A& a, size_t i, const char* out) {
  const float* x = a.F32(i, "x");
  const int64_t n = a.Len(i);
  float* y = a.F32(i + 1, out, n);
  a.NoOverlap(i + 1, out, i, "x", true);
  return {x, y, n};
}

struct PointwiseGrad {
  const float *x, *y, *dy;
  float* dx;
  int64_t n;
};

// x, y (the forward's output), dy, dx at arguments i .. i + 3.
template <class A>
PointwiseGrad ReadPointwiseGrad(const A& a, size_t i) {
  const float* x = a.F32(i, "x");
  const int64_t n = a.Len(i);
  const float* y = a.F32(i + 1, "y", n);
  const float* dy = a.F32(i + 2, "dy", n);
  float* dx = a.F32(i + 3, "dx", n);
  a.NoOverlap(i + 3, "dx", i, "x", true);
  a.NoOverlap(i + 3, "dx", i + 1, "y", true);
  a.NoOverlap(i + 3, "dx", i + 2, "dy", true);
  return {x, y, dy, dx, n};
}

}  // namespace tb::napi
