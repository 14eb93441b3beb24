// Softmax / log-softmax along one axis, and the fused softmax + cross-entropy, on the device. Same
// contracts as native/cpu/softmax_xent.h, except for bad labels: the CPU kernels fail before writing;
// here a label outside [0, c) is found on the device, its row's loss is NaN, and the next
// synchronization (a download) throws an error naming the sample and the label (runtime.cuh).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/status.h"

namespace tb::cuda {

// x, y are (outer, dim, inner); y = softmax(x) (or log_softmax) along dim. y must not overlap x.
Status SoftmaxForward(const float* x, float* y, int64_t outer, int64_t dim, int64_t inner, bool log,
                      cudaStream_t stream);

// softmax: dx = y * (dy - sum_dim(dy * y)); log: dx = dy - exp(y) * sum_dim(dy). dx may alias dy.
Status SoftmaxBackward(const float* y, const float* dy, float* dx, int64_t outer, int64_t dim, int64_t inner, bool log,
                       cudaStream_t stream);

// logits, probs (n, c); loss (n). Exactly one of labels (n) and targets (n, c) is non-null. The
// target row is (1 - smoothing) * onehot(label) (or the given row) + smoothing / c.
Status SoftmaxXentForward(const float* logits, int64_t n, int64_t c, const int32_t* labels, const float* targets,
                          float smoothing, float* probs, float* loss, cudaStream_t stream);

// dlogits (n, c) = dloss[i] * (probs_i * sum_j(t_j) - t).
Status SoftmaxXentBackward(const float* probs, int64_t n, int64_t c, const int32_t* labels, const float* targets,
                           float smoothing, const float* dloss, float* dlogits, cudaStream_t stream);

}  // namespace tb::cuda
