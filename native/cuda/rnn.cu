// Recurrent layers on the device, the twin of native/cpu/rnn.cc: one cuBLAS GEMM projects the
// inputs of every step, then each step runs one recurrent GEMM over the whole batch and one fused
// gate kernel (a thread per unit of each sequence); backward runs the steps in reverse and the
// weight gradients are one GEMM each over all steps. Same workspace layout as the CPU kernels.
// The embedding gradient is a gather: the positions are bucketed by row (a counting sort, on one
// device thread), then each (row, column) sums its bucket in position order: repeatable bits.
#include "cuda/common.cuh"
#include "cuda/gemm.cuh"
#include "cuda/rnn.cuh"

namespace tb::cuda {
namespace {

__device__ inline float Act(int a, float x) {
  switch (a) {
    case 1: return 1.f / (1.f + expf(-x));
    case 2: return fminf(1.f, fmaxf(0.f, 0.2f * x + 0.5f));
    case 3: return fmaxf(0.f, x);
    case 4: return x;
    default: return tanhf(x);
  }
}
// The derivative from the activation's output y.
__device__ inline float DAct(int a, float y) {
  switch (a) {
    case 1: return y * (1.f - y);
    case 2: return y > 0.f && y < 1.f ? 0.2f : 0.f;
    case 3: return y > 0.f ? 1.f : 0.f;
    case 4: return 1.f;
    default: return 1.f - y * y;
  }
}

// What every gate kernel needs to address a step: row (t, b) = t·tStride + b·bStride.
struct Step {
  int64_t B, H, GH, tStride, bStride, t, tp;  // tp < 0: the first step
  int cell, act, recAct;
  bool resetAfter;
  int64_t zo, ro;
  __device__ int64_t Row(int64_t t_, int64_t b) const { return t_ * tStride + b * bStride; }
};

Step StepOf(const RnnDims& d, int64_t s) {
  const int64_t t = d.reverse ? d.T - 1 - s : s;
  const int64_t tp = s == 0 ? -1 : (d.reverse ? t + 1 : t - 1);
  return {d.B, d.H, d.GH(), d.batchFirst ? 1 : d.B, d.batchFirst ? d.T : 1, t, tp,
          static_cast<int>(d.cell), static_cast<int>(d.act), static_cast<int>(d.recAct), d.resetAfter,
          d.kerasGru ? 0 : d.H, d.kerasGru ? d.H : 0};
}

__global__ void BiasRows(float* gates, const float* bx, const float* bh, int64_t rows, int64_t GH, int64_t skipFrom) {
  TB_CUDA_LOOP(i, rows * GH) {
    const int64_t j = i % GH;
    gates[i] = (bx ? bx[j] : 0.f) + (bh && j < skipFrom ? bh[j] : 0.f);
  }
}

// hprev(t) = (y(tp) or h0 or 0) ⊙ rmask
__global__ void Hprev(Step s, const float* y, const float* h0, const float* rmask, float* hprev) {
  TB_CUDA_LOOP(i, s.B * s.H) {
    const int64_t b = i / s.H, j = i % s.H;
    const float v = s.tp >= 0 ? y[s.Row(s.tp, b) * s.H + j] : (h0 ? h0[i] : 0.f);
    hprev[s.Row(s.t, b) * s.H + j] = v * (rmask ? rmask[i] : 1.f);
  }
}

// Forward gates of step s (for a reset-before GRU: phase 0 = z, r and r·hp; phase 1 = n and h).
__global__ void GatesForward(Step s, int phase, float* gates, float* extra, const float* hprev, const float* c0,
                             const float* bhn, float* y) {
  TB_CUDA_LOOP(i, s.B * s.H) {
    const int64_t b = i / s.H, j = i % s.H, H = s.H;
    const int64_t r = s.Row(s.t, b);
    float* g = gates + r * s.GH;
    const float hp = hprev[r * H + j];
    if (s.cell == 0) {
      const float h = Act(s.act, g[j]);
      g[j] = h;
      y[r * H + j] = h;
    } else if (s.cell == 1) {
      const float cp = s.tp >= 0 ? extra[s.Row(s.tp, b) * H + j] : (c0 ? c0[i] : 0.f);
      const float ig = Act(s.recAct, g[j]), fg = Act(s.recAct, g[H + j]), gg = Act(s.act, g[2 * H + j]),
                  og = Act(s.recAct, g[3 * H + j]);
      const float c = fg * cp + ig * gg;
      g[j] = ig, g[H + j] = fg, g[2 * H + j] = gg, g[3 * H + j] = og;
      extra[r * H + j] = c;
      y[r * H + j] = og * Act(s.act, c);
    } else if (s.resetAfter) {
      const float z = Act(s.recAct, g[s.zo + j]), rg = Act(s.recAct, g[s.ro + j]);
      const float rn = extra[r * H + j] + (bhn ? bhn[j] : 0.f);
      const float n = Act(s.act, g[2 * H + j] + rg * rn);
      g[s.zo + j] = z, g[s.ro + j] = rg, g[2 * H + j] = n;
      extra[r * H + j] = rn;
      y[r * H + j] = z * hp + (1.f - z) * n;
    } else if (phase == 0) {
      const float z = Act(s.recAct, g[s.zo + j]), rg = Act(s.recAct, g[s.ro + j]);
      g[s.zo + j] = z, g[s.ro + j] = rg;
      extra[r * H + j] = rg * hp;
    } else {
      const float z = g[s.zo + j], n = Act(s.act, g[2 * H + j]);
      g[2 * H + j] = n;
      y[r * H + j] = z * hp + (1.f - z) * n;
    }
  }
}

// Backward gates of step s: dh (B, H) carries d h_t in and leaves the direct part of d h_{t-1}
// (GRU: dh·z); dc (B, H) carries d c. Reset-before GRU: phase 0 = dn, dz; phase 1 = dr from drh.
__global__ void GatesBackward(Step s, int phase, const float* gates, const float* extra, const float* hprev,
                              const float* c0, const float* dy, float* dh, float* dc, const float* drh, float* dG,
                              float* dGh) {
  TB_CUDA_LOOP(i, s.B * s.H) {
    const int64_t b = i / s.H, j = i % s.H, H = s.H;
    const int64_t r = s.Row(s.t, b);
    const float* g = gates + r * s.GH;
    float* o = dG + r * s.GH;
    const float hp = hprev[r * H + j];
    const float dhv = phase == 0 ? dh[i] + (dy ? dy[r * H + j] : 0.f) : 0.f;
    if (s.cell == 0) {
      o[j] = dhv * DAct(s.act, g[j]);
    } else if (s.cell == 1) {
      const float cp = s.tp >= 0 ? extra[s.Row(s.tp, b) * H + j] : (c0 ? c0[i] : 0.f);
      const float ig = g[j], fg = g[H + j], gg = g[2 * H + j], og = g[3 * H + j];
      const float ac = Act(s.act, extra[r * H + j]);
      const float dcv = dc[i] + dhv * og * DAct(s.act, ac);
      o[j] = dcv * gg * DAct(s.recAct, ig);
      o[H + j] = dcv * cp * DAct(s.recAct, fg);
      o[2 * H + j] = dcv * ig * DAct(s.act, gg);
      o[3 * H + j] = dhv * ac * DAct(s.recAct, og);
      dc[i] = dcv * fg;
    } else if (s.resetAfter) {
      const float z = g[s.zo + j], rg = g[s.ro + j], n = g[2 * H + j];
      const float dn = dhv * (1.f - z) * DAct(s.act, n);
      const float dz = dhv * (hp - n) * DAct(s.recAct, z);
      const float dr = dn * extra[r * H + j] * DAct(s.recAct, rg);
      float* oh = dGh + r * s.GH;
      o[s.zo + j] = dz, o[s.ro + j] = dr, o[2 * H + j] = dn;
      oh[s.zo + j] = dz, oh[s.ro + j] = dr, oh[2 * H + j] = dn * rg;
      dh[i] = dhv * z;
    } else if (phase == 0) {
      const float z = g[s.zo + j], n = g[2 * H + j];
      o[2 * H + j] = dhv * (1.f - z) * DAct(s.act, n);
      o[s.zo + j] = dhv * (hp - n) * DAct(s.recAct, z);
      dh[i] = dhv * z;
    } else {
      const float rg = g[s.ro + j];
      o[s.ro + j] = drh[i] * hp * DAct(s.recAct, rg);
      dh[i] += drh[i] * rg;
    }
  }
}

__global__ void MaskRows(float* dh, const float* rmask, int64_t n) {
  TB_CUDA_LOOP(i, n) dh[i] *= rmask[i];
}

// dst (B, H) = the rows of step t of src (rows, H).
__global__ void TakeStep(Step s, const float* src, float* dst) {
  TB_CUDA_LOOP(i, s.B * s.H) dst[i] = src[s.Row(s.t, i / s.H) * s.H + i % s.H];
}

__global__ void CopyOrZero(const float* src, float* dst, int64_t n) {
  TB_CUDA_LOOP(i, n) dst[i] = src ? src[i] : 0.f;
}

// out[c] = Σ_r g[r·ld + c], rows in order, in double (one thread a column).
__global__ void ColSums(const float* g, int64_t rows, int64_t cols, int64_t ld, float* out) {
  TB_CUDA_LOOP(c, cols) {
    double acc = 0;
    for (int64_t r = 0; r < rows; ++r) acc += g[r * ld + c];
    out[c] = static_cast<float>(acc);
  }
}

using WMat = RnnWeight;

Status MulW(const WMat& W, int64_t c, int64_t nc, int64_t m, const float* A, int64_t lda, float beta, float* C,
            int64_t ldc, cudaStream_t st) {
  return Sgemm(false, W.trans, m, nc, W.in, 1.f, A, lda, W.Col(c), W.Ld(), beta, C, ldc, st, "rnn");
}
Status MulWT(const WMat& W, int64_t c, int64_t nc, int64_t m, const float* G, int64_t ldg, float beta, float* C,
             int64_t ldc, cudaStream_t st) {
  return Sgemm(false, !W.trans, m, W.in, nc, 1.f, G, ldg, W.Col(c), W.Ld(), beta, C, ldc, st, "rnnBackward");
}
Status GradW(float* dw, const WMat& W, int64_t c, int64_t nc, int64_t rows, const float* A, int64_t lda,
             const float* G, int64_t ldg, cudaStream_t st) {
  if (W.trans) return Sgemm(true, false, nc, W.in, rows, 1.f, G, ldg, A, lda, 0.f, dw + c * W.in, W.in, st, "rnnBackward");
  return Sgemm(true, false, W.in, nc, rows, 1.f, A, lda, G, ldg, 0.f, dw + c, W.gh, st, "rnnBackward");
}

__global__ void BucketRows(const int32_t* idx, int64_t n, int64_t V, int32_t* start, int32_t* order, DeviceCheck* check) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  for (int64_t v = 0; v <= V; ++v) start[v] = 0;
  for (int64_t k = 0; k < n; ++k) {
    const int32_t v = idx[k];
    if (v < 0 || v >= V) {
      ReportBad(check, CheckCode::kGatherBackwardIndex, k, v, V);
      continue;
    }
    ++start[v + 1];
  }
  for (int64_t v = 0; v < V; ++v) start[v + 1] += start[v];
  for (int64_t k = 0; k < n; ++k)
    if (idx[k] >= 0 && idx[k] < V) order[start[idx[k]]++] = static_cast<int32_t>(k);
  for (int64_t v = V; v > 0; --v) start[v] = start[v - 1];
  start[0] = 0;
}

__global__ void SumBuckets(const float* dy, const int32_t* start, const int32_t* order, float* dw, int64_t V,
                           int64_t D, int64_t pad) {
  TB_CUDA_LOOP(i, V * D) {
    const int64_t v = i / D, j = i % D;
    float acc = 0.f;
    if (v != pad)
      for (int32_t p = start[v]; p < start[v + 1]; ++p) acc += dy[static_cast<int64_t>(order[p]) * D + j];
    dw[i] = acc;
  }
}

}  // namespace

