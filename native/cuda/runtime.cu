// Device selection, the stream, the caching allocator, copies and the deferred data checks.
#include "cuda/runtime.cuh"

#include <cuda_runtime.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tb::cuda {
namespace {

std::string Mib(size_t bytes) {
  char buf[64];
  if (bytes >= (size_t{1} << 30)) snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1 << 30));
  else snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

// Everything below is guarded by g_mu; kernels are queued outside of it.
std::mutex g_mu;
bool g_ready = false;
cudaStream_t g_stream = nullptr;
DeviceCheck* g_check = nullptr;
bool g_checkPending = false;

// Sizes are rounded so that blocks of one tensor shape always land in the same class: to 512 bytes
// below 1 MiB, to 2 MiB above (at most 2% slack for the large tensors where it matters).
constexpr size_t kSmall = size_t{1} << 20;
constexpr size_t kSmallRound = 512;
constexpr size_t kLargeRound = size_t{2} << 20;

size_t RoundSize(size_t bytes) {
  if (bytes == 0) return kSmallRound;  // a real block, so every handle has a distinct pointer
  const size_t r = bytes < kSmall ? kSmallRound : kLargeRound;
  return (bytes + r - 1) / r * r;
}

// A cached block of size s serves a request of rounded size r when s is within this slack:
// small blocks up to twice the request, large ones up to a quarter more.
bool Fits(size_t s, size_t r) { return r < kSmall ? s <= 2 * r : s <= r + r / 4; }

struct Pool {
  std::unordered_map<void*, size_t> live;  // handed out: pointer -> block size
  std::multimap<size_t, void*> cached;     // free: block size -> pointer
  size_t inUse = 0, cachedBytes = 0, peak = 0;
  int64_t mallocs = 0, hits = 0;
} g_pool;

// With g_mu held. Waits for the stream, because cudaFree of a block still used by queued kernels
// would be an error (cudaFree itself synchronizes, but be explicit).
cudaError_t ReleaseCacheLocked() {
  if (g_pool.cached.empty()) return cudaSuccess;
  if (g_stream) cudaStreamSynchronize(g_stream);
  cudaError_t first = cudaSuccess;
  for (auto& [size, p] : g_pool.cached) {
    const cudaError_t e = cudaFree(p);
    if (e != cudaSuccess && first == cudaSuccess) first = e;
  }
  g_pool.cached.clear();
  g_pool.cachedBytes = 0;
  return first;
}

Status InitLocked() {
  if (g_ready) return Status::Ok();
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return Status::Error(StatusCode::kDevice, std::string("no usable CUDA device: ") + cudaGetErrorString(e));
  }
  if (n == 0) return Status::Error(StatusCode::kDevice, "no CUDA device is visible");
  if ((e = cudaSetDevice(0)) != cudaSuccess) return FromCuda(e, "cuda.init", "selecting device 0");
  if ((e = cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking)) != cudaSuccess)
    return FromCuda(e, "cuda.init", "creating the stream");
  void* slot = nullptr;
  if ((e = cudaMalloc(&slot, sizeof(DeviceCheck))) != cudaSuccess) {
    cudaStreamDestroy(g_stream);
    g_stream = nullptr;
    return FromCuda(e, "cuda.init", "allocating the check slot");
  }
  g_check = static_cast<DeviceCheck*>(slot);
  if ((e = cudaMemsetAsync(g_check, 0, sizeof(DeviceCheck), g_stream)) != cudaSuccess)
    return FromCuda(e, "cuda.init", "clearing the check slot");
  g_ready = true;
  return Status::Ok();
}

const char* CheckOp(int code) {
  switch (static_cast<CheckCode>(code)) {
    case CheckCode::kXentLabel: return "softmaxXent";
    case CheckCode::kXentBackwardLabel: return "softmaxXentBackward";
    case CheckCode::kGatherIndex: return "gather";
    case CheckCode::kGatherBackwardIndex: return "gatherBackward";
    case CheckCode::kOneHotIndex: return "oneHot";
    case CheckCode::kArgmax: return "maxPool2dBackward";
    case CheckCode::kRunningVar: return "batchNorm";
    default: return "an op";
  }
}

