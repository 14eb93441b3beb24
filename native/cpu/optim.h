// Fused optimizer updates: each function makes one pass over a parameter, reading its gradient and
// updating the parameter and its state buffers in place. Every buffer holds n floats. The rules are
// PyTorch's (torch/optim/*.py, single-tensor path); lib/optim documents them per optimizer.
#pragma once
#include <cstdint>

namespace tb::cpu {

// momentumBuf may be null (momentum == 0). firstStep: buf = g instead of the running update.
void SgdStep(int64_t n, float* param, const float* grad, float* momentumBuf, float lr, float momentum,
             float dampening, float weightDecay, bool nesterov, bool firstStep);

// Adam (decoupled == false: L2 added to the gradient) or AdamW (decoupled: p *= 1 - lr*wd first).
// vmax non-null selects AMSGrad. step >= 1 drives the bias corrections.
void AdamStep(int64_t n, float* param, const float* grad, float* m, float* v, float* vmax, float lr,
              float beta1, float beta2, float eps, float weightDecay, bool decoupled, int64_t step);

// momBuf non-null when momentum > 0; gradAvg non-null selects the centered variant. epsInSqrt puts
// eps under the square root (Keras/TensorFlow) instead of adding it after (PyTorch).
void RmspropStep(int64_t n, float* param, const float* grad, float* sq, float* momBuf, float* gradAvg,
                 float lr, float alpha, float eps, float weightDecay, float momentum, bool epsInSqrt);

// epsInSqrt as for RmspropStep (Keras: sqrt(sum + eps); PyTorch: sqrt(sum) + eps).
void AdagradStep(int64_t n, float* param, const float* grad, float* sum, float lr, float lrDecay,
                 float weightDecay, float eps, int64_t step, bool epsInSqrt);

void AdadeltaStep(int64_t n, float* param, const float* grad, float* sq, float* acc, float lr, float rho,
                  float eps, float weightDecay);

// Sum of x[i]^2 accumulated in double (global-norm gradient clipping).
double SumSquares(int64_t n, const float* x);

// x *= alpha.
void Scale(int64_t n, float* x, float alpha);

}  // namespace tb::cpu
