// Our packed, cache-blocked sgemm (cpu/gemm_tiled.cc) and its register-tile kernels, one set per
// instruction set (gemm_avx512.cc, gemm_avx2.cc, the portable one in gemm_tiled.cc). Internal to
// the gemm family: callers go through cpu/gemm.h.
//
// The design is BLIS's (Van Zee & van de Geijn, "BLIS: A Framework for Rapidly Instantiating BLAS
// Functionality", 2015): for each NC-wide column block and KC-deep slice of the product, op(B) is
// packed into NR-wide micro-panels and op(A) into MR-high micro-panels, both contiguous in the order
// the kernel reads them; the kernel multiplies one MR x kc micro-panel of A by one kc x NR
// micro-panel of B in registers. As in BLIS, the panel of the operand that is broadcast (ours is A,
// row-major) stays in L1 while the panels of the one loaded as vectors (B) stream past it from L2.
#pragma once
#include <cstdint>

namespace tb::cpu::gemm {

// C[0:mr, 0:nr] (row stride ldc) = alpha * Ap^T Bp + beta * C; beta == 0 does not read C.
// Ap is kc x MR (Ap[p * MR + r]), Bp is kc x NR (Bp[p * NR + j]), both 64-byte aligned.
using TileFn = void (*)(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, float alpha, float beta,
                        int64_t mr, int64_t nr);

struct KernelSet {
  int64_t mr, nr;      // register tile
  int64_t kc, mc, nc;  // cache blocks: kc deep, mc rows (a multiple of mr), nc columns (a multiple of nr)
  TileFn tile;
  // bf16 sets only (else null): rewrites a packed kc x width fp32 panel in place as ceil(kc / 2)
  // rows of bf16 pairs along k; the tile is then called with that many steps.
  void (*toPairs)(float* panel, int64_t kc, int64_t width) = nullptr;
};

const KernelSet& PortableKernels();
const KernelSet* Avx2Kernels();    // null where the build has no x86 target support
const KernelSet* Avx512Kernels();  // likewise
// bf16 operands, fp32 sums (AVX512_BF16; the caller checks the CPU has it); null likewise.
const KernelSet* Avx512Bf16Kernels();

// C = alpha * op(A) @ op(B) + beta * C (the cpu::Sgemm contract) with kernel set k, split over our
// OpenMP team when parallel (and not already inside a parallel region). Every element of C is summed
// in the same order whatever the thread count. False only when a workspace cannot be allocated.
bool SgemmTiled(const KernelSet& k, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
                const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
                bool parallel);

}  // namespace tb::cpu::gemm
