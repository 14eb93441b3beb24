// Optimizer updates, one fused elementwise kernel per parameter (ggml's opt-step-adamw, llm.c's
// adamw kernel). Options that change the loop body are template parameters; scalars derived from
// the step (bias corrections, the decayed learning rate) are computed once on the host, in double,
// exactly as the CPU kernels compute them, so the two backends apply the same update.
#include <cmath>

#include "cuda/common.cuh"
#include "cuda/optim.cuh"
#include "cuda/reduce_kernels.cuh"

namespace tb::cuda {
namespace {

template <bool kMomentum, bool kNesterov, bool kFirst>
__global__ void SgdKernel(int64_t n, float* p, const float* grad, float* buf, float lr, float mom, float damp,
                          float wd) {
  const float keep = 1.f - damp;
  TB_CUDA_LOOP(i, n) {
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
__global__ void AdamKernel(int64_t n, float* p, const float* grad, float* m, float* v, float* vmax, float lr,
                           float beta1, float beta2, float eps, float wd, float stepSize, float invBc2Sqrt) {
  const float c1 = 1.f - beta1, c2 = 1.f - beta2, shrink = 1.f - lr * wd;
  TB_CUDA_LOOP(i, n) {
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
    p[i] = w - stepSize * mi / (sqrtf(vhat) * invBc2Sqrt + eps);
  }
}

template <bool kCentered, bool kMomentum, bool kEpsInSqrt>
__global__ void RmspropKernel(int64_t n, float* p, const float* grad, float* sq, float* mom, float* gavg, float lr,
                              float alpha, float eps, float wd, float momentum) {
  const float c = 1.f - alpha;
  TB_CUDA_LOOP(i, n) {
    const float g = grad[i] + wd * p[i];
    const float s = alpha * sq[i] + c * g * g;
    sq[i] = s;
    float var = s;
    if (kCentered) {
      const float a = alpha * gavg[i] + c * g;
      gavg[i] = a;
      var = s - a * a;  // >= 0 in exact arithmetic; rounding must not make it negative
      var = var > 0.f ? var : 0.f;
    }
    const float denom = kEpsInSqrt ? sqrtf(var + eps) : sqrtf(var) + eps;
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
__global__ void AdagradKernel(int64_t n, float* p, const float* grad, float* sum, float clr, float wd, float eps) {
  TB_CUDA_LOOP(i, n) {
    const float g = grad[i] + wd * p[i];
    const float s = sum[i] + g * g;
    sum[i] = s;
    p[i] -= clr * g / (kEpsInSqrt ? sqrtf(s + eps) : sqrtf(s) + eps);
  }
}

__global__ void AdadeltaKernel(int64_t n, float* p, const float* grad, float* sq, float* acc, float lr, float rho,
                               float eps, float wd) {
  const float c = 1.f - rho;
  TB_CUDA_LOOP(i, n) {
    const float g = grad[i] + wd * p[i];
    const float s = rho * sq[i] + c * g * g;
    sq[i] = s;
    const float d = sqrtf(acc[i] + eps) / sqrtf(s + eps) * g;
    acc[i] = rho * acc[i] + c * d * d;
    p[i] -= lr * d;
  }
}

__global__ void ScaleKernel(int64_t n, float* x, float alpha) {
  TB_CUDA_LOOP(i, n) x[i] *= alpha;
}

struct SquareLoad {
  const float* x;
  __device__ double operator()(int64_t, int64_t d, int64_t) const {
    const double v = x[d];
    return v * v;
  }
};
struct StoreOne {
  double* out;
  __device__ void operator()(int64_t, int64_t, double a) const { *out = a; }
};

}  // namespace

Status SgdStep(int64_t n, float* param, const float* grad, float* momentumBuf, float lr, float momentum,
               float dampening, float weightDecay, bool nesterov, bool firstStep, cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  const unsigned g = GridFor(n);
  const bool mom = momentumBuf != nullptr && momentum != 0.f;
  if (!mom) SgdKernel<false, false, false><<<g, kThreads, 0, stream>>>(n, param, grad, nullptr, lr, 0.f, 0.f, weightDecay);
  else if (nesterov && firstStep)
    SgdKernel<true, true, true><<<g, kThreads, 0, stream>>>(n, param, grad, momentumBuf, lr, momentum, dampening, weightDecay);
  else if (nesterov)
    SgdKernel<true, true, false><<<g, kThreads, 0, stream>>>(n, param, grad, momentumBuf, lr, momentum, dampening, weightDecay);
  else if (firstStep)
    SgdKernel<true, false, true><<<g, kThreads, 0, stream>>>(n, param, grad, momentumBuf, lr, momentum, dampening, weightDecay);
  else
    SgdKernel<true, false, false><<<g, kThreads, 0, stream>>>(n, param, grad, momentumBuf, lr, momentum, dampening, weightDecay);
  return LaunchStatus("sgdStep");
}

Status AdamStep(int64_t n, float* param, const float* grad, float* m, float* v, float* vmax, float lr, float beta1,
                float beta2, float eps, float weightDecay, bool decoupled, int64_t step, cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  const double t = static_cast<double>(step);
  const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), t);
  const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), t);
  const float stepSize = static_cast<float>(lr / bc1);
  const float invBc2Sqrt = static_cast<float>(1.0 / std::sqrt(bc2));
  const unsigned g = GridFor(n);
  if (vmax && decoupled)
    AdamKernel<true, true><<<g, kThreads, 0, stream>>>(n, param, grad, m, v, vmax, lr, beta1, beta2, eps, weightDecay, stepSize, invBc2Sqrt);
  else if (vmax)
    AdamKernel<true, false><<<g, kThreads, 0, stream>>>(n, param, grad, m, v, vmax, lr, beta1, beta2, eps, weightDecay, stepSize, invBc2Sqrt);
  else if (decoupled)
    AdamKernel<false, true><<<g, kThreads, 0, stream>>>(n, param, grad, m, v, nullptr, lr, beta1, beta2, eps, weightDecay, stepSize, invBc2Sqrt);
  else
    AdamKernel<false, false><<<g, kThreads, 0, stream>>>(n, param, grad, m, v, nullptr, lr, beta1, beta2, eps, weightDecay, stepSize, invBc2Sqrt);
  return LaunchStatus("adamStep");
}

Status RmspropStep(int64_t n, float* param, const float* grad, float* sq, float* momBuf, float* gradAvg, float lr,
                   float alpha, float eps, float weightDecay, float momentum, bool epsInSqrt, cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  using Kernel = void (*)(int64_t, float*, const float*, float*, float*, float*, float, float, float, float, float);
  static constexpr Kernel table[8] = {
      RmspropKernel<false, false, false>, RmspropKernel<false, false, true>, RmspropKernel<false, true, false>,
      RmspropKernel<false, true, true>,   RmspropKernel<true, false, false>, RmspropKernel<true, false, true>,
      RmspropKernel<true, true, false>,   RmspropKernel<true, true, true>,
  };
  const bool c = gradAvg != nullptr, mo = momBuf != nullptr && momentum > 0.f;
  const Kernel k = table[(c ? 4 : 0) | (mo ? 2 : 0) | (epsInSqrt ? 1 : 0)];
  k<<<GridFor(n), kThreads, 0, stream>>>(n, param, grad, sq, momBuf, gradAvg, lr, alpha, eps, weightDecay, momentum);
  return LaunchStatus("rmspropStep");
}

Status AdagradStep(int64_t n, float* param, const float* grad, float* sum, float lr, float lrDecay, float weightDecay,
                   float eps, int64_t step, bool epsInSqrt, cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  const float clr = static_cast<float>(lr / (1.0 + static_cast<double>(step - 1) * lrDecay));
  if (epsInSqrt) AdagradKernel<true><<<GridFor(n), kThreads, 0, stream>>>(n, param, grad, sum, clr, weightDecay, eps);
  else AdagradKernel<false><<<GridFor(n), kThreads, 0, stream>>>(n, param, grad, sum, clr, weightDecay, eps);
  return LaunchStatus("adagradStep");
}

Status AdadeltaStep(int64_t n, float* param, const float* grad, float* sq, float* acc, float lr, float rho, float eps,
                    float weightDecay, cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  AdadeltaKernel<<<GridFor(n), kThreads, 0, stream>>>(n, param, grad, sq, acc, lr, rho, eps, weightDecay);
  return LaunchStatus("adadeltaStep");
}

Status SumSquares(int64_t n, const float* x, double* out, cudaStream_t stream) {
  if (n == 0) {
    const cudaError_t e = cudaMemsetAsync(out, 0, sizeof(double), stream);
    return e == cudaSuccess ? Status::Ok() : FromCuda(e, "sumSquares", "cudaMemsetAsync");
  }
  return red::ReduceDim<red::SumD>(1, n, 1, SquareLoad{x}, StoreOne{out}, stream, "sumSquares");
}

Status Scale(int64_t n, float* x, float alpha, cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  ScaleKernel<<<GridFor(n), kThreads, 0, stream>>>(n, x, alpha);
  return LaunchStatus("scale");
}

}  // namespace tb::cuda
