// Recurrent layers (SimpleRNN, LSTM, GRU), forward and backward through time.
//
// Forward: one GEMM projects the inputs of every step (gates = x·wx + bias), then each step adds
// h_{t-1}·wh with one GEMM and runs the cell's fused gate kernel (rnn_cells.h). Sequences of a
// batch are independent, so the batch is cut into blocks and each thread runs a block through all
// the steps on its own: no barrier per step, which on a loaded machine is what costs (a
// descheduled thread would stall the others every step).
// Backward: the same blocks run the steps in reverse (gate kernel, then d h_{t-1} = dgates·whᵀ),
// leaving dgates for every step; then the weight gradients are one GEMM each over all steps.
// GCC assumes FP operations may trap and then leaves the selects of the gate loops scalar; we never
// enable FP exceptions (see activation.cc). Must precede the includes.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "cpu/rnn.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/parallel.h"
#include "cpu/gemm.h"
#include "cpu/rnn_cells.h"

namespace tb::cpu {
namespace {

using rnn::WithAct;

// Sequences per block. Fixed, not derived from the thread count: a block's GEMMs then have the same
// shapes on any number of threads, and OpenBLAS's result depends on the shape (a 32-row and a
// 64-row product of the same rows differ in the last bits), so the result does not depend on the
// thread count. 32 rows keep each step's GEMM efficient.
constexpr int64_t kBlock = 32;

using WMat = RnnWeight;

using GemmFn = void (*)(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
                        float, float*, int64_t);

// C (m, nc) = beta·C + A (m, in) · W[:, c .. c+nc)
void MulW(GemmFn gemm, const WMat& W, int64_t c, int64_t nc, int64_t m, const float* A, int64_t lda, float beta,
          float* C, int64_t ldc) {
  gemm(false, W.trans, m, nc, W.in, 1.0f, A, lda, W.Col(c), W.Ld(), beta, C, ldc);
}

// C (m, in) = beta·C + G (m, nc) · W[:, c .. c+nc)ᵀ
void MulWT(GemmFn gemm, const WMat& W, int64_t c, int64_t nc, int64_t m, const float* G, int64_t ldg, float beta,
           float* C, int64_t ldc) {
  gemm(false, !W.trans, m, W.in, nc, 1.0f, G, ldg, W.Col(c), W.Ld(), beta, C, ldc);
}

// dW[:, c .. c+nc) = Aᵀ (in, rows) · G (rows, nc), stored as W is.
void GradW(float* dw, const WMat& W, int64_t c, int64_t nc, int64_t rows, const float* A, int64_t lda,
           const float* G, int64_t ldg) {
  if (W.trans)
    Sgemm(true, false, nc, W.in, rows, 1.0f, G, ldg, A, lda, 0.0f, dw + c * W.in, W.in);
  else
    Sgemm(true, false, W.in, nc, rows, 1.0f, A, lda, G, ldg, 0.0f, dw + c, W.gh);
}

// out[c] = Σ_r g[r·ld + c], rows in order, in double: the same bits on any thread count.
void ColSums(const float* g, int64_t rows, int64_t cols, int64_t ld, float* out) {
  constexpr int64_t kCols = 64;
  const int64_t blocks = (cols + kCols - 1) / kCols;
  TB_PARALLEL_FOR(rows * cols, bi, 0, blocks, {
    const int64_t c0 = bi * kCols, w = std::min(kCols, cols - c0);
    double acc[kCols] = {};
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = g + r * ld + c0;
      for (int64_t j = 0; j < w; ++j) acc[j] += row[j];
    }
    for (int64_t j = 0; j < w; ++j) out[c0 + j] = static_cast<float>(acc[j]);
  });
}

// Runs fn(b0, b1) over blocks of the batch, handed to the threads as they come free.
template <class Fn>
void ForBlocks(int64_t B, Fn fn) {
  ForEachTask((B + kBlock - 1) / kBlock, [&](int64_t k) { fn(k * kBlock, std::min(B, (k + 1) * kBlock)); });
}

// Position of processing step s, and of the step before it.
inline int64_t StepAt(const RnnDims& d, int64_t s) { return d.reverse ? d.T - 1 - s : s; }

// The per-call views of the saved workspace.
struct Saved {
  float* gates;
  float* hprev;
  float* extra;        // LSTM: c; GRU: rn or r·hp
  const float* zeros;  // H zeros (the forward pass writes them; the backward has its own)
  explicit Saved(const RnnDims& d, float* ws)
      : gates(ws + d.GatesOffset()), hprev(ws + d.HprevOffset()), extra(ws + d.ExtraOffset()),
        zeros(ws + d.WsZerosOffset()) {}
};

// GRU gate offsets: z, r, n (Keras) or r, z, n (PyTorch).
inline int64_t ZOff(const RnnDims& d) { return d.kerasGru ? 0 : d.H; }
inline int64_t ROff(const RnnDims& d) { return d.kerasGru ? d.H : 0; }

// Steps of one block of sequences [b0, b1), forward.
template <class A, class R>
void ForwardBlock(const RnnDims& d, const WMat& Wh, const float* bhn, const float* h0, const float* c0,
                  const float* rmask, float* y, const Saved& sv, int64_t b0, int64_t b1) {
  const int64_t H = d.H, GH = d.GH(), nb = b1 - b0, rs = d.RowStride();
  const int64_t zo = ZOff(d), ro = ROff(d);
  for (int64_t s = 0; s < d.T; ++s) {
    const int64_t t = StepAt(d, s), tp = s > 0 ? StepAt(d, s - 1) : -1;
    // The h this step reads, with recurrent dropout applied: saved for the weight gradient.
    for (int64_t b = b0; b < b1; ++b) {
      float* hp = sv.hprev + d.Row(t, b) * H;
      const float* src = tp >= 0 ? y + d.Row(tp, b) * H : (h0 ? h0 + b * H : nullptr);
      const float* m = rmask ? rmask + b * H : nullptr;
      for (int64_t j = 0; j < H; ++j) hp[j] = (src ? src[j] : 0.0f) * (m ? m[j] : 1.0f);
    }
    const int64_t r0 = d.Row(t, b0);
    float* G = sv.gates + r0 * GH;
    const float* HP = sv.hprev + r0 * H;
    float* EX = sv.extra + r0 * H;
    const int64_t ldg = rs * GH, ldh = rs * H;
    switch (d.cell) {
      case RnnCell::kRnn:
        MulW(SgemmSerial, Wh, 0, GH, nb, HP, ldh, 1.0f, G, ldg);
        for (int64_t b = b0; b < b1; ++b) rnn::RnnRowForward<A>(H, sv.gates + d.Row(t, b) * GH, y + d.Row(t, b) * H);
        break;
      case RnnCell::kLstm:
        MulW(SgemmSerial, Wh, 0, GH, nb, HP, ldh, 1.0f, G, ldg);
        for (int64_t b = b0; b < b1; ++b) {
          const int64_t r = d.Row(t, b);
          const float* cp = tp >= 0 ? sv.extra + d.Row(tp, b) * H : (c0 ? c0 + b * H : sv.zeros);
          rnn::LstmRowForward<A, R>(H, sv.gates + r * GH, cp, sv.extra + r * H, y + r * H);
        }
        break;
      case RnnCell::kGru:
        MulW(SgemmSerial, Wh, 0, 2 * H, nb, HP, ldh, 1.0f, G, ldg);
        if (d.resetAfter) {
          MulW(SgemmSerial, Wh, 2 * H, H, nb, HP, ldh, 0.0f, EX, ldh);
          for (int64_t b = b0; b < b1; ++b) {
            const int64_t r = d.Row(t, b);
            rnn::GruAfterRowForward<A, R>(H, zo, ro, sv.gates + r * GH, sv.extra + r * H, bhn, sv.hprev + r * H,
                                          y + r * H);
          }
        } else {
          for (int64_t b = b0; b < b1; ++b) {
            const int64_t r = d.Row(t, b);
            rnn::GruBeforeRowGates<R>(H, zo, ro, sv.gates + r * GH, sv.hprev + r * H, sv.extra + r * H);
          }
          MulW(SgemmSerial, Wh, 2 * H, H, nb, EX, ldh, 1.0f, G + 2 * H, ldg);
          for (int64_t b = b0; b < b1; ++b) {
            const int64_t r = d.Row(t, b);
            rnn::GruBeforeRowOutput<A>(H, zo, sv.gates + r * GH, sv.hprev + r * H, y + r * H);
          }
        }
        break;
      default:
        break;
    }
  }
}

// Steps of one block in reverse. dh, dc, tmp: the block's rows of the (B, H) carries.
template <class A, class R>
void BackwardBlock(const RnnDims& d, const WMat& Wh, const float* c0, const float* rmask, const Saved& sv,
                   const float* dy, const float* zeros, float* dG, float* dGh, float* dh, float* dc, float* tmp,
                   int64_t b0, int64_t b1) {
  const int64_t H = d.H, GH = d.GH(), nb = b1 - b0, rs = d.RowStride();
  const int64_t zo = ZOff(d), ro = ROff(d);
  for (int64_t s = d.T - 1; s >= 0; --s) {
    const int64_t t = StepAt(d, s), tp = s > 0 ? StepAt(d, s - 1) : -1;
    const int64_t r0 = d.Row(t, b0), ldg = rs * GH;
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t r = d.Row(t, b);
      const float* dyr = dy ? dy + r * H : zeros;
      float* dhb = dh + (b - b0) * H;
      switch (d.cell) {
        case RnnCell::kRnn:
          rnn::RnnRowBackward<A>(H, sv.gates + r * GH, dyr, dhb, dG + r * GH);
          break;
        case RnnCell::kLstm: {
          const float* cp = tp >= 0 ? sv.extra + d.Row(tp, b) * H : (c0 ? c0 + b * H : zeros);
          rnn::LstmRowBackward<A, R>(H, sv.gates + r * GH, cp, sv.extra + r * H, dyr, dhb, dc + (b - b0) * H,
                                     dG + r * GH);
          break;
        }
        case RnnCell::kGru:
          if (d.resetAfter)
            rnn::GruAfterRowBackward<A, R>(H, zo, ro, sv.gates + r * GH, sv.extra + r * H, sv.hprev + r * H, dyr, dhb,
                                           dG + r * GH, dGh + r * GH);
          else
            rnn::GruBeforeRowBackwardOut<A, R>(H, zo, sv.gates + r * GH, sv.hprev + r * H, dyr, dhb, dG + r * GH);
          break;
        default:
          break;
      }
    }
    // d h_{t-1}: the recurrent product's share (plus the direct share a GRU left in dh).
    if (d.cell != RnnCell::kGru) {
      MulWT(SgemmSerial, Wh, 0, GH, nb, dG + r0 * GH, ldg, 0.0f, dh, H);
    } else if (d.resetAfter) {
      MulWT(SgemmSerial, Wh, 0, GH, nb, dGh + r0 * GH, ldg, 1.0f, dh, H);
    } else {
      MulWT(SgemmSerial, Wh, 2 * H, H, nb, dG + r0 * GH + 2 * H, ldg, 0.0f, tmp, H);
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t r = d.Row(t, b);
        rnn::GruBeforeRowBackwardReset<R>(H, ro, sv.gates + r * GH, sv.hprev + r * H, tmp + (b - b0) * H,
                                          dh + (b - b0) * H, dG + r * GH);
      }
      MulWT(SgemmSerial, Wh, 0, 2 * H, nb, dG + r0 * GH, ldg, 1.0f, dh, H);
    }
    if (rmask)
      for (int64_t b = b0; b < b1; ++b) {
        float* dhb = dh + (b - b0) * H;
        const float* m = rmask + b * H;
        for (int64_t j = 0; j < H; ++j) dhb[j] *= m[j];
      }
  }
}

