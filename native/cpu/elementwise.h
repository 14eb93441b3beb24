// Elementwise kernels: unary math, broadcasting binary ops and where(), with their gradients.
// Broadcasting is described by per-out-axis element strides (0 on a broadcast axis), the same
// convention as lib/native/binding.ts. Gradient outputs (da, db, dst) are overwritten, never
// accumulated into, and their strides must be broadcast strides of a contiguous array (each of
// their elements reached by at least one out element, none skipped): the napi layer checks this.
#pragma once
#include <cstdint>

#include "common/ops.h"

namespace tb::cpu {

// x, y, dy, dx are (n). p1/p2: clip lo/hi, powScalar exponent in p1.
void Unary(UnaryOp op, const float* x, float* y, int64_t n, float p1, float p2);
// dx = dy * f'(x); y = f(x) is read by ops whose derivative is cheaper from the output.
void UnaryBackward(UnaryOp op, const float* x, const float* y, const float* dy, float* dx, int64_t n, float p1,
                   float p2);

// out (shape[0..ndim), contiguous) = a (op) b, a/b read at aStrides/bStrides.
void Binary(BinaryOp op, const float* a, const int64_t* aStrides, const float* b, const int64_t* bStrides, float* out,
            const int64_t* shape, int ndim);
// da (daLen floats) and db (dbLen) = gradients of Binary reduced over their broadcast axes; either
// may be null. op must be differentiable (not a comparison).
void BinaryBackward(BinaryOp op, const float* a, const int64_t* aStrides, const float* b, const int64_t* bStrides,
                    const float* dy, const int64_t* shape, int ndim, float* da, int64_t daLen, float* db, int64_t dbLen);
bool IsDifferentiable(BinaryOp op);

// out = cond != 0 ? a : b, each read at its strides.
void Where(const float* cond, const int64_t* cStrides, const float* a, const int64_t* aStrides, const float* b,
           const int64_t* bStrides, float* out, const int64_t* shape, int ndim);
// da = reduce(cond != 0 ? dy : 0) to a's strides, db = reduce(cond != 0 ? 0 : dy); either may be null.
void WhereBackward(const float* cond, const int64_t* cStrides, const float* dy, const int64_t* shape, int ndim,
                   float* da, const int64_t* aStrides, int64_t daLen, float* db, const int64_t* bStrides,
                   int64_t dbLen);

// dst (dstLen floats, at dstStrides over shape) = src (shape, contiguous) summed over the axes
// where dstStrides is 0.
void SumToStrides(const float* src, const int64_t* shape, int ndim, float* dst, const int64_t* dstStrides,
                  int64_t dstLen);

}  // namespace tb::cpu
