// Softmax, log-softmax and the fused softmax + cross-entropy, forward and backward side by side.
//
// Contiguous rows (inner == 1, the common (N, C) case) run row by row, threads over rows. For a
// strided axis (inner > 1) a row's elements are `inner` apart, so we sweep blocks of kBlock
// neighbouring columns together: every pass over dim then reads contiguous runs and vectorizes
// across the block, with the per-column max and sum in stack arrays (no heap scratch).
// GCC by default assumes FP operations may trap, so it will not if-convert the selects below
// (a ? a*x : x) and leaves those loops scalar; we never enable FP exceptions, so tell it so
// (Clang already assumes this). Must precede the includes so the inline helpers get it too.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "cpu/softmax_xent.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "common/parallel.h"
#include "cpu/activation_math.h"

namespace tb::cpu {
namespace {

constexpr int64_t kBlock = 64;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Max and sum with 8 independent partials: without -ffast-math the compiler may not reorder a
// float reduction, so one accumulator would serialize the loop (and lose more precision).
inline float RowMax(const float* x, int64_t d) {
  float m[8] = {kNegInf, kNegInf, kNegInf, kNegInf, kNegInf, kNegInf, kNegInf, kNegInf};
  int64_t j = 0;
  for (; j + 8 <= d; j += 8)
    for (int k = 0; k < 8; ++k) m[k] = x[j + k] > m[k] ? x[j + k] : m[k];
  for (; j < d; ++j) m[0] = x[j] > m[0] ? x[j] : m[0];
  float r = m[0];
  for (int k = 1; k < 8; ++k) r = m[k] > r ? m[k] : r;
  return r;
}

// sum_j f(j) over [0, d), in 8 independent partials.
template <class F>
inline float Sum8(int64_t d, F f) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= d; j += 8)
    for (int k = 0; k < 8; ++k) s[k] += f(j + k);
  for (; j < d; ++j) s[0] += f(j);
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

inline float RowSum(const float* x, int64_t d) {
  return Sum8(d, [x](int64_t j) { return x[j]; });
}

inline float RowDot(const float* a, const float* b, int64_t d) {
  return Sum8(d, [a, b](int64_t j) { return a[j] * b[j]; });
}

// y[j] = exp(x[j] - m); returns the sum.
inline float ExpShifted(const float* x, float* y, int64_t d, float m) {
  for (int64_t j = 0; j < d; ++j) y[j] = FastExp(x[j] - m);
  return RowSum(y, d);
}

// One contiguous row of length d.
inline void SoftmaxRow(const float* x, float* y, int64_t d, bool log) {
  const float m = RowMax(x, d);
  if (log) {
    // log-softmax = (x - m) - log(sum exp(x - m)); y holds exp(x - m) only transiently. Adding m
    // and the log first would round at m's scale and lose the small differences between logits.
    const float ls = std::log(ExpShifted(x, y, d, m));
    for (int64_t j = 0; j < d; ++j) y[j] = (x[j] - m) - ls;
  } else {
    const float inv = 1.0f / ExpShifted(x, y, d, m);
    for (int64_t j = 0; j < d; ++j) y[j] *= inv;
  }
}

// Columns [i0, i0 + w) of one (dim, inner) slab; x and y point at the slab's start.
void SoftmaxColumns(const float* x, float* y, int64_t dim, int64_t inner, int64_t i0, int64_t w, bool log) {
  float m[kBlock], s[kBlock];
  for (int64_t k = 0; k < w; ++k) m[k] = kNegInf, s[k] = 0.0f;
  for (int64_t d = 0; d < dim; ++d) {
    const float* xr = x + d * inner + i0;
    for (int64_t k = 0; k < w; ++k) m[k] = xr[k] > m[k] ? xr[k] : m[k];
  }
  for (int64_t d = 0; d < dim; ++d) {
    const float* xr = x + d * inner + i0;
    float* yr = y + d * inner + i0;
    for (int64_t k = 0; k < w; ++k) {
      const float e = FastExp(xr[k] - m[k]);
      yr[k] = e;
      s[k] += e;
    }
  }
  if (log) {
    for (int64_t k = 0; k < w; ++k) s[k] = std::log(s[k]);
    for (int64_t d = 0; d < dim; ++d) {
      const float* xr = x + d * inner + i0;
      float* yr = y + d * inner + i0;
      for (int64_t k = 0; k < w; ++k) yr[k] = (xr[k] - m[k]) - s[k];
    }
  } else {
    for (int64_t k = 0; k < w; ++k) s[k] = 1.0f / s[k];
    for (int64_t d = 0; d < dim; ++d) {
      float* yr = y + d * inner + i0;
      for (int64_t k = 0; k < w; ++k) yr[k] *= s[k];
    }
  }
}

void SoftmaxBackwardColumns(const float* y, const float* dy, float* dx, int64_t dim, int64_t inner, int64_t i0,
                            int64_t w, bool log) {
  float s[kBlock];
  for (int64_t k = 0; k < w; ++k) s[k] = 0.0f;
  for (int64_t d = 0; d < dim; ++d) {
    const int64_t o = d * inner + i0;
    if (log)
      for (int64_t k = 0; k < w; ++k) s[k] += dy[o + k];
    else
      for (int64_t k = 0; k < w; ++k) s[k] += dy[o + k] * y[o + k];
  }
  for (int64_t d = 0; d < dim; ++d) {
    const int64_t o = d * inner + i0;
    if (log)
      for (int64_t k = 0; k < w; ++k) dx[o + k] = dy[o + k] - FastExp(y[o + k]) * s[k];
    else
      for (int64_t k = 0; k < w; ++k) dx[o + k] = y[o + k] * (dy[o + k] - s[k]);
  }
}

}  // namespace

