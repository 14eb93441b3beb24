// One binding per kernel, for both devices. A kernel's binding is a function template over the
// device's argument reader A: Args (CPU: typed arrays) or DevArgs (CUDA: device-buffer handles, a
// stream, a Status check). It reads and checks its arguments once, then calls
//
//   TB_KERNEL(a, Fn, args...)  ->  cpu::Fn(args...)              with Args
//                                  cuda::Fn(args..., stream)      with DevArgs
//
// and a failed Status becomes the JS error. Where the two kernel headers declare twin structs
// (Conv2dDims, Pool2dDims), TB_DEVICE_TYPE names the device's. TB_NAPI_REGISTER_KERNELS(Register)
// installs Register<Args> on the addon's exports and, in a TENSORBOLT_CUDA build, Register<DevArgs>
// on exports.cuda, so the two devices export the same names with the same signatures and checks.
#pragma once
#include <napi.h>

#include <type_traits>
#include <utility>

#include "napi/args.h"
#include "napi/register.h"
#ifdef TENSORBOLT_CUDA
#include "napi/cuda/device_args.h"
#endif

namespace tb::napi {

// The CPU kernels return void, or a Status when data can be bad.
template <class CpuFn, class CudaFn, class... T>
void Launch(const Args& a, CpuFn&& cpu, CudaFn&&, T&&... args) {
  if constexpr (std::is_void_v<decltype(cpu(std::forward<T>(args)...))>)
    cpu(std::forward<T>(args)...);
  else
    a.Check(cpu(std::forward<T>(args)...));
}

#ifdef TENSORBOLT_CUDA
template <class CpuFn, class CudaFn, class... T>
void Launch(const DevArgs& a, CpuFn&&, CudaFn&& cuda, T&&... args) {
  cudaStream_t stream = a.Stream();
  a.Check(cuda(std::forward<T>(args)..., stream));
}
// Both callees are generic lambdas, so each is compiled only for the device that calls it.
#define TB_KERNEL(a, Fn, ...)                                                                      \
  ::tb::napi::Launch((a), [](auto&&... tb_x) { return ::tb::cpu::Fn(tb_x...); },                  \
                     [](auto&&... tb_x) { return ::tb::cuda::Fn(tb_x...); }, __VA_ARGS__)
#define TB_NAPI_REGISTER_KERNELS(Register)                                 \
  TB_NAPI_REGISTER([](Napi::Env env, Napi::Object exports) {               \
    Register<::tb::napi::Args>(env, exports);                              \
    Register<::tb::napi::DevArgs>(env, ::tb::napi::CudaExports(env, exports)); \
  })
// TB_DEVICE_TYPE(Alias, Type): Alias<A> is cpu::Type or cuda::Type (twin structs, same fields).
#define TB_DEVICE_TYPE(Alias, Type) \
  template <class A>                \
  using Alias = std::conditional_t<std::is_same_v<A, ::tb::napi::DevArgs>, ::tb::cuda::Type, ::tb::cpu::Type>
#else
#define TB_KERNEL(a, Fn, ...) \
  ::tb::napi::Launch((a), [](auto&&... tb_x) { return ::tb::cpu::Fn(tb_x...); }, nullptr, __VA_ARGS__)
#define TB_NAPI_REGISTER_KERNELS(Register) \
  TB_NAPI_REGISTER([](Napi::Env env, Napi::Object exports) { Register<::tb::napi::Args>(env, exports); })
#define TB_DEVICE_TYPE(Alias, Type) \
  template <class A>                \
  using Alias = ::tb::cpu::Type
#endif

// exports[name] = fn (the JS function's name is the export's name).
inline void Export(Napi::Env env, Napi::Object target, const char* name, Napi::Function::Callback fn) {
  target.Set(name, Napi::Function::New(env, fn, name));
}

}  // namespace tb::napi
