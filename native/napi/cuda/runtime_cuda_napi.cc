// cuda.deviceCount(), info(), alloc(), free(), upload(), download(), copy(), synchronize(), memory(),
// emptyCache(), setTf32(): the device runtime and the narrow buffer ABI. Kernels never allocate JS
// memory; buffers live until cuda.free() or until their handle is garbage-collected (a backstop),
// and everything is released when the last JS environment using the addon is torn down.
#include <atomic>
#include <string>

#include "cuda/gemm.cuh"
#include "cuda/runtime.cuh"
#include "napi/cuda/device_args.h"
#include "napi/register.h"

namespace tb::napi::cuda {
namespace {

namespace rt = ::tb::cuda;

void FinalizeBuffer(napi_env, void* data, void*) {
  auto* b = static_cast<DeviceBuffer*>(data);
  rt::Free(b->ptr);
  delete b;
}

Napi::Value DeviceCount(const Napi::CallbackInfo& info) {
  std::string why;
  const int n = rt::DeviceCount(&why);
  auto o = Napi::Object::New(info.Env());
  o.Set("count", n);
  o.Set("reason", why);
  return o;
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.info", 0);
  rt::DeviceInfo d;
  a.Check(rt::GetDeviceInfo(&d));
  auto o = Napi::Object::New(info.Env());
  o.Set("name", d.name);
  o.Set("computeCapability", std::to_string(d.major) + "." + std::to_string(d.minor));
  o.Set("totalMemory", static_cast<double>(d.totalMemory));
  o.Set("freeMemory", static_cast<double>(d.freeMemory));
  o.Set("multiprocessors", d.multiprocessors);
  o.Set("runtimeVersion", d.runtimeVersion);
  o.Set("driverVersion", d.driverVersion);
  o.Set("cublasVersion", rt::BlasVersion());
  o.Set("tf32", rt::Tf32());
  return o;
}

// alloc(length, dtype): uninitialized device memory for `length` float32 or int32 elements.
Napi::Value Alloc(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.alloc", 2);
  const int64_t n = a.Int(0, "length", 0, int64_t{1} << 40);
  if (!info[1].IsString()) a.Throw("argument 1 (dtype) must be 'float32' or 'int32'");
  const std::string dtype = info[1].As<Napi::String>();
  if (dtype != "float32" && dtype != "int32") a.Throw("dtype must be 'float32' or 'int32', got '" + dtype + "'");
  void* p = nullptr;
  a.Check(rt::Malloc(static_cast<size_t>(n) * 4, &p, "cuda.alloc"));
  auto* b = new DeviceBuffer{p, n, dtype == "int32"};
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.DefineProperties({
      Napi::PropertyDescriptor::Value("length", Napi::Number::New(env, static_cast<double>(n)), napi_enumerable),
      Napi::PropertyDescriptor::Value("dtype", Napi::String::New(env, dtype), napi_enumerable),
  });
  o.TypeTag(&BufferTag());
  if (napi_wrap(env, o, b, FinalizeBuffer, nullptr, nullptr) != napi_ok) {
    rt::Free(p);
    delete b;
    a.Throw("could not attach the device buffer to its handle");
  }
  return o;
}

// free(buffer): returns the memory to the cache now (idempotent); the handle is unusable after.
Napi::Value Free(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.free", 1);
  if (!info[0].IsObject() || !info[0].As<Napi::Object>().CheckTypeTag(&BufferTag()))
    a.Throw("argument 0 (buffer) must be a CUDA device buffer (from cuda.alloc)");
  void* p = nullptr;
  if (napi_unwrap(info.Env(), info[0], &p) == napi_ok && p) {
    auto* b = static_cast<DeviceBuffer*>(p);
    rt::Free(b->ptr);
    b->ptr = nullptr;
  }
  return info.Env().Undefined();
}

// Host array at argument i of the buffer's dtype: pointer and element count.
void* HostArray(const DevArgs& a, size_t i, const char* name, bool wantInt, int64_t* len) {
  bool isInt = false;
  void* p = a.Any32(i, name, len, &isInt);
  if (isInt != wantInt)
    a.Throw(a.Where(i, name) + " must be " + (wantInt ? "an Int32Array" : "a Float32Array") +
            " to match the device buffer's dtype");
  return p;
}

// upload(dst, src, dstOffset): dst[dstOffset .. + src.length) = src.
Napi::Value Upload(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.upload", 3);
  DeviceBuffer* d = a.Buf(0, "dst");
  int64_t n = 0;
  const void* src = HostArray(a, 1, "src", d->isInt, &n);
  const int64_t off = a.Int(2, "dstOffset", 0, int64_t{1} << 40);
  if (off + n > d->length)
    a.ThrowRange("dstOffset " + std::to_string(off) + " + " + std::to_string(n) + " elements exceed the buffer's " +
                 std::to_string(d->length));
  a.Check(rt::CopyToDevice(static_cast<char*>(d->ptr) + off * 4, src, static_cast<size_t>(n) * 4, "cuda.upload"));
  return info.Env().Undefined();
}

// download(src, dst, srcOffset): dst = src[srcOffset .. + dst.length). Waits for queued work and
// reports any failure of it (this is where asynchronous errors surface).
Napi::Value Download(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.download", 3);
  DeviceBuffer* s = a.Buf(0, "src");
  int64_t n = 0;
  void* dst = HostArray(a, 1, "dst", s->isInt, &n);
  const int64_t off = a.Int(2, "srcOffset", 0, int64_t{1} << 40);
  if (off + n > s->length)
    a.ThrowRange("srcOffset " + std::to_string(off) + " + " + std::to_string(n) + " elements exceed the buffer's " +
                 std::to_string(s->length));
  a.Check(rt::CopyToHost(dst, static_cast<const char*>(s->ptr) + off * 4, static_cast<size_t>(n) * 4, "cuda.download"));
  return info.Env().Undefined();
}

// copy(src, dst): device to device, same dtype and length.
Napi::Value Copy(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.copy", 2);
  DeviceBuffer* s = a.Buf(0, "src");
  DeviceBuffer* d = a.Buf(1, "dst");
  if (s->isInt != d->isInt) a.Throw("src and dst must have the same dtype");
  if (s->length != d->length)
    a.ThrowRange("src has " + std::to_string(s->length) + " elements but dst has " + std::to_string(d->length));
  if (s->ptr != d->ptr) a.Check(rt::CopyOnDevice(d->ptr, s->ptr, static_cast<size_t>(s->length) * 4, "cuda.copy"));
  return info.Env().Undefined();
}

Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.synchronize", 0);
  a.Check(rt::Synchronize("cuda.synchronize"));
  return info.Env().Undefined();
}

Napi::Value Memory(const Napi::CallbackInfo& info) {
  const rt::MemoryStats m = rt::GetMemoryStats();
  auto o = Napi::Object::New(info.Env());
  o.Set("inUse", static_cast<double>(m.inUse));
  o.Set("cached", static_cast<double>(m.cached));
  o.Set("peakInUse", static_cast<double>(m.peakInUse));
  o.Set("deviceMallocs", static_cast<double>(m.deviceMallocs));
  o.Set("cacheHits", static_cast<double>(m.cacheHits));
  return o;
}

Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.emptyCache", 0);
  a.Check(rt::ReleaseCache());
  return info.Env().Undefined();
}

