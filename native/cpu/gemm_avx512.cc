// The packed sgemm's AVX-512 register tile (cpu/gemm_tiled.h): MR = 12 rows x NR = 32 columns,
// 24 zmm accumulators. Per step of k: two loads of B, twelve broadcasts of A folded into the FMAs
// as memory operands ({1to16}), 24 FMAs. That is 12 cycles of two FMA pipes against 14 loads,
// so the loads never limit; 24 independent chains cover the FMA latency (4 cycles x 2 pipes = 8).
#include <cstdint>

#include "common/isa_target.h"
#include "cpu/gemm_tiled.h"

namespace tb::cpu::gemm {

#ifdef TB_ISA_X86
namespace avx512 {
TB_ISA_BEGIN_AVX512
namespace {

constexpr int64_t kMR = 12, kNR = 32;

// fp32 operands for the shared tile
struct Ops {
  using In = float;
  using Vec = __m512;
  static Vec Load(const float* p) { return _mm512_load_ps(p); }
  static Vec Bcast(const float* p) { return _mm512_set1_ps(*p); }
  static __m512 Fma(__m512 acc, Vec x, Vec w) { return _mm512_fmadd_ps(x, w, acc); }
};

#include "cpu/gemm_tile_avx512.inc"

// kc = 512: a 24 KiB A panel (12 x 512 floats) held in L1; half as many passes over C as at 256.
// mc = 96: small row blocks, so a 2-thread product has a dozen or more items to balance. Chosen by
// a sweep of kc in {256, 384, 512} x mc in {96, 192, 384} at n = 1024 and 2048 on Zen 5.
const KernelSet kSet{kMR, kNR, 512, 96, 3072, &Tile<Ops, kMR>};

}  // namespace
TB_ISA_END
}  // namespace avx512

const KernelSet* Avx512Kernels() { return &avx512::kSet; }
#else
const KernelSet* Avx512Kernels() { return nullptr; }
#endif

}  // namespace tb::cpu::gemm
