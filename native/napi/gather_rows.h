// The arguments of a gather, read once for gather (both devices) and gatherPairAsync (the host's
// batch gather): rows `idx` (n of them) of x (outer, dim, inner) into y (outer, n, inner).
#pragma once
#include <cstdint>
#include <string>

#include "napi/args.h"

namespace tb::napi {

struct GatherCall {
  void* x;
  const int32_t* idx;
  int64_t n;
  void* y;
  bool isInt;
  int64_t outer, dim, inner;
};

// x and y at arguments xi and yi: both float32 or both int32, of the sizes the dims ask for. The
// indices are not checked here: the kernels check them (the CPU's before it copies anything).
template <class A>
GatherCall ReadRows(const A& a, size_t xi, const char* xn, size_t yi, const char* yn, const int32_t* idx, int64_t n,
                    int64_t outer, int64_t dim, int64_t inner) {
  GatherCall c{nullptr, idx, n, nullptr, false, outer, dim, inner};
  int64_t xLen = 0, yLen = 0;
  bool yInt = false;
  c.x = a.Any32(xi, xn, &xLen, &c.isInt);
  c.y = a.Any32(yi, yn, &yLen, &yInt);
  if (c.isInt != yInt)
    a.Throw(std::string(xn) + " and " + yn + " must both be " + A::TypeName(false) + " or both " + A::TypeName(true));
  const int64_t needX = CheckedProduct(a, {outer, dim, inner}), needY = CheckedProduct(a, {outer, n, inner});
  const auto dims = [&](int64_t mid) {
    return " (" + std::to_string(outer) + " x " + std::to_string(mid) + " x " + std::to_string(inner) + ")";
  };
  if (xLen != needX)
    a.ThrowRange(std::string(xn) + " has " + std::to_string(xLen) + " elements, expected " + std::to_string(needX) + dims(dim));
  if (yLen != needY)
    a.ThrowRange(std::string(yn) + " has " + std::to_string(yLen) + " elements, expected " + std::to_string(needY) + dims(n));
  return c;
}

}  // namespace tb::napi