Status RnnForward(const RnnDims& d, const float* x, const float* wx, const float* wh, const float* bx,
                  const float* bh, const float* h0, const float* c0, const float* rmask, float* y, float* hN,
                  float* cN, float* ws, cudaStream_t st) {
  const int64_t H = d.H, GH = d.GH(), B = d.B, rows = d.Rows();
  const bool lstm = d.cell == RnnCell::kLstm, gruAfter = d.cell == RnnCell::kGru && d.resetAfter;
  if (B * H == 0) return Status::Ok();
  TB_TRY(Init());
  if (rows == 0) {
    CopyOrZero<<<GridFor(B * H), kThreads, 0, st>>>(h0, hN, B * H);
    if (lstm) CopyOrZero<<<GridFor(B * H), kThreads, 0, st>>>(c0, cN, B * H);
    return LaunchStatus("rnnForward");
  }
  float* gates = ws + d.GatesOffset();
  float* hprev = ws + d.HprevOffset();
  float* extra = ws + d.ExtraOffset();
  const bool bias = bx || bh;
  if (bias) BiasRows<<<GridFor(rows * GH), kThreads, 0, st>>>(gates, bx, bh, rows, GH, gruAfter ? 2 * H : GH);
  const WMat Wx{wx, d.F, GH, d.transW}, Wh{wh, H, GH, d.transW};
  TB_TRY(MulW(Wx, 0, GH, rows, x, d.F, bias ? 1.f : 0.f, gates, GH, st));
  const float* bhn = gruAfter && bh ? bh + 2 * H : nullptr;
  const int64_t rs = d.RowStride();
  for (int64_t s = 0; s < d.T; ++s) {
    const Step sp = StepOf(d, s);
    const int64_t r0 = d.Row(sp.t, 0);
    Hprev<<<GridFor(B * H), kThreads, 0, st>>>(sp, y, h0, rmask, hprev);
    float* G = gates + r0 * GH;
    const float* HP = hprev + r0 * H;
    if (d.cell != RnnCell::kGru) {
      TB_TRY(MulW(Wh, 0, GH, B, HP, rs * H, 1.f, G, rs * GH, st));
    } else {
      TB_TRY(MulW(Wh, 0, 2 * H, B, HP, rs * H, 1.f, G, rs * GH, st));
      if (gruAfter) TB_TRY(MulW(Wh, 2 * H, H, B, HP, rs * H, 0.f, extra + r0 * H, rs * H, st));
    }
    GatesForward<<<GridFor(B * H), kThreads, 0, st>>>(sp, 0, gates, extra, hprev, c0, bhn, y);
    if (d.cell == RnnCell::kGru && !d.resetAfter) {
      TB_TRY(MulW(Wh, 2 * H, H, B, extra + r0 * H, rs * H, 1.f, G + 2 * H, rs * GH, st));
      GatesForward<<<GridFor(B * H), kThreads, 0, st>>>(sp, 1, gates, extra, hprev, c0, bhn, y);
    }
  }
  const Step last = StepOf(d, d.T - 1);
  TakeStep<<<GridFor(B * H), kThreads, 0, st>>>(last, y, hN);
  if (lstm) TakeStep<<<GridFor(B * H), kThreads, 0, st>>>(last, extra, cN);
  return LaunchStatus("rnnForward");
}

