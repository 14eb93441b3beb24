// Optimizer updates, one fused pass per parameter (ggml's opt-step-adamw, llm.c's adamw kernel).
// Each loop touches every buffer once, so the cost is memory traffic: 3 to 6 floats per element.
// Options that change the loop body are template parameters, so each instantiation is a straight
// elementwise loop the compiler vectorizes; scalars derived from the step (bias corrections, the
// decayed learning rate) are computed once, in double, before the loop.
#include "cpu/optim.h"

#include <cmath>

#include "common/parallel.h"

namespace tb::cpu {
namespace {

template <bool kMomentum, bool kNesterov, bool kFirst>
void SgdLoop(int64_t n, float* p, const float* grad, float* buf, float lr, float mom, float damp, float wd) {
  const float keep = 1.f - damp;
  TB_PARALLEL_FOR(n)
  for (int64_t i = 0; i < n; ++i) {
    float g = grad[i] + wd * p[i];
    if (kMomentum) {
      const float b = kFirst ? g : mom * buf[i] + keep * g;
      buf[i] = b;
      g = kNesterov ? g + mom * b : b;
    }
    p[i] -= lr * g;
  }
}

template <bool kAmsgrad, bool kDecoupled>
void AdamLoop(int64_t n, float* p, const float* grad, float* m, float* v, float* vmax, float lr, float beta1,
              float beta2, float eps, float wd, float stepSize, float invBc2Sqrt) {
  const float c1 = 1.f - beta1, c2 = 1.f - beta2, shrink = 1.f - lr * wd;
  TB_PARALLEL_FOR(n)
  for (int64_t i = 0; i < n; ++i) {
    float g = grad[i];
    float w = p[i];
    if (kDecoupled) w *= shrink;
    else g += wd * w;
    const float mi = beta1 * m[i] + c1 * g;
    const float vi = beta2 * v[i] + c2 * g * g;
    m[i] = mi;
    v[i] = vi;
    float vhat = vi;
    if (kAmsgrad) {
      vhat = vmax[i] > vi ? vmax[i] : vi;
      vmax[i] = vhat;
    }
    p[i] = w - stepSize * mi / (std::sqrt(vhat) * invBc2Sqrt + eps);
  }
}

template <bool kCentered, bool kMomentum, bool kEpsInSqrt>
void RmspropLoop(int64_t n, float* p, const float* grad, float* sq, float* mom, float* gavg, float lr,
                 float alpha, float eps, float wd, float momentum) {
  const float c = 1.f - alpha;
  TB_PARALLEL_FOR(n)
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i] + wd * p[i];
    const float s = alpha * sq[i] + c * g * g;
    sq[i] = s;
    float var = s;
    if (kCentered) {
      const float a = alpha * gavg[i] + c * g;
      gavg[i] = a;
      // s >= a^2 in exact arithmetic (an average of squares bounds the squared average); rounding
      // must not turn that into the square root of a negative number.
      var = s - a * a;
      var = var > 0.f ? var : 0.f;
    }
    const float denom = kEpsInSqrt ? std::sqrt(var + eps) : std::sqrt(var) + eps;
    if (kMomentum) {
      const float b = momentum * mom[i] + g / denom;
      mom[i] = b;
      p[i] -= lr * b;
    } else {
      p[i] -= lr * g / denom;
    }
  }
}

template <bool kEpsInSqrt>
void AdagradLoop(int64_t n, float* p, const float* grad, float* sum, float clr, float wd, float eps) {
  TB_PARALLEL_FOR(n)
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i] + wd * p[i];
    const float s = sum[i] + g * g;
    sum[i] = s;
    p[i] -= clr * g / (kEpsInSqrt ? std::sqrt(s + eps) : std::sqrt(s) + eps);
  }
}

}  // namespace

void SgdStep(int64_t n, float* param, const float* grad, float* momentumBuf, float lr, float momentum,
             float dampening, float weightDecay, bool nesterov, bool firstStep) {
  const bool mom = momentumBuf != nullptr && momentum != 0.f;
  if (!mom) return SgdLoop<false, false, false>(n, param, grad, nullptr, lr, 0.f, 0.f, weightDecay);
  if (nesterov) {
    if (firstStep) return SgdLoop<true, true, true>(n, param, grad, momentumBuf, lr, momentum, dampening, weightDecay);
    return SgdLoop<true, true, false>(n, param, grad, momentumBuf, lr, momentum, dampening, weightDecay);
  }
  if (firstStep) return SgdLoop<true, false, true>(n, param, grad, momentumBuf, lr, momentum, dampening, weightDecay);
  SgdLoop<true, false, false>(n, param, grad, momentumBuf, lr, momentum, dampening, weightDecay);
}

