// The device half of the binding's argument checking. Device buffers cross into JS as plain objects
// (with read-only `length` and `dtype`) that are type-tagged and wrap a DeviceBuffer; every function
// of the `cuda` sub-object checks them like the CPU functions check typed arrays (kind, dtype,
// length) and turns a failed tb::Status into a thrown JS error whose message names the function and
// whose `code` names the failure (ERR_TENSORBOLT_CUDA_OOM, _LAUNCH, _CUBLAS, _DEVICE; bad data is a
// RangeError). Compiled only with TENSORBOLT_CUDA.
#pragma once
#ifndef TENSORBOLT_CUDA
#error "native/napi/cuda/ is built only with -DTENSORBOLT_CUDA (npm run build:cuda)"
#endif
#include <napi.h>

#include <cstdint>
#include <string>

#include "common/status.h"
#include "cuda/runtime.cuh"
#include "napi/args.h"

namespace tb::napi::cuda {

// Memory from tb::cuda::Malloc; ptr is null once freed.
struct DeviceBuffer {
  void* ptr = nullptr;
  int64_t length = 0;  // elements (4 bytes each)
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

struct DevArgs : Args {
  DevArgs(const Napi::CallbackInfo& i, const char* name, size_t expected) : Args(i, name, expected) {}

  // Throws the JS error for a failed status: "tensorbolt.<fn>: <message>", with a `code`.
  [[noreturn]] void ThrowStatus(const Status& s) const {
    const std::string msg = std::string("tensorbolt.") + fn + ": " + s.message;
    Napi::Error e = s.code == StatusCode::kInvalid ? Napi::RangeError::New(info.Env(), msg)
                                                   : Napi::Error::New(info.Env(), msg);
    e.Value().Set("code", CodeName(s.code));
    throw e;
  }
  void Check(const Status& s) const {
    if (!s.ok) ThrowStatus(s);
  }

  // The stream, initializing the device on first use.
  cudaStream_t Stream() const {
    Check(tb::cuda::Init());
    return tb::cuda::Stream();
  }

  DeviceBuffer* Buf(size_t i, const char* name) const {
    Napi::Value v = info[i];
    if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&BufferTag()))
      Throw(Where(i, name) + " must be a CUDA device buffer (from cuda.alloc)");
    void* p = nullptr;
    if (napi_unwrap(info.Env(), v, &p) != napi_ok || !p) Throw(Where(i, name) + " is not a live device buffer");
    auto* b = static_cast<DeviceBuffer*>(p);
    if (!b->ptr) Throw(Where(i, name) + " was freed (cuda.free)");
    return b;
  }
  // Length in elements of the device buffer at i (already checked).
  int64_t DevLen(size_t i) const { return Buf(i, "buffer")->length; }

  template <class T>
  T* Typed(size_t i, const char* name, bool wantInt, int64_t n) const {
    DeviceBuffer* b = Buf(i, name);
    if (b->isInt != wantInt)
      Throw(Where(i, name) + " must be a " + (wantInt ? "int32" : "float32") + " device buffer, got " +
            (b->isInt ? "int32" : "float32"));
    if (n >= 0 && b->length != n)
      ThrowRange(Where(i, name) + " has " + std::to_string(b->length) + " elements, expected " + std::to_string(n));
    return static_cast<T*>(b->ptr);
  }
  float* DevF32(size_t i, const char* name, int64_t n = -1) const { return Typed<float>(i, name, false, n); }
  int32_t* DevI32(size_t i, const char* name, int64_t n = -1) const { return Typed<int32_t>(i, name, true, n); }
  float* DevF32OrNull(size_t i, const char* name, int64_t n = -1) const {
    return IsNull(i) ? nullptr : DevF32(i, name, n);
  }
  int32_t* DevI32OrNull(size_t i, const char* name, int64_t n = -1) const {
    return IsNull(i) ? nullptr : DevI32(i, name, n);
  }
  // Either dtype; reports the length and kind.
  void* DevAny32(size_t i, const char* name, int64_t* len, bool* isInt) const {
    DeviceBuffer* b = Buf(i, name);
    *len = b->length;
    *isInt = b->isInt;
    return b->ptr;
  }

  // Two arguments naming the same buffer (device buffers never share memory otherwise).
  bool Same(size_t i, size_t j) const {
    if (IsNull(i) || IsNull(j)) return false;
    return Buf(i, "buffer")->ptr == Buf(j, "buffer")->ptr;
  }
  void NoAlias(size_t out, const char* outName, size_t in, const char* inName) const {
    if (Same(out, in)) Throw(std::string(outName) + " must not be the same buffer as " + inName);
  }
};

#define TB_CUDA_EXPORT(obj, name, fn) (obj).Set(name, Napi::Function::New(env, fn, name))

}  // namespace tb::napi::cuda
