// Transpose dispatch and the plain version (cpu/transpose.h).
#include "cpu/transpose.h"

#include <algorithm>

#include "cpu/isa.h"

namespace tb::cpu {

namespace {

// One 8 x 8 block (fewer at the edges) in plain loops.
void Block8(const float* src, const float* mask, int64_t rows, int64_t cols, int64_t lds, float* dst, int64_t ldd,
            int64_t r0, int64_t c0) {
  constexpr int64_t B = 8;
  const int64_t r1 = std::min(rows, r0 + B), c1 = std::min(cols, c0 + B);
  if (r1 - r0 == B && c1 - c0 == B) {
    float t[B][B];  // fixed-size loops: vectorized
    for (int64_t i = 0; i < B; ++i)
      for (int64_t j = 0; j < B; ++j) {
        const float v = src[(r0 + i) * lds + c0 + j];
        t[j][i] = !mask || mask[(r0 + i) * lds + c0 + j] > 0.f ? v : 0.f;
      }
    for (int64_t j = 0; j < B; ++j)
      for (int64_t i = 0; i < B; ++i) dst[(c0 + j) * ldd + r0 + i] = t[j][i];
    return;
  }
  for (int64_t c = c0; c < c1; ++c)
    for (int64_t r = r0; r < r1; ++r) dst[c * ldd + r] = !mask || mask[r * lds + c] > 0.f ? src[r * lds + c] : 0.f;
}

}  // namespace

void Transpose(const float* src, const float* mask, int64_t rows, int64_t cols, int64_t lds, float* dst,
               int64_t ldd, bool dstRows) {
  if (ActiveIsa() == Isa::kAvx512)
    if (const auto f = transpose_detail::Avx512()) return f(src, mask, rows, cols, lds, dst, ldd, dstRows);
  if (dstRows) {
    for (int64_t c0 = 0; c0 < cols; c0 += 8)
      for (int64_t r0 = 0; r0 < rows; r0 += 8) Block8(src, mask, rows, cols, lds, dst, ldd, r0, c0);
  } else {
    for (int64_t r0 = 0; r0 < rows; r0 += 8)
      for (int64_t c0 = 0; c0 < cols; c0 += 8) Block8(src, mask, rows, cols, lds, dst, ldd, r0, c0);
  }
}

}  // namespace tb::cpu
