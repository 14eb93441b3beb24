// Batch normalization, forward and backward side by side. Per-channel sums run on the shared
// reduction engine in double (two sums at once): NHWC / (N, C) inputs (inner == 1) are one
// column reduction over rows; NCHW inputs first sum each (image, channel) plane, then the planes
// of each channel. A one-thread-per-channel kernel turns sums into statistics, and one elementwise
// pass writes y (or dx).
#include "cuda/batchnorm.cuh"
#include "cuda/common.cuh"
#include "cuda/reduce_kernels.cuh"

namespace tb::cuda {
namespace {

// Terms of the statistics of element j in channel c: (x - ref[c]) and its square (forward), or
// dy and dy * (x - ref[c]) (backward), where ref is the channel's shift or mean.
struct Terms {
  const float* x;
  const float* dy;  // null in the forward pass
  const float* ref;  // per-channel reference (mean), or null: use x[c * inner] (the forward shift)
  int64_t inner;
  __device__ double2 At(int64_t c, int64_t j) const {
    const double r = ref ? static_cast<double>(ref[c]) : static_cast<double>(x[c * inner]);
    const double v = static_cast<double>(x[j]) - r;
    if (!dy) return make_double2(v, v * v);
    const double g = dy[j];
    return make_double2(g, g * v);
  }
};

// inner == 1: the view (1, outer, C); channel = column.
struct ColLoad {
  Terms t;
  int64_t C;
  __device__ double2 operator()(int64_t, int64_t d, int64_t c) const { return t.At(c, d * C + c); }
};
// inner > 1, first stage: rows (o, c) of the view (outer*C, inner, 1).
struct PlaneLoad {
  Terms t;
  int64_t C;
  __device__ double2 operator()(int64_t row, int64_t d, int64_t) const { return t.At(row % C, row * t.inner + d); }
};
struct PartLoad {
  const double2* part;
  int64_t C;
  __device__ double2 operator()(int64_t, int64_t d, int64_t c) const { return part[d * C + c]; }
};
struct Store2 {
  double2* out;
  int64_t inner;
  __device__ void operator()(int64_t o, int64_t i, double2 a) const { out[o * inner + i] = a; }
};

// sums[c] = (sum of first terms, sum of second terms) over the channel's outer*inner elements.
Status ChannelSums(const Terms& t, int64_t outer, int64_t C, double2* sums, cudaStream_t stream, const char* op) {
  if (t.inner == 1)
    return red::ReduceDim<red::Sum2D>(1, outer, C, ColLoad{t, C}, Store2{sums, C}, stream, op);
  Scratch part;
  TB_TRY(part.Alloc(static_cast<size_t>(outer * C) * sizeof(double2), op));
  TB_TRY(red::ReduceDim<red::Sum2D>(outer * C, t.inner, 1, PlaneLoad{t, C}, Store2{part.As<double2>(), 1}, stream, op));
  return red::ReduceDim<red::Sum2D>(1, outer, C, PartLoad{part.As<double2>(), C}, Store2{sums, C}, stream, op);
}

// Per channel: statistics, running-stat update (training), and the affine pair y = (x - mean) * scale + bias.
__global__ void ForwardStatsKernel(const double2* sums, const float* x, const float* gamma, const float* beta,
                                   float* mean, float* invstd, float* runningMean, float* runningVar, float* scale,
                                   float* bias, int64_t C, int64_t inner, int64_t M, double momentum, double eps,
                                   bool training, DeviceCheck* check) {
  TB_CUDA_LOOP(c, C) {
    if (training) {
      if (M == 0) {
        mean[c] = 0.f;
        invstd[c] = static_cast<float>(1.0 / sqrt(eps));
      } else {
        const double d = sums[c].x / M;
        double var = sums[c].y / M - d * d;
        var = var > 0.0 ? var : 0.0;
        const double mu = static_cast<double>(x[c * inner]) + d;
        mean[c] = static_cast<float>(mu);
        invstd[c] = static_cast<float>(1.0 / sqrt(var + eps));
        const double unbiased = M > 1 ? var * M / (M - 1) : var;
        runningMean[c] = static_cast<float>((1 - momentum) * runningMean[c] + momentum * mu);
        runningVar[c] = static_cast<float>((1 - momentum) * runningVar[c] + momentum * unbiased);
      }
    } else {
      const double v = static_cast<double>(runningVar[c]) + eps;
      if (!(v > 0)) ReportBad(check, CheckCode::kRunningVar, c, 0, 0);
      mean[c] = runningMean[c];
      invstd[c] = static_cast<float>(1.0 / sqrt(v));
    }
    scale[c] = static_cast<float>((gamma ? static_cast<double>(gamma[c]) : 1.0) * invstd[c]);
    bias[c] = beta ? beta[c] : 0.f;
  }
}

__global__ void NormalizeKernel(const float* x, const float* mean, const float* scale, const float* bias, float* y,
                                int64_t total, int64_t C, int64_t inner) {
  TB_CUDA_LOOP(j, total) {
    const int64_t c = (j / inner) % C;
    y[j] = (x[j] - mean[c]) * scale[c] + bias[c];
  }
}

// Per channel: dbeta, dgamma and the coefficients of dx = k1*dy + k2*(x - mean) + k3.
__global__ void BackwardCoefKernel(const double2* sums, const float* gamma, const float* invstd, float* dgamma,
                                   float* dbeta, float* k, int64_t C, int64_t M) {
  TB_CUDA_LOOP(c, C) {
    const double sdy = sums[c].x, sdyx = sums[c].y;
    if (dbeta) dbeta[c] = static_cast<float>(sdy);
    if (dgamma) dgamma[c] = static_cast<float>(sdyx * invstd[c]);
    if (M > 0) {
      const double is = invstd[c], g = (gamma ? static_cast<double>(gamma[c]) : 1.0) * is;
      k[c] = static_cast<float>(g);
      k[C + c] = static_cast<float>(-g * is * is * sdyx / M);
      k[2 * C + c] = static_cast<float>(-g * sdy / M);
    }
  }
}

__global__ void BackwardDxKernel(const float* x, const float* dy, const float* mean, const float* k, float* dx,
                                 int64_t total, int64_t C, int64_t inner) {
  TB_CUDA_LOOP(j, total) {
    const int64_t c = (j / inner) % C;
    dx[j] = k[c] * dy[j] + k[C + c] * (x[j] - mean[c]) + k[2 * C + c];
  }
}

}  // namespace

Status BatchNormForward(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* invstd,
                        float* runningMean, float* runningVar, int64_t outer, int64_t C, int64_t inner,
                        double momentum, double eps, bool training, cudaStream_t stream) {
  if (C == 0) return Status::Ok();
  TB_TRY(Init());
  const int64_t M = outer * inner;
  // Scratch: C double2 sums, then scale and bias (C floats each).
  Scratch buf;
  TB_TRY(buf.Alloc(static_cast<size_t>(C) * (sizeof(double2) + 2 * sizeof(float)), "batchNorm"));
  double2* sums = buf.As<double2>();
  float* scale = reinterpret_cast<float*>(sums + C);
  float* bias = scale + C;
  if (training && M > 0) TB_TRY(ChannelSums(Terms{x, nullptr, nullptr, inner}, outer, C, sums, stream, "batchNorm"));
  ForwardStatsKernel<<<GridFor(C), kThreads, 0, stream>>>(sums, x, gamma, beta, mean, invstd, runningMean, runningVar,
                                                          scale, bias, C, inner, M, momentum, eps, training,
                                                          CheckSlot());
  if (!training) NoteCheck();
  TB_TRY(LaunchStatus("batchNorm"));
  const int64_t total = M * C;
  if (total == 0) return Status::Ok();
  NormalizeKernel<<<GridFor(total), kThreads, 0, stream>>>(x, mean, scale, bias, y, total, C, inner);
  return LaunchStatus("batchNorm");
}

Status BatchNormBackward(const float* x, const float* gamma, const float* mean, const float* invstd, const float* dy,
                         float* dx, float* dgamma, float* dbeta, int64_t outer, int64_t C, int64_t inner,
                         cudaStream_t stream) {
  if (C == 0) return Status::Ok();
  const int64_t M = outer * inner;
  Scratch buf;
  TB_TRY(buf.Alloc(static_cast<size_t>(C) * (sizeof(double2) + 3 * sizeof(float)), "batchNormBackward"));
  double2* sums = buf.As<double2>();
  float* k = reinterpret_cast<float*>(sums + C);
  if (M > 0) {
    TB_TRY(ChannelSums(Terms{x, dy, mean, inner}, outer, C, sums, stream, "batchNormBackward"));
  } else {
    const cudaError_t e = cudaMemsetAsync(sums, 0, static_cast<size_t>(C) * sizeof(double2), stream);
    if (e != cudaSuccess) return FromCuda(e, "batchNormBackward", "cudaMemsetAsync");
  }
  BackwardCoefKernel<<<GridFor(C), kThreads, 0, stream>>>(sums, gamma, invstd, dgamma, dbeta, k, C, M);
  TB_TRY(LaunchStatus("batchNormBackward"));
  if (!dx || M == 0) return Status::Ok();
  BackwardDxKernel<<<GridFor(M * C), kThreads, 0, stream>>>(x, dy, mean, k, dx, M * C, C, inner);
  return LaunchStatus("batchNormBackward");
}

}  // namespace tb::cuda
