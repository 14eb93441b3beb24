// The packed sgemm's driver (declared in cpu/gemm_tiled.h): blocking, packing, threading, and the
// portable register tile. Per (NC column block, KC slice): the team packs all of op(A)'s MR-high
// panels and op(B)'s NR-wide panels of the slice into shared buffers, then takes work items
// (an MC-row block of A times a group of B panels) dynamically, so a thread the OS descheduled on a
// busy machine does less of the work instead of holding the others up. The packed buffers come in
// pairs, alternating by slice: a thread done with its items of one slice packs the next instead of
// waiting, and the only barrier per slice is the one after packing. One fork/join per call.
#include "cpu/gemm_tiled.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "common/parallel.h"
#include "cpu/aligned_buffer.h"

#ifdef __SSE2__
#include <xmmintrin.h>
#endif

namespace tb::cpu::gemm {
namespace {

using Aligned = AlignedBuffer<float>;
thread_local Aligned t_packA, t_packB;

// dst[p * ldd + r] = src[r * lds + p] for r < rows (a multiple of 4), p < cols: 4 x 4 blocks through
// SSE registers (every x86-64 CPU has them), so both sides move 16 bytes at a time.
void Transpose4s(const float* src, int64_t lds, int64_t rows, int64_t cols, float* dst, int64_t ldd) {
  int64_t p = 0;
#ifdef __SSE2__
  for (; p + 4 <= cols; p += 4)
    for (int64_t r = 0; r < rows; r += 4) {
      const float* s = src + r * lds + p;
      __m128 a = _mm_loadu_ps(s), b = _mm_loadu_ps(s + lds), c = _mm_loadu_ps(s + 2 * lds), d = _mm_loadu_ps(s + 3 * lds);
      _MM_TRANSPOSE4_PS(a, b, c, d);
      float* o = dst + p * ldd + r;
      _mm_storeu_ps(o, a), _mm_storeu_ps(o + ldd, b), _mm_storeu_ps(o + 2 * ldd, c), _mm_storeu_ps(o + 3 * ldd, d);
    }
#endif
  for (; p < cols; ++p)
    for (int64_t r = 0; r < rows; ++r) dst[p * ldd + r] = src[r * lds + p];
}

// dst[0:n) = src[0:n), zeros on to dst[total): one row of a panel past the matrix's edge.
inline void CopyPadded(const float* src, int64_t n, int64_t total, float* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
  for (int64_t i = n; i < total; ++i) dst[i] = 0.f;
}

// Panel q (MR rows from i0) of op(A)'s columns [pc, pc + kc): Ap[p * MR + r], zero rows past M.
void PackAPanel(const float* A, bool transA, int64_t lda, int64_t M, int64_t MR, int64_t i0, int64_t pc,
                int64_t kc, float* Ap) {
  const int64_t rows = std::min(MR, M - i0);
  if (transA) {
    // op(A)[i][p] = A[p][i]: each p reads MR contiguous floats
    for (int64_t p = 0; p < kc; ++p) CopyPadded(A + (pc + p) * lda + i0, rows, MR, Ap + p * MR);
    return;
  }
  if (rows == MR && MR % 4 == 0) {
    Transpose4s(A + i0 * lda + pc, lda, MR, kc, Ap, MR);
    return;
  }
  // p outer: MR sequential read streams, one sequential write stream
  const float* src[16];
  for (int64_t r = 0; r < MR; ++r) src[r] = A + (i0 + std::min(r, rows - 1)) * lda + pc;
  for (int64_t p = 0; p < kc; ++p)
    for (int64_t r = 0; r < MR; ++r) Ap[p * MR + r] = r < rows ? src[r][p] : 0.f;
}

// Panel of NR columns from j0 of op(B)'s rows [pc, pc + kc): Bp[p * NR + j], zero columns past jEnd.
void PackBPanel(const float* B, bool transB, int64_t ldb, int64_t jEnd, int64_t NR, int64_t j0, int64_t pc,
                int64_t kc, float* Bp) {
  const int64_t cols = std::min(NR, jEnd - j0);
  if (!transB) {
    for (int64_t p = 0; p < kc; ++p) CopyPadded(B + (pc + p) * ldb + j0, cols, NR, Bp + p * NR);
    return;
  }
  // op(B)[p][j] = B[j][p]
  if (cols == NR && NR % 4 == 0) {
    Transpose4s(B + j0 * ldb + pc, ldb, NR, kc, Bp, NR);
    return;
  }
  for (int64_t j = 0; j < cols; ++j) {
    const float* src = B + (j0 + j) * ldb + pc;
    for (int64_t p = 0; p < kc; ++p) Bp[p * NR + j] = src[p];
  }
  for (int64_t j = cols; j < NR; ++j)
    for (int64_t p = 0; p < kc; ++p) Bp[p * NR + j] = 0.f;
}

// Rows [p0, p1) of op(B)'s slice [pc, pc + kc) x [j0, jEnd), not transposed, into all its NR-wide
// panels (Bp + q * NR * kc): each row of B is read once, sequentially (panel by panel, a row of B
// would be read in NR-float pieces 4 KB apart, which the prefetchers do not follow).
void PackBRows(const float* B, int64_t ldb, int64_t j0, int64_t jEnd, int64_t NR, int64_t pc, int64_t kc, int64_t p0,
               int64_t p1, float* Bp) {
  const int64_t n = jEnd - j0, full = n / NR, panels = (n + NR - 1) / NR;
  for (int64_t p = p0; p < p1; ++p) {
    const float* src = B + (pc + p) * ldb + j0;
    for (int64_t q = 0; q < full; ++q) std::memcpy(Bp + (q * kc + p) * NR, src + q * NR, sizeof(float) * NR);
    if (full < panels) {
      float* dst = Bp + (full * kc + p) * NR;
      const int64_t w = n - full * NR;
      for (int64_t j = 0; j < w; ++j) dst[j] = src[full * NR + j];
      for (int64_t j = w; j < NR; ++j) dst[j] = 0.f;
    }
  }
}

// The portable tile: fixed-size loops the compiler vectorizes for the build's -march.
constexpr int64_t kPMR = 4, kPNR = 16;
void PortableTile(int64_t kc, const float* __restrict Ap, const float* __restrict Bp, float* C, int64_t ldc,
                  float alpha, float beta, int64_t mr, int64_t nr) {
  // One loop over the 16 columns updating four rows: the shape the vectorizer takes (a loop over
  // the rows outside it was vectorized across the four rows instead, at a tenth of the speed).
  float c[kPMR][kPNR] = {};
  for (int64_t p = 0; p < kc; ++p) {
    const float* b = Bp + p * kPNR;
    const float a0 = Ap[p * kPMR], a1 = Ap[p * kPMR + 1], a2 = Ap[p * kPMR + 2], a3 = Ap[p * kPMR + 3];
    for (int64_t j = 0; j < kPNR; ++j) {
      c[0][j] += a0 * b[j];
      c[1][j] += a1 * b[j];
      c[2][j] += a2 * b[j];
      c[3][j] += a3 * b[j];
    }
  }
  // Copied out first: indexed by the run-time mr and nr, c itself would stay in memory with a load
  // and a store per multiply-add (9.7 GFLOP/s instead of the vector registers' speed).
  float t[kPMR][kPNR];
  std::memcpy(t, c, sizeof(c));
  for (int64_t r = 0; r < mr; ++r) {
    float* cr = C + r * ldc;
    if (beta == 0.f)
      for (int64_t j = 0; j < nr; ++j) cr[j] = alpha * t[r][j];
    else
      for (int64_t j = 0; j < nr; ++j) cr[j] = alpha * t[r][j] + beta * cr[j];
  }
}

const KernelSet kPortable{kPMR, kPNR, 256, 64, 1024, &PortableTile};

void ScaleC(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  if (beta == 1.f) return;
  TB_PARALLEL_FOR(M * N, i, 0, M, {
    float* c = C + i * ldc;
    if (beta == 0.f)  // BLAS: beta == 0 overwrites, NaNs in C do not leak through
      for (int64_t j = 0; j < N; ++j) c[j] = 0.f;
    else
      for (int64_t j = 0; j < N; ++j) c[j] *= beta;
  });
}

}  // namespace

const KernelSet& PortableKernels() { return kPortable; }

bool SgemmTiled(const KernelSet& k, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
                const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
                bool parallel) {
  if (M <= 0 || N <= 0) return true;
  if (K <= 0 || alpha == 0.f) {
    ScaleC(M, N, beta, C, ldc);
    return true;
  }
  const int64_t MR = k.mr, NR = k.nr;
  // A tall product runs in blocks of rows, so that the packed A (all of a slice's rows, twice) stays
  // a few MiB whatever M is (a 60,000-row batch would otherwise pack 240 MiB); B is packed again per
  // block, a 1/rowBlock part of the block's work.
  const int64_t rowBlock = MR * 256;
  if (M > rowBlock) {
    for (int64_t i = 0; i < M; i += rowBlock)
      if (!SgemmTiled(k, transA, transB, std::min(rowBlock, M - i), N, K, alpha, transA ? A + i : A + i * lda, lda, B,
                      ldb, beta, C + i * ldc, ldc, parallel))
        return false;
    return true;
  }
  const int64_t ncMax = std::min(k.nc, (N + NR - 1) / NR * NR), kcMax = std::min(k.kc, K);
  const int64_t mPanels = (M + MR - 1) / MR;
  // Two of each: a thread that finishes its share of one slice's products packs the next slice into
  // the other pair instead of waiting at a barrier (see below).
  const int64_t aSize = mPanels * MR * kcMax, bSize = ncMax * kcMax;
  float* const ApBase = t_packA.Get(2 * aSize);
  float* const BpBase = t_packB.Get(2 * bSize);
  if (!ApBase || !BpBase) return false;
#ifdef _OPENMP
  const int threads = parallel && !omp_in_parallel() ? MaxThreads() : 1;
#else
  const int threads = 1;
#endif
  const int64_t mcPanels = std::max<int64_t>(1, k.mc / MR);  // A panels per row block
  const int64_t icBlocks = (mPanels + mcPanels - 1) / mcPanels;

  // The loops' `omp for`s split the work over the team that runs `blocks`. On one thread outside
  // any team, no region at all (libgomp's team of one costs a futex call): the `omp for`s then have
  // no team to bind to and run whole. Inside a team (a convolution's chunks), a region of one all
  // the same: there, an `omp for` would split this call's work with the enclosing team's threads.
  auto blocks = [&] {
  int64_t slice = 0;
  for (int64_t jc = 0; jc < N; jc += k.nc) {
    const int64_t nc = std::min(k.nc, N - jc), nPanels = (nc + NR - 1) / NR;
    // Work items: icBlocks row blocks x groups of B panels, enough of them that every thread gets
    // several (balance) but each still multiplies a whole row block by >= 4 panels.
    const int64_t groups = std::clamp<int64_t>((4 * threads + icBlocks - 1) / icBlocks, 1, std::max<int64_t>(1, nPanels / 4));
    const int64_t perGroup = (nPanels + groups - 1) / groups;
    for (int64_t pc = 0; pc < K; pc += k.kc) {
      const int64_t kc = std::min(k.kc, K - pc);
      float* const Ap = ApBase + (slice & 1) * aSize;
      float* const Bp = BpBase + (slice & 1) * bSize;
      ++slice;
      const float betaNow = pc == 0 ? beta : 1.f;
      // bf16 sets rewrite whole panels in place after packing them, so B is packed panel by panel
      // (runs of rows about as large as an A panel, so the tasks are of similar size)
      const int64_t bTasks = transB || k.toPairs ? nPanels : std::clamp<int64_t>(nc / MR, 1, kc);
      // Dynamic: with the old static split, one thread packed most of B besides its share of A and
      // the other waited for it at the barrier (6% of a 2-thread n = 1024 product in libgomp's spin).
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
      for (int64_t q = 0; q < mPanels + bTasks; ++q) {
        if (q < mPanels) {
          PackAPanel(A, transA, lda, M, MR, q * MR, pc, kc, Ap + q * MR * kc);
          if (k.toPairs) k.toPairs(Ap + q * MR * kc, kc, MR);
        } else if (!transB && !k.toPairs) {  // bTasks runs of rows
          PackBRows(B, ldb, jc, jc + nc, NR, pc, kc, kc * (q - mPanels) / bTasks, kc * (q - mPanels + 1) / bTasks, Bp);
        } else {
          float* bp = Bp + (q - mPanels) * NR * kc;
          PackBPanel(B, transB, ldb, jc + nc, NR, jc + (q - mPanels) * NR, pc, kc, bp);
          if (k.toPairs) k.toPairs(bp, kc, NR);
        }
      }
      const int64_t steps = k.toPairs ? (kc + 1) / 2 : kc;
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1) nowait
#endif
      for (int64_t item = 0; item < icBlocks * groups; ++item) {
        const int64_t ib = item / groups, g = item % groups;
        const int64_t q0 = g * perGroup, q1 = std::min(nPanels, q0 + perGroup);
        const int64_t a0 = ib * mcPanels, a1 = std::min(mPanels, a0 + mcPanels);
        // A panel (MR x kc) stays in L1 while the item's B panels stream past it from L2. The other
        // way round (a B panel of kc x NR, the larger, held in L1 against A panels) lost a fifth
        // at n = 1024 on Zen 5: the B panel and a streaming A panel did not both fit in its 48 KiB.
        for (int64_t a = a0; a < a1; ++a) {
          const int64_t i0 = a * MR, mr = std::min(MR, M - i0);
          const float* ap = Ap + a * MR * kc;
          for (int64_t q = q0; q < q1; ++q) {
            const int64_t j0 = jc + q * NR, nr = std::min(NR, jc + nc - j0);
            k.tile(steps, ap, Bp + q * NR * kc, C + i0 * ldc + j0, ldc, alpha, betaNow, mr, nr);
          }
        }
      }
    }
  }
  };
#ifdef _OPENMP
  if (threads > 1 || omp_in_parallel()) {
#pragma omp parallel num_threads(threads)
    blocks();
    return true;
  }
#endif
  blocks();
  return true;
}

}  // namespace tb::cpu::gemm
