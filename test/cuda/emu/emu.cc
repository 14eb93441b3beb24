// CUDA emulator (testing only): runs tensorbolt's CUDA kernels on the host so their logic can be
// tested on machines without a GPU (npm run test:cuda-emu). Kernel threads are fibers (ucontext) of
// one OS thread; each block's fibers run round-robin between barriers, blocks one after another.
// The runtime API keeps "device" memory on the host (poisoned with NaN bytes, so reads of memory
// nothing wrote show up) under a fixed capacity, and runs stream work at once. The cuBLAS calls are
// plain column-major loops that check their arguments the way cuBLAS documents.
#include <ucontext.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

#include "cublas_v2.h"
#include "cuda_runtime.h"

constexpr size_t kCapacity = size_t{16} << 30;  // the emulated device's memory

namespace emu {
namespace {

constexpr size_t kStack = 256 * 1024;

struct Fiber {
  ucontext_t ctx;
  Thread t;
  bool done;
};

ucontext_t g_sched;
std::vector<Fiber> g_fibers;
std::vector<std::vector<char>> g_stacks;
Fiber* g_cur = nullptr;
void (*g_run)(void*) = nullptr;
void* g_ctx = nullptr;
int g_threads = 0;
int g_blockArrived = 0, g_blockGen = 0;
std::vector<int> g_warpArrived, g_warpGen;
std::vector<std::array<uint64_t, 32>> g_slots;
int64_t g_events = 0;  // arrivals and completions: a scheduler pass without any is a deadlock

void Yield() { swapcontext(&g_cur->ctx, &g_sched); }

void Entry() {
  g_run(g_ctx);
  g_cur->done = true;
  ++g_events;
  swapcontext(&g_cur->ctx, &g_sched);
}

int WarpSize(int w) { return g_threads - w * 32 < 32 ? g_threads - w * 32 : 32; }

}  // namespace

uint3e g_block;
dim3 g_blockDim, g_gridDim;

Thread* Current() { return &g_cur->t; }

void SyncBlock() {
  const int gen = g_blockGen;
  ++g_events;
  if (++g_blockArrived == g_threads) {
    g_blockArrived = 0;
    ++g_blockGen;
    return;
  }
  while (g_blockGen == gen) Yield();
}

void SyncWarp() {
  const int w = g_cur->t.linear / 32;
  const int gen = g_warpGen[w];
  ++g_events;
  if (++g_warpArrived[w] == WarpSize(w)) {
    g_warpArrived[w] = 0;
    ++g_warpGen[w];
    return;
  }
  while (g_warpGen[w] == gen) Yield();
}

uint64_t* WarpSlots() { return g_slots[g_cur->t.linear / 32].data(); }

void LaunchImpl(void (*run)(void*), void* ctx, dim3 grid, dim3 block) {
  g_run = run;
  g_ctx = ctx;
  g_gridDim = grid;
  g_blockDim = block;
  g_threads = static_cast<int>(block.x * block.y * block.z);
  if (g_threads > 1024 || g_threads < 1) {
    std::fprintf(stderr, "cuda-emu: block of %d threads\n", g_threads);
    std::abort();
  }
  if (static_cast<int>(g_stacks.size()) < g_threads) g_stacks.resize(g_threads, std::vector<char>(kStack));
  g_fibers.assign(g_threads, Fiber{});
  const int warps = (g_threads + 31) / 32;
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        g_block = {bx, by, bz};
        g_blockArrived = 0;
        g_warpArrived.assign(warps, 0);
        g_warpGen.assign(warps, 0);
        g_slots.assign(warps, {});
        for (int i = 0; i < g_threads; ++i) {
          Fiber& f = g_fibers[i];
          f.done = false;
          f.t.linear = i;
          f.t.tid = {i % block.x, (i / block.x) % block.y, i / (block.x * block.y)};
          getcontext(&f.ctx);
          f.ctx.uc_stack.ss_sp = g_stacks[i].data();
          f.ctx.uc_stack.ss_size = kStack;
          f.ctx.uc_link = nullptr;
          makecontext(&f.ctx, Entry, 0);
        }
        for (int remaining = g_threads; remaining > 0;) {
          const int64_t before = g_events;
          remaining = 0;
          for (auto& f : g_fibers) {
            if (f.done) continue;
            g_cur = &f;
            swapcontext(&g_sched, &f.ctx);
            if (!f.done) ++remaining;
          }
          if (remaining > 0 && g_events == before) {
            std::fprintf(stderr, "cuda-emu: deadlock in block (%u, %u, %u): %d threads wait at a barrier "
                                 "the others never reach\n", bx, by, bz, remaining);
            std::abort();
          }
        }
      }
  g_cur = nullptr;
}

}  // namespace emu

