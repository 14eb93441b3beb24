// Pointwise activations, forward and backward side by side. Each op is one flat loop the compiler
// vectorizes (branch-free selects, FastExp/FastTanh instead of libm calls); only gelu's erf and
// softplus's log1p remain libm calls. NaN inputs give NaN outputs (no comparison hides them).
// GCC by default assumes FP operations may trap, so it will not if-convert the selects below
// (a ? a*x : x) and leaves those loops scalar; we never enable FP exceptions, so tell it so
// (Clang already assumes this). Must precede the includes so the inline helpers get it too.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "cpu/activation.h"

#include <cmath>

#include "common/isa_target.h"
#include "common/parallel.h"
#include "cpu/activation_math.h"
#include "cpu/isa.h"

namespace tb::cpu {

// One copy per instruction set: the math activations vectorize with the set's vectors (tanh on one
// Zen 5 core: 2.6 ns an element with the x86-64-v2 prebuild's SSE, 0.5-0.7 with AVX-512); ReLU and
// the other memory-bound ones run alike in every copy.
#define TB_ISA_EACH "cpu/activation_loops.inc"
#include "cpu/isa_each.inc"

void ActivationForward(ActivationOp op, const float* x, float* y, int64_t n, float alpha) {
#ifdef TB_ISA_X86
  if (ActiveIsa() == Isa::kAvx512) return avx512::Forward(op, x, y, n, alpha);
  if (ActiveIsa() == Isa::kAvx2) return avx2::Forward(op, x, y, n, alpha);
#endif
  base::Forward(op, x, y, n, alpha);
}

void ActivationBackward(ActivationOp op, const float* x, const float* y, const float* dy, float* dx, int64_t n,
                        float alpha) {
#ifdef TB_ISA_X86
  if (ActiveIsa() == Isa::kAvx512) return avx512::Backward(op, x, y, dy, dx, n, alpha);
  if (ActiveIsa() == Isa::kAvx2) return avx2::Backward(op, x, y, dy, dx, n, alpha);
#endif
  base::Backward(op, x, y, dy, dx, n, alpha);
}

}  // namespace tb::cpu