std::string CheckMessage(const DeviceCheck& c) {
  const std::string idx = std::to_string(c.index), val = std::to_string(c.value), lim = std::to_string(c.limit);
  switch (static_cast<CheckCode>(c.code)) {
    case CheckCode::kXentLabel:
    case CheckCode::kXentBackwardLabel:
      return "label " + val + " of sample " + idx + " is outside [0, " + lim + ")";
    case CheckCode::kGatherIndex:
    case CheckCode::kGatherBackwardIndex:
      return "index " + val + " at position " + idx + " is outside [0, " + lim + ") of dim";
    case CheckCode::kOneHotIndex:
      return "index " + val + " at position " + idx + " is outside [0, " + lim + ") of depth";
    case CheckCode::kArgmax:
      return "argmax[" + idx + "] = " + val + " is not an input cell of that output's window";
    case CheckCode::kRunningVar:
      return "runningVar[" + idx + "] + eps is not positive";
    default:
      return "unknown check code " + std::to_string(c.code);
  }
}

}  // namespace

int DeviceCount(std::string* why) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    if (why) *why = cudaGetErrorString(e);
    return 0;
  }
  if (n == 0 && why) *why = "no CUDA device is visible (check CUDA_VISIBLE_DEVICES)";
  return n;
}

Status Init() {
  std::lock_guard<std::mutex> lock(g_mu);
  return InitLocked();
}

cudaStream_t Stream() { return g_stream; }

Status FromCuda(cudaError_t e, const char* op, const char* what) {
  cudaGetLastError();  // clear a non-sticky error so later calls are not blamed for it
  const std::string msg = std::string(what) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
  if (e == cudaErrorMemoryAllocation) return Status::Error(StatusCode::kOutOfMemory, msg);
  if (e == cudaErrorLaunchFailure || e == cudaErrorIllegalAddress || e == cudaErrorLaunchOutOfResources ||
      e == cudaErrorInvalidConfiguration || e == cudaErrorNoKernelImageForDevice || e == cudaErrorLaunchTimeout)
    return Status::Error(StatusCode::kLaunch, msg);
  return Status::Error(StatusCode::kDevice, msg);
}

Status LaunchStatus(const char* op) {
  const cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) return Status::Ok();
  return FromCuda(e, op, "kernel launch failed");
}

Status Malloc(size_t bytes, void** out, const char* op) {
  *out = nullptr;
  std::lock_guard<std::mutex> lock(g_mu);
  Status st = InitLocked();
  if (!st.ok) return st;
  const size_t size = RoundSize(bytes);
  auto it = g_pool.cached.lower_bound(size);
  if (it != g_pool.cached.end() && Fits(it->first, size)) {
    void* p = it->second;
    const size_t s = it->first;
    g_pool.cached.erase(it);
    g_pool.cachedBytes -= s;
    g_pool.live.emplace(p, s);
    g_pool.inUse += s;
    if (g_pool.inUse > g_pool.peak) g_pool.peak = g_pool.inUse;
    ++g_pool.hits;
    *out = p;
    return Status::Ok();
  }
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, size);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    ReleaseCacheLocked();
    e = cudaMalloc(&p, size);
  }
  if (e != cudaSuccess) {
    cudaGetLastError();
    size_t freeB = 0, totalB = 0;
    cudaMemGetInfo(&freeB, &totalB);
    const std::string msg = "out of GPU memory allocating " + Mib(size) + " (tensorbolt holds " + Mib(g_pool.inUse) +
                            "; the device has " + Mib(freeB) + " free of " + Mib(totalB) +
                            "): dispose tensors you no longer need or use a smaller batch";
    if (e == cudaErrorMemoryAllocation) return Status::Error(StatusCode::kOutOfMemory, msg);
    return FromCuda(e, op, "cudaMalloc");
  }
  ++g_pool.mallocs;
  g_pool.live.emplace(p, size);
  g_pool.inUse += size;
  if (g_pool.inUse > g_pool.peak) g_pool.peak = g_pool.inUse;
  *out = p;
  return Status::Ok();
}

void Free(void* p) {
  if (!p) return;
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_pool.live.find(p);
  if (it == g_pool.live.end()) return;
  const size_t s = it->second;
  g_pool.live.erase(it);
  g_pool.inUse -= s;
  g_pool.cached.emplace(s, p);
  g_pool.cachedBytes += s;
}