Napi::Value SetTf32(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.setTf32", 1);
  rt::SetTf32(a.Bool(0, "on"));
  return info.Env().Undefined();
}

// Environments (the main thread, worker threads) using the addon; the last one to go releases the device.
std::atomic<int> g_envs{0};

void Register(Napi::Env env, Napi::Object exports) {
  Napi::Object cuda = CudaExports(env, exports);
  TB_CUDA_EXPORT(cuda, "deviceCount", DeviceCount);
  TB_CUDA_EXPORT(cuda, "info", Info);
  TB_CUDA_EXPORT(cuda, "alloc", Alloc);
  TB_CUDA_EXPORT(cuda, "free", Free);
  TB_CUDA_EXPORT(cuda, "upload", Upload);
  TB_CUDA_EXPORT(cuda, "download", Download);
  TB_CUDA_EXPORT(cuda, "copy", Copy);
  TB_CUDA_EXPORT(cuda, "synchronize", Synchronize);
  TB_CUDA_EXPORT(cuda, "memory", Memory);
  TB_CUDA_EXPORT(cuda, "emptyCache", EmptyCache);
  TB_CUDA_EXPORT(cuda, "setTf32", SetTf32);
  ++g_envs;
  env.AddCleanupHook([] {
    if (--g_envs == 0) {
      rt::ShutdownBlas();
      rt::Shutdown();
    }
  });
}

TB_NAPI_REGISTER(Register);

}  // namespace
}  // namespace tb::napi::cuda
