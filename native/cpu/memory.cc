// Buffer utilities: fill, cast, axpy (gradient accumulation). Memory-bound, so threads only pay
// above the grain size.
#include "cpu/memory.h"

#include <cmath>
#include <cstdint>

#include "common/parallel.h"

namespace tb::cpu {

void FillF32(float* out, int64_t n, float v) {
  TB_PARALLEL_FOR(n, i, 0, n, { out[i] = v; });
}

void FillI32(int32_t* out, int64_t n, int32_t v) {
  TB_PARALLEL_FOR(n, i, 0, n, { out[i] = v; });
}

void CastI32ToF32(const int32_t* x, float* y, int64_t n) {
  TB_PARALLEL_FOR(n, i, 0, n, { y[i] = static_cast<float>(x[i]); });
}

void CastF32ToI32(const float* x, int32_t* y, int64_t n) {
  // A plain static_cast is undefined for NaN and out-of-range values; define them instead.
  TB_PARALLEL_FOR(n, i, 0, n, {
    const float v = x[i];
    if (!(v == v)) y[i] = 0;
    else if (v >= 2147483647.f) y[i] = INT32_MAX;
    else if (v <= -2147483648.f) y[i] = INT32_MIN;
    else y[i] = static_cast<int32_t>(v);
  });
}

void Axpy(int64_t n, float alpha, const float* x, float* y) {
  TB_PARALLEL_FOR(n, i, 0, n, { y[i] += alpha * x[i]; });
}

}  // namespace tb::cpu
