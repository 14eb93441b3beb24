// Pointwise activations and their gradients. x, y, dy, dx are flat (n); op is a tb::ActivationOp.
// alpha is the op's parameter (leakyRelu slope, elu alpha) and is ignored by the others.
#pragma once
#include <cstdint>

#include "common/ops.h"

namespace tb::cpu {

// y = f(x). y may alias x.
void ActivationForward(ActivationOp op, const float* x, float* y, int64_t n, float alpha);

// dx = dy * f'(x). y must hold f(x) (sigmoid and tanh read their derivative from it). dx may alias dy.
void ActivationBackward(ActivationOp op, const float* x, const float* y, const float* dy, float* dx, int64_t n,
                        float alpha);

// SELU's fixed constants (Klambauer et al., 2017, "Self-Normalizing Neural Networks").
constexpr float kSeluAlpha = 1.6732632423543772848170429916717f;
constexpr float kSeluScale = 1.0507009873554804934193349852946f;

}  // namespace tb::cpu
