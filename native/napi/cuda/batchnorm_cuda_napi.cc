// cuda.batchNorm(x, gamma, beta, y, mean, invstd, runningMean, runningVar, outer, c, inner, momentum, eps, training)
// cuda.batchNormBackward(x, gamma, mean, invstd, dy, dx, dgamma, dbeta, outer, c, inner)
#include <cmath>

#include "cuda/batchnorm.cuh"
#include "napi/batchnorm_dims.h"
#include "napi/cuda/device_args.h"
#include "napi/register.h"

namespace tb::napi::cuda {
namespace {

using Dims = BatchNormDims;

Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.batchNorm", 14);
  const Dims d = ReadBatchNormDims(a, 8);
  const float* x = a.DevF32(0, "x", d.total);
  const float* gamma = a.DevF32OrNull(1, "gamma", d.c);
  const float* beta = a.DevF32OrNull(2, "beta", d.c);
  float* y = a.DevF32(3, "y", d.total);
  float* mean = a.DevF32(4, "mean", d.c);
  float* invstd = a.DevF32(5, "invstd", d.c);
  float* runningMean = a.DevF32(6, "runningMean", d.c);
  float* runningVar = a.DevF32(7, "runningVar", d.c);
  const double momentum = a.Num(11, "momentum");
  if (!(momentum >= 0 && momentum <= 1)) a.ThrowRange("momentum must be in [0, 1], got " + std::to_string(momentum));
  const double eps = a.Num(12, "eps");
  if (!(eps > 0 && std::isfinite(eps))) a.ThrowRange("eps must be positive and finite, got " + std::to_string(eps));
  const bool training = a.Bool(13, "training");
  if (training && d.outer * d.inner == 1)
    a.ThrowRange("training needs more than one value per channel (outer*inner = 1)");
  const char* names[] = {"x", "gamma", "beta", "y", "mean", "invstd", "runningMean", "runningVar"};
  for (size_t out = 3; out < 8; ++out)
    for (size_t other = 0; other < out; ++other) a.NoAlias(out, names[out], other, names[other]);
  a.Check(::tb::cuda::BatchNormForward(x, gamma, beta, y, mean, invstd, runningMean, runningVar, d.outer, d.c, d.inner,
                                       momentum, eps, training, a.Stream()));
  return info.Env().Undefined();
}

Napi::Value BatchNormBackward(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.batchNormBackward", 11);
  const Dims d = ReadBatchNormDims(a, 8);
  const float* x = a.DevF32(0, "x", d.total);
  const float* gamma = a.DevF32OrNull(1, "gamma", d.c);
  const float* mean = a.DevF32(2, "mean", d.c);
  const float* invstd = a.DevF32(3, "invstd", d.c);
  const float* dy = a.DevF32(4, "dy", d.total);
  float* dx = a.DevF32OrNull(5, "dx", d.total);
  float* dgamma = a.DevF32OrNull(6, "dgamma", d.c);
  float* dbeta = a.DevF32OrNull(7, "dbeta", d.c);
  const char* names[] = {"x", "gamma", "mean", "invstd", "dy", "dx", "dgamma", "dbeta"};
  for (size_t out = 5; out < 8; ++out)
    for (size_t other = 0; other < out; ++other) a.NoAlias(out, names[out], other, names[other]);
  a.Check(::tb::cuda::BatchNormBackward(x, gamma, mean, invstd, dy, dx, dgamma, dbeta, d.outer, d.c, d.inner,
                                        a.Stream()));
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  Napi::Object cuda = CudaExports(env, exports);
  TB_CUDA_EXPORT(cuda, "batchNorm", BatchNorm);
  TB_CUDA_EXPORT(cuda, "batchNormBackward", BatchNormBackward);
}

TB_NAPI_REGISTER(Register);

}  // namespace
}  // namespace tb::napi::cuda
