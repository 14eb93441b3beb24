// Conv2d as im2col + GEMM, forward and backward side by side, a chunk of whole images at a time
// (as many as keep the column buffer under kColsFloats).
//   NHWC: cols (R, K) with R = B*OH*OW rows (b, oy, ox) and K = KH*KW*C columns (ky, kx, c), so
//         y (R, OC) = cols @ W (K, OC) is one GEMM; a 1x1, stride-1, unpadded kernel uses x itself.
//   NCHW: cols (K, B*OH*OW) with K = C*KH*KW rows (c, ky, kx) and image b's positions in columns
//         [b*OH*OW, (b+1)*OH*OW); y_b (OC, OH*OW) = W (OC, K) @ cols_b is one strided-batched GEMM.
//         The weight gradient sums over images, so dy is first laid out as (OC, B*OH*OW) and
//         dW = dyT @ cols^T is one GEMM.
// col2im is written as a gather (each thread owns one input cell and sums the windows covering it),
// so it needs no atomics and no zeroing of dx. Workspaces come from the caching allocator.
#include "cuda/activation.cuh"
#include "cuda/common.cuh"
#include "cuda/conv2d.cuh"
#include "cuda/gemm.cuh"
#include "cuda/reduce_kernels.cuh"

namespace tb::cuda {
namespace {

// Floats per column buffer: 256 MiB, so a chunk is many images and a GEMM is large.
constexpr int64_t kColsFloats = int64_t{1} << 26;

bool Direct(const Conv2dDims& d) {
  return d.kh == 1 && d.kw == 1 && d.strideH == 1 && d.strideW == 1 && d.padTop == 0 && d.padLeft == 0;
}

// Input coordinate of output position o, kernel offset k along one axis (may be outside [0, in)).
__device__ inline int64_t InCoord(int64_t o, int64_t k, int64_t stride, int64_t pad) { return o * stride - pad + k; }

// NHWC chunk of B images from image n0: cols[r * K + (ky*KW + kx)*C + c].
__global__ void Im2colNhwc(Conv2dDims d, const float* x, int64_t n0, int64_t B, float* cols) {
  const int64_t K = d.kh * d.kw * d.c, ohw = d.oh * d.ow;
  TB_CUDA_LOOP(t, B * ohw * K) {
    const int64_t r = t / K, kk = t % K;
    const int64_t c = kk % d.c, kx = (kk / d.c) % d.kw, ky = kk / (d.c * d.kw);
    const int64_t b = r / ohw, p = r % ohw, oy = p / d.ow, ox = p % d.ow;
    const int64_t iy = InCoord(oy, ky, d.strideH, d.padTop), ix = InCoord(ox, kx, d.strideW, d.padLeft);
    cols[t] = iy >= 0 && iy < d.h && ix >= 0 && ix < d.w ? x[(((n0 + b) * d.h + iy) * d.w + ix) * d.c + c] : 0.f;
  }
}

// dx of images [n0, n0 + B) (NHWC) from dcols (R, K): each input cell sums the windows covering it.
__global__ void Col2imNhwc(Conv2dDims d, const float* dcols, int64_t n0, int64_t B, float* dx) {
  const int64_t K = d.kh * d.kw * d.c;
  TB_CUDA_LOOP(t, B * d.h * d.w * d.c) {
    const int64_t c = t % d.c, ix = (t / d.c) % d.w, iy = (t / (d.c * d.w)) % d.h, b = t / (d.c * d.w * d.h);
    float s = 0.f;
    for (int64_t ky = 0; ky < d.kh; ++ky) {
      const int64_t ty = iy + d.padTop - ky;
      if (ty < 0) break;
      if (ty % d.strideH) continue;
      const int64_t oy = ty / d.strideH;
      if (oy >= d.oh) continue;
      for (int64_t kx = 0; kx < d.kw; ++kx) {
        const int64_t tx = ix + d.padLeft - kx;
        if (tx < 0) break;
        if (tx % d.strideW) continue;
        const int64_t ox = tx / d.strideW;
        if (ox >= d.ow) continue;
        s += dcols[((b * d.oh + oy) * d.ow + ox) * K + (ky * d.kw + kx) * d.c + c];
      }
    }
    dx[(n0 * d.h * d.w * d.c) + t] = s;
  }
}

// NCHW chunk: cols[k * (B*OHW) + b*OHW + p], k = (c*KH + ky)*KW + kx.
__global__ void Im2colNchw(Conv2dDims d, const float* x, int64_t n0, int64_t B, float* cols) {
  const int64_t khw = d.kh * d.kw, ohw = d.oh * d.ow, width = B * ohw;
  TB_CUDA_LOOP(t, d.c * khw * width) {
    const int64_t k = t / width, col = t % width;
    const int64_t c = k / khw, ky = (k / d.kw) % d.kh, kx = k % d.kw;
    const int64_t b = col / ohw, p = col % ohw, oy = p / d.ow, ox = p % d.ow;
    const int64_t iy = InCoord(oy, ky, d.strideH, d.padTop), ix = InCoord(ox, kx, d.strideW, d.padLeft);
    cols[t] = iy >= 0 && iy < d.h && ix >= 0 && ix < d.w ? x[(((n0 + b) * d.c + c) * d.h + iy) * d.w + ix] : 0.f;
  }
}

__global__ void Col2imNchw(Conv2dDims d, const float* dcols, int64_t n0, int64_t B, float* dx) {
  const int64_t ohw = d.oh * d.ow, width = B * ohw;
  TB_CUDA_LOOP(t, B * d.c * d.h * d.w) {
    const int64_t ix = t % d.w, iy = (t / d.w) % d.h, c = (t / (d.w * d.h)) % d.c, b = t / (d.w * d.h * d.c);
    float s = 0.f;
    for (int64_t ky = 0; ky < d.kh; ++ky) {
      const int64_t ty = iy + d.padTop - ky;
      if (ty < 0) break;
      if (ty % d.strideH) continue;
      const int64_t oy = ty / d.strideH;
      if (oy >= d.oh) continue;
      for (int64_t kx = 0; kx < d.kw; ++kx) {
        const int64_t tx = ix + d.padLeft - kx;
        if (tx < 0) break;
        if (tx % d.strideW) continue;
        const int64_t ox = tx / d.strideW;
        if (ox >= d.ow) continue;
        s += dcols[((c * d.kh + ky) * d.kw + kx) * width + b * ohw + oy * d.ow + ox];
      }
    }
    dx[n0 * d.c * d.h * d.w + t] = s;
  }
}

// dyT (OC, B*OHW) from dy images [n0, n0 + B) (B, OC, OHW).
__global__ void PermuteDyNchw(const float* dy, int64_t n0, int64_t B, int64_t oc, int64_t ohw, float* dyT) {
  const int64_t width = B * ohw;
  TB_CUDA_LOOP(t, oc * width) {
    const int64_t o = t / width, col = t % width, b = col / ohw, p = col % ohw;
    dyT[t] = dy[((n0 + b) * oc + o) * ohw + p];
  }
}

// y filled with the bias of each output channel (the GEMM then adds with beta = 1).
__global__ void FillBias(const float* bias, float* y, int64_t total, int64_t oc, int64_t ohw, bool nhwc) {
  TB_CUDA_LOOP(t, total) y[t] = bias[nhwc ? t % oc : (t / ohw) % oc];
}

// Images per chunk: as many as keep one column buffer under kColsFloats (at least one).
int64_t ChunkImages(const Conv2dDims& d) {
  const int64_t per = d.c * d.kh * d.kw * d.oh * d.ow;
  int64_t b = per > 0 ? kColsFloats / per : d.n;
  if (b < 1) b = 1;
  return b < d.n ? b : d.n;
}

struct StoreF {
  float* out;
  __device__ void operator()(int64_t, int64_t i, double a) const { out[i] = static_cast<float>(a); }
};
struct StoreD {
  double* out;
  int64_t inner;
  __device__ void operator()(int64_t o, int64_t i, double a) const { out[o * inner + i] = a; }
};
struct LoadD {
  const double* x;
  int64_t dim, inner;
  __device__ double operator()(int64_t o, int64_t d, int64_t i) const { return x[(o * dim + d) * inner + i]; }
};

// dbias[oc] = sum of dy over images and positions, in double, in a fixed order.
Status BiasGrad(const Conv2dDims& d, const float* dy, float* dbias, cudaStream_t stream) {
  const int64_t ohw = d.oh * d.ow;
  if (d.nhwc)
    return red::ReduceDim<red::SumD>(1, d.n * ohw, d.oc, red::ViewLoad<double>{dy, d.n * ohw, d.oc}, StoreF{dbias},
                                     stream, "conv2dBackward");
  // NCHW: per (image, channel) sums over positions, then sums over images.
  Scratch part;
  TB_TRY(part.Alloc(static_cast<size_t>(d.n * d.oc) * sizeof(double), "conv2dBackward"));
  TB_TRY(red::ReduceDim<red::SumD>(d.n * d.oc, ohw, 1, red::ViewLoad<double>{dy, ohw, 1},
                                   StoreD{part.As<double>(), 1}, stream, "conv2dBackward"));
  return red::ReduceDim<red::SumD>(1, d.n, d.oc, LoadD{part.As<double>(), d.n, d.oc}, StoreF{dbias}, stream,
                                   "conv2dBackward");
}

}  // namespace

Status Conv2dForward(const Conv2dDims& d, const float* x, const float* weight, const float* bias, float* y,
                     FusedAct act, cudaStream_t stream) {
  if (d.n == 0) return Status::Ok();
  const int64_t K = d.c * d.kh * d.kw, ohw = d.oh * d.ow, OC = d.oc;
  const float beta = bias ? 1.f : 0.f;
  if (bias) {
    const int64_t total = d.n * OC * ohw;
    FillBias<<<GridFor(total), kThreads, 0, stream>>>(bias, y, total, OC, ohw, d.nhwc);
    TB_TRY(LaunchStatus("conv2d"));
  }
  const bool direct = d.nhwc && Direct(d);
  const int64_t B = ChunkImages(d);
  Scratch cols;
  if (!direct) TB_TRY(cols.Alloc(static_cast<size_t>(B * K * ohw) * sizeof(float), "conv2d"));
  for (int64_t n0 = 0; n0 < d.n; n0 += B) {
    const int64_t nb = B < d.n - n0 ? B : d.n - n0;
    if (d.nhwc) {
      const int64_t R = nb * ohw;
      const float* A = x + n0 * d.h * d.w * d.c;
      if (!direct) {
        Im2colNhwc<<<GridFor(R * K), kThreads, 0, stream>>>(d, x, n0, nb, cols.As<float>());
        TB_TRY(LaunchStatus("conv2d"));
        A = cols.As<float>();
      }
      TB_TRY(Sgemm(false, false, R, OC, K, 1.f, A, K, weight, OC, beta, y + n0 * ohw * OC, OC, stream, "conv2d"));
    } else {
      Im2colNchw<<<GridFor(K * nb * ohw), kThreads, 0, stream>>>(d, x, n0, nb, cols.As<float>());
      TB_TRY(LaunchStatus("conv2d"));
      // y_b (OC, OHW) = W (OC, K) @ cols[:, b*OHW : (b+1)*OHW] (row stride nb*OHW), for each image b.
      TB_TRY(SgemmStridedBatched(false, false, OC, ohw, K, 1.f, weight, K, 0, cols.As<float>(), nb * ohw, ohw, beta,
                                 y + n0 * OC * ohw, ohw, OC * ohw, nb, stream, "conv2d"));
    }
  }
  // The bias is in already (the GEMMs added to it); the activation is one pass over y.
  return FusedEpilogue(y, d.n * OC * ohw, 1, nullptr, act, stream, "conv2d");
}

Status Conv2dBackward(const Conv2dDims& d, const float* x, const float* weight, const float* dy, float* dx,
                      float* dweight, float* dbias, const float* y, FusedAct act, cudaStream_t stream) {
  const int64_t K = d.c * d.kh * d.kw, ohw = d.oh * d.ow, OC = d.oc;
  // Through a fused ReLU, dy counts only where y > 0: mask it once, then differentiate the convolution.
  Scratch masked;
  if (act == FusedAct::kRelu && d.n > 0) {
    if (!y) return Status::Error("the output y is needed for the ReLU gradient");
    const int64_t total = d.n * OC * ohw;
    TB_TRY(masked.Alloc(static_cast<size_t>(total) * sizeof(float), "conv2dBackward"));
    TB_TRY(FusedGrad(y, dy, masked.As<float>(), total, act, stream, "conv2dBackward"));
    dy = masked.As<float>();
  }
  if (d.n == 0) {  // no images: the gradients of the weights are zero
    cudaError_t e = cudaSuccess;
    if (dbias) e = cudaMemsetAsync(dbias, 0, static_cast<size_t>(OC) * sizeof(float), stream);
    if (dweight && e == cudaSuccess) e = cudaMemsetAsync(dweight, 0, static_cast<size_t>(K * OC) * sizeof(float), stream);
    return e == cudaSuccess ? Status::Ok() : FromCuda(e, "conv2dBackward", "cudaMemsetAsync");
  }
  if (dbias) TB_TRY(BiasGrad(d, dy, dbias, stream));
  if (!dx && !dweight) return Status::Ok();
  const bool direct = d.nhwc && Direct(d);
  const int64_t B = ChunkImages(d);
  const size_t colsBytes = static_cast<size_t>(B * K * ohw) * sizeof(float);
  Scratch cols, dcols, dyT;
  if (dweight && !direct) TB_TRY(cols.Alloc(colsBytes, "conv2dBackward"));
  if (dx && !direct) TB_TRY(dcols.Alloc(colsBytes, "conv2dBackward"));
  if (!d.nhwc) TB_TRY(dyT.Alloc(static_cast<size_t>(B * OC * ohw) * sizeof(float), "conv2dBackward"));
  for (int64_t n0 = 0; n0 < d.n; n0 += B) {
    const int64_t nb = B < d.n - n0 ? B : d.n - n0;
    const float wBeta = n0 == 0 ? 0.f : 1.f;  // dW accumulates over chunks
    if (d.nhwc) {
      const int64_t R = nb * ohw;
      const float* g = dy + n0 * ohw * OC;
      if (dweight) {
        // dW (K, OC) += cols^T (K, R) @ dy (R, OC)
        const float* A = x + n0 * d.h * d.w * d.c;
        if (!direct) {
          Im2colNhwc<<<GridFor(R * K), kThreads, 0, stream>>>(d, x, n0, nb, cols.As<float>());
          TB_TRY(LaunchStatus("conv2dBackward"));
          A = cols.As<float>();
        }
        TB_TRY(Sgemm(true, false, K, OC, R, 1.f, A, K, g, OC, wBeta, dweight, OC, stream, "conv2dBackward"));
      }
      if (dx) {
        // dcols (R, K) = dy (R, OC) @ W^T; W is stored (K, OC).
        float* D = direct ? dx + n0 * d.h * d.w * d.c : dcols.As<float>();
        TB_TRY(Sgemm(false, true, R, K, OC, 1.f, g, OC, weight, OC, 0.f, D, K, stream, "conv2dBackward"));
        if (!direct) {
          Col2imNhwc<<<GridFor(nb * d.h * d.w * d.c), kThreads, 0, stream>>>(d, dcols.As<float>(), n0, nb, dx);
          TB_TRY(LaunchStatus("conv2dBackward"));
        }
      }
      continue;
    }
    const int64_t width = nb * ohw;
    PermuteDyNchw<<<GridFor(OC * width), kThreads, 0, stream>>>(dy, n0, nb, OC, ohw, dyT.As<float>());
    TB_TRY(LaunchStatus("conv2dBackward"));
    if (dweight) {
      // dW (OC, K) += dyT (OC, width) @ cols^T (width, K)
      Im2colNchw<<<GridFor(K * width), kThreads, 0, stream>>>(d, x, n0, nb, cols.As<float>());
      TB_TRY(LaunchStatus("conv2dBackward"));
      TB_TRY(Sgemm(false, true, OC, K, width, 1.f, dyT.As<float>(), width, cols.As<float>(), width, wBeta, dweight, K,
                   stream, "conv2dBackward"));
    }
    if (dx) {
      // dcols (K, width) = W^T (K, OC) @ dyT (OC, width); W is stored (OC, K).
      TB_TRY(Sgemm(true, false, K, width, OC, 1.f, weight, K, dyT.As<float>(), width, 0.f, dcols.As<float>(), width,
                   stream, "conv2dBackward"));
      Col2imNchw<<<GridFor(nb * d.c * d.h * d.w), kThreads, 0, stream>>>(d, dcols.As<float>(), n0, nb, dx);
      TB_TRY(LaunchStatus("conv2dBackward"));
    }
  }
  return Status::Ok();
}

}  // namespace tb::cuda
