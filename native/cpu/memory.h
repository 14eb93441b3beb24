#pragma once
#include <cstdint>

namespace tb::cpu {

void FillF32(float* out, int64_t n, float v);
void FillI32(int32_t* out, int64_t n, int32_t v);
void CastI32ToF32(const int32_t* x, float* y, int64_t n);
void CastF32ToI32(const float* x, int32_t* y, int64_t n);  // truncates; NaN -> 0, clamps to int32 range
void Axpy(int64_t n, float alpha, const float* x, float* y);  // y += alpha * x

}  // namespace tb::cpu
