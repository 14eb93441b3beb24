// batchNorm(x, gamma, beta, y, mean, invstd, runningMean, runningVar, outer, c, inner, momentum, eps, training)
// batchNormBackward(x, gamma, mean, invstd, dy, dx, dgamma, dbeta, outer, c, inner)
#include <cmath>

#include "cpu/batchnorm.h"
#include "napi/batchnorm_dims.h"
#include "napi/kernel.h"
#ifdef TENSORBOLT_CUDA
#include "cuda/batchnorm.cuh"
#endif

namespace tb::napi {
namespace {

using Dims = BatchNormDims;

template <class A>
Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  A a(info, "batchNorm", 14);
  const Dims d = ReadBatchNormDims(a, 8);
  const float* x = a.F32(0, "x", d.total);
  const float* gamma = a.F32OrNull(1, "gamma", d.c);
  const float* beta = a.F32OrNull(2, "beta", d.c);
  float* y = a.F32(3, "y", d.total);
  float* mean = a.F32(4, "mean", d.c);
  float* invstd = a.F32(5, "invstd", d.c);
  float* runningMean = a.F32(6, "runningMean", d.c);
  float* runningVar = a.F32(7, "runningVar", d.c);
  a.OutputsDisjoint({{3, "y"}, {4, "mean"}, {5, "invstd"}, {6, "runningMean"}, {7, "runningVar"}},
                    {{0, "x"}, {1, "gamma"}, {2, "beta"}});
  const double momentum = a.Num(11, "momentum");
  if (!(momentum >= 0 && momentum <= 1)) a.ThrowRange("momentum must be in [0, 1], got " + std::to_string(momentum));
  const double eps = a.Num(12, "eps");
  if (!(eps > 0 && std::isfinite(eps))) a.ThrowRange("eps must be positive and finite, got " + std::to_string(eps));
  const bool training = a.Bool(13, "training");
  if (training && d.outer * d.inner == 1)
    a.ThrowRange("training needs more than one value per channel (outer*inner = 1)");
  TB_KERNEL(a, BatchNormForward, x, gamma, beta, y, mean, invstd, runningMean, runningVar, d.outer, d.c, d.inner,
            momentum, eps, training);
  return info.Env().Undefined();
}

template <class A>
Napi::Value BatchNormBackward(const Napi::CallbackInfo& info) {
  A a(info, "batchNormBackward", 11);
  const Dims d = ReadBatchNormDims(a, 8);
  const float* x = a.F32(0, "x", d.total);
  const float* gamma = a.F32OrNull(1, "gamma", d.c);
  const float* mean = a.F32(2, "mean", d.c);
  const float* invstd = a.F32(3, "invstd", d.c);
  const float* dy = a.F32(4, "dy", d.total);
  float* dx = a.F32OrNull(5, "dx", d.total);
  float* dgamma = a.F32OrNull(6, "dgamma", d.c);
  float* dbeta = a.F32OrNull(7, "dbeta", d.c);
  a.OutputsDisjoint({{5, "dx"}, {6, "dgamma"}, {7, "dbeta"}},
                    {{0, "x"}, {1, "gamma"}, {2, "mean"}, {3, "invstd"}, {4, "dy"}});
  TB_KERNEL(a, BatchNormBackward, x, gamma, mean, invstd, dy, dx, dgamma, dbeta, d.outer, d.c, d.inner);
  return info.Env().Undefined();
}

template <class A>
void Register(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "batchNorm", BatchNorm<A>);
  Export(env, exports, "batchNormBackward", BatchNormBackward<A>);
}

TB_NAPI_REGISTER_KERNELS(Register);

}  // namespace
}  // namespace tb::napi