// ---------------------------------------------------------------- runtime API

namespace {
// The allocation table is shared with the NCCL engine's thread (tb.distributed), hence the lock.
std::mutex g_alloc_mu;
std::map<void*, size_t> g_allocs;
size_t g_used = 0;
cudaError_t g_last = cudaSuccess;
CUstream_st* const kStream = reinterpret_cast<CUstream_st*>(0x5757);

bool IsDevice(const void* p, size_t bytes) {
  std::lock_guard<std::mutex> lock(g_alloc_mu);
  auto it = g_allocs.upper_bound(const_cast<void*>(p));
  if (it == g_allocs.begin()) return false;
  --it;
  const char* base = static_cast<const char*>(it->first);
  return static_cast<const char*>(p) >= base && static_cast<const char*>(p) + bytes <= base + it->second;
}

// Copies must name device memory where the kind says so: catches host/device mix-ups.
cudaError_t CheckKind(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (bytes == 0) return cudaSuccess;
  const bool dd = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool sd = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if ((dd && !IsDevice(dst, bytes)) || (sd && !IsDevice(src, bytes))) {
    std::fprintf(stderr, "cuda-emu: copy of %zu bytes outside device allocations\n", bytes);
    return g_last = cudaErrorInvalidValue;
  }
  return cudaSuccess;
}
}  // namespace

cudaError_t cudaGetDeviceCount(int* n) {
  *n = 1;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int) { return cudaSuccess; }
cudaError_t cudaGetLastError() {
  const cudaError_t e = g_last;
  g_last = cudaSuccess;
  return e;
}
const char* cudaGetErrorString(cudaError_t e) { return e == cudaErrorMemoryAllocation ? "out of memory" : "emulated error"; }
const char* cudaGetErrorName(cudaError_t e) { return e == cudaErrorMemoryAllocation ? "cudaErrorMemoryAllocation" : "cudaErrorEmulated"; }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  *s = kStream;
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamQuery(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaMalloc(void** p, size_t bytes) {
  std::lock_guard<std::mutex> lock(g_alloc_mu);
  if (bytes > kCapacity - g_used) return g_last = cudaErrorMemoryAllocation;
  void* m = std::malloc(bytes ? bytes : 1);
  if (!m) return g_last = cudaErrorMemoryAllocation;
  std::memset(m, 0xff, bytes);  // NaN / -1: reads of unwritten memory show up
  g_allocs[m] = bytes;
  g_used += bytes;
  *p = m;
  return cudaSuccess;
}
cudaError_t cudaFree(void* p) {
  if (!p) return cudaSuccess;
  std::lock_guard<std::mutex> lock(g_alloc_mu);
  auto it = g_allocs.find(p);
  if (it == g_allocs.end()) return g_last = cudaErrorInvalidValue;
  g_used -= it->second;
  g_allocs.erase(it);
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (cudaError_t e = CheckKind(dst, src, bytes, kind)) return e;
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
  return cudaMemcpy(dst, src, bytes, kind);
}
cudaError_t cudaMemset(void* p, int v, size_t bytes) {
  if (bytes && !IsDevice(p, bytes)) return g_last = cudaErrorInvalidValue;
  std::memset(p, v, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* p, int v, size_t bytes, cudaStream_t) { return cudaMemset(p, v, bytes); }
cudaError_t cudaMemGetInfo(size_t* freeBytes, size_t* totalBytes) {
  std::lock_guard<std::mutex> lock(g_alloc_mu);
  *freeBytes = kCapacity - g_used;
  *totalBytes = kCapacity;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int) {
  std::memset(p, 0, sizeof *p);
  std::snprintf(p->name, sizeof p->name, "tensorbolt CUDA emulator (host)");
  p->totalGlobalMem = kCapacity;
  p->major = 9;
  p->minor = 0;
  p->multiProcessorCount = 1;
  return cudaSuccess;
}
cudaError_t cudaRuntimeGetVersion(int* v) {
  *v = 13000;
  return cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int* v) {
  *v = 13000;
  return cudaSuccess;
}

// ---------------------------------------------------------------- cuBLAS

namespace {
struct cublasContextEmu {
  int unused;
} g_handle;

float Tf32(float v) {
  uint32_t b;
  std::memcpy(&b, &v, 4);
  if ((b & 0x7f800000u) != 0x7f800000u) b = (b + 0xfffu + ((b >> 13) & 1u)) & ~0x1fffu;  // round to 10 mantissa bits
  std::memcpy(&v, &b, 4);
  return v;
}

cublasStatus_t Gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const float* alpha, const float* A,
                    int lda, const float* B, int ldb, const float* beta, float* C, int ldc, bool tf32) {
  const int rowsA = ta == CUBLAS_OP_N ? m : k, rowsB = tb == CUBLAS_OP_N ? k : n;
  if (m < 0 || n < 0 || k < 0 || lda < (rowsA > 1 ? rowsA : 1) || ldb < (rowsB > 1 ? rowsB : 1) ||
      ldc < (m > 1 ? m : 1))
    return CUBLAS_STATUS_INVALID_VALUE;
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      double s = 0;
      for (int p = 0; p < k; ++p) {
        float a = ta == CUBLAS_OP_N ? A[i + static_cast<int64_t>(p) * lda] : A[p + static_cast<int64_t>(i) * lda];
        float b = tb == CUBLAS_OP_N ? B[p + static_cast<int64_t>(j) * ldb] : B[j + static_cast<int64_t>(p) * ldb];
        if (tf32) {
          a = Tf32(a);
          b = Tf32(b);
        }
        s += static_cast<double>(a) * b;
      }
      float& c = C[i + static_cast<int64_t>(j) * ldc];
      c = static_cast<float>(*alpha * s + (*beta == 0.f ? 0.0 : static_cast<double>(*beta) * c));
    }
  return CUBLAS_STATUS_SUCCESS;
}
}  // namespace

