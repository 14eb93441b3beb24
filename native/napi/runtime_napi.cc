// info(), setGemmBackend(), setNumThreads(): build facts and process-wide knobs.
#include <string>

#include "common/parallel.h"
#include "cpu/gemm.h"
#include "napi/kernel.h"

namespace tb::napi {
namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto o = Napi::Object::New(env);
  o.Set("gemm", cpu::UsingOpenBlas() ? "openblas" : "portable");
  o.Set("openblas", cpu::HaveOpenBlas());
  o.Set("openblasConfig", cpu::OpenBlasConfig());
  o.Set("threads", MaxThreads());
#ifdef _OPENMP
  o.Set("openmp", true);
#else
  o.Set("openmp", false);
#endif
#if defined(__clang__)
  o.Set("compiler", std::string("clang ") + __clang_version__);
#elif defined(__GNUC__)
  o.Set("compiler", std::string("gcc ") + __VERSION__);
#else
  o.Set("compiler", "unknown");
#endif
  return o;
}

Napi::Value SetGemmBackend(const Napi::CallbackInfo& info) {
  Args a(info, "setGemmBackend", 1);
  if (!info[0].IsString()) a.Throw("argument 0 (name) must be 'openblas' or 'portable'");
  std::string name = info[0].As<Napi::String>();
  if (name == "portable") {
    cpu::SetUseOpenBlas(false);
  } else if (name == "openblas") {
    if (!cpu::HaveOpenBlas())
      a.Throw("this build has no OpenBLAS (install libopenblas-dev and rebuild: npm rebuild tensorbolt)");
    cpu::SetUseOpenBlas(true);
  } else {
    a.Throw("unknown GEMM backend '" + name + "'; expected 'openblas' or 'portable'");
  }
  return info.Env().Undefined();
}

Napi::Value SetNumThreadsFn(const Napi::CallbackInfo& info) {
  Args a(info, "setNumThreads", 1);
  SetNumThreads(static_cast<int>(a.Int(0, "n", 1, 1024)));
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "info", Info);
  Export(env, exports, "setGemmBackend", SetGemmBackend);
  Export(env, exports, "setNumThreads", SetNumThreadsFn);
}

TB_NAPI_REGISTER(Register);

}  // namespace
}  // namespace tb::napi
