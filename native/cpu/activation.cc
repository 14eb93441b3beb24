// Pointwise activations, forward and backward side by side. Each op is one flat loop the compiler
// vectorizes (branch-free selects, FastExp/FastTanh instead of libm calls); only gelu's erf and
// softplus's log1p remain libm calls. NaN inputs give NaN outputs (no comparison hides them).
// GCC by default assumes FP operations may trap, so it will not if-convert the selects below
// (a ? a*x : x) and leaves those loops scalar; we never enable FP exceptions, so tell it so
// (Clang already assumes this). Must precede the includes so the inline helpers get it too.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "cpu/activation.h"

#include <cmath>

#include "common/parallel.h"
#include "cpu/activation_math.h"

namespace tb::cpu {
namespace {

constexpr float kInvSqrt2 = 0.70710678118654752440f;
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;  // 1/sqrt(2π)
constexpr float kSqrt2OverPi = 0.79788456080286535588f;  // sqrt(2/π), gelu's tanh form
constexpr float kGeluCubic = 0.044715f;

template <class F>
inline void Map(const float* x, float* y, int64_t n, F f) {
  TB_PARALLEL_FOR(n)
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

// dx[i] = g(x[i], y[i], dy[i])
template <class G>
inline void MapGrad(const float* x, const float* y, const float* dy, float* dx, int64_t n, G g) {
  TB_PARALLEL_FOR(n)
  for (int64_t i = 0; i < n; ++i) dx[i] = g(x[i], y[i], dy[i]);
}

}  // namespace

void ActivationForward(ActivationOp op, const float* x, float* y, int64_t n, float alpha) {
  switch (op) {
    case ActivationOp::kRelu:
      return Map(x, y, n, [](float v) { return v < 0.0f ? 0.0f : v; });
    case ActivationOp::kLeakyRelu:
      return Map(x, y, n, [alpha](float v) { return v < 0.0f ? alpha * v : v; });
    case ActivationOp::kElu:
      return Map(x, y, n, [alpha](float v) { return v > 0.0f ? v : alpha * FastExpm1NonPos(v); });
    case ActivationOp::kSigmoid:
      return Map(x, y, n, [](float v) { return StableSigmoid(v); });
    case ActivationOp::kTanh:
      return Map(x, y, n, [](float v) { return FastTanh(v); });
    case ActivationOp::kGelu:
      return Map(x, y, n, [](float v) { return 0.5f * v * (1.0f + std::erf(v * kInvSqrt2)); });
    case ActivationOp::kSoftplus:
      // max(x, 0) + log1p(exp(-|x|)): exact for large |x| (no overflow, no log(1 + tiny) loss).
      return Map(x, y, n, [](float v) {
        const float a = v < 0 ? -v : v;
        return (v > 0.0f ? v : 0.0f) + std::log1p(FastExp(-a));
      });
    case ActivationOp::kGeluTanh:
      return Map(x, y, n, [](float v) {
        return 0.5f * v * (1.0f + FastTanh(kSqrt2OverPi * (v + kGeluCubic * v * v * v)));
      });
    case ActivationOp::kRelu6:
      return Map(x, y, n, [](float v) { return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v); });
    case ActivationOp::kSelu:
      return Map(x, y, n, [](float v) {
        return kSeluScale * (v > 0.0f ? v : kSeluAlpha * FastExpm1NonPos(v));
      });
    case ActivationOp::kCount:
      return;  // rejected by the napi layer
  }
}

void ActivationBackward(ActivationOp op, const float* x, const float* y, const float* dy, float* dx, int64_t n,
                        float alpha) {
  switch (op) {
    case ActivationOp::kRelu:
      // Subgradient 0 at x == 0, as PyTorch.
      return MapGrad(x, y, dy, dx, n, [](float v, float, float g) { return v > 0.0f ? g : 0.0f; });
    case ActivationOp::kLeakyRelu:
      return MapGrad(x, y, dy, dx, n, [alpha](float v, float, float g) { return v > 0.0f ? g : alpha * g; });
    case ActivationOp::kElu:
      // alpha * exp(x) from x, not y + alpha, which cancels for very negative x.
      return MapGrad(x, y, dy, dx, n, [alpha](float v, float, float g) {
        return v > 0.0f ? g : g * alpha * FastExp(v > 0.0f ? 0.0f : v);
      });
    case ActivationOp::kSigmoid:
      return MapGrad(x, y, dy, dx, n, [](float, float s, float g) { return g * s * (1.0f - s); });
    case ActivationOp::kTanh:
      return MapGrad(x, y, dy, dx, n, [](float, float t, float g) { return g * (1.0f - t * t); });
    case ActivationOp::kGelu:
      // d/dx x·Φ(x) = Φ(x) + x·φ(x)
      return MapGrad(x, y, dy, dx, n, [](float v, float, float g) {
        const float cdf = 0.5f * (1.0f + std::erf(v * kInvSqrt2));
        const float pdf = kInvSqrt2Pi * FastExp(-0.5f * v * v);
        return g * (cdf + v * pdf);
      });
    case ActivationOp::kSoftplus:
      return MapGrad(x, y, dy, dx, n, [](float v, float, float g) { return g * StableSigmoid(v); });
    case ActivationOp::kGeluTanh:
      return MapGrad(x, y, dy, dx, n, [](float v, float, float g) {
        const float v2 = v * v;
        const float t = FastTanh(kSqrt2OverPi * (v + kGeluCubic * v2 * v));
        const float du = kSqrt2OverPi * (1.0f + 3.0f * kGeluCubic * v2);
        return g * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du);
      });
    case ActivationOp::kRelu6:
      // Zero at both kinks, as PyTorch's hardtanh backward.
      return MapGrad(x, y, dy, dx, n, [](float v, float, float g) { return v > 0.0f && v < 6.0f ? g : 0.0f; });
    case ActivationOp::kSelu:
      return MapGrad(x, y, dy, dx, n, [](float v, float, float g) {
        return v > 0.0f ? kSeluScale * g : g * kSeluScale * kSeluAlpha * FastExp(v > 0.0f ? 0.0f : v);
      });
    case ActivationOp::kCount:
      return;
  }
}

}  // namespace tb::cpu
