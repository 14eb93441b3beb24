// The instruction set our CPU kernels use: picked once at load from cpuid (the widest this CPU and
// this build both have), or forced by TENSORBOLT_ISA=avx512|avx2|portable or SetIsa(). Every kernel
// with ISA-specific code reads ActiveIsa() when called, so switching applies to the next call.
#pragma once

#include "common/status.h"

namespace tb::cpu {

enum class Isa : int { kPortable = 0, kAvx2 = 1, kAvx512 = 2 };

// Whether this CPU (and its OS, which must save the wider registers) and this build can run a set.
// kAvx2 needs AVX2 + FMA; kAvx512 needs AVX-512 F, BW, VL and DQ.
bool IsaSupported(Isa isa);
// The set in use now.
Isa ActiveIsa();
// Fails, changing nothing, for a set IsaSupported() denies.
Status SetIsa(Isa isa);
// "avx512", "avx2", "portable".
const char* IsaName(Isa isa);
// Parses those names; false for anything else.
bool ParseIsa(const char* name, Isa* out);
// The widest supported set (what the load picks without TENSORBOLT_ISA).
Isa BestIsa();
// AVX512_BF16 (vdpbf16ps) on this CPU and build, with the AVX-512 set supported.
bool HaveAvx512Bf16();
// An error from TENSORBOLT_ISA at load (unknown name or a set this CPU lacks), else "". The load then
// keeps BestIsa(); the binding reports this message instead of ignoring the variable silently.
const char* IsaEnvError();

}  // namespace tb::cpu