// Calls fn(A{}, R{}) with the cell's activation functors (RNN has one: R is unused).
template <class Fn>
void WithActs(const RnnDims& d, Fn&& fn) {
  WithAct(d.act, [&](auto a) {
    if (d.cell == RnnCell::kRnn) return fn(a, rnn::Sigmoid{});
    WithAct(d.recAct, [&](auto r) { fn(a, r); });
  });
}

void CopyRows(const float* src, float* dst, int64_t n) {
  if (n > 0) std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

}  // namespace

Status RnnForward(const RnnDims& d, const float* x, const float* wx, const float* wh, const float* bx,
                  const float* bh, const float* h0, const float* c0, const float* rmask, float* y, float* hN,
                  float* cN, float* ws) {
  const int64_t H = d.H, GH = d.GH(), B = d.B, rows = d.Rows();
  const bool lstm = d.cell == RnnCell::kLstm;
  if (rows == 0) {  // an empty sequence leaves the state as it was
    if (h0) CopyRows(h0, hN, B * H); else std::fill(hN, hN + B * H, 0.0f);
    if (lstm) { if (c0) CopyRows(c0, cN, B * H); else std::fill(cN, cN + B * H, 0.0f); }
    return Status::Ok();
  }
  const Saved sv(d, ws);
  // Bias of every gate; a reset-after GRU keeps bh's n block for inside the reset.
  const bool gruAfter = d.cell == RnnCell::kGru && d.resetAfter;
  const bool bias = bx || bh;
  if (bias) {
    std::vector<float> b(static_cast<size_t>(GH), 0.0f);  // per call, G·H floats
    for (int64_t j = 0; j < GH; ++j)
      b[j] = (bx ? bx[j] : 0.0f) + (bh && !(gruAfter && j >= 2 * H) ? bh[j] : 0.0f);
    TB_PARALLEL_FOR(rows * GH, r, 0, rows, { std::memcpy(sv.gates + r * GH, b.data(), static_cast<size_t>(GH) * sizeof(float)); });
  }
  const WMat Wx{wx, d.F, GH, d.transW}, Wh{wh, H, GH, d.transW};
  MulW(Sgemm, Wx, 0, GH, rows, x, d.F, bias ? 1.0f : 0.0f, sv.gates, GH);
  std::fill(ws + d.WsZerosOffset(), ws + d.WorkspaceSize(), 0.0f);
  const float* bhn = gruAfter && bh ? bh + 2 * H : sv.zeros;
  WithActs(d, [&](auto a, auto r) {
    using A = decltype(a);
    using R = decltype(r);
    ForBlocks(B, [&](int64_t b0, int64_t b1) { ForwardBlock<A, R>(d, Wh, bhn, h0, c0, rmask, y, sv, b0, b1); });
  });
  const int64_t last = StepAt(d, d.T - 1);
  for (int64_t b = 0; b < B; ++b) {
    CopyRows(y + d.Row(last, b) * H, hN + b * H, H);
    if (lstm) CopyRows(sv.extra + d.Row(last, b) * H, cN + b * H, H);
  }
  return Status::Ok();
}

