// Dense layer on the device: a cuBLAS GEMM with the bias and ReLU applied in one pass over the output
// (activation.cu's epilogue), and a backward that masks dy once (into a workspace from the caching
// allocator) and feeds it to the bias sum and both GEMMs.
#include "cuda/activation.cuh"
#include "cuda/common.cuh"
#include "cuda/gemm.cuh"
#include "cuda/linear.cuh"
#include "cuda/reduce_kernels.cuh"

namespace tb::cuda {
namespace {

struct StoreF {
  float* out;
  __device__ void operator()(int64_t, int64_t i, double a) const { out[i] = static_cast<float>(a); }
};

Status Zero(float* p, int64_t n, cudaStream_t stream, const char* op) {
  if (n == 0) return Status::Ok();
  const cudaError_t e = cudaMemsetAsync(p, 0, static_cast<size_t>(n) * sizeof(float), stream);
  return e == cudaSuccess ? Status::Ok() : FromCuda(e, op, "cudaMemsetAsync");
}

}  // namespace

Status LinearForward(const float* x, const float* w, bool transW, const float* b, float* y, int64_t M, int64_t N,
                     int64_t K, FusedAct act, cudaStream_t stream) {
  if (M == 0 || N == 0) return Status::Ok();
  if (K == 0) TB_TRY(Zero(y, M * N, stream, "linear"));
  else TB_TRY(Sgemm(false, transW, M, N, K, 1.f, x, K, w, transW ? K : N, 0.f, y, N, stream, "linear"));
  return FusedEpilogue(y, M, N, b, act, stream, "linear");
}

Status LinearBackward(const float* x, const float* w, bool transW, const float* dy, const float* y, FusedAct act,
                      float* dx, float* dw, float* db, int64_t M, int64_t N, int64_t K, cudaStream_t stream) {
  const char* op = "linearBackward";
  const float* g = dy;
  Scratch masked;
  if (act == FusedAct::kRelu && M * N > 0) {
    if (!y) return Status::Error("the output y is needed for the ReLU gradient");
    TB_TRY(masked.Alloc(static_cast<size_t>(M * N) * sizeof(float), op));
    TB_TRY(FusedGrad(y, dy, masked.As<float>(), M * N, act, stream, op));
    g = masked.As<float>();
  }
  // db (N) = column sums of g (M, N), in double, in an order fixed by the shape (zeros when M = 0).
  if (db) TB_TRY(red::ReduceDim<red::SumD>(1, M, N, red::ViewLoad<double>{g, M, N}, StoreF{db}, stream, op));
  if (dw) {
    if (M == 0 || N == 0 || K == 0) TB_TRY(Zero(dw, N * K, stream, op));
    else if (transW)  // dW (N, K) = g^T (N, M) @ x (M, K)
      TB_TRY(Sgemm(true, false, N, K, M, 1.f, g, N, x, K, 0.f, dw, K, stream, op));
    else  // dW (K, N) = x^T (K, M) @ g (M, N)
      TB_TRY(Sgemm(true, false, K, N, M, 1.f, x, K, g, N, 0.f, dw, N, stream, op));
  }
  if (dx && M > 0 && K > 0) {
    if (N == 0) TB_TRY(Zero(dx, M * K, stream, op));
    else  // dX (M, K) = g (M, N) @ op(W)^T
      TB_TRY(Sgemm(false, !transW, M, K, N, 1.f, g, N, w, transW ? K : N, 0.f, dx, K, stream, op));
  }
  return Status::Ok();
}

}  // namespace tb::cuda
