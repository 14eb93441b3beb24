// Conv2d as im2col + GEMM, in chunks so the column buffer stays a couple of MB however large the
// batch: NHWC chunks are runs of output rows of the (N*OH*OW, OC) output (they may cross image
// boundaries, which lets small images share one large GEMM); NCHW chunks are runs of one image's
// output positions. Column buffers are thread_local and only grow, so a training loop allocates them
// once. A 1x1, stride-1, unpadded convolution skips im2col: x already is the column matrix.
#include "cpu/conv2d.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "common/parallel.h"
#include "cpu/gemm.h"

namespace tb::cpu {
namespace {

// Floats per column buffer: large enough for efficient GEMM panels, small enough to stay cached.
constexpr int64_t kChunkFloats = int64_t{1} << 19;

struct Workspace {
  std::unique_ptr<float[]> data;
  int64_t size = 0;
  float* Get(int64_t n) {
    if (n > size) {
      data.reset(new (std::nothrow) float[static_cast<size_t>(n)]);
      size = data ? n : 0;
    }
    return data.get();
  }
};
// One pair per calling thread (the main thread or a worker_thread), so concurrent callers never share.
thread_local Workspace t_cols, t_dcols;

// Output positions o in [lo, hi) of [0, out) whose input coordinate o*stride - off lies in [0, in).
inline void ValidOut(int64_t in, int64_t out, int64_t stride, int64_t off, int64_t* lo, int64_t* hi) {
  const int64_t l = off > 0 ? (off + stride - 1) / stride : 0;
  const int64_t t = in - 1 + off;
  const int64_t h = t < 0 ? 0 : std::min(out, t / stride + 1);
  *lo = std::min(l, h);
  *hi = h;
}

bool Direct(const Conv2dDims& d) {
  return d.kh == 1 && d.kw == 1 && d.strideH == 1 && d.strideW == 1 && d.padTop == 0 && d.padLeft == 0;
}

// cols (r1 - r0, KH*KW*C): row r = (n*OH + oy)*OW + ox holds that window, C contiguous.
void Im2colNhwc(const Conv2dDims& d, const float* x, int64_t r0, int64_t r1, float* cols) {
  const int64_t C = d.c, K = d.kh * d.kw * C, ohw = d.oh * d.ow, rowLen = d.kw * C;
  TB_PARALLEL_FOR((r1 - r0) * K)
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t n = r / ohw, p = r % ohw, oy = p / d.ow, ox = p % d.ow;
    const int64_t iy0 = oy * d.strideH - d.padTop, ix0 = ox * d.strideW - d.padLeft;
    const int64_t kxLo = std::max<int64_t>(0, -ix0), kxHi = std::min(d.kw, d.w - ix0);
    const float* img = x + n * d.h * d.w * C;
    float* dst = cols + (r - r0) * K;
    for (int64_t ky = 0; ky < d.kh; ++ky) {
      float* row = dst + ky * rowLen;
      const int64_t iy = iy0 + ky;
      if (iy < 0 || iy >= d.h || kxLo >= kxHi) {
        std::memset(row, 0, sizeof(float) * rowLen);
        continue;
      }
      // Consecutive kx read consecutive input pixels: one copy for the whole in-bounds span.
      std::memset(row, 0, sizeof(float) * kxLo * C);
      std::memcpy(row + kxLo * C, img + (iy * d.w + ix0 + kxLo) * C, sizeof(float) * (kxHi - kxLo) * C);
      std::memset(row + kxHi * C, 0, sizeof(float) * (d.kw - kxHi) * C);
    }
  }
}

// dx += col2im(dcols) for the rows [r0, r1) of the chunk. Gather form: each task owns one input row
// (n, iy) and pulls from every window that covers it, so threads never write the same cell.
void Col2imNhwc(const Conv2dDims& d, const float* dcols, int64_t r0, int64_t r1, float* dx) {
  const int64_t C = d.c, K = d.kh * d.kw * C, ohw = d.oh * d.ow;
  const int64_t n0 = r0 / ohw, n1 = (r1 - 1) / ohw;
  const int64_t jobs = (n1 - n0 + 1) * d.h;
  TB_PARALLEL_FOR((r1 - r0) * K)
  for (int64_t j = 0; j < jobs; ++j) {
    const int64_t n = n0 + j / d.h, iy = j % d.h;
    // Output rows of image n inside this chunk.
    const int64_t oyLo = n == n0 ? (r0 - n * ohw) / d.ow : 0;
    const int64_t oyHi = n == n1 ? (r1 - 1 - n * ohw) / d.ow : d.oh - 1;
    float* dst = dx + (n * d.h + iy) * d.w * C;
    for (int64_t ky = 0; ky < d.kh; ++ky) {
      const int64_t t = iy + d.padTop - ky;
      if (t < 0) break;
      if (t % d.strideH) continue;
      const int64_t oy = t / d.strideH;
      if (oy < oyLo || oy > oyHi) continue;
      const int64_t rowBase = (n * d.oh + oy) * d.ow;
      for (int64_t ix = 0; ix < d.w; ++ix) {
        float* out = dst + ix * C;
        for (int64_t kx = 0; kx < d.kw; ++kx) {
          const int64_t u = ix + d.padLeft - kx;
          if (u < 0) break;
          if (u % d.strideW) continue;
          const int64_t ox = u / d.strideW;
          if (ox >= d.ow) continue;
          const int64_t r = rowBase + ox;
          if (r < r0 || r >= r1) continue;
          const float* src = dcols + (r - r0) * K + (ky * d.kw + kx) * C;
          for (int64_t c = 0; c < C; ++c) out[c] += src[c];
        }
      }
    }
  }
}

// Calls f(p, ox0, ox1) for each run of output positions [p, p + ox1 - ox0) of [j0, j1) that stays on
// one output row oy = p / OW.
template <typename F>
inline void ForRows(const Conv2dDims& d, int64_t j0, int64_t j1, F&& f) {
  for (int64_t p = j0; p < j1;) {
    const int64_t ox0 = p % d.ow, ox1 = std::min(d.ow, ox0 + (j1 - p));
    f(p, p / d.ow, ox0, ox1);
    p += ox1 - ox0;
  }
}

// cols (C*KH*KW, j1 - j0) for output positions [j0, j1) of one image img (C, H, W).
void Im2colNchw(const Conv2dDims& d, const float* img, int64_t j0, int64_t j1, float* cols) {
  const int64_t khw = d.kh * d.kw, K = d.c * khw, cc = j1 - j0, sW = d.strideW;
  TB_PARALLEL_FOR(K * cc)
  for (int64_t k = 0; k < K; ++k) {
    const int64_t c = k / khw, ky = (k % khw) / d.kw, kx = k % d.kw;
    const float* plane = img + c * d.h * d.w;
    float* dst = cols + k * cc;
    int64_t oxLo, oxHi;
    ValidOut(d.w, d.ow, sW, d.padLeft - kx, &oxLo, &oxHi);
    ForRows(d, j0, j1, [&](int64_t p, int64_t oy, int64_t ox0, int64_t ox1) {
      float* out = dst + (p - j0);  // out[ox - ox0] is position (oy, ox)
      const int64_t iy = oy * d.strideH - d.padTop + ky;
      const int64_t a = std::clamp(oxLo, ox0, ox1), b = std::clamp(oxHi, a, ox1);
      int64_t ox = ox0;
      if (iy >= 0 && iy < d.h) {
        const int64_t base = iy * d.w + kx - d.padLeft;  // input index of ox is base + ox*sW
        for (; ox < a; ++ox) out[ox - ox0] = 0.f;
        if (sW == 1)
          for (; ox < b; ++ox) out[ox - ox0] = plane[base + ox];
        else
          for (; ox < b; ++ox) out[ox - ox0] = plane[base + ox * sW];
      }
      for (; ox < ox1; ++ox) out[ox - ox0] = 0.f;
    });
  }
}

// dimg (C, H, W) += col2im(dcols (C*KH*KW, j1 - j0)). Each channel owns its plane: parallel over C.
void Col2imNchw(const Conv2dDims& d, const float* dcols, int64_t j0, int64_t j1, float* dimg) {
  const int64_t khw = d.kh * d.kw, cc = j1 - j0, sW = d.strideW;
  TB_PARALLEL_FOR(d.c * khw * cc)
  for (int64_t c = 0; c < d.c; ++c) {
    float* plane = dimg + c * d.h * d.w;
    for (int64_t ky = 0; ky < d.kh; ++ky)
      for (int64_t kx = 0; kx < d.kw; ++kx) {
        const float* src = dcols + ((c * d.kh + ky) * d.kw + kx) * cc;
        int64_t oxLo, oxHi;
        ValidOut(d.w, d.ow, sW, d.padLeft - kx, &oxLo, &oxHi);
        ForRows(d, j0, j1, [&](int64_t p, int64_t oy, int64_t ox0, int64_t ox1) {
          const int64_t iy = oy * d.strideH - d.padTop + ky;
          if (iy < 0 || iy >= d.h) return;
          const int64_t a = std::clamp(oxLo, ox0, ox1), b = std::clamp(oxHi, a, ox1);
          const int64_t base = iy * d.w + kx - d.padLeft;
          const float* s = src + (p - j0);  // s[ox - ox0] is position (oy, ox)
          for (int64_t ox = a; ox < b; ++ox) plane[base + ox * sW] += s[ox - ox0];
        });
      }
  }
}

// dbias[oc] = sum of dy over N and space, accumulated in double (a batch sums ~1e5 terms).
void BiasGrad(const Conv2dDims& d, const float* dy, float* dbias) {
  const int64_t ohw = d.oh * d.ow, OC = d.oc;
  if (d.nhwc) {
    const int64_t rows = d.n * ohw;
    std::vector<double> total(static_cast<size_t>(OC), 0.0);
#ifdef _OPENMP
#pragma omp parallel if (rows * OC >= kParallelGrain)
#endif
    {
      std::vector<double> acc(static_cast<size_t>(OC), 0.0);
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
      for (int64_t r = 0; r < rows; ++r) {
        const float* g = dy + r * OC;
        for (int64_t o = 0; o < OC; ++o) acc[o] += g[o];
      }
#ifdef _OPENMP
#pragma omp critical
#endif
      for (int64_t o = 0; o < OC; ++o) total[o] += acc[o];
    }
    for (int64_t o = 0; o < OC; ++o) dbias[o] = static_cast<float>(total[o]);
  } else {
    TB_PARALLEL_FOR(d.n * ohw * OC)
    for (int64_t o = 0; o < OC; ++o) {
      double s = 0.0;
      for (int64_t n = 0; n < d.n; ++n) {
        const float* g = dy + (n * OC + o) * ohw;
        for (int64_t p = 0; p < ohw; ++p) s += g[p];
      }
      dbias[o] = static_cast<float>(s);
    }
  }
}

}  // namespace

