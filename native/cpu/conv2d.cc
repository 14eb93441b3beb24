// Conv2d: the per-image implicit-GEMM kernels where they apply (conv2d_implicit.cc: stride 1,
// channels in whole blocks, both layouts), else im2col + GEMM in chunks (a column buffer stays
// cache-sized however large the batch) or direct kernels for small windows.
//
// NHWC (the Keras layout): output rows r = (n, oy, ox) are the GEMM's M. The chunks are tasks for
// the OpenMP team: each thread lowers its chunk into its own buffer and runs a single-threaded GEMM
// on it, with bias and activation applied while the chunk is in cache, so a whole convolution costs
// one fork/join instead of two per chunk, and a thread that the OS descheduled simply takes fewer
// chunks (dynamic schedule). The weight gradient is accumulated in a fixed number of
// per-image-group partials summed in a fixed order, so it does not depend on the thread count or on
// which thread took which chunk. Small windows (K = KH*KW*C <= 16, a first layer on 1-3 channels)
// skip im2col for direct kernels (conv2d_direct.cc). A 1x1, stride-1, unpadded convolution skips
// im2col: x already is the column matrix.
//
// NCHW (nn.Conv2d) outside the implicit kernels: one image at a time, chunks of its output
// positions, each kernel parallel inside.
#include <cmath>
#include "cpu/conv2d.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "common/parallel.h"
#include "cpu/conv2d_lowering.h"
#include "cpu/gemm.h"

