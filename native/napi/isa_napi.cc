// isaInfo(), setIsa(name), setCpuBf16(on): which instruction set the CPU kernels use (cpu/isa.h),
// what runs GEMMs, and whether their operands are rounded to bf16 (cpu/gemm.h).
#include <string>

#include "cpu/gemm.h"
#include "cpu/isa.h"
#include "napi/kernel.h"

namespace tb::napi {
namespace {

Napi::Value IsaInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto o = Napi::Object::New(env);
  o.Set("isa", cpu::IsaName(cpu::ActiveIsa()));
  o.Set("isaBest", cpu::IsaName(cpu::BestIsa()));
  auto sets = Napi::Array::New(env);
  uint32_t n = 0;
  for (cpu::Isa i : {cpu::Isa::kAvx512, cpu::Isa::kAvx2, cpu::Isa::kPortable})
    if (cpu::IsaSupported(i)) sets.Set(n++, cpu::IsaName(i));
  o.Set("isaSupported", sets);
  o.Set("bf16", cpu::HaveAvx512Bf16());
  o.Set("gemmKernel", cpu::GemmKernelName());
  o.Set("cpuBf16", cpu::MatmulBf16());
  o.Set("isaEnvError", cpu::IsaEnvError());
  return o;
}

Napi::Value SetIsaFn(const Napi::CallbackInfo& info) {
  Args a(info, "setIsa", 1);
  if (!info[0].IsString()) a.Throw("argument 0 (name) must be 'avx512', 'avx2' or 'portable'");
  const std::string name = info[0].As<Napi::String>();
  cpu::Isa isa;
  if (!cpu::ParseIsa(name.c_str(), &isa)) a.Throw("unknown instruction set '" + name + "'; expected 'avx512', 'avx2' or 'portable'");
  const Status s = cpu::SetIsa(isa);
  if (!s.ok) a.ThrowRange(s.message);
  return info.Env().Undefined();
}

Napi::Value SetCpuBf16(const Napi::CallbackInfo& info) {
  Args a(info, "setCpuBf16", 1);
  const Status s = cpu::SetMatmulBf16(a.Bool(0, "on"));
  if (!s.ok) a.ThrowRange(s.message);
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  // The CPU's alone: no twin under exports.cuda (the GPU's kernels have no instruction sets to pick).
  Export(env, exports, "isaInfo", IsaInfo);
  Export(env, exports, "setIsa", SetIsaFn);
  Export(env, exports, "setCpuBf16", SetCpuBf16);
}

TB_NAPI_REGISTER(Register);

}  // namespace
}  // namespace tb::napi
