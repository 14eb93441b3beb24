// Compiling one function set for a wider instruction set than the build's -march, so that one
// binary (the x86-64-v2 prebuild included) carries AVX2 and AVX-512 kernels and picks one at run
// time (cpu/isa.h). Put TB_ISA_BEGIN_AVX512 ... TB_ISA_END around code in a per-ISA namespace,
// after every #include: templates defined earlier (the standard library's) keep the build's own
// target, so no shared inline function is ever emitted with instructions an older CPU lacks.
#pragma once

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TB_ISA_X86 1
#include <immintrin.h>
#endif

#ifdef TB_ISA_X86
#define TB_ISA_PRAGMA(x) _Pragma(#x)
#if defined(__clang__)
#define TB_ISA_BEGIN(targets) TB_ISA_PRAGMA(clang attribute push(__attribute__((target(targets))), apply_to = function))
#define TB_ISA_END TB_ISA_PRAGMA(clang attribute pop)
#else
// GCC 12 warns that the undefined vector inside its own AVX-512 intrinsics "may be used
// uninitialized" (GCC bug 105593, fixed in 13): silenced for these regions only.
#define TB_ISA_BEGIN(targets)                                                                      \
  TB_ISA_PRAGMA(GCC push_options) TB_ISA_PRAGMA(GCC target(targets)) TB_ISA_PRAGMA(GCC diagnostic push) \
      TB_ISA_PRAGMA(GCC diagnostic ignored "-Wmaybe-uninitialized")
#define TB_ISA_END TB_ISA_PRAGMA(GCC diagnostic pop) TB_ISA_PRAGMA(GCC pop_options)
#endif
// AVX2 + FMA (Haswell, Zen 1 and later).
#define TB_ISA_BEGIN_AVX2 TB_ISA_BEGIN("avx2,fma,f16c,bmi,bmi2,popcnt")
// AVX-512 F/BW/VL/DQ (Skylake-SP, Ice Lake, Zen 4 and later); loops the compiler vectorizes by
// itself use 512-bit vectors too.
#define TB_ISA_BEGIN_AVX512 \
  TB_ISA_BEGIN("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c,bmi,bmi2,popcnt,prefer-vector-width=512")
// AVX-512 with the BF16 dot products (Cooper Lake, Sapphire Rapids, Zen 4 and later).
#define TB_ISA_BEGIN_AVX512BF16 \
  TB_ISA_BEGIN("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx2,fma,f16c,bmi,bmi2,popcnt,prefer-vector-width=512")
#endif