Status Conv2dForward(const Conv2dDims& d, const float* x, const float* weight, const float* bias, float* y) {
  if (d.n == 0) return Status::Ok();
  const int64_t K = d.c * d.kh * d.kw, ohw = d.oh * d.ow, OC = d.oc;
  const bool direct = Direct(d);
  if (d.nhwc) {
    const int64_t rows = d.n * ohw;
    const int64_t chunk = std::clamp<int64_t>(kChunkFloats / K, 1, rows);
    float* cols = direct ? nullptr : t_cols.Get(chunk * K);
    if (!direct && !cols) return Status::Error("out of memory for the im2col workspace");
    for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
      const int64_t r1 = std::min(rows, r0 + chunk), R = r1 - r0;
      const float* A = direct ? x + r0 * K : cols;
      if (!direct) Im2colNhwc(d, x, r0, r1, cols);
      float* yc = y + r0 * OC;
      if (bias)
        for (int64_t r = 0; r < R; ++r) std::memcpy(yc + r * OC, bias, sizeof(float) * OC);
      Sgemm(false, false, R, OC, K, 1.f, A, K, weight, OC, bias ? 1.f : 0.f, yc, OC);
    }
    return Status::Ok();
  }
  const int64_t chunk = std::clamp<int64_t>(kChunkFloats / K, 1, ohw);
  float* cols = direct ? nullptr : t_cols.Get(chunk * K);
  if (!direct && !cols) return Status::Error("out of memory for the im2col workspace");
  for (int64_t n = 0; n < d.n; ++n) {
    const float* img = x + n * d.c * d.h * d.w;
    float* yn = y + n * OC * ohw;
    if (bias)
      for (int64_t o = 0; o < OC; ++o) std::fill(yn + o * ohw, yn + (o + 1) * ohw, bias[o]);
    for (int64_t j0 = 0; j0 < ohw; j0 += chunk) {
      const int64_t j1 = std::min(ohw, j0 + chunk), cc = j1 - j0;
      if (!direct) Im2colNchw(d, img, j0, j1, cols);
      Sgemm(false, false, OC, cc, K, 1.f, weight, K, direct ? img + j0 : cols, direct ? ohw : cc, bias ? 1.f : 0.f,
            yn + j0, ohw);
    }
  }
  return Status::Ok();
}

