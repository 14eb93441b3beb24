// The device half of the binding's argument checking. Device buffers cross into JS as plain objects
// (with read-only `length` and `dtype`) that are type-tagged and wrap a DeviceBuffer; DevArgs reads
// them with the accessors Args uses for typed arrays (F32, I32, Any32, Len, Span), so every kernel
// binding is one template for both devices, and turns a failed tb::Status into a thrown JS error
// whose message names the function and whose `code` names the failure (ERR_TENSORBOLT_CUDA_OOM,
// _LAUNCH, _CUBLAS, _DEVICE; bad data is a RangeError). Compiled only with TENSORBOLT_CUDA.
#pragma once
#ifndef TENSORBOLT_CUDA
#error "native/napi/cuda/ is built only with -DTENSORBOLT_CUDA (npm run build:cuda)"
#endif
#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "common/status.h"
#include "cuda/runtime.cuh"
#include "napi/args.h"

namespace tb::napi {

// One block from the caching allocator, shared by a buffer and every view of it: it goes back to
// the cache when the last of them is freed or collected, so a view never outlives its memory.
struct DeviceMemory {
  void* base = nullptr;
  explicit DeviceMemory(void* p) : base(p) {}
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;
  ~DeviceMemory() { ::tb::cuda::Free(base); }
};

// What a handle wraps: `length` 4-byte elements from ptr, inside mem (at an offset for a view).
// mem and ptr are null once the handle was freed.
struct DeviceBuffer {
  std::shared_ptr<DeviceMemory> mem;
  void* ptr = nullptr;
  int64_t length = 0;
  bool isInt = false;
};

inline const napi_type_tag& BufferTag() {
  static const napi_type_tag tag = {0x7b3e1f0a5c2d4e68ull, 0x9a41c6b2d8f0e357ull};
  return tag;
}

// The `cuda` object on the addon's exports, created by the first registrar that asks.
inline Napi::Object CudaExports(Napi::Env env, Napi::Object exports) {
  Napi::Value v = exports.Get("cuda");
  if (v.IsObject()) return v.As<Napi::Object>();
  Napi::Object o = Napi::Object::New(env);
  exports.Set("cuda", o);
  return o;
}

inline const char* CodeName(StatusCode c) {
  switch (c) {
    case StatusCode::kOutOfMemory: return "ERR_TENSORBOLT_CUDA_OOM";
    case StatusCode::kLaunch: return "ERR_TENSORBOLT_CUDA_LAUNCH";
    case StatusCode::kBlas: return "ERR_TENSORBOLT_CUDA_CUBLAS";
    case StatusCode::kDevice: return "ERR_TENSORBOLT_CUDA_DEVICE";
    default: return "ERR_TENSORBOLT_CUDA_INVALID";
  }
}

class DevArgs : public BufferArgs<DevArgs> {
 public:
  DevArgs(const Napi::CallbackInfo& i, const char* name, size_t expected) : BufferArgs(i, name, expected, "cuda.") {}

  void Check(const Status& s) const {
    if (!s.ok) ThrowStatus(s, CodeName(s.code));
  }

  // The stream, initializing the device on first use.
  cudaStream_t Stream() const {
    Check(::tb::cuda::Init());
    return ::tb::cuda::Stream();
  }

  // The live buffer at argument i (unwrapped once per argument and call).
  DeviceBuffer* Buf(size_t i, const char* name) const {
    DeviceBuffer** slot = i < kCached ? &bufs_[i] : nullptr;
    if (slot && *slot) return *slot;
    Napi::Value v = info[i];
    if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&BufferTag()))
      Throw(Where(i, name) + " must be a CUDA device buffer (from cuda.alloc)");
    void* p = nullptr;
    if (napi_unwrap(info.Env(), v, &p) != napi_ok || !p) Throw(Where(i, name) + " is not a live device buffer");
    auto* b = static_cast<DeviceBuffer*>(p);
    if (!b->ptr) Throw(Where(i, name) + " was freed (cuda.free)");
    if (slot) *slot = b;
    return b;
  }

  float* F32(size_t i, const char* name, int64_t n = -1) const { return Checked<float>(i, name, false, n); }
  int32_t* I32(size_t i, const char* name, int64_t n = -1) const { return Checked<int32_t>(i, name, true, n); }
  // Either dtype; reports the length and kind.
  void* Any32(size_t i, const char* name, int64_t* len, bool* isInt) const {
    DeviceBuffer* b = Buf(i, name);
    *len = b->length;
    *isInt = b->isInt;
    return b->ptr;
  }
  // Length in elements of the device buffer at i (already checked).
  int64_t Len(size_t i) const { return Buf(i, "buffer")->length; }
  // The device bytes [begin, end) of the buffer at i; empty for null/undefined and empty buffers. One
  // address space holds every buffer, so views of one block overlap exactly where their bytes do.
  std::pair<uintptr_t, uintptr_t> Span(size_t i) const {
    if (IsNull(i)) return {0, 0};
    const DeviceBuffer* b = Buf(i, "buffer");
    if (b->length == 0) return {0, 0};
    const auto p = reinterpret_cast<uintptr_t>(b->ptr);
    return {p, p + static_cast<uintptr_t>(b->length) * 4};
  }
  static const char* KindName(bool isInt) { return isInt ? "an int32 device buffer" : "a float32 device buffer"; }
  static const char* TypeName(bool isInt) { return isInt ? "int32" : "float32"; }

 private:
  template <class T>
  T* Checked(size_t i, const char* name, bool wantInt, int64_t n) const {
    DeviceBuffer* b = Buf(i, name);
    if (b->isInt != wantInt)
      Throw(Where(i, name) + " must be a " + (wantInt ? "int32" : "float32") + " device buffer, got " +
            (b->isInt ? "int32" : "float32"));
    if (n >= 0 && b->length != n)
      ThrowRange(Where(i, name) + " has " + std::to_string(b->length) + " elements, expected " + std::to_string(n));
    return static_cast<T*>(b->ptr);
  }

  static constexpr size_t kCached = 16;
  mutable DeviceBuffer* bufs_[kCached] = {};
};

}  // namespace tb::napi
