// GEMM and batched GEMM on the device, through cuBLAS. This header names no cuBLAS type, so the
// other kernel files (conv2d.cu) compile without cuBLAS; only gemm.cu includes cublas_v2.h.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/status.h"

namespace tb::cuda {

// For b in [0, batch): C_b = alpha * op(A_b) @ op(B_b) + beta * C_b, row-major (as
// native/cpu/gemm.h). op(A) is (M, K), op(B) is (K, N), C is (M, N); lda/ldb/ldc are row strides as
// stored; A_b starts at A + b * strideA (elements; a stride of 0 reuses one matrix). beta == 0
// overwrites C (NaNs in C do not leak through). op names the caller in errors.
Status SgemmStridedBatched(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                           int64_t lda, int64_t strideA, const float* B, int64_t ldb, int64_t strideB, float beta,
                           float* C, int64_t ldc, int64_t strideC, int64_t batch, cudaStream_t stream, const char* op);

inline Status Sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                    int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, cudaStream_t stream,
                    const char* op) {
  return SgemmStridedBatched(transA, transB, M, N, K, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1, stream, op);
}

// FP32 (false, the default) or TF32 tensor-core math (true) for every later GEMM, convolutions included.
void SetTf32(bool on);
bool Tf32();

// cuBLAS's version as 10000 * major + 100 * minor + patch (0 when it cannot be read).
int BlasVersion();

// Destroys the cuBLAS handle (a later GEMM creates a new one).
void ShutdownBlas();

}  // namespace tb::cuda
