#pragma once
#include <cstdint>

#include "common/rnn.h"
#include "common/status.h"

namespace tb::cpu {

// One recurrent layer, one direction, over a whole sequence (layout and sizes: common/rnn.h).
// x (rows, F); wx, wh as d.transW says; bx, bh (G·H) or null (a reset-after GRU adds bh's n block
// inside the reset, the other cells add bx + bh to the gates); h0, c0 (B, H) or null (zeros; c0
// only for LSTM); rmask (B, H) or null: recurrent dropout, multiplied into the h each step reads.
// Writes y (rows, H), hN (B, H), cN (B, H) (LSTM; null otherwise) and ws (d.WorkspaceSize()),
// which the backward pass reads. One GEMM for the input projections of all steps, then one
// recurrent GEMM per step per block of 32 sequences; blocks run on separate threads with no
// synchronization between steps, and the result does not depend on the thread count.
Status RnnForward(const RnnDims& d, const float* x, const float* wx, const float* wh, const float* bx,
                  const float* bh, const float* h0, const float* c0, const float* rmask, float* y, float* hN,
                  float* cN, float* ws);

// Backward through time. dy (rows, H), dhN and dcN (B, H) are the gradients of the outputs, each
// null when unused. Overwrites every non-null gradient: dx (rows, F), dwx, dwh (shaped as wx, wh),
// dbx, dbh (G·H), dh0, dc0 (B, H). scratch holds d.ScratchSize() floats. The weight gradients are
// one GEMM each over all steps.
Status RnnBackward(const RnnDims& d, const float* x, const float* wx, const float* wh, const float* c0,
                   const float* rmask, const float* ws, const float* dy, const float* dhN, const float* dcN, float* dx,
                   float* dwx, float* dwh, float* dbx, float* dbh, float* dh0, float* dc0, float* scratch);

}  // namespace tb::cpu
