// Recurrent layers and the embedding gradient on the device: the twins of native/cpu/rnn.h and
// native/cpu/embedding.h, same arguments (device pointers) plus the stream, same workspace layout
// (common/rnn.h), so a forward on one device and a backward on the other read the same buffers.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/rnn.h"
#include "common/status.h"

namespace tb::cuda {

Status RnnForward(const RnnDims& d, const float* x, const float* wx, const float* wh, const float* bx,
                  const float* bh, const float* h0, const float* c0, const float* rmask, float* y, float* hN,
                  float* cN, float* ws, cudaStream_t stream);

Status RnnBackward(const RnnDims& d, const float* x, const float* wx, const float* wh, const float* c0,
                   const float* rmask, const float* ws, const float* dy, const float* dhN, const float* dcN, float* dx,
                   float* dwx, float* dwh, float* dbx, float* dbh, float* dh0, float* dc0, float* scratch,
                   cudaStream_t stream);

// The indices live on the device: an index out of range is reported by the next download (as
// gatherBackward's) and adds nothing.
Status EmbeddingBackward(const float* dy, const int32_t* idx, int64_t n, float* dw, int64_t V, int64_t D,
                         int64_t paddingIdx, int32_t* ws, cudaStream_t stream);

}  // namespace tb::cuda
