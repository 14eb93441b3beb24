// GEMM: OpenBLAS's cblas_sgemm when linked, else a portable cache-blocked kernel.
// The portable kernel packs op(B) into NR-wide column panels (KC x NR, contiguous) and a block of
// MR rows of op(A), then runs an MR x NR register-tile micro-kernel whose fixed-size inner loops
// GCC vectorizes (AVX2/FMA with -march=native). Rows of C are split across threads.
#include "cpu/gemm.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/parallel.h"

#ifdef TB_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace tb::cpu {

namespace {

#ifdef TB_HAVE_OPENBLAS
std::atomic<bool> g_use_openblas{[] {
  const char* e = std::getenv("TENSORBOLT_GEMM");
  return !(e && (std::strcmp(e, "portable") == 0));
}()};
#else
std::atomic<bool> g_use_openblas{false};
#endif

constexpr int64_t MR = 4;
constexpr int64_t NR = 16;
constexpr int64_t KC = 256;
constexpr int64_t NC = 1024;  // multiple of NR

inline float At(const float* X, bool trans, int64_t ld, int64_t r, int64_t c) {
  return trans ? X[c * ld + r] : X[r * ld + c];
}

// Bp: ceil(nc/NR) panels, each kc rows of NR floats (zero padded past nc).
void PackB(const float* B, bool transB, int64_t ldb, int64_t pc, int64_t kc, int64_t jc, int64_t nc, float* Bp) {
  const int64_t panels = (nc + NR - 1) / NR;
  for (int64_t q = 0; q < panels; ++q) {
    float* dst = Bp + q * kc * NR;
    const int64_t j0 = jc + q * NR;
    const int64_t w = std::min(NR, jc + nc - j0);
    for (int64_t p = 0; p < kc; ++p) {
      float* row = dst + p * NR;
      if (!transB) {
        const float* src = B + (pc + p) * ldb + j0;
        for (int64_t j = 0; j < w; ++j) row[j] = src[j];
      } else {
        for (int64_t j = 0; j < w; ++j) row[j] = B[(j0 + j) * ldb + pc + p];
      }
      for (int64_t j = w; j < NR; ++j) row[j] = 0.f;
    }
  }
}

// Ap: kc columns x MR rows, stored p-major (Ap[p*MR + r]); rows past mr are zero.
void PackA(const float* A, bool transA, int64_t lda, int64_t i0, int64_t mr, int64_t pc, int64_t kc, float* Ap) {
  for (int64_t p = 0; p < kc; ++p)
    for (int64_t r = 0; r < MR; ++r) Ap[p * MR + r] = r < mr ? At(A, transA, lda, i0 + r, pc + p) : 0.f;
}

// acc (MR x NR) = Ap (kc x MR)^T @ Bpanel (kc x NR)
inline void MicroKernel(int64_t kc, const float* __restrict Ap, const float* __restrict Bpanel, float* __restrict acc) {
  float c[MR][NR] = {};
  for (int64_t p = 0; p < kc; ++p) {
    const float* b = Bpanel + p * NR;
    for (int64_t r = 0; r < MR; ++r) {
      const float a = Ap[p * MR + r];
      for (int64_t j = 0; j < NR; ++j) c[r][j] += a * b[j];
    }
  }
  std::memcpy(acc, c, sizeof(c));
}

}  // namespace

void SgemmPortable(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  // Scale C by beta first; every K block then accumulates into it. beta == 0 overwrites (NaNs in C
  // must not leak through, as BLAS specifies).
  if (beta != 1.f) {
    TB_PARALLEL_FOR(M * N)
    for (int64_t i = 0; i < M; ++i) {
      float* c = C + i * ldc;
      if (beta == 0.f)
        for (int64_t j = 0; j < N; ++j) c[j] = 0.f;
      else
        for (int64_t j = 0; j < N; ++j) c[j] *= beta;
    }
  }
  if (K <= 0 || alpha == 0.f) return;

  std::vector<float> Bp(static_cast<size_t>(KC * ((std::min(NC, N) + NR - 1) / NR) * NR));
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    const int64_t panels = (nc + NR - 1) / NR;
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      PackB(B, transB, ldb, pc, kc, jc, nc, Bp.data());
      const int64_t rowBlocks = (M + MR - 1) / MR;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (rowBlocks * kc * nc >= kParallelGrain * 4)
#endif
      for (int64_t ib = 0; ib < rowBlocks; ++ib) {
        const int64_t i0 = ib * MR;
        const int64_t mr = std::min(MR, M - i0);
        float Ap[KC * MR];
        float acc[MR * NR];
        PackA(A, transA, lda, i0, mr, pc, kc, Ap);
        for (int64_t q = 0; q < panels; ++q) {
          MicroKernel(kc, Ap, Bp.data() + q * kc * NR, acc);
          const int64_t j0 = jc + q * NR;
          const int64_t w = std::min(NR, jc + nc - j0);
          for (int64_t r = 0; r < mr; ++r) {
            float* c = C + (i0 + r) * ldc + j0;
            for (int64_t j = 0; j < w; ++j) c[j] += alpha * acc[r * NR + j];
          }
        }
      }
    }
  }
}