Status Conv2dBackward(const Conv2dDims& d, const float* x, const float* weight, const float* dy, float* dx,
                      float* dweight, float* dbias) {
  const int64_t K = d.c * d.kh * d.kw, ohw = d.oh * d.ow, OC = d.oc;
  if (dbias) BiasGrad(d, dy, dbias);
  if (d.n == 0) {
    if (dweight) std::fill(dweight, dweight + K * OC, 0.f);
    return Status::Ok();
  }
  if (!dx && !dweight) return Status::Ok();
  const bool direct = Direct(d);
  // direct writes every dx cell with beta = 0; col2im accumulates, so start from zero.
  if (dx && !direct) {
    const int64_t nx = d.n * d.c * d.h * d.w;
    TB_PARALLEL_FOR(nx)
    for (int64_t i = 0; i < nx; ++i) dx[i] = 0.f;
  }
  const int64_t total = d.nhwc ? d.n * ohw : ohw;
  const int64_t chunk = std::clamp<int64_t>(kChunkFloats / K, 1, total);
  float* cols = dweight && !direct ? t_cols.Get(chunk * K) : nullptr;
  float* dcols = dx && !direct ? t_dcols.Get(chunk * K) : nullptr;
  if ((dweight && !direct && !cols) || (dx && !direct && !dcols))
    return Status::Error("out of memory for the im2col workspace");
  bool first = true;
  if (d.nhwc) {
    for (int64_t r0 = 0; r0 < total; r0 += chunk) {
      const int64_t r1 = std::min(total, r0 + chunk), R = r1 - r0;
      const float* g = dy + r0 * OC;
      if (dweight) {
        // dW (K, OC) += cols^T (K, R) @ dy (R, OC)
        if (!direct) Im2colNhwc(d, x, r0, r1, cols);
        Sgemm(true, false, K, OC, R, 1.f, direct ? x + r0 * K : cols, K, g, OC, first ? 0.f : 1.f, dweight, OC);
      }
      if (dx) {
        // dcols (R, K) = dy (R, OC) @ W^T; W is stored (K, OC).
        Sgemm(false, true, R, K, OC, 1.f, g, OC, weight, OC, 0.f, direct ? dx + r0 * K : dcols, K);
        if (!direct) Col2imNhwc(d, dcols, r0, r1, dx);
      }
      first = false;
    }
    return Status::Ok();
  }
  for (int64_t n = 0; n < d.n; ++n) {
    const float* img = x + n * d.c * d.h * d.w;
    const float* gn = dy + n * OC * ohw;
    float* dimg = dx ? dx + n * d.c * d.h * d.w : nullptr;
    for (int64_t j0 = 0; j0 < ohw; j0 += chunk) {
      const int64_t j1 = std::min(ohw, j0 + chunk), cc = j1 - j0;
      if (dweight) {
        // dW (OC, K) += dy_n (OC, cc) @ cols^T (cc, K)
        if (!direct) Im2colNchw(d, img, j0, j1, cols);
        Sgemm(false, true, OC, K, cc, 1.f, gn + j0, ohw, direct ? img + j0 : cols, direct ? ohw : cc,
              first ? 0.f : 1.f, dweight, K);
      }
      if (dx) {
        // dcols (K, cc) = W^T (K, OC) @ dy_n (OC, cc); W is stored (OC, K).
        if (direct) {
          Sgemm(true, false, K, cc, OC, 1.f, weight, K, gn + j0, ohw, 0.f, dimg + j0, ohw);
        } else {
          Sgemm(true, false, K, cc, OC, 1.f, weight, K, gn + j0, ohw, 0.f, dcols, cc);
          Col2imNchw(d, dcols, j0, j1, dimg);
        }
      }
      first = false;
    }
  }
  return Status::Ok();
}

}  // namespace tb::cpu
