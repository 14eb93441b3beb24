// batchNorm's (outer, c, inner) arguments, read and checked once for both backends.
#pragma once
#include "napi/args.h"

namespace tb::napi {

struct BatchNormDims {
  int64_t outer, c, inner, total;
};

inline BatchNormDims ReadBatchNormDims(const ArgsBase& a, size_t first) {
  constexpr int64_t kMaxDim = INT64_C(1) << 40;
  BatchNormDims d;
  d.outer = a.Int(first, "outer", 0, kMaxDim);
  d.c = a.Int(first + 1, "c", 0, kMaxDim);
  d.inner = a.Int(first + 2, "inner", 0, kMaxDim);
  d.total = CheckedProduct(a, {d.outer, d.c, d.inner});
  return d;
}

}  // namespace tb::napi