Status RnnBackward(const RnnDims& d, const float* x, const float* wx, const float* wh, const float* c0,
                   const float* rmask, const float* ws, const float* dy, const float* dhN, const float* dcN, float* dx,
                   float* dwx, float* dwh, float* dbx, float* dbh, float* dh0, float* dc0, float* scratch) {
  const int64_t H = d.H, GH = d.GH(), B = d.B, rows = d.Rows();
  const bool lstm = d.cell == RnnCell::kLstm;
  float* dG = scratch;
  float* dGh = d.SeparateRecurrentGrad() ? scratch + d.DGatesHOffset() : dG;
  float* dh = scratch + d.CarryOffset();
  float* dc = dh + B * H;
  float* tmp = dc + B * H;
  float* zeros = scratch + d.ScratchZerosOffset();
  std::fill(zeros, zeros + H, 0.0f);
  if (dhN) CopyRows(dhN, dh, B * H); else std::fill(dh, dh + B * H, 0.0f);
  if (dcN && lstm) CopyRows(dcN, dc, B * H); else std::fill(dc, dc + B * H, 0.0f);
  const Saved sv(d, const_cast<float*>(ws));  // read only here
  const WMat Wx{wx, d.F, GH, d.transW}, Wh{wh, H, GH, d.transW};
  if (rows > 0)
    WithActs(d, [&](auto a, auto r) {
      using A = decltype(a);
      using R = decltype(r);
      ForBlocks(B, [&](int64_t b0, int64_t b1) {
        BackwardBlock<A, R>(d, Wh, c0, rmask, sv, dy, zeros, dG, dGh, dh + b0 * H, dc + b0 * H, tmp + b0 * H, b0, b1);
      });
    });
  if (dh0) CopyRows(dh, dh0, B * H);
  if (dc0 && lstm) CopyRows(dc, dc0, B * H);
  // The weight gradients, each one GEMM over every step (an empty sequence gives zeros).
  if (dwx) GradW(dwx, Wx, 0, GH, rows, x, d.F, dG, GH);
  if (dwh) {
    if (d.cell == RnnCell::kGru && !d.resetAfter) {
      GradW(dwh, Wh, 0, 2 * H, rows, sv.hprev, H, dG, GH);
      GradW(dwh, Wh, 2 * H, H, rows, sv.extra, H, dG + 2 * H, GH);
    } else {
      GradW(dwh, Wh, 0, GH, rows, sv.hprev, H, dGh, GH);
    }
  }
  if (dbx) ColSums(dG, rows, GH, GH, dbx);
  if (dbh) ColSums(dGh, rows, GH, GH, dbh);
  if (dx) MulWT(Sgemm, Wx, 0, GH, rows, dG, GH, 0.0f, dx, d.F);
  return Status::Ok();
}

}  // namespace tb::cpu
