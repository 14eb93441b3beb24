// Batch normalization forward and backward. Both need per-channel sums over (outer, inner); they are
// taken in double over a fixed number of chunks that depends only on the problem size, then added in
// chunk order, so the result is bit-identical on any thread count.
#include "cpu/batchnorm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/parallel.h"

namespace tb::cpu {
namespace {

// A chunk should hold enough values to amortize its accumulator; 64 chunks keep 16 cores busy.
constexpr int64_t kChunkElems = 1 << 14;
constexpr int64_t kMaxChunks = 64;

// Accumulators reused across calls (grow only), one set per calling thread.
std::vector<double>& Scratch(size_t n) {
  thread_local std::vector<double> buf;
  if (buf.size() < n) buf.resize(n);
  return buf;
}

// For each channel c: s1[c] = sum of a, s2[c] = sum of b over all (o, i), where
// pair(c, j, a, b) yields the two terms of flat element j (in channel c).
template <class Pair>
void ChannelSums(int64_t outer, int64_t C, int64_t inner, const Pair& pair, double* s1, double* s2) {
  // Units are rows of C values when inner == 1 (NHWC, (N, C)), else (o, c) runs of inner values.
  const bool rows = inner == 1;
  const int64_t units = rows ? outer : outer * C;
  const int64_t total = outer * C * inner;
  const int64_t chunks = std::max<int64_t>(1, std::min({units, total / kChunkElems, kMaxChunks}));
  std::vector<double>& acc = Scratch(static_cast<size_t>(chunks * 2 * C));
  auto chunk = [&](int64_t k) {
    double* a1 = acc.data() + k * 2 * C;
    double* a2 = a1 + C;
    std::fill(a1, a1 + 2 * C, 0.0);
    const int64_t u0 = units * k / chunks, u1 = units * (k + 1) / chunks;
    if (rows) {
      for (int64_t o = u0; o < u1; ++o) {
        const int64_t base = o * C;
        // Independent channels per lane: vectorizes without reassociating any one sum.
        for (int64_t c = 0; c < C; ++c) {
          double a, b;
          pair(c, base + c, a, b);
          a1[c] += a;
          a2[c] += b;
        }
      }
    } else {
      for (int64_t u = u0; u < u1; ++u) {
        const int64_t c = u % C, base = u * inner;
        double sa = 0, sb = 0;
#ifdef _OPENMP
#pragma omp simd reduction(+ : sa, sb)
#endif
        for (int64_t i = 0; i < inner; ++i) {
          double a, b;
          pair(c, base + i, a, b);
          sa += a;
          sb += b;
        }
        a1[c] += sa;
        a2[c] += sb;
      }
    }
  };
  // The chunk is a lambda: its body holds an `omp simd` line, which cannot go in a macro argument.
  TB_PARALLEL_FOR_IF(chunks > 1, k, 0, chunks, { chunk(k); });
  for (int64_t c = 0; c < C; ++c) {
    double t1 = 0, t2 = 0;
    for (int64_t k = 0; k < chunks; ++k) {
      t1 += acc[k * 2 * C + c];
      t2 += acc[k * 2 * C + C + c];
    }
    s1[c] = t1;
    s2[c] = t2;
  }
}

// out[j] = f(c, j) over (outer, C, inner), in parallel.
template <class F>
void ForEach(int64_t outer, int64_t C, int64_t inner, const F& f) {
  const int64_t total = outer * C * inner;
  if (inner == 1) {
    TB_PARALLEL_FOR(total, o, 0, outer, {
      for (int64_t c = 0; c < C; ++c) f(c, o * C + c); });
  } else {
    TB_PARALLEL_FOR(total, u, 0, outer * C, {
      const int64_t c = u % C, base = u * inner;
      for (int64_t i = 0; i < inner; ++i) f(c, base + i);
    });
  }
}

}  // namespace

Status BatchNormForward(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                        float* invstd, float* runningMean, float* runningVar, int64_t outer, int64_t C,
                        int64_t inner, double momentum, double eps, bool training) {
  const int64_t M = outer * inner;
  if (training) {
    // Sums of x - shift[c] with shift a sample of the channel: the one-pass variance stays exact in
    // double because the shifted values are on the scale of the spread, not of the mean.
    std::vector<float> shift(static_cast<size_t>(C), 0.f);
    if (M > 0)
      for (int64_t c = 0; c < C; ++c) shift[c] = x[c * inner];
    const float* sh = shift.data();
    std::vector<double> s1(static_cast<size_t>(C)), s2(static_cast<size_t>(C));
    ChannelSums(outer, C, inner,
                [x, sh](int64_t c, int64_t j, double& a, double& b) {
                  a = static_cast<double>(x[j]) - sh[c];
                  b = a * a;
                },
                s1.data(), s2.data());
    for (int64_t c = 0; c < C; ++c) {
      if (M == 0) {
        mean[c] = 0.f;
        invstd[c] = static_cast<float>(1.0 / std::sqrt(eps));
        continue;
      }
      const double d = s1[c] / M;
      const double var = std::max(0.0, s2[c] / M - d * d);
      const double mu = sh[c] + d;
      mean[c] = static_cast<float>(mu);
      invstd[c] = static_cast<float>(1.0 / std::sqrt(var + eps));
      const double unbiased = M > 1 ? var * M / (M - 1) : var;
      runningMean[c] = static_cast<float>((1 - momentum) * runningMean[c] + momentum * mu);
      runningVar[c] = static_cast<float>((1 - momentum) * runningVar[c] + momentum * unbiased);
    }
  } else {
    for (int64_t c = 0; c < C; ++c)
      if (!(static_cast<double>(runningVar[c]) + eps > 0))
        return Status::Error("runningVar[" + std::to_string(c) + "] = " + std::to_string(runningVar[c]) +
                             " gives a non-positive variance + eps");
    for (int64_t c = 0; c < C; ++c) {
      mean[c] = runningMean[c];
      invstd[c] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(runningVar[c]) + eps));
    }
  }
  // y = (x - mean) * (gamma * invstd) + beta: subtracting first keeps precision when |mean| >> std.
  std::vector<float> scale(static_cast<size_t>(C)), bias(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    scale[c] = static_cast<float>((gamma ? static_cast<double>(gamma[c]) : 1.0) * invstd[c]);
    bias[c] = beta ? beta[c] : 0.f;
  }
  const float *sc = scale.data(), *bi = bias.data();
  ForEach(outer, C, inner, [=](int64_t c, int64_t j) { y[j] = (x[j] - mean[c]) * sc[c] + bi[c]; });
  return Status::Ok();
}

