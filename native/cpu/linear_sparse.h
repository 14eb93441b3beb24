// Products of the dense layer that skip the zeros of a mostly-zero input (cpu/linear_sparse.cc).
// The results equal the dense GEMM's up to the order of the additions; inputs with a non-finite
// value on the dense side take the dense path (0 * inf must stay NaN).
#pragma once
#include <cstdint>

#include "common/status.h"

namespace tb::cpu {

// False when the environment has TENSORBOLT_SPARSE=0 (every product then runs dense).
bool SparseLinearEnabled();
// Whether at most maxDensity of x's n values are non-zero (and sparse products are enabled).
bool MostlyZero(const float* x, int64_t n, double maxDensity);
// y (M, N) = act(x (M, K) @ op(w) + bias), reading only x's non-zeros; op(w) is w (K, N), or the
// transpose of w (N, K) when transW. *done is false, and y untouched, when w holds inf or NaN: the
// caller then takes the dense path.
Status SparseTimesDense(const float* x, const float* w, bool transW, const float* bias, bool relu, float* y,
                        int64_t M, int64_t N, int64_t K, bool* done);
// dw (K, N) = x^T @ g with x (M, K) and g (M, N), or its transpose dw (N, K) when transOut, reading
// only x's non-zeros. *done is false, and dw untouched, when g holds inf or NaN.
Status SparseTransposedTimesDense(const float* x, const float* g, float* dw, bool transOut, int64_t M, int64_t N,
                                  int64_t K, bool* done);

}  // namespace tb::cpu
