// Max and average pooling, forward and backward side by side. Forward: one thread per output.
// Backward: one thread per input cell, gathering from the windows that cover it (in output order,
// as the CPU kernel adds them), so overlapping windows need no atomics and sums are repeatable.
#include "cuda/common.cuh"
#include "cuda/pool2d.cuh"

namespace tb::cuda {
namespace {

struct Span {
  int64_t lo, hi;  // [lo, hi)
};

// Input cells of window o along one axis, clipped to [0, in).
__device__ inline Span Window(int64_t o, int64_t stride, int64_t pad, int64_t k, int64_t in) {
  const int64_t s = o * stride - pad;
  return {s > 0 ? s : 0, s + k < in ? s + k : in};
}

__device__ inline int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Windows [lo, hi) of [0, out) that contain input coordinate i along one axis.
__device__ inline Span Covering(int64_t i, int64_t stride, int64_t pad, int64_t k, int64_t out) {
  int64_t lo = FloorDiv(i + pad - k, stride) + 1;
  lo = lo > 0 ? lo : 0;
  int64_t hi = FloorDiv(i + pad, stride) + 1;
  hi = hi < out ? hi : out;
  return {lo, hi > lo ? hi : lo};
}

__device__ inline bool Better(float v, float best) { return v > best || v != v; }

// Output t -> (image n, channel c, oy, ox) in either layout.
struct Pos {
  int64_t n, c, oy, ox;
};
__device__ inline Pos OutPos(const Pool2dDims& d, int64_t t) {
  if (d.nhwc) return {t / (d.c * d.ow * d.oh), t % d.c, (t / (d.c * d.ow)) % d.oh, (t / d.c) % d.ow};
  return {t / (d.c * d.oh * d.ow), (t / (d.oh * d.ow)) % d.c, (t / d.ow) % d.oh, t % d.ow};
}
// Flat index of input cell (n, c, iy, ix) / output cell (n, c, oy, ox).
__device__ inline int64_t InIdx(const Pool2dDims& d, int64_t n, int64_t c, int64_t iy, int64_t ix) {
  return d.nhwc ? ((n * d.h + iy) * d.w + ix) * d.c + c : ((n * d.c + c) * d.h + iy) * d.w + ix;
}
__device__ inline int64_t OutIdx(const Pool2dDims& d, int64_t n, int64_t c, int64_t oy, int64_t ox) {
  return d.nhwc ? ((n * d.oh + oy) * d.ow + ox) * d.c + c : ((n * d.c + c) * d.oh + oy) * d.ow + ox;
}

__global__ void MaxForwardKernel(Pool2dDims d, const float* x, float* y, int32_t* argmax, int64_t total) {
  TB_CUDA_LOOP(t, total) {
    const Pos p = OutPos(d, t);
    const Span ry = Window(p.oy, d.strideH, d.padTop, d.kh, d.h);
    const Span rx = Window(p.ox, d.strideW, d.padLeft, d.kw, d.w);
    int64_t bi = InIdx(d, p.n, p.c, ry.lo, rx.lo);
    float best = x[bi];
    for (int64_t iy = ry.lo; iy < ry.hi; ++iy)
      for (int64_t ix = rx.lo; ix < rx.hi; ++ix) {
        const int64_t k = InIdx(d, p.n, p.c, iy, ix);
        if (k != bi && Better(x[k], best)) {
          best = x[k];
          bi = k;
        }
      }
    y[t] = best;
    argmax[t] = static_cast<int32_t>(bi);
  }
}

// An argmax entry must name a cell of its own output's window (maxPool2d's always do).
__global__ void CheckArgmaxKernel(Pool2dDims d, const int32_t* argmax, int64_t total, DeviceCheck* check) {
  TB_CUDA_LOOP(t, total) {
    const Pos p = OutPos(d, t);
    const Span ry = Window(p.oy, d.strideH, d.padTop, d.kh, d.h);
    const Span rx = Window(p.ox, d.strideW, d.padLeft, d.kw, d.w);
    const int64_t a = argmax[t];
    bool ok = false;
    if (d.nhwc) {
      const int64_t c = a % d.c, cell = a / d.c, ix = cell % d.w, iy = (cell / d.w) % d.h, n = cell / (d.w * d.h);
      ok = a >= 0 && n == p.n && c == p.c && iy >= ry.lo && iy < ry.hi && ix >= rx.lo && ix < rx.hi;
    } else {
      const int64_t ix = a % d.w, iy = (a / d.w) % d.h, plane = a / (d.w * d.h);
      ok = a >= 0 && plane == p.n * d.c + p.c && iy >= ry.lo && iy < ry.hi && ix >= rx.lo && ix < rx.hi;
    }
    if (!ok) ReportBad(check, CheckCode::kArgmax, t, a, 0);
  }
}

// Input cell t: dx = sum of dy over covering windows whose argmax is t.
__global__ void MaxBackwardKernel(Pool2dDims d, const float* dy, const int32_t* argmax, float* dx, int64_t total) {
  TB_CUDA_LOOP(t, total) {
    int64_t n, c, iy, ix;
    if (d.nhwc) {
      c = t % d.c;
      ix = (t / d.c) % d.w;
      iy = (t / (d.c * d.w)) % d.h;
      n = t / (d.c * d.w * d.h);
    } else {
      ix = t % d.w;
      iy = (t / d.w) % d.h;
      c = (t / (d.w * d.h)) % d.c;
      n = t / (d.w * d.h * d.c);
    }
    const Span cy = Covering(iy, d.strideH, d.padTop, d.kh, d.oh);
    const Span cx = Covering(ix, d.strideW, d.padLeft, d.kw, d.ow);
    float s = 0.f;
    for (int64_t oy = cy.lo; oy < cy.hi; ++oy)
      for (int64_t ox = cx.lo; ox < cx.hi; ++ox) {
        const int64_t o = OutIdx(d, n, c, oy, ox);
        if (argmax[o] == t) s += dy[o];
      }
    dx[t] = s;
  }
}

__global__ void AvgForwardKernel(Pool2dDims d, const float* x, float* y, int64_t total) {
  TB_CUDA_LOOP(t, total) {
    const Pos p = OutPos(d, t);
    const Span ry = Window(p.oy, d.strideH, d.padTop, d.kh, d.h);
    const Span rx = Window(p.ox, d.strideW, d.padLeft, d.kw, d.w);
    float s = 0.f;
    for (int64_t iy = ry.lo; iy < ry.hi; ++iy)
      for (int64_t ix = rx.lo; ix < rx.hi; ++ix) s += x[InIdx(d, p.n, p.c, iy, ix)];
    const float cnt = static_cast<float>((ry.hi - ry.lo) * (rx.hi - rx.lo));
    // The CPU kernel divides in NCHW and multiplies by the reciprocal in NHWC; so do we, to agree bitwise.
    y[t] = d.nhwc ? s * (1.f / cnt) : s / cnt;
  }
}

__global__ void AvgBackwardKernel(Pool2dDims d, const float* dy, float* dx, int64_t total) {
  TB_CUDA_LOOP(t, total) {
    int64_t n, c, iy, ix;
    if (d.nhwc) {
      c = t % d.c;
      ix = (t / d.c) % d.w;
      iy = (t / (d.c * d.w)) % d.h;
      n = t / (d.c * d.w * d.h);
    } else {
      ix = t % d.w;
      iy = (t / d.w) % d.h;
      c = (t / (d.w * d.h)) % d.c;
      n = t / (d.w * d.h * d.c);
    }
    const Span cy = Covering(iy, d.strideH, d.padTop, d.kh, d.oh);
    const Span cx = Covering(ix, d.strideW, d.padLeft, d.kw, d.ow);
    float s = 0.f;
    for (int64_t oy = cy.lo; oy < cy.hi; ++oy) {
      const Span ry = Window(oy, d.strideH, d.padTop, d.kh, d.h);
      const float invH = 1.f / static_cast<float>(ry.hi - ry.lo);
      for (int64_t ox = cx.lo; ox < cx.hi; ++ox) {
        const Span rx = Window(ox, d.strideW, d.padLeft, d.kw, d.w);
        const float invW = 1.f / static_cast<float>(rx.hi - rx.lo);
        s += dy[OutIdx(d, n, c, oy, ox)] * (invH * invW);
      }
    }
    dx[t] = s;
  }
}

int64_t InCount(const Pool2dDims& d) { return d.n * d.c * d.h * d.w; }
int64_t OutCount(const Pool2dDims& d) { return d.n * d.c * d.oh * d.ow; }

}  // namespace

Status MaxPool2dForward(const Pool2dDims& d, const float* x, float* y, int32_t* argmax, cudaStream_t stream) {
  const int64_t total = OutCount(d);
  if (total == 0) return Status::Ok();
  MaxForwardKernel<<<GridFor(total), kThreads, 0, stream>>>(d, x, y, argmax, total);
  return LaunchStatus("maxPool2d");
}

Status MaxPool2dBackward(const Pool2dDims& d, const float* dy, const int32_t* argmax, float* dx, cudaStream_t stream) {
  const int64_t in = InCount(d), out = OutCount(d);
  if (in == 0) return Status::Ok();
  TB_TRY(Init());
  if (out > 0) {
    CheckArgmaxKernel<<<GridFor(out), kThreads, 0, stream>>>(d, argmax, out, CheckSlot());
    NoteCheck();
    TB_TRY(LaunchStatus("maxPool2dBackward"));
  }
  MaxBackwardKernel<<<GridFor(in), kThreads, 0, stream>>>(d, dy, argmax, dx, in);
  return LaunchStatus("maxPool2dBackward");
}

Status AvgPool2dForward(const Pool2dDims& d, const float* x, float* y, cudaStream_t stream) {
  const int64_t total = OutCount(d);
  if (total == 0) return Status::Ok();
  AvgForwardKernel<<<GridFor(total), kThreads, 0, stream>>>(d, x, y, total);
  return LaunchStatus("avgPool2d");
}

Status AvgPool2dBackward(const Pool2dDims& d, const float* dy, float* dx, cudaStream_t stream) {
  const int64_t total = InCount(d);
  if (total == 0) return Status::Ok();
  AvgBackwardKernel<<<GridFor(total), kThreads, 0, stream>>>(d, dy, dx, total);
  return LaunchStatus("avgPool2dBackward");
}

}  // namespace tb::cuda
