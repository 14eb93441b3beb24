// Conv2d: im2col + GEMM in chunks (a column buffer stays cache-sized however large the batch),
// implicit-GEMM kernels, or direct kernels, whichever fits the shape.
//
// NHWC (the Keras layout, the one the benchmarks train): output rows r = (n, oy, ox) are the GEMM's
// M. The chunks are tasks for the OpenMP team: each thread lowers its chunk into its own buffer and
// runs a single-threaded GEMM on it, with bias and activation applied while the chunk is in cache,
// so a whole convolution costs one fork/join instead of two per chunk, and a thread that the OS
// descheduled simply takes fewer chunks (dynamic schedule). The weight gradient is accumulated in a
// fixed number of per-image-group partials summed in a fixed order, so it does not depend on the
// thread count or on which thread took which chunk. Small windows (K = KH*KW*C <= 16, a first layer
// on 1-3 channels) skip im2col for direct kernels (conv2d_direct.cc); stride-1 convolutions with
// channels in blocks of 16 use implicit-GEMM kernels that read windows straight from the image
// (conv2d_fast.cc, AVX2 + FMA builds; one image per task). A 1x1, stride-1, unpadded convolution
// skips im2col: x already is the column matrix.
//
// NCHW (nn.Conv2d): one image at a time, chunks of its output positions, each kernel parallel inside.
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
thread_local Workspace t_cols, t_dcols, t_dy, t_partials, t_padX, t_padG, t_packed;

bool OneByOne(const Conv2dDims& d) {
  return d.kh == 1 && d.kw == 1 && d.strideH == 1 && d.strideW == 1 && d.padTop == 0 && d.padLeft == 0;
}

bool AllFinite(const float* p, int64_t n) {
  bool ok = true;
  for (int64_t i = 0; i < n; ++i) ok &= std::isfinite(p[i]);
  return ok;
}

bool SmallWindow(const Conv2dDims& d) { return d.kh * d.kw * d.c <= kDirectK && d.oc <= 256; }

// The implicit-GEMM kernels (conv2d_fast.cc) apply: NHWC, stride 1, a window larger than the
// direct kernels take, and channel counts in whole 16-float (output) and 4-float (input) blocks.
bool FastForward(const Conv2dDims& d) {
  return conv::FastConvAvailable() && d.nhwc && d.strideH == 1 && d.strideW == 1 && !SmallWindow(d) &&
         !OneByOne(d) && d.kh * d.kw <= 64 && d.oc % 16 == 0;
}
bool FastBackward(const Conv2dDims& d, bool needDx) {
  return conv::FastConvAvailable() && d.nhwc && d.strideH == 1 && d.strideW == 1 && !SmallWindow(d) &&
         !OneByOne(d) && d.kh * d.kw <= 64 && d.oc % 16 == 0 && d.c % 4 == 0 && (!needDx || d.c % 16 == 0);
}

// Image n of x with padTop/padLeft zeros before it and enough after that every window of the
// (oh, ow) output is inside: (oh + kh - 1, ow + kw - 1, C). x itself when there is no padding.
const float* PaddedImage(const Conv2dDims& d, const float* x, int64_t n, int64_t* wp) {
  const int64_t hp = d.oh + d.kh - 1, w = d.ow + d.kw - 1, C = d.c;
  *wp = w;
  const float* img = x + n * d.h * d.w * C;
  if (d.padTop == 0 && d.padLeft == 0 && hp == d.h && w == d.w) return img;
  float* buf = t_padX.Get(hp * w * C);
  if (!buf) return nullptr;
  std::fill(buf, buf + hp * w * C, 0.f);
  const int64_t cols = std::min(d.w, w - d.padLeft);
  for (int64_t iy = 0; iy < d.h && iy + d.padTop < hp; ++iy)
    std::memcpy(buf + ((iy + d.padTop) * w + d.padLeft) * C, img + iy * d.w * C, sizeof(float) * cols * C);
  return buf;
}

// Runs body(i) for i in [0, n): spread over the team when there is more than one task and we are not
// already inside a parallel region; otherwise in order on this thread (whose kernels may then use
// the team themselves).
template <typename F>
void ForEachTask(int64_t n, F&& body) {
#ifdef _OPENMP
  if (n > 1 && MaxThreads() > 1 && !omp_in_parallel()) {
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t i = 0; i < n; ++i) body(i);
    return;
  }
#endif
  for (int64_t i = 0; i < n; ++i) body(i);
}

// y (rows, OC) = act(y + bias), in place.
void Epilogue(float* y, int64_t rows, int64_t OC, const float* bias, bool relu) {
  TB_PARALLEL_FOR(rows * OC)
  for (int64_t r = 0; r < rows; ++r) {
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
  }
}

// out[i] = y[i] > 0 ? dy[i] : 0 (the gradient through a fused ReLU).
void MaskRelu(const float* dy, const float* y, int64_t n, float* out) {
  TB_PARALLEL_FOR(n)
  for (int64_t i = 0; i < n; ++i) out[i] = y[i] > 0.f ? dy[i] : 0.f;
}

