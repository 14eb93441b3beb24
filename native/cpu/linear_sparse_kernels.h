// The inner loops of the zero-skipping dense products (cpu/linear_sparse.cc), one set per
// instruction set: portable (linear_sparse.cc), AVX2 (linear_sparse_avx2.cc), AVX-512
// (linear_sparse_avx512.cc). Internal to the linear family.
#pragma once
#include <cstdint>

namespace tb::cpu::sparse {

constexpr int64_t kRowBlock = 128;  // rows of a w panel per block (a multiple of 16): 128 x 64 floats = 32 KB
constexpr int64_t kPanel = 64;      // columns of a packed panel (w forward, g weight gradient)
constexpr int64_t kSlack = 16;      // room past the end of a compressed list for a whole-vector store

struct Kernels {
  // out[0:64] += sum over q of val[q] * w[idx[q] * 64 + 0:64]; w a 64-byte-aligned panel.
  void (*gather64)(const int32_t* idx, const float* val, int64_t nnz, const float* w, float* out);
  // out[0:64] = the same sum from zero, the terms taken in q order (whatever the thread count).
  void (*sum64)(const int32_t* idx, const float* val, int64_t nnz, const float* g, float* out);
  // The non-zeros of x[0:K] (NaN counts) into idx/val, k ascending (room for K + kSlack); returns
  // their count. bounds[b] receives the count before column b * kRowBlock.
  int64_t (*compress)(const float* x, int64_t K, int32_t* idx, float* val, int32_t* bounds);
  // Columns k0 .. k0 + 7 of x (M, K) from row 0 in steps of 8 rows: column k0 + j's non-zeros
  // appended at rows/vals + (k0 + j) * stride + n[j] (n[j] advanced). Returns the first row not
  // done (the caller finishes the rows past the last whole 8).
  int64_t (*csc8)(const float* x, int64_t M, int64_t K, int64_t k0, int32_t* rows, float* vals, int64_t stride,
                  int64_t* n);
  // Non-zeros (NaN counts) among x[0:n].
  int64_t (*countNonZero)(const float* x, int64_t n);
};

const Kernels& PortableKernels();
const Kernels* Avx2Kernels();    // null where the build has no x86 target support
const Kernels* Avx512Kernels();  // likewise
// The set of the instruction set in use.
const Kernels& ActiveKernels();

}  // namespace tb::cpu::sparse
