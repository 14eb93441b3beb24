// The shape of one recurrent layer's pass (one direction, one layer), shared by the CPU and CUDA
// kernels and the binding: the cell, its activations, the data layout, and the sizes of the saved
// workspace and the backward scratch. Plain C++.
//
// Rows: x (T·B, F), y (T·B, H) and every per-step buffer below hold one row per (t, b), in the order
// of x: time-major (row t·B + b) or batch-first (row b·T + t). Weights: wx (F, G·H) and wh (H, G·H)
// (Keras), or with transW (G·H, F) and (G·H, H) (PyTorch); G gate blocks of H columns.
#pragma once
#include <cstdint>
#include <string>

#include "common/status.h"

namespace tb {

enum class RnnCell : int { kRnn = 0, kLstm = 1, kGru = 2, kCount = 3 };

// Activations a cell applies; each derivative is computed from the activation's output.
// kHardSigmoid is TensorFlow.js's (and Keras 2's): clip(0.2·x + 0.5, 0, 1).
enum class RnnAct : int { kTanh = 0, kSigmoid = 1, kHardSigmoid = 2, kRelu = 3, kLinear = 4, kCount = 5 };

// The dims array the binding receives, in this order (Int32Array of kRnnDimsLen).
enum RnnDimIndex : int {
  kRnnT = 0, kRnnB, kRnnF, kRnnH, kRnnCellKind, kRnnBatchFirst, kRnnReverse, kRnnTransW, kRnnAct, kRnnRecAct,
  kRnnResetAfter, kRnnKerasGru, kRnnDimsLen
};

struct RnnDims {
  int64_t T = 0, B = 0, F = 0, H = 0;
  RnnCell cell = RnnCell::kLstm;
  bool batchFirst = false;  // rows b·T + t instead of t·B + b
  bool reverse = false;     // steps run t = T-1 .. 0; outputs stay at their input's position
  bool transW = false;      // PyTorch weight layout
  RnnAct act = RnnAct::kTanh;     // RNN: the cell's activation; LSTM/GRU: candidate (and LSTM's cell output)
  RnnAct recAct = RnnAct::kSigmoid;  // LSTM/GRU gates
  bool resetAfter = true;   // GRU: reset gate applied after the recurrent product (PyTorch, Keras 2 default)
  bool kerasGru = false;    // GRU gate blocks z, r, n (Keras) instead of r, z, n (PyTorch)

  int64_t Gates() const { return cell == RnnCell::kLstm ? 4 : cell == RnnCell::kGru ? 3 : 1; }
  int64_t GH() const { return Gates() * H; }
  int64_t Rows() const { return T * B; }
  // Row of (t, b) in x, y and the per-step buffers.
  int64_t Row(int64_t t, int64_t b) const { return batchFirst ? b * T + t : t * B + b; }
  // Rows between (t, b) and (t, b + 1).
  int64_t RowStride() const { return batchFirst ? T : 1; }

  // Saved by the forward pass for the backward one (floats): gates (rows, G·H) after activation,
  // hprev (rows, H) = the h each step read (recurrent dropout applied), and per cell one more
  // (rows, H): LSTM the cell state c, GRU the recurrent candidate term (reset-after: wh_n·h + bh_n;
  // reset-before: r ⊙ h). Then H zeros: the row the gate kernels read for an absent operand (no
  // initial c, no bias), so their loops hold no test and vectorize.
  int64_t GatesOffset() const { return 0; }
  int64_t HprevOffset() const { return Rows() * GH(); }
  int64_t ExtraOffset() const { return HprevOffset() + Rows() * H; }
  int64_t WsZerosOffset() const { return ExtraOffset() + (cell == RnnCell::kRnn ? 0 : Rows() * H); }
  int64_t WorkspaceSize() const { return WsZerosOffset() + H; }

  // Backward scratch (floats): dgates (rows, G·H), for a reset-after GRU the recurrent-side
  // dgates (rows, G·H) too, then three (B, H) carries: dh, dc, and a per-step temporary; then H
  // zeros (an absent dy or c0).
  bool SeparateRecurrentGrad() const { return cell == RnnCell::kGru && resetAfter; }
  int64_t DGatesHOffset() const { return Rows() * GH(); }
  int64_t CarryOffset() const { return DGatesHOffset() + (SeparateRecurrentGrad() ? Rows() * GH() : 0); }
  int64_t ScratchZerosOffset() const { return CarryOffset() + 3 * B * H; }
  int64_t ScratchSize() const { return ScratchZerosOffset() + H; }
};

// A weight as the (in, G·H) matrix the equations use, whatever its storage (PyTorch stores the
// transpose): Col(c) and Ld() address its columns c.. as a GEMM operand, on either device.
struct RnnWeight {
  const float* w;
  int64_t in, gh;
  bool trans;
  const float* Col(int64_t c) const { return trans ? w + c * in : w + c; }
  int64_t Ld() const { return trans ? in : gh; }
};

inline const char* RnnCellName(RnnCell c) {
  return c == RnnCell::kLstm ? "lstm" : c == RnnCell::kGru ? "gru" : "rnn";
}

// Reads and checks a dims array (values as the binding received them). Sizes must be positive
// except B and T (an empty batch or sequence is allowed); the products must fit what a typed array
// can index (2^40 elements, checked by the caller with the sizes above).
inline Status ParseRnnDims(const int32_t* v, int64_t n, RnnDims* d) {
  if (n != kRnnDimsLen)
    return Status::Error("dims must hold " + std::to_string(kRnnDimsLen) + " entries, got " + std::to_string(n));
  for (int i = 0; i < kRnnDimsLen; ++i)
    if (v[i] < 0) return Status::Error("dims[" + std::to_string(i) + "] = " + std::to_string(v[i]) + " is negative");
  if (v[kRnnF] < 1 || v[kRnnH] < 1)
    return Status::Error("input size F = " + std::to_string(v[kRnnF]) + " and hidden size H = " +
                         std::to_string(v[kRnnH]) + " must be >= 1");
  if (v[kRnnCellKind] >= static_cast<int>(RnnCell::kCount))
    return Status::Error("cell " + std::to_string(v[kRnnCellKind]) + " is not 0 (rnn), 1 (lstm) or 2 (gru)");
  if (v[kRnnAct] >= static_cast<int>(RnnAct::kCount) || v[kRnnRecAct] >= static_cast<int>(RnnAct::kCount))
    return Status::Error("activation codes must be in [0, " + std::to_string(static_cast<int>(RnnAct::kCount)) + ")");
  for (int i : {kRnnBatchFirst, kRnnReverse, kRnnTransW, kRnnResetAfter, kRnnKerasGru})
    if (v[i] > 1) return Status::Error("dims[" + std::to_string(i) + "] is a flag (0 or 1), got " + std::to_string(v[i]));
  d->T = v[kRnnT];
  d->B = v[kRnnB];
  d->F = v[kRnnF];
  d->H = v[kRnnH];
  d->cell = static_cast<RnnCell>(v[kRnnCellKind]);
  d->batchFirst = v[kRnnBatchFirst] != 0;
  d->reverse = v[kRnnReverse] != 0;
  d->transW = v[kRnnTransW] != 0;
  d->act = static_cast<RnnAct>(v[kRnnAct]);
  d->recAct = static_cast<RnnAct>(v[kRnnRecAct]);
  d->resetAfter = v[kRnnResetAfter] != 0;
  d->kerasGru = v[kRnnKerasGru] != 0;
  return Status::Ok();
}

}  // namespace tb
