// Branch-free float exp and tanh that GCC/Clang auto-vectorize. libm's expf/tanhf are opaque
// calls, so a loop over them runs one element at a time; these run 8 (AVX2) or 16 (AVX-512) wide.
// Shared by activation.cc and softmax_xent.cc.
#pragma once
#include <cstdint>
#include <cstring>
#include <limits>

namespace tb::cpu {

// exp(x) within 2 ulp for x in [-87.3, 88.3] (Cephes' expf: Cody-Waite range reduction, degree-6
// polynomial, 2^n built in the exponent bits). Below ln(FLT_MIN) it returns 0 (the true value is
// denormal, < 1.2e-38); above 88.376 it returns +inf (the true value is within 30% of FLT_MAX).
// NaN stays NaN. Every caller here passes x <= 0 (shifted logits, -|x|, -x²/2).
inline float FastExp(float x) {
  constexpr float kLo = -87.33654475f, kHi = 88.3762626647949f;
  // Written so that NaN clamps to kLo (both comparisons are false): a NaN reaching the int cast
  // below would be undefined behaviour (UBSan); the NaN itself is returned at the end.
  const float xc = x > kLo ? (x < kHi ? x : kHi) : kLo;
  // n = round(x / ln2), r = x - n*ln2 with ln2 split in two so n*C1 is exact.
  const float n = __builtin_floorf(xc * 1.44269504088896341f + 0.5f);
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  float y = p * scale;
  y = x < kLo ? 0.0f : y;
  y = x > kHi ? std::numeric_limits<float>::infinity() : y;
  return x != x ? x : y;
}

// tanh(x) = sign(x) * (1 - e) / (1 + e) with e = exp(-2|x|), which is exact to a few ulp away from
// 0 but loses relative accuracy as |x| -> 0 (1 - e cancels); there the odd Taylor polynomial to
// x⁹ is used instead (truncation error < 1e-8 relative for |x| < 0.25).
inline float FastTanh(float x) {
  const float ax = x < 0 ? -x : x;
  const float e = FastExp(-2.0f * ax);
  float big = (1.0f - e) / (1.0f + e);
  big = x < 0 ? -big : big;
  const float x2 = x * x;
  // x - x³/3 + 2x⁵/15 - 17x⁷/315 + 62x⁹/2835
  const float small =
      x * (1.0f + x2 * (-0.333333333333f + x2 * (0.133333333333f + x2 * (-0.053968253968f + x2 * 0.021869488536f))));
  const float y = ax < 0.25f ? small : big;
  return x != x ? x : y;
}

// expm1(x) for x <= 0 (positive x is treated as 0): a Taylor polynomial near 0, where exp(x) - 1
// would cancel, and FastExp(x) - 1 below -0.25 (error < 8 ulp there; 2 ulp near 0).
inline float FastExpm1NonPos(float x) {
  const float xc = x > 0.0f ? 0.0f : x;
  // x + x²/2! + ... + x⁷/7!: truncation < 2e-9 relative on [-0.25, 0].
  const float small =
      xc * (1.0f + xc * (0.5f + xc * (1.6666666667e-1f + xc * (4.1666666667e-2f +
            xc * (8.3333333333e-3f + xc * (1.3888888889e-3f + xc * 1.9841269841e-4f))))));
  const float big = FastExp(xc) - 1.0f;
  const float y = xc > -0.25f ? small : big;
  return x != x ? x : y;
}

// Logistic sigmoid without overflow: exp is only ever taken of -|x|.
inline float StableSigmoid(float x) {
  const float e = FastExp(x < 0 ? x : -x);
  const float s = 1.0f / (1.0f + e);
  return x >= 0 ? s : e * s;
}

}  // namespace tb::cpu