void BatchNormBackward(const float* x, const float* gamma, const float* mean, const float* invstd,
                       const float* dy, float* dx, float* dgamma, float* dbeta, int64_t outer, int64_t C,
                       int64_t inner) {
  const int64_t M = outer * inner;
  std::vector<double> sdy(static_cast<size_t>(C)), sdyx(static_cast<size_t>(C));
  ChannelSums(outer, C, inner,
              [x, dy, mean](int64_t c, int64_t j, double& a, double& b) {
                a = dy[j];
                b = static_cast<double>(dy[j]) * (static_cast<double>(x[j]) - mean[c]);
              },
              sdy.data(), sdyx.data());
  for (int64_t c = 0; c < C; ++c) {
    if (dbeta) dbeta[c] = static_cast<float>(sdy[c]);
    if (dgamma) dgamma[c] = static_cast<float>(sdyx[c] * invstd[c]);
  }
  if (!dx || M == 0) return;
  // dx = k1*dy + k2*(x - mean) + k3, per channel.
  std::vector<float> k1(static_cast<size_t>(C)), k2(static_cast<size_t>(C)), k3(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    const double is = invstd[c], g = (gamma ? static_cast<double>(gamma[c]) : 1.0) * is;
    k1[c] = static_cast<float>(g);
    k2[c] = static_cast<float>(-g * is * is * sdyx[c] / M);
    k3[c] = static_cast<float>(-g * sdy[c] / M);
  }
  const float *p1 = k1.data(), *p2 = k2.data(), *p3 = k3.data();
  ForEach(outer, C, inner,
          [=](int64_t c, int64_t j) { dx[j] = p1[c] * dy[j] + p2[c] * (x[j] - mean[c]) + p3[c]; });
}

}  // namespace tb::cpu
