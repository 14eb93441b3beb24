// cpuid at load: the instruction sets this CPU has and its OS saves (XCR0), intersected with what
// this build compiled (x86-64 with GCC or clang: all three; elsewhere: portable only).
#include "cpu/isa.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/isa_target.h"

#ifdef TB_ISA_X86
#include <cpuid.h>
#endif

namespace tb::cpu {
namespace {

struct Features {
  bool avx2 = false, avx512 = false, bf16 = false;
};

Features Detect() {
  Features f;
#ifdef TB_ISA_X86
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27), avx = c & (1u << 28), fma = c & (1u << 12);
  if (!osxsave || !avx) return f;
  unsigned xlo, xhi;
  __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
  const bool ymmSaved = (xlo & 0x6) == 0x6;              // SSE and AVX state
  const bool zmmSaved = ymmSaved && (xlo & 0xe0) == 0xe0;  // opmask, ZMM0-15 upper halves, ZMM16-31
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  const bool avx2 = b & (1u << 5), f512 = b & (1u << 16), dq = b & (1u << 17), bw = b & (1u << 30),
             vl = b & (1u << 31);
  f.avx2 = ymmSaved && avx2 && fma;
  f.avx512 = f.avx2 && zmmSaved && f512 && dq && bw && vl;
  __cpuid_count(7, 1, a, b, c, d);
  f.bf16 = f.avx512 && (a & (1u << 5));
#endif
  return f;
}

const Features g_features = Detect();
std::string g_env_error;

Isa Best() { return g_features.avx512 ? Isa::kAvx512 : g_features.avx2 ? Isa::kAvx2 : Isa::kPortable; }

std::atomic<int> g_isa{[] {
  Isa isa = Best();
  if (const char* e = std::getenv("TENSORBOLT_ISA"); e && *e) {
    Isa want;
    if (!ParseIsa(e, &want))
      g_env_error = std::string("TENSORBOLT_ISA='") + e + "' is not one of avx512, avx2, portable";
    else if (!IsaSupported(want))
      g_env_error = std::string("TENSORBOLT_ISA=") + e + ": this CPU (or build) cannot run it; the best it runs is " +
                    IsaName(Best());
    else
      isa = want;
  }
  return static_cast<int>(isa);
}()};

}  // namespace

bool IsaSupported(Isa isa) {
  switch (isa) {
    case Isa::kPortable: return true;
    case Isa::kAvx2: return g_features.avx2;
    case Isa::kAvx512: return g_features.avx512;
  }
  return false;
}

Isa ActiveIsa() { return static_cast<Isa>(g_isa.load(std::memory_order_relaxed)); }

Status SetIsa(Isa isa) {
  if (!IsaSupported(isa))
    return Status::Error(std::string("this CPU (or build) cannot run the ") + IsaName(isa) + " kernels; the best it runs is " +
                         IsaName(Best()));
  g_isa.store(static_cast<int>(isa));
  return Status::Ok();
}

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx2: return "avx2";
    default: return "portable";
  }
}

bool ParseIsa(const char* name, Isa* out) {
  for (Isa i : {Isa::kAvx512, Isa::kAvx2, Isa::kPortable})
    if (std::strcmp(name, IsaName(i)) == 0) {
      *out = i;
      return true;
    }
  return false;
}

Isa BestIsa() { return Best(); }

bool HaveAvx512Bf16() { return g_features.bf16; }

const char* IsaEnvError() { return g_env_error.c_str(); }

}  // namespace tb::cpu
