// The CUDA runtime of tensorbolt: one device (0), one stream, a caching allocator, host<->device
// copies, and the slot through which kernels report bad data (labels, indices) without the host
// waiting for them. Plain host C++ over the CUDA runtime API: the N-API layer includes it too.
//
// Asynchrony: every kernel and copy is queued on Stream(); the host waits only in CopyToHost() and
// Synchronize(). A kernel that fails while running is therefore reported by the next of those two
// calls, which names the failure and says that it came from an earlier call.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/status.h"

namespace tb::cuda {

// Number of visible devices, 0 when none; *why (if not null) says why when there are none
// (no driver, driver too old for this runtime, CUDA_VISIBLE_DEVICES empty...). Never fails.
int DeviceCount(std::string* why);

// Selects device 0, creates the stream and the check slot. Idempotent and thread-safe; every other
// function below calls it first.
Status Init();

// The one stream every kernel, copy and cuBLAS call runs on (created by Init()).
cudaStream_t Stream();

// ---- caching allocator ----
// Blocks freed with Free() are kept and handed out again for requests of a similar size, so a
// training loop stops calling cudaMalloc/cudaFree after its first step. Reuse is safe without
// events because there is one stream: work queued with a block's old owner runs before work queued
// with its new owner. Memory goes back to the driver only in ReleaseCache(), Shutdown(), or when an
// allocation fails (the cache is released and the allocation tried once more).
Status Malloc(size_t bytes, void** out, const char* op);
// Returns a block from Malloc() to the cache. Unknown pointers (and null) are ignored, so a
// finalizer running after Shutdown() does nothing.
void Free(void* p);
// Gives every cached (free) block back to the driver.
Status ReleaseCache();

struct MemoryStats {
  size_t inUse = 0;       // bytes in blocks handed out and not yet freed
  size_t cached = 0;      // bytes in free blocks kept for reuse
  size_t peakInUse = 0;
  int64_t deviceMallocs = 0;  // cudaMalloc calls so far
  int64_t cacheHits = 0;      // requests served from the cache
};
MemoryStats GetMemoryStats();

// Scratch memory for the duration of one host call (kernels queued with it may still be running
// when it goes back to the cache; see above for why that is safe).
class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { Free(p_); }
  Status Alloc(size_t bytes, const char* op) {
    Free(p_);
    p_ = nullptr;
    return Malloc(bytes, &p_, op);
  }
  template <class T>
  T* As() const {
    return static_cast<T*>(p_);
  }

 private:
  void* p_ = nullptr;
};

// ---- copies, queued on the stream ----
// src may be reused as soon as CopyToDevice returns (pageable memory is staged by the runtime).
Status CopyToDevice(void* dst, const void* src, size_t bytes, const char* op);
// Waits for the stream, then reports any failure of earlier work (see Synchronize()).
Status CopyToHost(void* dst, const void* src, size_t bytes, const char* op);
Status CopyOnDevice(void* dst, const void* src, size_t bytes, const char* op);

// Waits for all queued work. Reports a kernel that failed while running and bad data found by a
// checking kernel (the check slot), as errors that name the call that queued the failing work.
Status Synchronize(const char* op);

// The status of the last kernel launch (cudaGetLastError), naming op.
Status LaunchStatus(const char* op);
// A status for a failed runtime call: out of memory, a launch failure, or another device error.
Status FromCuda(cudaError_t e, const char* op, const char* what);

// ---- device facts ----
struct DeviceInfo {
  std::string name;
  int major = 0, minor = 0;  // compute capability
  size_t totalMemory = 0, freeMemory = 0;
  int multiprocessors = 0;
  int runtimeVersion = 0, driverVersion = 0;  // 1000 * major + 10 * minor
};
Status GetDeviceInfo(DeviceInfo* out);

// ---- data checks done on the device ----
// A checking kernel that meets bad data skips that element (never writing out of bounds) and
// records the first failure it sees here; Synchronize() turns the record into an error naming the
// op and the offending value. Codes name the op and the check.
enum class CheckCode : int {
  kNone = 0,
  kXentLabel = 1,          // softmaxXent: label outside [0, c)
  kXentBackwardLabel = 2,  // softmaxXentBackward: label outside [0, c)
  kGatherIndex = 3,        // gather: index outside [0, dim)
  kGatherBackwardIndex = 4,
  kOneHotIndex = 5,        // oneHot: index outside [0, depth)
  kArgmax = 6,             // maxPool2dBackward: argmax not a cell of its output's window
  kRunningVar = 7,         // batchNorm (eval): runningVar + eps not positive
};
struct DeviceCheck {
  int code;
  int unused;
  long long index, value, limit;
};
// Device pointer to the slot (valid after Init()). A kernel that uses it must be followed by
// NoteCheck(), so the next Synchronize() knows to read the slot.
DeviceCheck* CheckSlot();
void NoteCheck();

// Frees every block (cached or live), the check slot and the stream; later calls re-initialize.
// Called when the last JS environment using the addon goes away.
void Shutdown();

}  // namespace tb::cuda
