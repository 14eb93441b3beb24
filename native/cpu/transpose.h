// Out-of-place transposes of float matrices, with the instruction set in use (AVX-512: 16 x 16
// blocks in registers; otherwise 8 x 8 blocks in plain loops). NCHW convolutions change layout
// with them at the image boundary; the sparse dense-layer products use them for (out, in) weights.
#pragma once
#include <cstdint>

namespace tb::cpu {

// dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols; zero where mask (src's layout; may be
// null) is not > 0 (a fused ReLU's gradient). src and dst must not overlap.
// The blocks go down 16 rows of src at a time (16 sequential read streams), or, with dstRows, down
// 16 rows of dst (16 sequential write streams): pick the side that lives in memory rather than in
// cache, since the prefetchers follow a dozen or so streams, not the 64 of the other order.
void Transpose(const float* src, const float* mask, int64_t rows, int64_t cols, int64_t lds, float* dst, int64_t ldd,
               bool dstRows = false);

namespace transpose_detail {
// The AVX-512 version (transpose_avx512.cc); null where the build has no x86 target support.
using Fn = void (*)(const float*, const float*, int64_t, int64_t, int64_t, float*, int64_t, bool);
Fn Avx512();
}  // namespace transpose_detail

}  // namespace tb::cpu
