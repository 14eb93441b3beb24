// Max and average pooling, NCHW and NHWC. NCHW loops run one (n, c) plane per task; NHWC loops run
// one output (or input) row per task with the C channels as the contiguous, vectorized inner loop.
// Average-pool backward is written as a gather (each input cell sums the windows covering it), so
// overlapping windows never make two threads write the same cell.
#include "cpu/pool2d.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <string>
#include <vector>

#include "common/parallel.h"
#include "cpu/isa.h"

namespace tb::cpu {

namespace pool_detail {
using Fn = void (*)(const Pool2dDims&, const float*, float*, int32_t*);
Fn MaxPool2x2NchwAvx512();  // pool2d_avx512.cc; null without x86 target support
}  // namespace pool_detail

namespace {

struct Span {
  int64_t lo, hi;  // [lo, hi)
};

// Input cells of window o along one axis, clipped to [0, in).
inline Span Window(int64_t o, int64_t stride, int64_t pad, int64_t k, int64_t in) {
  const int64_t s = o * stride - pad;
  return {std::max<int64_t>(0, s), std::min(in, s + k)};
}

inline int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Windows [lo, hi) of [0, out) that contain input coordinate i along one axis.
inline Span Covering(int64_t i, int64_t stride, int64_t pad, int64_t k, int64_t out) {
  const int64_t lo = std::max<int64_t>(0, FloorDiv(i + pad - k, stride) + 1);
  const int64_t hi = std::min(out, FloorDiv(i + pad, stride) + 1);
  return {lo, std::max(lo, hi)};
}

// Most input cells one window visits (kernels may be far larger than the input; kh*kw could overflow).
inline int64_t Cells(const Pool2dDims& d) { return std::min(d.kh, d.h) * std::min(d.kw, d.w); }

inline bool Better(float v, float best) { return v > best || std::isnan(v); }

// a % d for 32-bit a and d without a division (Lemire, Kaser & Kurz, "Faster remainder by direct
// computation", 2019): m = floor((2^64 - 1) / d) + 1, then a % d = ((m * a mod 2^64) * d) >> 64.
inline uint64_t FastModConstant(uint32_t d) { return UINT64_MAX / d + 1; }
inline uint32_t FastMod(uint32_t a, uint64_t m, uint32_t d) {
  return static_cast<uint32_t>((static_cast<__uint128_t>(m * a) * d) >> 64);
}

}  // namespace

void MaxPool2dForward(const Pool2dDims& d, const float* x, float* y, int32_t* argmax) {
  const int64_t work = d.n * d.c * d.oh * d.ow * Cells(d);
  if (!d.nhwc && d.kh == 2 && d.kw == 2 && d.strideH == 2 && d.strideW == 2 && d.padTop == 0 && d.padLeft == 0 &&
      2 * d.oh <= d.h && 2 * d.ow <= d.w) {
    // The usual 2 x 2 window, stride 2: branch-free, the four cells compared in window order
    // (Better()), so the compiler vectorizes across output columns (a branch per cell mispredicted
    // on real activations); with AVX-512, a kernel of whole rows (pool2d_avx512.cc).
    if (ActiveIsa() == Isa::kAvx512)
      if (const auto f = pool_detail::MaxPool2x2NchwAvx512()) return f(d, x, y, argmax);
    const int64_t hw = d.h * d.w, ohw = d.oh * d.ow;
    TB_PARALLEL_FOR(work, pl, 0, d.n * d.c, {
      const float* xp = x + pl * hw;
      for (int64_t oy = 0; oy < d.oh; ++oy) {
        const float* __restrict a = xp + 2 * oy * d.w;
        const float* __restrict b = a + d.w;
        float* __restrict yr = y + pl * ohw + oy * d.ow;
        int32_t* __restrict ar = argmax + pl * ohw + oy * d.ow;
        const int32_t base = static_cast<int32_t>(pl * hw + 2 * oy * d.w);
        const int32_t w32 = static_cast<int32_t>(d.w);
        for (int64_t ox = 0; ox < d.ow; ++ox) {
          const int32_t i0 = base + static_cast<int32_t>(2 * ox);
          float best = a[2 * ox];
          int32_t bi = i0;
          const float v1 = a[2 * ox + 1], v2 = b[2 * ox], v3 = b[2 * ox + 1];
          bool t = v1 > best || v1 != v1;
          best = t ? v1 : best, bi = t ? i0 + 1 : bi;
          t = v2 > best || v2 != v2;
          best = t ? v2 : best, bi = t ? i0 + w32 : bi;
          t = v3 > best || v3 != v3;
          best = t ? v3 : best, bi = t ? i0 + w32 + 1 : bi;
          yr[ox] = best;
          ar[ox] = bi;
        }
      }
    });
    return;
  }
  if (!d.nhwc) {
    const int64_t hw = d.h * d.w, ohw = d.oh * d.ow;
    TB_PARALLEL_FOR(work, pl, 0, d.n * d.c, {
      const float* xp = x + pl * hw;
      for (int64_t oy = 0; oy < d.oh; ++oy) {
        const Span ry = Window(oy, d.strideH, d.padTop, d.kh, d.h);
        for (int64_t ox = 0; ox < d.ow; ++ox) {
          const Span rx = Window(ox, d.strideW, d.padLeft, d.kw, d.w);
          int64_t bi = ry.lo * d.w + rx.lo;
          float best = xp[bi];
          for (int64_t iy = ry.lo; iy < ry.hi; ++iy)
            for (int64_t ix = rx.lo; ix < rx.hi; ++ix) {
              const float v = xp[iy * d.w + ix];
              if (Better(v, best)) {
                best = v;
                bi = iy * d.w + ix;
              }
            }
          y[pl * ohw + oy * d.ow + ox] = best;
          argmax[pl * ohw + oy * d.ow + ox] = static_cast<int32_t>(pl * hw + bi);
        }
      }
    });
    return;
  }
  const int64_t C = d.c;
  TB_PARALLEL_FOR(work, job, 0, d.n * d.oh, {
    const int64_t n = job / d.oh, oy = job % d.oh;
    const Span ry = Window(oy, d.strideH, d.padTop, d.kh, d.h);
    for (int64_t ox = 0; ox < d.ow; ++ox) {
      const Span rx = Window(ox, d.strideW, d.padLeft, d.kw, d.w);
      float* __restrict yr = y + ((n * d.oh + oy) * d.ow + ox) * C;
      int32_t* __restrict ar = argmax + ((n * d.oh + oy) * d.ow + ox) * C;
      bool first = true;
      for (int64_t iy = ry.lo; iy < ry.hi; ++iy)
        for (int64_t ix = rx.lo; ix < rx.hi; ++ix) {
          const int64_t base = ((n * d.h + iy) * d.w + ix) * C;
          const float* __restrict src = x + base;
          const int32_t b32 = static_cast<int32_t>(base);
          if (first) {
            for (int64_t c = 0; c < C; ++c) {
              yr[c] = src[c];
              ar[c] = b32 + static_cast<int32_t>(c);
            }
            first = false;
            continue;
          }
          // Branch-free select (Better(): larger, or NaN) so the channel loop vectorizes.
          for (int64_t c = 0; c < C; ++c) {
            const float v = src[c], b = yr[c];
            const bool take = v > b || v != v;
            yr[c] = take ? v : b;
            ar[c] = take ? b32 + static_cast<int32_t>(c) : ar[c];
          }
        }
    }
  });
}

Status MaxPool2dBackward(const Pool2dDims& d, const float* dy, const int32_t* argmax, float* dx) {
  // A task owns one NCHW plane or one NHWC image; an index outside it would race with (or escape)
  // another task, so it is rejected, never followed.
  const int64_t groups = d.nhwc ? d.n : d.n * d.c;
  const int64_t inPer = d.nhwc ? d.h * d.w * d.c : d.h * d.w;
  const int64_t outPer = d.nhwc ? d.oh * d.ow * d.c : d.oh * d.ow;
  const int64_t C = d.c;
  int64_t bad = INT64_MAX;  // first position whose index is invalid
  const uint64_t modC = FastModConstant(static_cast<uint32_t>(C));
#ifdef _OPENMP
#pragma omp parallel for schedule(static) reduction(min : bad) if (groups * (inPer + outPer) >= kParallelGrain)
#endif
  for (int64_t g = 0; g < groups; ++g) {
    float* dg = dx + g * inPer;
    std::fill(dg, dg + inPer, 0.f);
    const int64_t lo = g * inPer;
    // c: the channel of output i (NHWC), kept by a counter; a's channel by a multiply-only modulo.
    for (int64_t i = 0, c = 0; i < outPer; ++i) {
      const int64_t pos = g * outPer + i;
      const int64_t a = argmax[pos] - lo;
      if (a < 0 || a >= inPer || (d.nhwc && FastMod(static_cast<uint32_t>(a), modC, static_cast<uint32_t>(C)) != c)) {
        bad = std::min(bad, pos);
      } else {
        dg[a] += dy[pos];
      }
      if (d.nhwc && ++c == C) c = 0;
    }
  }
  if (bad != INT64_MAX)
    return Status::Error("argmax[" + std::to_string(bad) + "] = " + std::to_string(argmax[bad]) +
                         " is not an input cell of that output's " + (d.nhwc ? "image and channel" : "(n, c) plane"));
  return Status::Ok();
}

void AvgPool2dForward(const Pool2dDims& d, const float* x, float* y) {
  const int64_t work = d.n * d.c * d.oh * d.ow * Cells(d);
  if (!d.nhwc) {
    const int64_t hw = d.h * d.w, ohw = d.oh * d.ow;
    TB_PARALLEL_FOR(work, pl, 0, d.n * d.c, {
      const float* xp = x + pl * hw;
      for (int64_t oy = 0; oy < d.oh; ++oy) {
        const Span ry = Window(oy, d.strideH, d.padTop, d.kh, d.h);
        for (int64_t ox = 0; ox < d.ow; ++ox) {
          const Span rx = Window(ox, d.strideW, d.padLeft, d.kw, d.w);
          float s = 0.f;
          for (int64_t iy = ry.lo; iy < ry.hi; ++iy)
            for (int64_t ix = rx.lo; ix < rx.hi; ++ix) s += xp[iy * d.w + ix];
          y[pl * ohw + oy * d.ow + ox] = s / static_cast<float>((ry.hi - ry.lo) * (rx.hi - rx.lo));
        }
      }
    });
    return;
  }
  const int64_t C = d.c;
  TB_PARALLEL_FOR(work, job, 0, d.n * d.oh, {
    const int64_t n = job / d.oh, oy = job % d.oh;
    const Span ry = Window(oy, d.strideH, d.padTop, d.kh, d.h);
    for (int64_t ox = 0; ox < d.ow; ++ox) {
      const Span rx = Window(ox, d.strideW, d.padLeft, d.kw, d.w);
      float* yr = y + ((n * d.oh + oy) * d.ow + ox) * C;
      std::fill(yr, yr + C, 0.f);
      for (int64_t iy = ry.lo; iy < ry.hi; ++iy)
        for (int64_t ix = rx.lo; ix < rx.hi; ++ix) {
          const float* src = x + ((n * d.h + iy) * d.w + ix) * C;
          for (int64_t c = 0; c < C; ++c) yr[c] += src[c];
        }
      const float inv = 1.f / static_cast<float>((ry.hi - ry.lo) * (rx.hi - rx.lo));
      for (int64_t c = 0; c < C; ++c) yr[c] *= inv;
    }
  });
}

void AvgPool2dBackward(const Pool2dDims& d, const float* dy, float* dx) {
  // Window sizes factor into rows x columns, so 1/count is a product of two per-axis reciprocals.
  std::vector<float> invH(static_cast<size_t>(d.oh)), invW(static_cast<size_t>(d.ow));
  for (int64_t o = 0; o < d.oh; ++o) {
    const Span r = Window(o, d.strideH, d.padTop, d.kh, d.h);
    invH[o] = 1.f / static_cast<float>(r.hi - r.lo);
  }
  for (int64_t o = 0; o < d.ow; ++o) {
    const Span r = Window(o, d.strideW, d.padLeft, d.kw, d.w);
    invW[o] = 1.f / static_cast<float>(r.hi - r.lo);
  }
  const int64_t work = d.n * d.c * d.h * d.w * Cells(d);
  const int64_t C = d.nhwc ? d.c : 1;            // contiguous channels per cell
  const int64_t rows = d.n * (d.nhwc ? 1 : d.c) * d.h;  // one task per input row of a plane/image
  TB_PARALLEL_FOR(work, job, 0, rows, {
    const int64_t g = job / d.h, iy = job % d.h;  // g: image (NHWC) or plane (NCHW)
    const Span cy = Covering(iy, d.strideH, d.padTop, d.kh, d.oh);
    const float* dyg = dy + g * d.oh * d.ow * C;
    for (int64_t ix = 0; ix < d.w; ++ix) {
      float* out = dx + ((g * d.h + iy) * d.w + ix) * C;
      std::fill(out, out + C, 0.f);
      const Span cx = Covering(ix, d.strideW, d.padLeft, d.kw, d.ow);
      for (int64_t oy = cy.lo; oy < cy.hi; ++oy)
        for (int64_t ox = cx.lo; ox < cx.hi; ++ox) {
          const float s = invH[oy] * invW[ox];
          const float* src = dyg + (oy * d.ow + ox) * C;
          for (int64_t c = 0; c < C; ++c) out[c] += src[c] * s;
        }
    }
  });
}

}  // namespace tb::cpu
