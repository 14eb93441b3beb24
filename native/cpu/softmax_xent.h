// Softmax / log-softmax along one axis, and the fused softmax + cross-entropy over class logits.
#pragma once
#include <cstdint>

#include "common/status.h"

namespace tb::cpu {

// x, y are (outer, dim, inner); y = softmax(x) along dim, or log_softmax(x) when log. The row max is
// subtracted first, so any finite logits are safe. y must not overlap x.
void SoftmaxForward(const float* x, float* y, int64_t outer, int64_t dim, int64_t inner, bool log);

// y (the forward output), dy, dx are (outer, dim, inner).
// softmax: dx = y * (dy - sum_dim(dy * y)); log: dx = dy - exp(y) * sum_dim(dy). dx may alias dy.
void SoftmaxBackward(const float* y, const float* dy, float* dx, int64_t outer, int64_t dim, int64_t inner,
                     bool log);

// Error (naming the sample and the label) when some labels[i] is outside [0, c); labels is (n).
Status CheckLabels(const int32_t* labels, int64_t n, int64_t c);

// logits, probs are (n, c); loss is (n). Exactly one of labels (n) and targets (n, c) is non-null.
// The target row is t = (1 - smoothing) * onehot(label) (or the given row) + smoothing / c, and
// loss[i] = -sum_j t_j * log_softmax(logits_i)_j, computed from shifted logits (finite for any
// finite logits; terms with t_j == 0 contribute 0 even where log p_j = -inf). probs = softmax.
// Outputs must not overlap inputs. Returns an error (and writes nothing) when a label is out of range.
Status SoftmaxXentForward(const float* logits, int64_t n, int64_t c, const int32_t* labels, const float* targets,
                          float smoothing, float* probs, float* loss);

// dlogits (n, c) = dloss[i] * (probs_i * sum_j(t_j) - t), t as in the forward.
Status SoftmaxXentBackward(const float* probs, int64_t n, int64_t c, const int32_t* labels, const float* targets,
                           float smoothing, const float* dloss, float* dlogits);

}  // namespace tb::cpu
