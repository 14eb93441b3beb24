// Threading policy for our own loops. OpenMP when the compiler has it; plain loops otherwise.
// Small loops stay serial: waking a team costs microseconds, more than a few thousand flops.
#pragma once
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace tb {

// Below this many elements (or equivalent work units) an elementwise loop runs on one thread.
constexpr int64_t kParallelGrain = 1 << 15;

inline int MaxThreads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

void SetNumThreads(int n);  // defined in cpu/threads.cc; OpenBLAS stays single-threaded (cpu/gemm.cc)

}  // namespace tb

// TB_PARALLEL_FOR(n) before a `for` loop over n items: parallel only when n is large enough.
#ifdef _OPENMP
#define TB_PRAGMA(x) _Pragma(#x)
#define TB_PARALLEL_FOR(n) TB_PRAGMA(omp parallel for schedule(static) if ((n) >= ::tb::kParallelGrain))
#else
#define TB_PARALLEL_FOR(n)
#endif