Status ForwardNhwc(const Conv2dDims& d, const float* x, const float* weight, const float* bias, float* y,
                   bool relu) {
  const int64_t K = d.c * d.kh * d.kw, OC = d.oc, rows = d.n * d.oh * d.ow;
  // The direct and implicit-GEMM kernels skip the zero padding; im2col multiplies it, so a NaN or
  // Inf weight reaches the border outputs (0 * Inf = NaN). Non-finite weights take the im2col path
  // so every path gives the same answer; the scan is K * OC floats, small next to the convolution.
  const bool finiteW = AllFinite(weight, K * OC);
  if (SmallWindow(d) && finiteW) {
    constexpr int64_t kRows = 256;
    ForEachTask((rows + kRows - 1) / kRows, [&](int64_t t) {
      conv::DirectForwardNhwc(d, x, weight, bias, y, t * kRows, std::min(rows, (t + 1) * kRows), relu);
    });
    return Status::Ok();
  }
  if (FastForward(d) && finiteW) {
    float* packed = t_packed.Get(K * OC);
    if (!packed) return Status::Error("out of memory for the packed weights");
    conv::PackFastWeights(d, weight, false, packed);
    std::atomic<bool> oom{false};
    ForEachTask(d.n, [&](int64_t n) {
      int64_t wp = 0;
      const float* in = PaddedImage(d, x, n, &wp);
      if (!in) {
        oom = true;
        return;
      }
      conv::FastForwardImage(d.kh, d.kw, d.oh + d.kh - 1, wp, d.c, in, d.oh, d.ow, OC, packed, bias, relu,
                             y + n * d.oh * d.ow * OC);
    });
    return oom ? Status::Error("out of memory for the padded image") : Status::Ok();
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
  if (FastBackward(d, dx != nullptr)) {
    // dy zero-padded by KH-1 / KW-1 (minus the forward's padding) around each image, so that the
    // input gradient is a valid convolution of it with the flipped kernel.
    const int64_t hg = d.h + d.kh - 1, wg = d.w + d.kw - 1, offY = d.kh - 1 - d.padTop, offX = d.kw - 1 - d.padLeft;
    float* packed = nullptr;
    if (dx) {
      packed = t_packed.Get(K * OC);
      if (!packed) return Status::Error("out of memory for the packed weights");
      conv::PackFastWeights(d, weight, true, packed);
    }
    ForEachTask(groups, [&](int64_t g) {
      float* gw = pw ? pw + g * K * OC : nullptr;
      double* gb = dbias ? pb.data() + g * OC : nullptr;
      if (gw) std::fill(gw, gw + K * OC, 0.f);
      float* gp = t_padG.Get(hg * wg * OC);
      if (!gp) {
        oom = true;
        return;
      }
      std::fill(gp, gp + hg * wg * OC, 0.f);
      for (int64_t n = g * per; n < std::min(d.n, (g + 1) * per); ++n) {
        for (int64_t oy = 0; oy < d.oh; ++oy) {
          const int64_t r = (n * d.oh + oy) * d.ow * OC;
          float* dst = gp + ((oy + offY) * wg + offX) * OC;
          if (reluY)
            MaskRelu(dy + r, reluY + r, d.ow * OC, dst);
          else
            std::memcpy(dst, dy + r, sizeof(float) * d.ow * OC);
          if (gb) conv::AddColumnSums(dst, d.ow, OC, gb);
        }
        const float* gin = gp + (offY * wg + offX) * OC;
        if (gw) {
          int64_t wp = 0;
          const float* xin = PaddedImage(d, x, n, &wp);
          if (!xin) {
            oom = true;
            return;
          }
          conv::FastWeightGradImage(d, xin, wp, gin, wg * OC, gw);
        }
        if (dx) conv::FastForwardImage(d.kh, d.kw, hg, wg, OC, gp, d.h, d.w, d.c, packed, nullptr, false,
                                       dx + n * d.h * d.w * d.c);
      }
    });
  } else {
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
    TB_PARALLEL_FOR(nw * groups)
    for (int64_t i = 0; i < nw; ++i) {
      float s = pw[i];
      for (int64_t g = 1; g < groups; ++g) s += pw[g * nw + i];
      dweight[i] = s;
    }
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
    TB_PARALLEL_FOR(nx)
    for (int64_t i = 0; i < nx; ++i) dx[i] = 0.f;
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
  return d.nhwc ? ForwardNhwc(d, x, weight, bias, y, relu) : ForwardNchw(d, x, weight, bias, y, relu);
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
  return d.nhwc ? BackwardNhwc(d, x, weight, dy, dx, dweight, dbias, reluY)
                : BackwardNchw(d, x, weight, dy, dx, dweight, dbias, reluY);
}

}  // namespace tb::cpu
