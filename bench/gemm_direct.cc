// Square sgemm timed with OpenBLAS called directly (no Node, no N-API): the ceiling the binding is
// compared against. Prints one JSON line per size: {"n":..,"samples_ms":[..]}.
// Build: g++ -O2 bench/gemm_direct.cc <openblas flags> -o build/bench-gemm-direct
#include <cblas.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
  int reps = argc > 1 ? std::atoi(argv[1]) : 7;
  for (int i = 2; i < argc; ++i) {
    const int n = std::atoi(argv[i]);
    std::vector<float> a(size_t(n) * n), b(size_t(n) * n), c(size_t(n) * n);
    for (size_t k = 0; k < a.size(); ++k) {
      a[k] = float(k % 13) * 0.1f - 0.6f;
      b[k] = float(k % 7) * 0.2f - 0.6f;
    }
    // warm-up (thread pool start, page faults)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
    std::printf("{\"n\":%d,\"samples_ms\":[", n);
    for (int r = 0; r < reps; ++r) {
      // enough calls per sample that small sizes are not dominated by timer resolution
      const int inner = n <= 256 ? 20 : (n <= 512 ? 4 : 1);
      auto t0 = std::chrono::steady_clock::now();
      for (int q = 0; q < inner; ++q)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
      auto t1 = std::chrono::steady_clock::now();
      std::printf("%s%.6f", r ? "," : "", std::chrono::duration<double, std::milli>(t1 - t0).count() / inner);
    }
    std::printf("]}\n");
    std::fflush(stdout);
  }
  return 0;
}
