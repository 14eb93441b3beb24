// GEMM: our packed, cache-blocked sgemm (cpu/gemm_tiled.cc) with the register tile of the
// instruction set in use (cpu/isa.h), or OpenBLAS's cblas_sgemm, by shape and set:
// - AVX-512: ours for every product but the tiny ones (a side or the depth under 32), where
//   OpenBLAS's unpacked small-matrix paths win (on a Zen 5 core, M=128 N=10 K=128: OpenBLAS 42
//   GFLOP/s, ours 22; M=N=K=1024: ours 160, OpenBLAS's Haswell kernels 100).
// - AVX2: OpenBLAS (its Haswell kernels and ours run within a few percent of each other).
// - without OpenBLAS (a portable build, or TENSORBOLT_GEMM=portable): ours, always.
// - bf16 (SetMatmulBf16): ours with bf16 operands wherever ours runs under AVX-512.
#include "cpu/gemm.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/parallel.h"
#include "cpu/gemm_tiled.h"
#include "cpu/isa.h"

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

std::atomic<bool> g_bf16{false};

// The kernel set of the instruction set (and precision) in use.
const gemm::KernelSet& Kernels() {
  if (MatmulBf16())
    if (const auto* k = gemm::Avx512Bf16Kernels()) return *k;
  switch (ActiveIsa()) {
    case Isa::kAvx512:
      if (const auto* k = gemm::Avx512Kernels()) return *k;
      break;
    case Isa::kAvx2:
      if (const auto* k = gemm::Avx2Kernels()) return *k;
      break;
    default: break;
  }
  return gemm::PortableKernels();
}

bool OpenBlasOn() {
#ifdef TB_HAVE_OPENBLAS
  return g_use_openblas.load(std::memory_order_relaxed);
#else
  return false;
#endif
}

// Whether our tiled GEMM takes this product (see the top of the file).
bool OursTakes(int64_t M, int64_t N, int64_t K) {
  if (!OpenBlasOn()) return true;
  return ActiveIsa() == Isa::kAvx512 && gemm::Avx512Kernels() && M >= 16 && N >= 32 && K >= 32;
}

// Below this many multiply-adds a GEMM runs on one thread: waking the team costs more than it saves.
constexpr double kParallelGemmFlops = 4e6;

// Ours. If its packing buffers (a few MB) cannot be allocated, plain loops give the product more
// slowly: the callers have no error path for a GEMM.
void Tiled(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc, bool parallel) {
  if (gemm::SgemmTiled(Kernels(), transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, parallel)) return;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      float s = 0.f;
      for (int64_t p = 0; p < K; ++p) s += (transA ? A[p * lda + i] : A[i * lda + p]) * (transB ? B[j * ldb + p] : B[p * ldb + j]);
      C[i * ldc + j] = alpha * s + (beta == 0.f ? 0.f : beta * C[i * ldc + j]);
    }
}

}  // namespace

void SgemmPortable(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const double flops = static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  Tiled(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, flops >= kParallelGemmFlops);
}

namespace {

// One call, on the calling thread only: OpenBLAS runs single-threaded (see SetOpenBlasThreads) and
// the portable kernel's own loop is a nested (hence inactive) OpenMP region inside our teams.
void SgemmOneThread(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                    int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
#ifdef TB_HAVE_OPENBLAS
  if (!OursTakes(M, N, K) && M > 0 && N > 0 && K > 0) {
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
  Tiled(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, false);
}

}  // namespace

// One thread pool for everything: ours. Our tiled GEMM splits its work items over it; OpenBLAS stays single-threaded and each of our threads runs
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
  if (OursTakes(M, N, K)) {
    // ours splits itself over the team (one packing of each operand, shared)
    Tiled(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads > 1 && !nested && flops >= kParallelGemmFlops);
    return;
  }
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

Status SetMatmulBf16(bool on) {
  if (on && !HaveAvx512Bf16())
    return Status::Error("bf16 matrix products need a CPU with AVX512_BF16 (Intel Cooper Lake or Sapphire Rapids, AMD Zen 4 "
                         "or later); this one lacks it: keep 'highest' (fp32)");
  g_bf16.store(on);
  return Status::Ok();
}

bool MatmulBf16Requested() { return g_bf16.load(std::memory_order_relaxed); }

bool MatmulBf16() {
  return g_bf16.load(std::memory_order_relaxed) && ActiveIsa() == Isa::kAvx512 && HaveAvx512Bf16();
}

const char* GemmKernelName() {
  if (OpenBlasOn() && !(ActiveIsa() == Isa::kAvx512 && gemm::Avx512Kernels())) return "openblas";
  const gemm::KernelSet& k = Kernels();
  if (&k == gemm::Avx512Kernels()) return OpenBlasOn() ? "tensorbolt-avx512 (openblas below 16x32x32)" : "tensorbolt-avx512";
  if (&k == gemm::Avx512Bf16Kernels())
    return OpenBlasOn() ? "tensorbolt-avx512-bf16 (openblas fp32 below 16x32x32)" : "tensorbolt-avx512-bf16";
  if (&k == gemm::Avx2Kernels()) return "tensorbolt-avx2";
  return "tensorbolt-portable";
}

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
