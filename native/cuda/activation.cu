// Pointwise activations, forward and backward side by side, one kernel per op (the op is a template
// parameter, so each kernel is a straight loop). CUDA's expf/expm1f/log1pf/tanhf/erff are accurate
// to a few ulp, like the CPU's FastExp/FastTanh: the two backends agree to ~1e-6 relative.
#include <type_traits>

#include "cuda/activation.cuh"
#include "cuda/common.cuh"

namespace tb::cuda {
namespace {

constexpr float kInvSqrt2 = 0.70710678118654752440f;
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;  // 1/sqrt(2π)
constexpr float kSqrt2OverPi = 0.79788456080286535588f;  // sqrt(2/π), gelu's tanh form
constexpr float kGeluCubic = 0.044715f;
// SELU's fixed constants (Klambauer et al., 2017), as native/cpu/activation.h.
constexpr float kSeluAlpha = 1.6732632423543772848170429916717f;
constexpr float kSeluScale = 1.0507009873554804934193349852946f;

// Logistic sigmoid without overflow: exp is only ever taken of -|x|.
__device__ inline float StableSigmoid(float x) {
  const float e = expf(x < 0.f ? x : -x);
  const float s = 1.f / (1.f + e);
  return x >= 0.f ? s : e * s;
}

using A = ActivationOp;

template <A OP>
__device__ inline float Forward(float v, float alpha) {
  if constexpr (OP == A::kRelu) return v < 0.f ? 0.f : v;
  else if constexpr (OP == A::kLeakyRelu) return v < 0.f ? alpha * v : v;
  else if constexpr (OP == A::kElu) return v > 0.f ? v : alpha * expm1f(v);
  else if constexpr (OP == A::kSigmoid) return StableSigmoid(v);
  else if constexpr (OP == A::kTanh) return tanhf(v);
  else if constexpr (OP == A::kGelu) return 0.5f * v * (1.f + erff(v * kInvSqrt2));
  // max(x, 0) + log1p(exp(-|x|)): exact for large |x|.
  else if constexpr (OP == A::kSoftplus) return (v > 0.f ? v : 0.f) + log1pf(expf(-fabsf(v)));
  else if constexpr (OP == A::kGeluTanh) return 0.5f * v * (1.f + tanhf(kSqrt2OverPi * (v + kGeluCubic * v * v * v)));
  else if constexpr (OP == A::kRelu6) return v < 0.f ? 0.f : (v > 6.f ? 6.f : v);
  else return kSeluScale * (v > 0.f ? v : kSeluAlpha * expm1f(v));  // kSelu
}

template <A OP>
__device__ inline float Backward(float v, float y, float g, float alpha) {
  if constexpr (OP == A::kRelu) return v > 0.f ? g : 0.f;  // subgradient 0 at 0, as PyTorch
  else if constexpr (OP == A::kLeakyRelu) return v > 0.f ? g : alpha * g;
  // alpha * exp(x) from x, not y + alpha, which cancels for very negative x.
  else if constexpr (OP == A::kElu) return v > 0.f ? g : g * alpha * expf(v);
  else if constexpr (OP == A::kSigmoid) return g * y * (1.f - y);
  else if constexpr (OP == A::kTanh) return g * (1.f - y * y);
  else if constexpr (OP == A::kGelu) {
    // d/dx x·Φ(x) = Φ(x) + x·φ(x)
    const float cdf = 0.5f * (1.f + erff(v * kInvSqrt2));
    const float pdf = kInvSqrt2Pi * expf(-0.5f * v * v);
    return g * (cdf + v * pdf);
  } else if constexpr (OP == A::kSoftplus) {
    return g * StableSigmoid(v);
  } else if constexpr (OP == A::kGeluTanh) {
    const float v2 = v * v;
    const float t = tanhf(kSqrt2OverPi * (v + kGeluCubic * v2 * v));
    const float du = kSqrt2OverPi * (1.f + 3.f * kGeluCubic * v2);
    return g * (0.5f * (1.f + t) + 0.5f * v * (1.f - t * t) * du);
  } else if constexpr (OP == A::kRelu6) {
    return v > 0.f && v < 6.f ? g : 0.f;  // zero at both kinks, as PyTorch's hardtanh backward
  } else {
    return v > 0.f ? kSeluScale * g : g * kSeluScale * kSeluAlpha * expf(v);  // kSelu
  }
}

template <A OP>
__global__ void ForwardKernel(const float* x, float* y, int64_t n, float alpha) {
  TB_CUDA_LOOP(i, n) y[i] = Forward<OP>(x[i], alpha);
}

template <A OP>
__global__ void BackwardKernel(const float* x, const float* y, const float* dy, float* dx, int64_t n, float alpha) {
  TB_CUDA_LOOP(i, n) dx[i] = Backward<OP>(x[i], y[i], dy[i], alpha);
}

template <bool kBias, bool kRelu>
__global__ void EpilogueKernel(float* y, int64_t total, int64_t cols, const float* bias) {
  TB_CUDA_LOOP(i, total) {
    float v = y[i];
    if (kBias) v += bias[i % cols];
    if (kRelu) v = v < 0.f ? 0.f : v;
    y[i] = v;
  }
}

__global__ void ReluGradKernel(const float* y, const float* dy, float* g, int64_t n) {
  TB_CUDA_LOOP(i, n) g[i] = y[i] > 0.f ? dy[i] : 0.f;
}

template <A OP>
using Tag = std::integral_constant<A, OP>;

template <class Fn>
Status WithOp(A op, Fn&& fn) {
  switch (op) {
    case A::kRelu: return fn(Tag<A::kRelu>{});
    case A::kLeakyRelu: return fn(Tag<A::kLeakyRelu>{});
    case A::kElu: return fn(Tag<A::kElu>{});
    case A::kSigmoid: return fn(Tag<A::kSigmoid>{});
    case A::kTanh: return fn(Tag<A::kTanh>{});
    case A::kGelu: return fn(Tag<A::kGelu>{});
    case A::kSoftplus: return fn(Tag<A::kSoftplus>{});
    case A::kGeluTanh: return fn(Tag<A::kGeluTanh>{});
    case A::kRelu6: return fn(Tag<A::kRelu6>{});
    case A::kSelu: return fn(Tag<A::kSelu>{});
    default: return Status::Error("unknown activation op " + std::to_string(static_cast<int>(op)));
  }
}

}  // namespace

Status ActivationForward(ActivationOp op, const float* x, float* y, int64_t n, float alpha, cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  return WithOp(op, [&](auto tag) {
    ForwardKernel<decltype(tag)::value><<<GridFor(n), kThreads, 0, stream>>>(x, y, n, alpha);
    return LaunchStatus("activation");
  });
}

Status ActivationBackward(ActivationOp op, const float* x, const float* y, const float* dy, float* dx, int64_t n,
                          float alpha, cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  return WithOp(op, [&](auto tag) {
    BackwardKernel<decltype(tag)::value><<<GridFor(n), kThreads, 0, stream>>>(x, y, dy, dx, n, alpha);
    return LaunchStatus("activationBackward");
  });
}

Status FusedEpilogue(float* y, int64_t rows, int64_t cols, const float* bias, FusedAct act, cudaStream_t stream,
                     const char* op) {
  const int64_t total = rows * cols;
  const bool relu = act == FusedAct::kRelu;
  if (total == 0 || (!bias && !relu)) return Status::Ok();
  if (bias && relu) EpilogueKernel<true, true><<<GridFor(total), kThreads, 0, stream>>>(y, total, cols, bias);
  else if (bias) EpilogueKernel<true, false><<<GridFor(total), kThreads, 0, stream>>>(y, total, cols, bias);
  else EpilogueKernel<false, true><<<GridFor(total), kThreads, 0, stream>>>(y, total, cols, bias);
  return LaunchStatus(op);
}

Status FusedGrad(const float* y, const float* dy, float* g, int64_t n, FusedAct act, cudaStream_t stream,
                 const char* op) {
  if (n == 0) return Status::Ok();
  if (act != FusedAct::kRelu) return Status::Error("FusedGrad: no fused activation to differentiate");
  ReluGradKernel<<<GridFor(n), kThreads, 0, stream>>>(y, dy, g, n);
  return LaunchStatus(op);
}

}  // namespace tb::cuda
