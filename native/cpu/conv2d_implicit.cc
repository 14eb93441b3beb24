// The per-image convolution drivers (declared in cpu/conv2d_lowering.h): the implicit-GEMM kernels
// (conv2d_fast*.cc) for NHWC and NCHW, and the direct small-window kernels for NCHW. 3x3 stride-1
// convolutions with whole channel vectors and an even output (the forward, and the input gradient's
// full convolution) go through Winograd's F(2x2, 3x3) instead where the instruction set has it
// (conv2d_winograd.cc); an image whose output it finds non-finite again through the implicit GEMM.
//
// The kernels work on NHWC images. An NCHW convolution changes layout at the image boundary, inside
// the same pass: the image is transposed into the padded buffer the NHWC path fills anyway, the
// output is written to a per-thread buffer (L2-sized for the MNIST CNN: 24 x 24 x 64 floats) and
// transposed into y while it is still in cache; dy likewise on its way into the padded gradient
// buffer, dx on its way out. So NCHW costs NHWC's work plus a transpose of each image in L2, and
// the weight (OC, C, KH, KW) is reordered once per call (a few thousand floats).
//
// One image per task; the weight gradient is summed in a fixed number of per-image-group partials
// added in a fixed order, so no result depends on the thread count.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "common/parallel.h"
#include "cpu/conv2d_lowering.h"
#include "cpu/transpose.h"

namespace tb::cpu::conv {
namespace {

constexpr int64_t kMaxGroups = 16;  // weight-gradient partials, whatever the thread count

thread_local Workspace t_padX, t_padG, t_out, t_packed, t_winograd, t_partials, t_wt, t_nhwc, t_nhwcG;

// The weight as (KH, KW, C, OC): itself for NHWC, reordered from (OC, C, KH, KW) for NCHW.
const float* WeightHwio(const Conv2dDims& d, const float* weight) {
  if (d.nhwc) return weight;
  const int64_t taps = d.kh * d.kw, K = taps * d.c;
  float* w = t_wt.Get(K * d.oc);
  if (!w) return nullptr;
  // (OC, C*taps) -> (C*taps, OC), then (C, taps) -> (taps, C) within: w[(t*C + c)*OC + o] = W[o][c][t]
  for (int64_t o = 0; o < d.oc; ++o)
    for (int64_t c = 0; c < d.c; ++c)
      for (int64_t t = 0; t < taps; ++t) w[(t * d.c + c) * d.oc + o] = weight[(o * d.c + c) * taps + t];
  return w;
}

// Image n of x as NHWC with padTop/padLeft zeros before it and enough after that every window of
// the (oh, ow) output is inside: (oh + kh - 1, ow + kw - 1, C). x itself for an NHWC image that
// needs no padding.
const float* PaddedImage(const Conv2dDims& d, const float* x, int64_t n, int64_t* wp) {
  const int64_t hp = d.oh + d.kh - 1, w = d.ow + d.kw - 1, C = d.c, hw = d.h * d.w;
  *wp = w;
  const float* img = x + n * hw * C;
  const bool unpadded = d.padTop == 0 && d.padLeft == 0 && hp == d.h && w == d.w;
  if (!d.nhwc) {
    // The whole image at once, 16 planes at a time: 16 sequential read streams from memory (row by
    // row, the 32-64 planes of one row were as many streams, and the batch-128 passes ran 25-45%
    // slower than NHWC).
    float* t = t_nhwc.Get(hw * C);
    if (!t) return nullptr;
    Transpose(img, nullptr, C, hw, hw, t, C);
    if (unpadded) return t;
    img = t;
  } else if (unpadded) {
    return img;
  }
  float* buf = t_padX.Get(hp * w * C);
  if (!buf) return nullptr;
  std::fill(buf, buf + hp * w * C, 0.f);
  const int64_t rows = std::min(d.h, hp - d.padTop), cols = std::min(d.w, w - d.padLeft);
  for (int64_t iy = 0; iy < rows; ++iy)
    std::memcpy(buf + ((iy + d.padTop) * w + d.padLeft) * C, img + iy * d.w * C, sizeof(float) * cols * C);
  return buf;
}

// out = y > 0 ? g : 0, vectorized (a branch per value mispredicts half the time on real gradients).
void MaskRow(const float* __restrict g, const float* __restrict y, int64_t n, float* __restrict out) {
  for (int64_t i = 0; i < n; ++i) out[i] = y[i] > 0.f ? g[i] : 0.f;
}

// Where image n's NHWC result (rows x cols pixels, ch channels) goes: straight into out for NHWC; a
// per-thread buffer for NCHW, which Flush then transposes into out (ch planes of rows*cols).
float* ImageOut(bool nhwc, float* out, int64_t n, int64_t pixels, int64_t ch) {
  return nhwc ? out + n * pixels * ch : t_out.Get(pixels * ch);
}
void Flush(bool nhwc, const float* buf, float* out, int64_t n, int64_t pixels, int64_t ch) {
  if (!nhwc) Transpose(buf, nullptr, pixels, ch, ch, out + n * pixels * ch, pixels, /*dstRows=*/true);
}

// One call's image convolution (the forward, or the input gradient's full convolution): the
// implicit GEMM's packed kernel, and Winograd's transformed one where Winograd applies. The first
// stays packed beside the second: it recomputes an image whose output Winograd finds non-finite.
struct ImageConv {
  const FastConv& k;
  const Conv2dDims& d;
  const Winograd* wino = nullptr;
  float* packed = nullptr;
  float* U = nullptr;