namespace {

// One call, on the calling thread only: OpenBLAS runs single-threaded (see SetOpenBlasThreads) and
// the portable kernel's own loop is a nested (hence inactive) OpenMP region inside our teams.
void SgemmOneThread(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                    int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
#ifdef TB_HAVE_OPENBLAS
  if (g_use_openblas.load(std::memory_order_relaxed) && M > 0 && N > 0 && K > 0) {
    // OpenBLAS starts with a pool sized to the machine; we parallelize around it instead (see Sgemm).
    // Set on first use, not in a static initializer: with OpenBLAS linked statically (prebuilds) our
    // initializer could run before OpenBLAS's own and crash its thread server at load.
    static const bool single = (SetOpenBlasThreads(1), true);
    (void)single;
    // OpenBLAS rejects ld < 1 even for empty dims; all dims are >= 1 here.
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), alpha, A, static_cast<int>(lda), B,
                static_cast<int>(ldb), beta, C, static_cast<int>(ldc));
    return;
  }
#endif
  SgemmPortable(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// Below this many multiply-adds a GEMM runs on one thread: waking the team costs more than it saves.
constexpr double kParallelGemmFlops = 4e6;

}  // namespace

// One thread pool for everything: ours. OpenBLAS stays single-threaded and each of our threads runs
// it on a block of rows (or columns) of C. Two pools that each size themselves to the machine fight
// for the cores (OpenBLAS's idle workers spin-yield after every call, right when our next loop
// starts), and a block split never changes which products and sums make an element of C, so the
// result does not depend on the thread count. Blocks are handed out dynamically: on a loaded machine
// a thread that was descheduled does less of the work instead of holding everyone up.
void Sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const int threads = MaxThreads();
  const double flops = static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
#ifdef _OPENMP
  const bool nested = omp_in_parallel();
#else
  const bool nested = true;
#endif
  if (threads <= 1 || nested || flops < kParallelGemmFlops || K <= 0) {
    SgemmOneThread(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  // Split the longer side of C; blocks of whole register tiles (rows in 16s, columns in 16s), at
  // least 64 wide so each call still runs the packed kernel efficiently. One block per thread for
  // mid-sized products (every block packs the other operand again: at n = 256, four blocks on two
  // threads ran at half the speed of two); two per thread for large ones, so that a descheduled
  // thread leaves only a small block behind.
  const bool splitRows = M >= N;
  const int64_t len = splitRows ? M : N;
  const int64_t minBlock = 64;
  const int64_t perThread = flops >= 2e8 ? 2 : 1;
  int64_t blocks = std::min<int64_t>(perThread * threads, std::max<int64_t>(1, len / minBlock));
  if (blocks < 2) {
    SgemmOneThread(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  const int64_t step = ((len + blocks - 1) / blocks + 15) / 16 * 16;
  blocks = (len + step - 1) / step;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t lo = b * step, n = std::min(len, lo + step) - lo;
    if (splitRows) {
      // rows lo.. of op(A) and of C
      const float* Ab = transA ? A + lo : A + lo * lda;
      SgemmOneThread(transA, transB, n, N, K, alpha, Ab, lda, B, ldb, beta, C + lo * ldc, ldc);
    } else {
      // columns lo.. of op(B) and of C
      const float* Bb = transB ? B + lo * ldb : B + lo;
      SgemmOneThread(transA, transB, M, n, K, alpha, A, lda, Bb, ldb, beta, C + lo, ldc);
    }
  }
}

void SgemmSerial(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                 int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  SgemmOneThread(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

bool HaveOpenBlas() {
#ifdef TB_HAVE_OPENBLAS
  return true;
#else
  return false;
#endif
}

bool UsingOpenBlas() { return g_use_openblas.load(); }

void SetUseOpenBlas(bool on) { g_use_openblas.store(on && HaveOpenBlas()); }

const char* OpenBlasConfig() {
#ifdef TB_HAVE_OPENBLAS
  return openblas_get_config();
#else
  return "";
#endif
}

void SetOpenBlasThreads(int n) {
#ifdef TB_HAVE_OPENBLAS
  openblas_set_num_threads(n);
#else
  (void)n;
#endif
}


}  // namespace tb::cpu
