// im2col and col2im for conv2d, NHWC and NCHW (declared in cpu/conv2d_lowering.h).
#include "cpu/conv2d_lowering.h"

#include <algorithm>
#include <cstring>

#include "common/parallel.h"

namespace tb::cpu::conv {

// Output positions o in [lo, hi) of [0, out) whose input coordinate o*stride - off lies in [0, in).
void ValidOut(int64_t in, int64_t out, int64_t stride, int64_t off, int64_t* lo, int64_t* hi) {
  const int64_t l = off > 0 ? (off + stride - 1) / stride : 0;
  const int64_t t = in - 1 + off;
  const int64_t h = t < 0 ? 0 : std::min(out, t / stride + 1);
  *lo = std::min(l, h);
  *hi = h;
}

// cols (r1 - r0, KH*KW*C): row r = (n*OH + oy)*OW + ox holds that window, C contiguous.
void Im2colNhwc(const Conv2dDims& d, const float* x, int64_t r0, int64_t r1, float* cols) {
  const int64_t C = d.c, K = d.kh * d.kw * C, ohw = d.oh * d.ow, rowLen = d.kw * C;
  TB_PARALLEL_FOR((r1 - r0) * K, r, r0, r1, {
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
  });
}

// dx += col2im(dcols) for the rows [r0, r1) of the chunk. Gather form: each task owns one input row
// (n, iy) and pulls from every window that covers it, so threads never write the same cell.
void Col2imNhwc(const Conv2dDims& d, const float* dcols, int64_t r0, int64_t r1, float* dx) {
  const int64_t C = d.c, K = d.kh * d.kw * C, ohw = d.oh * d.ow;
  const int64_t n0 = r0 / ohw, n1 = (r1 - 1) / ohw;
  const int64_t jobs = (n1 - n0 + 1) * d.h;
  TB_PARALLEL_FOR((r1 - r0) * K, j, 0, jobs, {
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
  });
}

namespace {

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

}  // namespace

// cols (C*KH*KW, j1 - j0) for output positions [j0, j1) of one image img (C, H, W).
void Im2colNchw(const Conv2dDims& d, const float* img, int64_t j0, int64_t j1, float* cols) {
  const int64_t khw = d.kh * d.kw, K = d.c * khw, cc = j1 - j0, sW = d.strideW;
  TB_PARALLEL_FOR(K * cc, k, 0, K, {
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
  });
}

// dimg (C, H, W) += col2im(dcols (C*KH*KW, j1 - j0)). Each channel owns its plane: parallel over C.
void Col2imNchw(const Conv2dDims& d, const float* dcols, int64_t j0, int64_t j1, float* dimg) {
  const int64_t khw = d.kh * d.kw, cc = j1 - j0, sW = d.strideW;
  TB_PARALLEL_FOR(d.c * khw * cc, c, 0, d.c, {
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
  });
}

void AddColumnSums(const float* g, int64_t R, int64_t OC, double* db) {
  constexpr int64_t kRun = 64, kCols = 64;
  for (int64_t o0 = 0; o0 < OC; o0 += kCols) {
    const int64_t w = std::min(kCols, OC - o0);
    for (int64_t r0 = 0; r0 < R; r0 += kRun) {
      float acc[kCols] = {};
      const int64_t r1 = std::min(R, r0 + kRun);
      for (int64_t r = r0; r < r1; ++r) {
        const float* row = g + r * OC + o0;
        for (int64_t o = 0; o < w; ++o) acc[o] += row[o];
      }
      for (int64_t o = 0; o < w; ++o) db[o0 + o] += acc[o];
    }
  }
}

void MaskRelu(const float* dy, const float* y, int64_t n, float* out) {
  TB_PARALLEL_FOR(n, i, 0, n, { out[i] = y[i] > 0.f ? dy[i] : 0.f; });
}

void PackImplicitWeights(const Conv2dDims& d, const float* weight, bool forInputGrad, int64_t b, float* packed) {
  const int64_t taps = d.kh * d.kw, C = d.c, OC = d.oc;
  if (!forInputGrad) {
    // packed[ob][t][c][0:b] = W[t][c][ob*b + j]; W is (KH, KW, C, OC)
    for (int64_t ob = 0; ob < OC / b; ++ob)
      for (int64_t t = 0; t < taps; ++t)
        for (int64_t c = 0; c < C; ++c)
          std::memcpy(packed + ((ob * taps + t) * C + c) * b, weight + (t * C + c) * OC + ob * b, sizeof(float) * b);
    return;
  }
  // The input gradient convolves the padded dy (OC channels) into C channels with the kernel
  // flipped: packed[cb][t'][o][0:b] = W[taps-1-t'][cb*b + j][o]
  for (int64_t cb = 0; cb < C / b; ++cb)
    for (int64_t t = 0; t < taps; ++t)
      for (int64_t o = 0; o < OC; ++o) {
        float* dst = packed + ((cb * taps + t) * OC + o) * b;
        const float* src = weight + ((taps - 1 - t) * C + cb * b) * OC + o;
        for (int64_t j = 0; j < b; ++j) dst[j] = src[j * OC];
      }
}

}  // namespace tb::cpu::conv