  // The HWIO weight w for a cin -> cout convolution with an oh x ow output; false when out of memory.
  bool Pack(const float* w, bool forInputGrad, int64_t cin, int64_t cout, int64_t oh, int64_t ow) {
    const Winograd* all = WinogradKernels();
    wino = all && all->applies(d.kh, d.kw, cin, cout, oh, ow) ? all : nullptr;
    packed = t_packed.Get(d.kh * d.kw * cin * cout);
    U = wino ? t_winograd.Get(16 * cin * cout) : nullptr;
    if (!w || !packed || (wino && !U)) return false;
    k.pack(d, w, forInputGrad, packed);
    if (wino) wino->pack(d, w, forInputGrad, U);
    return true;
  }

  // out = act(bias + valid conv of in (hp rows of wp pixels)); false when out of memory.
  bool Run(int64_t hp, int64_t wp, int64_t cin, const float* in, int64_t oh, int64_t ow, int64_t cout, const float* bias,
           bool relu, float* out) const {
    const WinogradResult r = wino ? wino->image(wp, cin, in, oh, ow, cout, U, bias, relu, out) : WinogradResult::kNonFinite;
    if (r == WinogradResult::kNonFinite) k.forwardImage(d.kh, d.kw, hp, wp, cin, in, oh, ow, cout, packed, bias, relu, out);
    return r != WinogradResult::kNoMemory;
  }
};

}  // namespace

bool ImplicitApplies(const Conv2dDims& d, const FastConv* k, bool backward, bool needDx, bool smallWindow) {
  if (!k || d.strideH != 1 || d.strideW != 1 || d.kh * d.kw > 64 || (smallWindow && !k->smallWindows)) return false;
  if (d.kh == 1 && d.kw == 1 && d.nhwc) return false;  // x already is the GEMM's operand
  if (d.oc % k->channelBlock != 0) return false;
  return !backward || (d.c % k->wgradChannels == 0 && (!needDx || d.c % k->channelBlock == 0));
}

Status ImplicitForward(const FastConv& k, const Conv2dDims& d, const float* x, const float* weight, const float* bias,
                       float* y, bool relu) {
  const int64_t OC = d.oc, ohw = d.oh * d.ow;
  ImageConv conv{k, d};
  if (!conv.Pack(WeightHwio(d, weight), false, d.c, OC, d.oh, d.ow)) return Status::Error("out of memory for the packed weights");
  std::atomic<bool> oom{false};
  ForEachTask(d.n, [&](int64_t n) {
    int64_t wp = 0;
    const float* in = PaddedImage(d, x, n, &wp);
    float* out = ImageOut(d.nhwc, y, n, ohw, OC);
    if (!in || !out) {
      oom = true;
      return;
    }
    if (!conv.Run(d.oh + d.kh - 1, wp, d.c, in, d.oh, d.ow, OC, bias, relu, out)) {
      oom = true;
      return;
    }
    Flush(d.nhwc, out, y, n, ohw, OC);
  });
  return oom ? Status::Error("out of memory for the convolution's image buffers") : Status::Ok();
}

Status ImplicitBackward(const FastConv& k, const Conv2dDims& d, const float* x, const float* weight, const float* dy,
                        float* dx, float* dweight, float* dbias, const float* reluY) {
  const int64_t K = d.c * d.kh * d.kw, OC = d.oc, ohw = d.oh * d.ow, hw = d.h * d.w;
  const int64_t per = (d.n + std::min(d.n, kMaxGroups) - 1) / std::min(d.n, kMaxGroups);
  const int64_t groups = (d.n + per - 1) / per;
  float* pw = dweight ? t_partials.Get(groups * K * OC) : nullptr;
  if (dweight && !pw) return Status::Error("out of memory for the weight-gradient workspace");
  std::vector<double> pb(dbias ? static_cast<size_t>(groups * OC) : 0, 0.0);
  // dy zero-padded by KH-1 / KW-1 (minus the forward's padding) around each image, so that the
  // input gradient is a valid convolution of it with the flipped kernel.
  const int64_t hg = d.h + d.kh - 1, wg = d.w + d.kw - 1, offY = d.kh - 1 - d.padTop, offX = d.kw - 1 - d.padLeft;
  // the input gradient: dx (h, w, C) from the padded dy (OC channels)
  ImageConv conv{k, d};
  if (dx && !conv.Pack(WeightHwio(d, weight), true, OC, d.c, d.h, d.w))
    return Status::Error("out of memory for the packed weights");
  std::atomic<bool> oom{false};
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
    float* gt = d.nhwc ? nullptr : t_nhwcG.Get(ohw * OC);
    if (!d.nhwc && !gt) {
      oom = true;
      return;
    }
    for (int64_t n = g * per; n < std::min(d.n, (g + 1) * per); ++n) {
      // NCHW: the image's dy (masked) to NHWC in one pass, 16 planes at a time (see PaddedImage)
      if (gt) Transpose(dy + n * OC * ohw, reluY ? reluY + n * OC * ohw : nullptr, OC, ohw, ohw, gt, OC);
      for (int64_t oy = 0; oy < d.oh; ++oy) {
        float* dst = gp + ((oy + offY) * wg + offX) * OC;
        if (d.nhwc) {
          const int64_t r = (n * d.oh + oy) * d.ow * OC;
          // not MaskRelu: its OpenMP region, even when it runs serial, costs about a microsecond
          // per row (NHWC conv2 backward at batch 32: 5.4 -> 4.5 ms input gradient)
          if (reluY)
            MaskRow(dy + r, reluY + r, d.ow * OC, dst);
          else
            std::memcpy(dst, dy + r, sizeof(float) * d.ow * OC);
        } else {
          std::memcpy(dst, gt + oy * d.ow * OC, sizeof(float) * d.ow * OC);
        }
        if (gb) AddColumnSums(dst, d.ow, OC, gb);
      }
      const float* gin = gp + (offY * wg + offX) * OC;
      if (gw) {
        int64_t wp = 0;
        const float* xin = PaddedImage(d, x, n, &wp);
        if (!xin) {
          oom = true;
          return;
        }
        k.weightGradImage(d, xin, wp, gin, wg * OC, gw);
      }
      if (dx) {
        float* out = ImageOut(d.nhwc, dx, n, hw, d.c);
        if (!out) {
          oom = true;
          return;
        }
        if (!conv.Run(hg, wg, OC, gp, d.h, d.w, d.c, nullptr, false, out)) {
          oom = true;
          return;
        }
        Flush(d.nhwc, out, dx, n, hw, d.c);
      }
    }
  });
  if (oom) return Status::Error("out of memory for the convolution's image buffers");
  if (dweight) {
    // partials are (KH, KW, C, OC); NCHW's dweight is (OC, C, KH, KW)
    const int64_t nw = K * OC, taps = d.kh * d.kw;
    TB_PARALLEL_FOR(nw * groups, i, 0, nw, {
      float s = pw[i];
      for (int64_t q = 1; q < groups; ++q) s += pw[q * nw + i];
      if (d.nhwc) {
        dweight[i] = s;
      } else {
        const int64_t o = i % OC, tc = i / OC, c = tc % d.c, t = tc / d.c;
        dweight[(o * d.c + c) * taps + t] = s;
      }
    });
  }
  if (dbias)
    for (int64_t o = 0; o < OC; ++o) {
      double s = 0.0;
      for (int64_t q = 0; q < groups; ++q) s += pb[q * OC + o];
      dbias[o] = static_cast<float>(s);
    }
  return Status::Ok();
}

}  // namespace tb::cpu::conv
