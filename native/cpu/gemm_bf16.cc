// The packed sgemm's bf16 register tile (cpu/gemm_tiled.h), for CPUs with AVX512_BF16: operands
// rounded to bf16 (round to nearest even), products summed in fp32 by vdpbf16ps, which multiplies
// two adjacent pairs of bf16 and adds both products to an fp32 lane. The panels are packed in fp32
// as always, then rewritten in place as pairs along k: Ap[p2 * MR + r] holds rows (2 p2, 2 p2 + 1)
// of the fp32 panel's column r as two bf16 in 32 bits (low half: the even k). The tile is the fp32
// one's shape (12 x 32, 24 accumulators) doing two steps of k per instruction.
#include <cstdint>

#include "common/isa_target.h"
#include "cpu/gemm_tiled.h"

namespace tb::cpu::gemm {

#ifdef TB_ISA_X86
namespace avx512bf16 {
TB_ISA_BEGIN_AVX512BF16
namespace {

constexpr int64_t kMR = 12, kNR = 32;

// 16 floats (masked) -> bf16 in the low halves of 16 32-bit lanes
inline __m512i Bf16Lanes(__mmask16 m, const float* p) {
  const __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, p));
  return _mm512_cvtepu16_epi32(reinterpret_cast<const __m256i&>(h));
}

// In place: rows (2 p2, 2 p2 + 1) of a kc x width fp32 panel become row p2 of bf16 pairs (an odd
// last row pairs with zero). Row p2 is written only after rows 2 p2 and 2 p2 + 1 are read, and
// later rows are read from 2 p2 + 2 on, so nothing is overwritten before it is read.
void ToPairs(float* panel, int64_t kc, int64_t width) {
  for (int64_t p2 = 0; 2 * p2 < kc; ++p2) {
    const float* lo = panel + 2 * p2 * width;
    const float* hi = lo + width;
    const bool haveHi = 2 * p2 + 1 < kc;
    for (int64_t j = 0; j < width; j += 16) {
      const __mmask16 m = width - j >= 16 ? 0xffff : static_cast<__mmask16>((1u << (width - j)) - 1);
      const __m512i a = Bf16Lanes(m, lo + j);
      const __m512i b = haveHi ? _mm512_slli_epi32(Bf16Lanes(m, hi + j), 16) : _mm512_setzero_si512();
      _mm512_mask_storeu_epi32(panel + p2 * width + j, m, _mm512_or_si512(a, b));
    }
  }
}

// bf16 pairs (32-bit words) for the shared tile: each vdpbf16ps adds both products of a pair
struct Ops {
  using In = int32_t;
  using Vec = __m512i;
  static Vec Load(const int32_t* p) { return _mm512_load_si512(p); }
  static Vec Bcast(const int32_t* p) { return _mm512_set1_epi32(*p); }
  static __m512 Fma(__m512 acc, Vec x, Vec w) {
    return _mm512_dpbf16_ps(acc, reinterpret_cast<const __m512bh&>(x), reinterpret_cast<const __m512bh&>(w));
  }
};

#include "cpu/gemm_tile_avx512.inc"

// The fp32 set's blocks (gemm_avx512.cc); kc counts fp32 values of k, so the A panel is half as large.
const KernelSet kSet{kMR, kNR, 512, 96, 3072, &Tile<Ops, kMR>, &ToPairs};

}  // namespace
TB_ISA_END
}  // namespace avx512bf16

const KernelSet* Avx512Bf16Kernels() { return &avx512bf16::kSet; }
#else
const KernelSet* Avx512Bf16Kernels() { return nullptr; }
#endif

}  // namespace tb::cpu::gemm