Status ReleaseCache() {
  std::lock_guard<std::mutex> lock(g_mu);
  const cudaError_t e = ReleaseCacheLocked();
  if (e != cudaSuccess) return FromCuda(e, "cuda.emptyCache", "cudaFree");
  return Status::Ok();
}

MemoryStats GetMemoryStats() {
  std::lock_guard<std::mutex> lock(g_mu);
  MemoryStats m;
  m.inUse = g_pool.inUse;
  m.cached = g_pool.cachedBytes;
  m.peakInUse = g_pool.peak;
  m.deviceMallocs = g_pool.mallocs;
  m.cacheHits = g_pool.hits;
  return m;
}

Status CopyToDevice(void* dst, const void* src, size_t bytes, const char* op) {
  if (bytes == 0) return Status::Ok();
  Status st = Init();
  if (!st.ok) return st;
  const cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, g_stream);
  if (e != cudaSuccess) return FromCuda(e, op, "copy to the device");
  return Status::Ok();
}

Status CopyOnDevice(void* dst, const void* src, size_t bytes, const char* op) {
  if (bytes == 0) return Status::Ok();
  Status st = Init();
  if (!st.ok) return st;
  const cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, g_stream);
  if (e != cudaSuccess) return FromCuda(e, op, "copy on the device");
  return Status::Ok();
}

Status CopyToHost(void* dst, const void* src, size_t bytes, const char* op) {
  Status st = Init();
  if (!st.ok) return st;
  if (bytes > 0) {
    const cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, g_stream);
    if (e != cudaSuccess) return FromCuda(e, op, "copy to the host");
  }
  return Synchronize(op);
}

Status Synchronize(const char* op) {
  Status st = Init();
  if (!st.ok) return st;
  cudaError_t e = cudaStreamSynchronize(g_stream);
  if (e != cudaSuccess)
    return FromCuda(e, op,
                    "work queued by an earlier call failed on the GPU (the CUDA context may now be unusable; "
                    "restart the process)");
  bool pending;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    pending = g_checkPending;
    g_checkPending = false;
  }
  if (!pending) return Status::Ok();
  DeviceCheck c{};
  e = cudaMemcpy(&c, g_check, sizeof c, cudaMemcpyDeviceToHost);
  if (e != cudaSuccess) return FromCuda(e, op, "reading the check slot");
  if (c.code == 0) return Status::Ok();
  e = cudaMemset(g_check, 0, sizeof c);
  if (e != cudaSuccess) return FromCuda(e, op, "clearing the check slot");
  return Status::Error(StatusCode::kInvalid, std::string("an earlier cuda.") + CheckOp(c.code) + " call failed: " +
                                                 CheckMessage(c) + " (found on the GPU; that call's outputs are invalid)");
}

Status GetDeviceInfo(DeviceInfo* out) {
  Status st = Init();
  if (!st.ok) return st;
  cudaDeviceProp p;
  cudaError_t e = cudaGetDeviceProperties(&p, 0);
  if (e != cudaSuccess) return FromCuda(e, "cuda.info", "cudaGetDeviceProperties");
  out->name = p.name;
  out->major = p.major;
  out->minor = p.minor;
  out->totalMemory = p.totalGlobalMem;
  out->multiprocessors = p.multiProcessorCount;
  size_t freeB = 0, totalB = 0;
  if (cudaMemGetInfo(&freeB, &totalB) == cudaSuccess) out->freeMemory = freeB;
  cudaRuntimeGetVersion(&out->runtimeVersion);
  cudaDriverGetVersion(&out->driverVersion);
  cudaGetLastError();
  return Status::Ok();
}

DeviceCheck* CheckSlot() { return g_check; }

void NoteCheck() {
  std::lock_guard<std::mutex> lock(g_mu);
  g_checkPending = true;
}

void Shutdown() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (!g_ready) return;
  cudaStreamSynchronize(g_stream);
  ReleaseCacheLocked();
  for (auto& [p, size] : g_pool.live) cudaFree(p);
  g_pool = Pool{};
  cudaFree(g_check);
  g_check = nullptr;
  cudaStreamDestroy(g_stream);
  g_stream = nullptr;
  g_checkPending = false;
  g_ready = false;
  cudaGetLastError();
}

}  // namespace tb::cuda
