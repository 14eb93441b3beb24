#pragma once
#include <cstdint>

#include "common/status.h"

namespace tb::cpu {

// C = alpha * op(A) @ op(B) + beta * C, row-major. op(A) is (M, K), op(B) is (K, N), C is (M, N);
// lda/ldb/ldc are the row strides of A, B, C as stored. Large products are split over our OpenMP
// threads; inside a parallel region it runs on the calling thread.
void Sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// Sgemm on the calling thread only (for callers that already run one task per thread).
void SgemmSerial(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                 int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// Our own packed GEMM (cpu/gemm_tiled.h) with the active instruction set's kernel, whatever the
// shape and whether or not OpenBLAS is linked. Same contract as Sgemm; splits itself over the team
// when large enough.
void SgemmPortable(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

bool HaveOpenBlas();
bool UsingOpenBlas();
void SetUseOpenBlas(bool on);  // ignored (stays false) when OpenBLAS was not linked
const char* OpenBlasConfig();
// bf16 operands with fp32 sums (AVX512_BF16 dot products) for the GEMMs and convolutions our
// kernels run under the AVX-512 set; the tensors (weights included) stay fp32 in memory. Fails,
// changing nothing, on a CPU without AVX512_BF16. Under another instruction set the products run
// in fp32 until AVX-512 is active again.
Status SetMatmulBf16(bool on);
bool MatmulBf16Requested();
// Whether bf16 applies to the next product (requested, and the AVX-512 set is active).
bool MatmulBf16();
// What runs large products now: "openblas", "tensorbolt-avx512", "tensorbolt-avx2", ...
const char* GemmKernelName();
// OpenBLAS's own pool size; tensorbolt keeps it at 1 and splits GEMMs over its OpenMP threads.
void SetOpenBlasThreads(int n);

}  // namespace tb::cpu