void SoftmaxForward(const float* x, float* y, int64_t outer, int64_t dim, int64_t inner, bool log) {
  if (dim == 0) return;
  if (inner == 1) {
    TB_PARALLEL_FOR(outer * dim, o, 0, outer, { SoftmaxRow(x + o * dim, y + o * dim, dim, log); });
    return;
  }
  const int64_t blocks = (inner + kBlock - 1) / kBlock, tasks = outer * blocks;
  TB_PARALLEL_FOR(outer * dim * inner, t, 0, tasks, {
    const int64_t o = t / blocks, i0 = (t % blocks) * kBlock;
    SoftmaxColumns(x + o * dim * inner, y + o * dim * inner, dim, inner, i0, std::min(kBlock, inner - i0), log);
  });
}

void SoftmaxBackward(const float* y, const float* dy, float* dx, int64_t outer, int64_t dim, int64_t inner,
                     bool log) {
  if (dim == 0) return;
  if (inner == 1) {
    TB_PARALLEL_FOR(outer * dim, o, 0, outer, {
      const float* yr = y + o * dim;
      const float* g = dy + o * dim;
      float* r = dx + o * dim;
      if (log) {
        const float s = RowSum(g, dim);
        for (int64_t j = 0; j < dim; ++j) r[j] = g[j] - FastExp(yr[j]) * s;
      } else {
        const float s = RowDot(g, yr, dim);
        for (int64_t j = 0; j < dim; ++j) r[j] = yr[j] * (g[j] - s);
      }
    });
    return;
  }
  const int64_t blocks = (inner + kBlock - 1) / kBlock, tasks = outer * blocks;
  TB_PARALLEL_FOR(outer * dim * inner, t, 0, tasks, {
    const int64_t o = t / blocks, i0 = (t % blocks) * kBlock, off = o * dim * inner;
    SoftmaxBackwardColumns(y + off, dy + off, dx + off, dim, inner, i0, std::min(kBlock, inner - i0), log);
  });
}

Status CheckLabels(const int32_t* labels, int64_t n, int64_t c) {
  for (int64_t i = 0; i < n; ++i)
    if (labels[i] < 0 || labels[i] >= c)
      return Status::Error("label " + std::to_string(labels[i]) + " of sample " + std::to_string(i) +
                           " is outside [0, " + std::to_string(c) + ")");
  return Status::Ok();
}

Status SoftmaxXentForward(const float* logits, int64_t n, int64_t c, const int32_t* labels, const float* targets,
                          float smoothing, float* probs, float* loss) {
  // Labels are checked up front so a bad one leaves every output untouched (and no thread has to
  // report from inside the parallel loop).
  if (labels) {
    Status st = CheckLabels(labels, n, c);
    if (!st.ok) return st;
  }
  const float keep = 1.0f - smoothing, spread = c > 0 ? smoothing / static_cast<float>(c) : 0.0f;
  TB_PARALLEL_FOR(n * c, i, 0, n, {
    const float* z = logits + i * c;
    float* p = probs + i * c;
    const float m = RowMax(z, c);
    const float s = ExpShifted(z, p, c, m);
    const float inv = 1.0f / s;
    for (int64_t j = 0; j < c; ++j) p[j] *= inv;
    // -log p_j = lse - (z_j - m), with lse the log-sum-exp of the shifted logits (>= 0).
    const float lse = std::log(s);
    if (labels) {
      if (smoothing != 0.0f) {
        // mean_j(-log p_j) = lse - mean_j(z_j - m), summed in double: logits near the ends of the
        // float range overflow a float sum (the fuzzer's row 3.4e38, 0, 0, 3.4e38 summed to inf and
        // the loss came out -inf) although the loss itself is finite.
        double shift = 0.0;
        for (int64_t j = 0; j < c; ++j) shift += static_cast<double>(z[j]) - m;
        const double nllWide = static_cast<double>(lse) - (static_cast<double>(z[labels[i]]) - m);
        loss[i] = static_cast<float>(keep * nllWide + smoothing * (lse - shift / static_cast<double>(c)));
      } else {
        loss[i] = lse - (z[labels[i]] - m);
      }
    } else {
      const float* t = targets + i * c;
      loss[i] = Sum8(c, [=](int64_t j) {
        const float tj = keep * t[j] + spread;
        // z_j - m in double: it leaves the float range when z_j and m sit at opposite ends of it
        const float term = static_cast<float>(tj * (lse - (static_cast<double>(z[j]) - m)));
        return tj != 0.0f ? term : 0.0f;
      });
    }
  });
  return Status::Ok();
}

Status SoftmaxXentBackward(const float* probs, int64_t n, int64_t c, const int32_t* labels, const float* targets,
                           float smoothing, const float* dloss, float* dlogits) {
  if (labels) {
    Status st = CheckLabels(labels, n, c);
    if (!st.ok) return st;
  }
  const float keep = 1.0f - smoothing, spread = c > 0 ? smoothing / static_cast<float>(c) : 0.0f;
  TB_PARALLEL_FOR(n * c, i, 0, n, {
    const float* p = probs + i * c;
    float* g = dlogits + i * c;
    const float dl = dloss[i];
    if (labels) {
      for (int64_t j = 0; j < c; ++j) g[j] = dl * (p[j] - spread);
      g[labels[i]] -= dl * keep;
    } else {
      const float* t = targets + i * c;
      const float sumT = keep * RowSum(t, c) + smoothing;
      for (int64_t j = 0; j < c; ++j) g[j] = dl * (p[j] * sumT - (keep * t[j] + spread));
    }
  });
  return Status::Ok();
}

}  // namespace tb::cpu
