// One knob for both thread pools: OpenMP (our loops) and OpenBLAS (GEMM). They run one after the
// other, never nested, so giving each the same count keeps them from oversubscribing the cores.
#include "common/parallel.h"
#include "cpu/gemm.h"

namespace tb {

void SetNumThreads(int n) {
  if (n < 1) n = 1;
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
  cpu::SetOpenBlasThreads(n);
}

}  // namespace tb