void AdamStep(int64_t n, float* param, const float* grad, float* m, float* v, float* vmax, float lr, float beta1,
              float beta2, float eps, float weightDecay, bool decoupled, int64_t step) {
  const double t = static_cast<double>(step);
  const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), t);
  const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), t);
  const float stepSize = static_cast<float>(lr / bc1);
  const float invBc2Sqrt = static_cast<float>(1.0 / std::sqrt(bc2));
  if (vmax) {
    if (decoupled) return AdamLoop<true, true>(n, param, grad, m, v, vmax, lr, beta1, beta2, eps, weightDecay, stepSize, invBc2Sqrt);
    return AdamLoop<true, false>(n, param, grad, m, v, vmax, lr, beta1, beta2, eps, weightDecay, stepSize, invBc2Sqrt);
  }
  if (decoupled) return AdamLoop<false, true>(n, param, grad, m, v, nullptr, lr, beta1, beta2, eps, weightDecay, stepSize, invBc2Sqrt);
  AdamLoop<false, false>(n, param, grad, m, v, nullptr, lr, beta1, beta2, eps, weightDecay, stepSize, invBc2Sqrt);
}

void RmspropStep(int64_t n, float* param, const float* grad, float* sq, float* momBuf, float* gradAvg, float lr,
                 float alpha, float eps, float weightDecay, float momentum, bool epsInSqrt) {
  const bool c = gradAvg != nullptr, mo = momBuf != nullptr && momentum > 0.f;
  // Eight instantiations; dispatching on a 3-bit index keeps the branch out of the loop.
  using Fn = void (*)(int64_t, float*, const float*, float*, float*, float*, float, float, float, float, float);
  static constexpr Fn table[8] = {
      RmspropLoop<false, false, false>, RmspropLoop<false, false, true>, RmspropLoop<false, true, false>,
      RmspropLoop<false, true, true>,   RmspropLoop<true, false, false>, RmspropLoop<true, false, true>,
      RmspropLoop<true, true, false>,   RmspropLoop<true, true, true>,
  };
  table[(c ? 4 : 0) | (mo ? 2 : 0) | (epsInSqrt ? 1 : 0)](n, param, grad, sq, momBuf, gradAvg, lr, alpha, eps,
                                                          weightDecay, momentum);
}

void AdagradStep(int64_t n, float* param, const float* grad, float* sum, float lr, float lrDecay, float weightDecay,
                 float eps, int64_t step, bool epsInSqrt) {
  const float clr = static_cast<float>(lr / (1.0 + static_cast<double>(step - 1) * lrDecay));
  if (epsInSqrt) return AdagradLoop<true>(n, param, grad, sum, clr, weightDecay, eps);
  AdagradLoop<false>(n, param, grad, sum, clr, weightDecay, eps);
}

void AdadeltaStep(int64_t n, float* param, const float* grad, float* sq, float* acc, float lr, float rho, float eps,
                  float weightDecay) {
  const float c = 1.f - rho;
  TB_PARALLEL_FOR(n)
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i] + weightDecay * param[i];
    const float s = rho * sq[i] + c * g * g;
    sq[i] = s;
    const float d = std::sqrt(acc[i] + eps) / std::sqrt(s + eps) * g;
    acc[i] = rho * acc[i] + c * d * d;
    param[i] -= lr * d;
  }
}

double SumSquares(int64_t n, const float* x) {
  double s = 0.0;
  // simd reduction lets the compiler reorder the sum (it may not otherwise, for floating point).
#ifdef _OPENMP
#pragma omp parallel for simd reduction(+ : s) schedule(static) if (n >= ::tb::kParallelGrain)
#endif
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    s += v * v;
  }
  return s;
}

void Scale(int64_t n, float* x, float alpha) {
  TB_PARALLEL_FOR(n)
  for (int64_t i = 0; i < n; ++i) x[i] *= alpha;
}

}  // namespace tb::cpu