namespace tb::cpu {
namespace {

using conv::MaskRelu;
using conv::Workspace;

// Floats per NHWC column buffer: 128K floats = 512 KB, an L2's worth, and still >= 400 GEMM rows
// for the 3x3x32 windows of the MNIST CNN. NCHW keeps its larger buffers (one image per step).
constexpr int64_t kChunkFloats = int64_t{1} << 17;
constexpr int64_t kChunkFloatsNchw = int64_t{1} << 19;
// Window volumes up to this use the direct kernels.
constexpr int64_t kDirectK = 16;
// Weight-gradient partials: at most this many image groups, whatever the thread count.
constexpr int64_t kMaxGroups = 16;

// Per thread (the caller's and each OpenMP worker's), so concurrent tasks never share a buffer.
thread_local Workspace t_cols, t_dcols, t_dy, t_partials;

bool OneByOne(const Conv2dDims& d) {
  return d.kh == 1 && d.kw == 1 && d.strideH == 1 && d.strideW == 1 && d.padTop == 0 && d.padLeft == 0;
}

bool AllFinite(const float* p, int64_t n) {
  bool ok = true;
  for (int64_t i = 0; i < n; ++i) ok &= std::isfinite(p[i]);
  return ok;
}

bool SmallWindow(const Conv2dDims& d) { return d.kh * d.kw * d.c <= kDirectK && d.oc <= 256; }

// y (rows, OC) = act(y + bias), in place.
void Epilogue(float* y, int64_t rows, int64_t OC, const float* bias, bool relu) {
  TB_PARALLEL_FOR(rows * OC, r, 0, rows, {
    float* yr = y + r * OC;
    if (bias && relu)
      for (int64_t o = 0; o < OC; ++o) {
        const float v = yr[o] + bias[o];
        yr[o] = v < 0.f ? 0.f : v;  // NaN passes, like the relu op
      }
    else if (bias)
      for (int64_t o = 0; o < OC; ++o) yr[o] += bias[o];
    else
      for (int64_t o = 0; o < OC; ++o) yr[o] = yr[o] < 0.f ? 0.f : yr[o];
  });
}


Status ForwardNhwc(const Conv2dDims& d, const float* x, const float* weight, const float* bias, float* y,
                   bool relu, bool finiteW) {
  const int64_t K = d.c * d.kh * d.kw, OC = d.oc, rows = d.n * d.oh * d.ow;
  if (SmallWindow(d) && finiteW) {
    constexpr int64_t kRows = 256;
    ForEachTask((rows + kRows - 1) / kRows, [&](int64_t t) {
      conv::DirectForwardNhwc(d, x, weight, bias, y, t * kRows, std::min(rows, (t + 1) * kRows), relu);
    });
    return Status::Ok();
  }
  const bool direct = OneByOne(d);
  const int64_t chunk = std::clamp<int64_t>(kChunkFloats / K, 16, rows);
  std::atomic<bool> oom{false};
  ForEachTask((rows + chunk - 1) / chunk, [&](int64_t t) {
    const int64_t r0 = t * chunk, r1 = std::min(rows, r0 + chunk), R = r1 - r0;
    const float* A = x + r0 * K;
    if (!direct) {
      float* cols = t_cols.Get(chunk * K);
      if (!cols) {
        oom = true;
        return;
      }
      conv::Im2colNhwc(d, x, r0, r1, cols);
      A = cols;
    }
    float* yc = y + r0 * OC;
    Sgemm(false, false, R, OC, K, 1.f, A, K, weight, OC, 0.f, yc, OC);
    if (bias || relu) Epilogue(yc, R, OC, bias, relu);
  });
  return oom ? Status::Error("out of memory for the im2col workspace") : Status::Ok();
}

Status BackwardNhwc(const Conv2dDims& d, const float* x, const float* weight, const float* dy, float* dx,
                    float* dweight, float* dbias, const float* reluY) {
  const int64_t K = d.c * d.kh * d.kw, OC = d.oc, ohw = d.oh * d.ow;
  const bool direct = OneByOne(d), small = SmallWindow(d);
  // Image groups: the unit of work, of dx ownership (col2im stays inside a group's images) and of
  // the weight-gradient partials.
  const int64_t per = (d.n + std::min(d.n, kMaxGroups) - 1) / std::min(d.n, kMaxGroups);
  const int64_t groups = (d.n + per - 1) / per;
  float* pw = nullptr;
  if (dweight) {
    pw = t_partials.Get(groups * K * OC);
    if (!pw) return Status::Error("out of memory for the weight-gradient workspace");
  }
  std::vector<double> pb(dbias ? static_cast<size_t>(groups * OC) : 0, 0.0);
  std::atomic<bool> oom{false};
  {
    const int64_t chunkMax = std::clamp<int64_t>(kChunkFloats / std::max(K, OC), 16, per * ohw);
    const bool gemmPass = dx || (!small && (dweight || dbias));
    ForEachTask(groups, [&](int64_t g) {
      const int64_t n0 = g * per, n1 = std::min(d.n, n0 + per);
      const int64_t g0 = n0 * ohw, g1 = n1 * ohw;
      float* gw = pw ? pw + g * K * OC : nullptr;
      double* gb = dbias ? pb.data() + g * OC : nullptr;
      if (gw) std::fill(gw, gw + K * OC, 0.f);
      if (dx && !direct) std::fill(dx + n0 * d.h * d.w * d.c, dx + n1 * d.h * d.w * d.c, 0.f);
      if (small && (gw || gb)) conv::DirectWeightGradNhwc(d, x, dy, reluY, g0, g1, gw, gb);
      if (!gemmPass) return;
      // Even chunks over the group's rows.
      const int64_t nc = (g1 - g0 + chunkMax - 1) / chunkMax, chunk = (g1 - g0 + nc - 1) / nc;
      float* cols = !small && gw && !direct ? t_cols.Get(chunk * K) : nullptr;
      float* dcols = dx && !direct ? t_dcols.Get(chunk * K) : nullptr;
      float* masked = reluY ? t_dy.Get(chunk * OC) : nullptr;
      if ((!small && gw && !direct && !cols) || (dx && !direct && !dcols) || (reluY && !masked)) {
        oom = true;
        return;
      }
      for (int64_t r0 = g0; r0 < g1; r0 += chunk) {
        const int64_t r1 = std::min(g1, r0 + chunk), R = r1 - r0;
        const float* gr = dy + r0 * OC;
        if (reluY) {
          MaskRelu(gr, reluY + r0 * OC, R * OC, masked);
          gr = masked;
        }
        if (!small && gb) conv::AddColumnSums(gr, R, OC, gb);
        if (!small && gw) {
          // dW (K, OC) += cols^T (K, R) @ dy (R, OC)
          if (!direct) conv::Im2colNhwc(d, x, r0, r1, cols);
          Sgemm(true, false, K, OC, R, 1.f, direct ? x + r0 * K : cols, K, gr, OC, 1.f, gw, OC);
        }
        if (dx) {
          // dcols (R, K) = dy (R, OC) @ W^T; W is stored (K, OC).
          Sgemm(false, true, R, K, OC, 1.f, gr, OC, weight, OC, 0.f, direct ? dx + r0 * K : dcols, K);
          if (!direct) conv::Col2imNhwc(d, dcols, r0, r1, dx);
        }
      }
    });
  }
  if (oom) return Status::Error("out of memory for the im2col workspace");
  if (dweight) {
    const int64_t nw = K * OC;
    TB_PARALLEL_FOR(nw * groups, i, 0, nw, {
      float s = pw[i];
      for (int64_t g = 1; g < groups; ++g) s += pw[g * nw + i];
      dweight[i] = s;
    });
  }
  if (dbias)
    for (int64_t o = 0; o < OC; ++o) {
      double s = 0.0;
      for (int64_t g = 0; g < groups; ++g) s += pb[g * OC + o];
      dbias[o] = static_cast<float>(s);
    }
  return Status::Ok();
}

Status ForwardNchw(const Conv2dDims& d, const float* x, const float* weight, const float* bias, float* y,
                   bool relu) {
  const int64_t K = d.c * d.kh * d.kw, ohw = d.oh * d.ow, OC = d.oc;
  const bool direct = OneByOne(d);
  const int64_t chunk = std::clamp<int64_t>(kChunkFloatsNchw / K, 1, ohw);
  float* cols = direct ? nullptr : t_cols.Get(chunk * K);
  if (!direct && !cols) return Status::Error("out of memory for the im2col workspace");
  for (int64_t n = 0; n < d.n; ++n) {
    const float* img = x + n * d.c * d.h * d.w;
    float* yn = y + n * OC * ohw;
    if (bias)
      for (int64_t o = 0; o < OC; ++o) std::fill(yn + o * ohw, yn + (o + 1) * ohw, bias[o]);
    for (int64_t j0 = 0; j0 < ohw; j0 += chunk) {
      const int64_t j1 = std::min(ohw, j0 + chunk), cc = j1 - j0;
      if (!direct) conv::Im2colNchw(d, img, j0, j1, cols);
      Sgemm(false, false, OC, cc, K, 1.f, weight, K, direct ? img + j0 : cols, direct ? ohw : cc, bias ? 1.f : 0.f,
            yn + j0, ohw);
    }
  }
  if (relu) Epilogue(y, d.n * OC * ohw, 1, nullptr, true);
  return Status::Ok();
}

// dbias[oc] = sum of dy over N and space, accumulated in double (a batch sums ~1e5 terms).
void BiasGradNchw(const Conv2dDims& d, const float* dy, float* dbias) {
  const int64_t ohw = d.oh * d.ow, OC = d.oc;
  TB_PARALLEL_FOR(d.n * ohw * OC, o, 0, OC, {
    double s = 0.0;
    for (int64_t n = 0; n < d.n; ++n) {
      const float* g = dy + (n * OC + o) * ohw;
      for (int64_t p = 0; p < ohw; ++p) s += g[p];
    }
    dbias[o] = static_cast<float>(s);
  });
}

Status BackwardNchw(const Conv2dDims& d, const float* x, const float* weight, const float* dy, float* dx,
                    float* dweight, float* dbias, const float* reluY) {
  const int64_t K = d.c * d.kh * d.kw, ohw = d.oh * d.ow, OC = d.oc;
  if (reluY) {
    float* masked = t_dy.Get(d.n * OC * ohw);
    if (!masked) return Status::Error("out of memory for the gradient workspace");
    MaskRelu(dy, reluY, d.n * OC * ohw, masked);
    dy = masked;
  }
  if (dbias) BiasGradNchw(d, dy, dbias);
  if (!dx && !dweight) return Status::Ok();
  const bool direct = OneByOne(d);
  // direct writes every dx cell with beta = 0; col2im accumulates, so start from zero.
  if (dx && !direct) {
    const int64_t nx = d.n * d.c * d.h * d.w;
    TB_PARALLEL_FOR(nx, i, 0, nx, { dx[i] = 0.f; });
  }
  const int64_t chunk = std::clamp<int64_t>(kChunkFloatsNchw / K, 1, ohw);
  float* cols = dweight && !direct ? t_cols.Get(chunk * K) : nullptr;
  float* dcols = dx && !direct ? t_dcols.Get(chunk * K) : nullptr;
  if ((dweight && !direct && !cols) || (dx && !direct && !dcols))
    return Status::Error("out of memory for the im2col workspace");
  bool first = true;
  for (int64_t n = 0; n < d.n; ++n) {
    const float* img = x + n * d.c * d.h * d.w;
    const float* gn = dy + n * OC * ohw;
    float* dimg = dx ? dx + n * d.c * d.h * d.w : nullptr;
    for (int64_t j0 = 0; j0 < ohw; j0 += chunk) {
      const int64_t j1 = std::min(ohw, j0 + chunk), cc = j1 - j0;
      if (dweight) {
        // dW (OC, K) += dy_n (OC, cc) @ cols^T (cc, K)
        if (!direct) conv::Im2colNchw(d, img, j0, j1, cols);
        Sgemm(false, true, OC, K, cc, 1.f, gn + j0, ohw, direct ? img + j0 : cols, direct ? ohw : cc,
              first ? 0.f : 1.f, dweight, K);
      }
      if (dx) {
        // dcols (K, cc) = W^T (K, OC) @ dy_n (OC, cc); W is stored (OC, K).
        if (direct) {
          Sgemm(true, false, K, cc, OC, 1.f, weight, K, gn + j0, ohw, 0.f, dimg + j0, ohw);
        } else {
          Sgemm(true, false, K, cc, OC, 1.f, weight, K, gn + j0, ohw, 0.f, dcols, cc);
          conv::Col2imNchw(d, dcols, j0, j1, dimg);
        }
      }
      first = false;
    }
  }
  return Status::Ok();
}

}  // namespace

Status Conv2dForward(const Conv2dDims& d, const float* x, const float* weight, const float* bias, float* y,
                     FusedAct act) {
  if (d.n == 0) return Status::Ok();
  const bool relu = act == FusedAct::kRelu;
  // The direct and implicit-GEMM kernels skip the zero padding; im2col multiplies it, so a NaN or
  // Inf weight reaches the border outputs (0 * Inf = NaN). Non-finite weights take the im2col path
  // so every path gives the same answer; the scan is K * OC floats, small next to the convolution.
  const bool finiteW = AllFinite(weight, d.c * d.kh * d.kw * d.oc);
  const conv::FastConv* k = conv::FastConvKernels();
  if (finiteW && conv::ImplicitApplies(d, k, false, false, SmallWindow(d)))
    return conv::ImplicitForward(*k, d, x, weight, bias, y, relu);
  return d.nhwc ? ForwardNhwc(d, x, weight, bias, y, relu, finiteW) : ForwardNchw(d, x, weight, bias, y, relu);
}

Status Conv2dBackward(const Conv2dDims& d, const float* x, const float* weight, const float* dy, float* dx,
                      float* dweight, float* dbias, const float* y, FusedAct act) {
  const int64_t K = d.c * d.kh * d.kw;
  if (act == FusedAct::kRelu && !y) return Status::Error("the output y is needed for the ReLU gradient");
  if (d.n == 0) {
    if (dweight) std::fill(dweight, dweight + K * d.oc, 0.f);
    if (dbias) std::fill(dbias, dbias + d.oc, 0.f);
    return Status::Ok();
  }
  if (!dx && !dweight && !dbias) return Status::Ok();
  const float* reluY = act == FusedAct::kRelu ? y : nullptr;
  const conv::FastConv* k = conv::FastConvKernels();
  if (conv::ImplicitApplies(d, k, true, dx != nullptr, SmallWindow(d)))
    return conv::ImplicitBackward(*k, d, x, weight, dy, dx, dweight, dbias, reluY);
  return d.nhwc ? BackwardNhwc(d, x, weight, dy, dx, dweight, dbias, reluY)
                : BackwardNchw(d, x, weight, dy, dx, dweight, dbias, reluY);
}

}  // namespace tb::cpu
