// cuda.deviceCount(), info(), alloc(), free(), view(), upload(), download(), copy(), synchronize(),
// memory(), emptyCache(), setTf32(): the device runtime and the narrow buffer ABI, the one part of the
// binding that only the device has (the kernels' bindings serve both devices: napi/kernel.h). Kernels
// never allocate JS memory; a block lives until its buffer and every view of it were freed
// (cuda.free) or garbage-collected (a backstop), and everything is released when the last JS
// environment using the addon is torn down.
#include <atomic>
#include <string>

#include "cuda/gemm.cuh"
#include "cuda/runtime.cuh"
#include "napi/cuda/device_args.h"
#include "napi/kernel.h"

namespace tb::napi {
namespace {

namespace rt = ::tb::cuda;

constexpr int64_t kMaxLength = int64_t{1} << 40;

// The handle's finalizer: drops its share of the block (the block goes back to the cache with the last).
void FinalizeBuffer(napi_env, void* data, void*) { delete static_cast<DeviceBuffer*>(data); }

// A JS handle for b (owned by the handle from here on).
Napi::Object WrapBuffer(const DevArgs& a, DeviceBuffer* b) {
  Napi::Env env = a.info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.DefineProperties({
      Napi::PropertyDescriptor::Value("length", Napi::Number::New(env, static_cast<double>(b->length)),
                                      napi_enumerable),
      Napi::PropertyDescriptor::Value("dtype", Napi::String::New(env, b->isInt ? "int32" : "float32"),
                                      napi_enumerable),
  });
  o.TypeTag(&BufferTag());
  if (napi_wrap(env, o, b, FinalizeBuffer, nullptr, nullptr) != napi_ok) {
    delete b;
    a.Throw("could not attach the device buffer to its handle");
  }
  return o;
}

// [offset, offset + length) must lie inside the length elements of `what`.
void CheckRange(const DevArgs& a, const char* what, int64_t offset, int64_t length, int64_t size) {
  if (offset + length > size)
    a.ThrowRange(std::string(what) + ": offset " + std::to_string(offset) + " + length " + std::to_string(length) +
                 " exceeds its " + std::to_string(size) + " elements");
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
  DevArgs a(info, "info", 0);
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
  DevArgs a(info, "alloc", 2);
  const int64_t n = a.Int(0, "length", 0, kMaxLength);
  if (!info[1].IsString()) a.Throw("argument 1 (dtype) must be 'float32' or 'int32'");
  const std::string dtype = info[1].As<Napi::String>();
  if (dtype != "float32" && dtype != "int32") a.Throw("dtype must be 'float32' or 'int32', got '" + dtype + "'");
  void* p = nullptr;
  a.Check(rt::Malloc(static_cast<size_t>(n) * 4, &p, "cuda.alloc"));
  auto mem = std::make_shared<DeviceMemory>(p);
  return WrapBuffer(a, new DeviceBuffer{std::move(mem), p, n, dtype == "int32"});
}

// view(buffer, offset, length): a handle on elements [offset, offset + length) of buffer, sharing its
// memory: kernels that write through one see it through the other. The block stays allocated while
// any view of it lives, so freeing the buffer first is safe; freeing a view frees only the view.
Napi::Value View(const Napi::CallbackInfo& info) {
  DevArgs a(info, "view", 3);
  const DeviceBuffer* b = a.Buf(0, "buffer");
  const int64_t off = a.Int(1, "offset", 0, kMaxLength), n = a.Int(2, "length", 0, kMaxLength);
  CheckRange(a, "buffer", off, n, b->length);
  return WrapBuffer(a, new DeviceBuffer{b->mem, static_cast<char*>(b->ptr) + off * 4, n, b->isInt});
}

// free(buffer): gives up this handle's share of the memory now (idempotent); the handle is unusable
// after. The block returns to the cache once no view of it is left.
Napi::Value Free(const Napi::CallbackInfo& info) {
  DevArgs a(info, "free", 1);
  if (!info[0].IsObject() || !info[0].As<Napi::Object>().CheckTypeTag(&BufferTag()))
    a.Throw("argument 0 (buffer) must be a CUDA device buffer (from cuda.alloc)");
  void* p = nullptr;
  if (napi_unwrap(info.Env(), info[0], &p) == napi_ok && p) {
    auto* b = static_cast<DeviceBuffer*>(p);
    b->mem.reset();
    b->ptr = nullptr;
  }
  return info.Env().Undefined();
}

// Host array at argument i of the buffer's dtype: pointer and element count.
void* HostArray(const DevArgs& a, size_t i, const char* name, bool wantInt, int64_t* len) {
  bool isInt = false;
  void* p = a.HostAny32(i, name, len, &isInt);
  if (isInt != wantInt)
    a.Throw(a.Where(i, name) + " must be " + (wantInt ? "an Int32Array" : "a Float32Array") +
            " to match the device buffer's dtype");
  return p;
}

// upload(dst, src, dstOffset): dst[dstOffset .. + src.length) = src.
Napi::Value Upload(const Napi::CallbackInfo& info) {
  DevArgs a(info, "upload", 3);
  DeviceBuffer* d = a.Buf(0, "dst");
  int64_t n = 0;
  const void* src = HostArray(a, 1, "src", d->isInt, &n);
  const int64_t off = a.Int(2, "dstOffset", 0, kMaxLength);
  if (off + n > d->length)
    a.ThrowRange("dstOffset " + std::to_string(off) + " + " + std::to_string(n) + " elements exceed the buffer's " +
                 std::to_string(d->length));
  a.Check(rt::CopyToDevice(static_cast<char*>(d->ptr) + off * 4, src, static_cast<size_t>(n) * 4, "cuda.upload"));
  return info.Env().Undefined();
}

// download(src, dst, srcOffset): dst = src[srcOffset .. + dst.length). Waits for queued work and
// reports any failure of it (this is where asynchronous errors surface).
Napi::Value Download(const Napi::CallbackInfo& info) {
  DevArgs a(info, "download", 3);
  DeviceBuffer* s = a.Buf(0, "src");
  int64_t n = 0;
  void* dst = HostArray(a, 1, "dst", s->isInt, &n);
  const int64_t off = a.Int(2, "srcOffset", 0, kMaxLength);
  if (off + n > s->length)
    a.ThrowRange("srcOffset " + std::to_string(off) + " + " + std::to_string(n) + " elements exceed the buffer's " +
                 std::to_string(s->length));
  a.Check(rt::CopyToHost(dst, static_cast<const char*>(s->ptr) + off * 4, static_cast<size_t>(n) * 4, "cuda.download"));
  return info.Env().Undefined();
}

// copy(src, srcOffset, dst, dstOffset, length): dst[dstOffset ..] = src[srcOffset ..], `length`
// elements of one dtype, device to device, queued. The two ranges must not partly overlap.
Napi::Value Copy(const Napi::CallbackInfo& info) {
  DevArgs a(info, "copy", 5);
  const DeviceBuffer* s = a.Buf(0, "src");
  const int64_t so = a.Int(1, "srcOffset", 0, kMaxLength);
  const DeviceBuffer* d = a.Buf(2, "dst");
  const int64_t dof = a.Int(3, "dstOffset", 0, kMaxLength), n = a.Int(4, "length", 0, kMaxLength);
  if (s->isInt != d->isInt)
    a.Throw(std::string("src is ") + DevArgs::KindName(s->isInt) + " but dst is " + DevArgs::KindName(d->isInt) +
            "; both must hold the same element type");
  CheckRange(a, "src", so, n, s->length);
  CheckRange(a, "dst", dof, n, d->length);
  const char* from = static_cast<const char*>(s->ptr) + so * 4;
  char* to = static_cast<char*>(d->ptr) + dof * 4;
  if (n == 0 || from == to) return info.Env().Undefined();
  if (from < to + n * 4 && to < from + n * 4) a.ThrowRange("the src and dst ranges overlap");
  a.Check(rt::CopyOnDevice(to, from, static_cast<size_t>(n) * 4, "cuda.copy"));
  return info.Env().Undefined();
}

Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  DevArgs a(info, "synchronize", 0);
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
  DevArgs a(info, "emptyCache", 0);
  a.Check(rt::ReleaseCache());
  return info.Env().Undefined();
}

Napi::Value SetTf32(const Napi::CallbackInfo& info) {
  DevArgs a(info, "setTf32", 1);
  rt::SetTf32(a.Bool(0, "on"));
  return info.Env().Undefined();
}

// Environments (the main thread, worker threads) using the addon; the last one to go releases the device.
std::atomic<int> g_envs{0};

void Register(Napi::Env env, Napi::Object exports) {
  Napi::Object cuda = CudaExports(env, exports);
  const auto add = [&](const char* name, Napi::Function::Callback fn) { Export(env, cuda, name, fn); };
  add("deviceCount", DeviceCount);
  add("info", Info);
  add("alloc", Alloc);
  add("free", Free);
  add("view", View);
  add("upload", Upload);
  add("download", Download);
  add("copy", Copy);
  add("synchronize", Synchronize);
  add("memory", Memory);
  add("emptyCache", EmptyCache);
  add("setTf32", SetTf32);
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
}  // namespace tb::napi
