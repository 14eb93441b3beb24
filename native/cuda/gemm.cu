// GEMM through cuBLAS: the only file that needs cuBLAS. cuBLAS is column-major; a row-major
// C (M, N) is the column-major C^T (N, M), and C^T = op(B)^T op(A)^T, so each call swaps the
// operands (and M with N) instead of transposing anything.
#include <cublas_v2.h>
#include <library_types.h>

#include <atomic>
#include <climits>
#include <mutex>
#include <string>

#include "cuda/common.cuh"
#include "cuda/gemm.cuh"

namespace tb::cuda {
namespace {

std::mutex g_mu;
cublasHandle_t g_handle = nullptr;
cudaStream_t g_bound = nullptr;  // the stream g_handle is bound to
std::atomic<bool> g_tf32{false};

Status BlasError(cublasStatus_t s, const char* what) {
  std::string msg = std::string(what) + " failed: " + cublasGetStatusName(s) + " (" + cublasGetStatusString(s) + ")";
  if (s == CUBLAS_STATUS_ALLOC_FAILED) return Status::Error(StatusCode::kOutOfMemory, "out of GPU memory: " + msg);
  return Status::Error(StatusCode::kBlas, msg);
}

// The handle, created on first use, bound to stream. (cublasSetStream also resets the handle's
// workspace, so it is called only when the stream changes.) Called with g_mu held: a cuBLAS handle
// must not be used by two host threads (worker_threads) at once, so each GEMM holds the lock while
// it is queued.
Status Handle(cudaStream_t stream, cublasHandle_t* out) {
  if (!g_handle) {
    TB_TRY(Init());
    const cublasStatus_t s = cublasCreate(&g_handle);
    if (s != CUBLAS_STATUS_SUCCESS) {
      g_handle = nullptr;
      return BlasError(s, "cublasCreate");
    }
    g_bound = nullptr;  // a new handle runs on the default stream
  }
  if (stream != g_bound) {
    const cublasStatus_t s = cublasSetStream(g_handle, stream);
    if (s != CUBLAS_STATUS_SUCCESS) return BlasError(s, "cublasSetStream");
    g_bound = stream;
  }
  *out = g_handle;
  return Status::Ok();
}

// C_b = beta * C_b for every batch (K == 0 or alpha == 0: no product to add).
__global__ void ScaleKernel(float* C, int64_t M, int64_t N, int64_t ldc, int64_t strideC, int64_t batch, float beta) {
  TB_CUDA_LOOP(t, batch * M * N) {
    const int64_t j = t % N, i = (t / N) % M, b = t / (M * N);
    float& c = C[b * strideC + i * ldc + j];
    c = beta == 0.f ? 0.f : beta * c;
  }
}

bool FitsInt(int64_t v) { return v >= 0 && v <= INT_MAX; }

}  // namespace

Status SgemmStridedBatched(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                           int64_t lda, int64_t strideA, const float* B, int64_t ldb, int64_t strideB, float beta,
                           float* C, int64_t ldc, int64_t strideC, int64_t batch, cudaStream_t stream,
                           const char* op) {
  if (M <= 0 || N <= 0 || batch <= 0) return Status::Ok();
  if (!FitsInt(M) || !FitsInt(N) || !FitsInt(K) || !FitsInt(lda) || !FitsInt(ldb) || !FitsInt(ldc) || !FitsInt(batch))
    return Status::Error(std::string(op) + ": GEMM sizes and leading dimensions must be below 2^31");
  if (K == 0 || alpha == 0.f) {
    if (beta == 1.f) return Status::Ok();
    ScaleKernel<<<GridFor(batch * M * N), kThreads, 0, stream>>>(C, M, N, ldc, strideC, batch, beta);
    return LaunchStatus(op);
  }
  std::lock_guard<std::mutex> lock(g_mu);
  cublasHandle_t h;
  TB_TRY(Handle(stream, &h));
  const cublasComputeType_t compute = g_tf32.load(std::memory_order_relaxed) ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                                             : CUBLAS_COMPUTE_32F;
  const cublasOperation_t opA = transA ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t opB = transB ? CUBLAS_OP_T : CUBLAS_OP_N;
  // Column-major view: C^T (N x M) = op(B)^T (N x K) @ op(A)^T (K x M).
  const int m = static_cast<int>(N), n = static_cast<int>(M), k = static_cast<int>(K);
  cublasStatus_t s;
  if (batch == 1) {
    s = cublasGemmEx(h, opB, opA, m, n, k, &alpha, B, CUDA_R_32F, static_cast<int>(ldb), A, CUDA_R_32F,
                     static_cast<int>(lda), &beta, C, CUDA_R_32F, static_cast<int>(ldc), compute, CUBLAS_GEMM_DEFAULT);
  } else {
    s = cublasGemmStridedBatchedEx(h, opB, opA, m, n, k, &alpha, B, CUDA_R_32F, static_cast<int>(ldb), strideB, A,
                                   CUDA_R_32F, static_cast<int>(lda), strideA, &beta, C, CUDA_R_32F,
                                   static_cast<int>(ldc), strideC, static_cast<int>(batch), compute,
                                   CUBLAS_GEMM_DEFAULT);
  }
  if (s != CUBLAS_STATUS_SUCCESS) return BlasError(s, batch == 1 ? "cublasGemmEx" : "cublasGemmStridedBatchedEx");
  return Status::Ok();
}

void SetTf32(bool on) { g_tf32.store(on); }

bool Tf32() { return g_tf32.load(); }

int BlasVersion() {
  int major = 0, minor = 0, patch = 0;
  if (cublasGetProperty(MAJOR_VERSION, &major) != CUBLAS_STATUS_SUCCESS ||
      cublasGetProperty(MINOR_VERSION, &minor) != CUBLAS_STATUS_SUCCESS ||
      cublasGetProperty(PATCH_LEVEL, &patch) != CUBLAS_STATUS_SUCCESS)
    return 0;
  return major * 10000 + minor * 100 + patch;
}

void ShutdownBlas() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_handle) cublasDestroy(g_handle);
  g_handle = nullptr;
  g_bound = nullptr;
}

}  // namespace tb::cuda
