// One knob, one pool: our OpenMP threads run our loops and split GEMMs among themselves, each
// calling a single-threaded OpenBLAS (cpu/gemm.cc), so there is no second pool to fight with.
#include "common/parallel.h"
#include "cpu/gemm.h"

namespace tb {

void SetNumThreads(int n) {
  if (n < 1) n = 1;
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
  cpu::SetOpenBlasThreads(1);
}

}  // namespace tb