Status RnnBackward(const RnnDims& d, const float* x, const float* wx, const float* wh, const float* c0,
                   const float* rmask, const float* ws, const float* dy, const float* dhN, const float* dcN, float* dx,
                   float* dwx, float* dwh, float* dbx, float* dbh, float* dh0, float* dc0, float* scratch,
                   cudaStream_t st) {
  const int64_t H = d.H, GH = d.GH(), B = d.B, rows = d.Rows();
  const bool lstm = d.cell == RnnCell::kLstm;
  TB_TRY(Init());
  float* dG = scratch;
  float* dGh = d.SeparateRecurrentGrad() ? scratch + d.DGatesHOffset() : dG;
  float* dh = scratch + d.CarryOffset();
  float* dc = dh + B * H;
  float* drh = dc + B * H;
  const float* gates = ws + d.GatesOffset();
  const float* hprev = ws + d.HprevOffset();
  const float* extra = ws + d.ExtraOffset();
  const WMat Wx{wx, d.F, GH, d.transW}, Wh{wh, H, GH, d.transW};
  const int64_t rs = d.RowStride();
  if (B * H > 0) {
    CopyOrZero<<<GridFor(B * H), kThreads, 0, st>>>(dhN, dh, B * H);
    CopyOrZero<<<GridFor(B * H), kThreads, 0, st>>>(lstm ? dcN : nullptr, dc, B * H);
    for (int64_t s = d.T - 1; s >= 0; --s) {
      const Step sp = StepOf(d, s);
      const int64_t r0 = d.Row(sp.t, 0);
      GatesBackward<<<GridFor(B * H), kThreads, 0, st>>>(sp, 0, gates, extra, hprev, c0, dy, dh, dc, drh, dG, dGh);
      if (d.cell != RnnCell::kGru) {
        TB_TRY(MulWT(Wh, 0, GH, B, dG + r0 * GH, rs * GH, 0.f, dh, H, st));
      } else if (d.resetAfter) {
        TB_TRY(MulWT(Wh, 0, GH, B, dGh + r0 * GH, rs * GH, 1.f, dh, H, st));
      } else {
        TB_TRY(MulWT(Wh, 2 * H, H, B, dG + r0 * GH + 2 * H, rs * GH, 0.f, drh, H, st));
        GatesBackward<<<GridFor(B * H), kThreads, 0, st>>>(sp, 1, gates, extra, hprev, c0, dy, dh, dc, drh, dG, dGh);
        TB_TRY(MulWT(Wh, 0, 2 * H, B, dG + r0 * GH, rs * GH, 1.f, dh, H, st));
      }
      if (rmask) MaskRows<<<GridFor(B * H), kThreads, 0, st>>>(dh, rmask, B * H);
    }
    if (dh0) CopyOrZero<<<GridFor(B * H), kThreads, 0, st>>>(dh, dh0, B * H);
    if (dc0 && lstm) CopyOrZero<<<GridFor(B * H), kThreads, 0, st>>>(dc, dc0, B * H);
  }
  if (dwx) TB_TRY(GradW(dwx, Wx, 0, GH, rows, x, d.F, dG, GH, st));
  if (dwh) {
    if (d.cell == RnnCell::kGru && !d.resetAfter) {
      TB_TRY(GradW(dwh, Wh, 0, 2 * H, rows, hprev, H, dG, GH, st));
      TB_TRY(GradW(dwh, Wh, 2 * H, H, rows, extra, H, dG + 2 * H, GH, st));
    } else {
      TB_TRY(GradW(dwh, Wh, 0, GH, rows, hprev, H, dGh, GH, st));
    }
  }
  if (dbx) ColSums<<<GridFor(GH), kThreads, 0, st>>>(dG, rows, GH, GH, dbx);
  if (dbh) ColSums<<<GridFor(GH), kThreads, 0, st>>>(dGh, rows, GH, GH, dbh);
  if (dx && rows > 0) TB_TRY(MulWT(Wx, 0, GH, rows, dG, GH, 0.f, dx, d.F, st));
  return LaunchStatus("rnnBackward");
}

Status EmbeddingBackward(const float* dy, const int32_t* idx, int64_t n, float* dw, int64_t V, int64_t D,
                         int64_t paddingIdx, int32_t* ws, cudaStream_t st) {
  TB_TRY(Init());
  BucketRows<<<1, 1, 0, st>>>(idx, n, V, ws, ws + V + 1, CheckSlot());
  NoteCheck();
  if (V * D > 0) SumBuckets<<<GridFor(V * D), kThreads, 0, st>>>(dy, ws, ws + V + 1, dw, V, D, paddingIdx);
  return LaunchStatus("embeddingBackward");
}

}  // namespace tb::cuda
