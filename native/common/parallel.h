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

#ifdef _OPENMP
#define TB_PRAGMA(x) _Pragma(#x)
#endif

namespace tb {

// Whether a loop that is worth splitting should wake the team: more than one thread, and not
// already inside a team (where it runs on the calling thread, as a nested region would).
inline bool UseTeam(bool worth) {
#ifdef _OPENMP
  return worth && omp_get_max_threads() > 1 && !omp_in_parallel();
#else
  (void)worth;
  return false;
#endif
}

// Runs body(i) for i in [0, n) of coarse tasks (a convolution's image groups, a recurrent layer's
// batch blocks): spread over the team (dynamic schedule: a descheduled thread takes fewer tasks) when
// there is more than one task and UseTeam says so; otherwise in order on this thread (whose kernels
// may then use the team themselves). A task is large, so calling a lambda per task costs nothing.
template <typename F>
void ForEachTask(int64_t n, F&& body) {
#ifdef _OPENMP
  if (UseTeam(n > 1)) {
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t i = 0; i < n; ++i) body(i);
    return;
  }
#endif
  for (int64_t i = 0; i < n; ++i) body(i);
}

}  // namespace tb

// TB_PARALLEL_FOR(n, i, lo, hi, { body }): the body for each int64_t i in [lo, hi), split
// statically over the team when the loop's work n (in elements) reaches kParallelGrain and
// UseTeam says so, else a plain loop on this thread. TB_PARALLEL_FOR_IF(worth, i, lo, hi, { body })
// takes the decision as a bool. The body is written out twice, once per loop, and is a loop body
// like any other (continue works; no preprocessor lines inside a macro argument).
// Why not `#pragma omp parallel for if (...)`: libgomp runs a false `if` as a team of one, whose
// closing barrier still makes a futex system call, about 1.5 us in a VM: a sixth of a small op,
// 28 calls per step of the MNIST MLP on one thread. Why not a function taking a lambda: the
// lambda's captured pointers kept GCC from vectorizing the loops (Adam's update ran scalar, 6x
// slower), and the AVX-512 files' target attributes would not reach a shared template's loop.
#ifdef _OPENMP
#define TB_PARALLEL_FOR_IF(worth, i, lo, hi, ...)                             \
  do {                                                                        \
    const int64_t tb_lo_ = (lo), tb_hi_ = (hi);                               \
    if (::tb::UseTeam(worth)) {                                               \
      TB_PRAGMA(omp parallel for schedule(static))                            \
      for (int64_t i = tb_lo_; i < tb_hi_; ++i) __VA_ARGS__                   \
    } else {                                                                  \
      for (int64_t i = tb_lo_; i < tb_hi_; ++i) __VA_ARGS__                   \
    }                                                                         \
  } while (0)
#else
#define TB_PARALLEL_FOR_IF(worth, i, lo, hi, ...)                             \
  do {                                                                        \
    const int64_t tb_hi_ = (hi);                                              \
    for (int64_t i = (lo); i < tb_hi_; ++i) __VA_ARGS__                       \
  } while (0)
#endif
#define TB_PARALLEL_FOR(n, i, lo, hi, ...) TB_PARALLEL_FOR_IF((n) >= ::tb::kParallelGrain, i, lo, hi, __VA_ARGS__)
