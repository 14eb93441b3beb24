// Square sgemm timed with cuBLAS called directly (no Node, no N-API): the ceiling tensorbolt's GPU
// GEMM is compared against. FP32 math (no TF32), each sample ending in a device synchronize, the
// same calls per sample as the tensorbolt side. Prints one JSON line per size: {"n":..,"samples_ms":[..]}.
// Build: nvcc -O2 bench/cublas_gemm.cu -lcublas -o build/bench-cublas-gemm (bench/cublas_direct.ts does it)
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CHECK(x)                                                              \
  do {                                                                        \
    if ((x) != 0) {                                                           \
      std::fprintf(stderr, "cublas_gemm: %s failed (%d)\n", #x, int(x));      \
      return 1;                                                               \
    }                                                                         \
  } while (0)

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 7;
  cublasHandle_t h;
  CHECK(cublasCreate(&h));
  CHECK(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));
  for (int i = 2; i < argc; ++i) {
    const int n = std::atoi(argv[i]);
    const size_t bytes = size_t(n) * n * sizeof(float);
    std::vector<float> host(size_t(n) * n);
    for (size_t k = 0; k < host.size(); ++k) host[k] = float(k % 13) * 0.1f - 0.6f;
    float *a, *b, *c;
    CHECK(cudaMalloc(&a, bytes));
    CHECK(cudaMalloc(&b, bytes));
    CHECK(cudaMalloc(&c, bytes));
    CHECK(cudaMemcpy(a, host.data(), bytes, cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(b, host.data(), bytes, cudaMemcpyHostToDevice));
    const float one = 1.f, zero = 0.f;
    const int inner = n <= 512 ? 20 : (n <= 2048 ? 5 : 1);
    CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a, n, b, n, &zero, c, n));
    CHECK(cudaDeviceSynchronize());
    std::printf("{\"n\":%d,\"samples_ms\":[", n);
    for (int r = 0; r < reps; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      for (int q = 0; q < inner; ++q) CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a, n, b, n, &zero, c, n));
      CHECK(cudaDeviceSynchronize());
      auto t1 = std::chrono::steady_clock::now();
      std::printf("%s%.6f", r ? "," : "", std::chrono::duration<double, std::milli>(t1 - t0).count() / inner);
    }
    std::printf("]}\n");
    std::fflush(stdout);
    cudaFree(a);
    cudaFree(b);
    cudaFree(c);
  }
  cublasDestroy(h);
  return 0;
}