extern "C" {
cublasStatus_t cublasCreate(cublasHandle_t* h) {
  *h = reinterpret_cast<cublasHandle_t>(&g_handle);
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy(cublasHandle_t) { return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetStream(cublasHandle_t, cudaStream_t) { return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasGetProperty(libraryPropertyType type, int* value) {
  *value = type == MAJOR_VERSION ? 99 : 0;
  return CUBLAS_STATUS_SUCCESS;
}
const char* cublasGetStatusName(cublasStatus_t s) { return s == CUBLAS_STATUS_SUCCESS ? "CUBLAS_STATUS_SUCCESS" : "CUBLAS_STATUS_INVALID_VALUE"; }
const char* cublasGetStatusString(cublasStatus_t) { return "emulated cuBLAS status"; }
cublasStatus_t cublasGemmEx(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                            const void* alpha, const void* A, cudaDataType, int lda, const void* B, cudaDataType,
                            int ldb, const void* beta, void* C, cudaDataType, int ldc, cublasComputeType_t compute,
                            cublasGemmAlgo_t) {
  return Gemm(ta, tb, m, n, k, static_cast<const float*>(alpha), static_cast<const float*>(A), lda,
              static_cast<const float*>(B), ldb, static_cast<const float*>(beta), static_cast<float*>(C), ldc,
              compute == CUBLAS_COMPUTE_32F_FAST_TF32);
}
cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                          int k, const void* alpha, const void* A, cudaDataType, int lda,
                                          long long int strideA, const void* B, cudaDataType, int ldb,
                                          long long int strideB, const void* beta, void* C, cudaDataType, int ldc,
                                          long long int strideC, int batch, cublasComputeType_t compute,
                                          cublasGemmAlgo_t) {
  for (int b = 0; b < batch; ++b) {
    const cublasStatus_t s = Gemm(ta, tb, m, n, k, static_cast<const float*>(alpha),
                                  static_cast<const float*>(A) + b * strideA, lda,
                                  static_cast<const float*>(B) + b * strideB, ldb, static_cast<const float*>(beta),
                                  static_cast<float*>(C) + b * strideC, ldc, compute == CUBLAS_COMPUTE_32F_FAST_TF32);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
  }
  return CUBLAS_STATUS_SUCCESS;
}
}
