// The machine's fp32 FMA peak: every core runs a short loop of independent fused multiply-adds on
// the widest vector unit it has (AVX-512, else AVX2 + FMA, else SSE multiply + add), all at once;
// the rate is the flops of all threads over the wall time of the slowest. Prints one JSON line:
// {"isa":"avx512","threads":2,"samples_gflops":[..]}.
// Build: g++ -O2 -fopenmp bench/fma_peak.cc -o build/bench-fma-peak
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {

constexpr int kChains = 12;  // independent accumulators: more than latency x pipes (4 x 2) needs
volatile float g_sink;

#if defined(__x86_64__)
__attribute__((target("avx512f"))) double Avx512(long iters) {
  __m512 a[kChains];
  for (int i = 0; i < kChains; ++i) a[i] = _mm512_set1_ps(1e-3f * i);
  const __m512 b = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-4f);
  for (long it = 0; it < iters; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) a[i] = _mm512_fmadd_ps(a[i], b, c);
  float s = 0;
  for (int i = 0; i < kChains; ++i) s += _mm512_reduce_add_ps(a[i]);
  g_sink = s;
  return 2.0 * 16 * kChains * iters;
}

__attribute__((target("avx2,fma"))) double Avx2(long iters) {
  __m256 a[kChains];
  for (int i = 0; i < kChains; ++i) a[i] = _mm256_set1_ps(1e-3f * i);
  const __m256 b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(1e-4f);
  for (long it = 0; it < iters; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) a[i] = _mm256_fmadd_ps(a[i], b, c);
  alignas(32) float o[8];
  float s = 0;
  for (int i = 0; i < kChains; ++i) _mm256_store_ps(o, a[i]), s += o[0];
  g_sink = s;
  return 2.0 * 8 * kChains * iters;
}
#endif

double Scalar(long iters) {
  float a[kChains];
  for (int i = 0; i < kChains; ++i) a[i] = 1e-3f * i;
  for (long it = 0; it < iters; ++it)
    for (int i = 0; i < kChains; ++i) a[i] = a[i] * 0.999f + 1e-4f;
  float s = 0;
  for (int i = 0; i < kChains; ++i) s += a[i];
  g_sink = s;
  return 2.0 * kChains * iters;
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 5;
  const char* isa = "scalar";
  double (*loop)(long) = &Scalar;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) isa = "avx512", loop = &Avx512;
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) isa = "avx2", loop = &Avx2;
#endif
  const long iters = 20'000'000;  // about 0.1-0.3 s a sample
  const int threads = omp_get_max_threads();
  std::printf("{\"isa\":\"%s\",\"threads\":%d,\"samples_gflops\":[", isa, threads);
  for (int r = 0; r <= reps; ++r) {
    double flops = 0;
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel reduction(+ : flops)
    flops += loop(iters);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r > 0) std::printf("%s%.2f", r > 1 ? "," : "", flops / s / 1e9);  // the first warms the cores up
  }
  std::printf("]}\n");
  return 0;
}
