// The dense layer's products when its input x is mostly zeros (raw pixels of digits, one-hot or
// bag-of-words features, the output of a ReLU that is mostly off): only x's non-zeros are
// multiplied, so the work falls with the density. Declared in cpu/linear_sparse.h.
//
// How the time was found (MNIST MLP, 128 x 784 -> 128, 19% non-zeros, one Zen 3 core):
// - The dense operand is copied into 64-byte-aligned panels first. JS buffers are only 16-byte
//   aligned, and a 32-byte load that straddles a cache line costs two: with the rows of w read in
//   place, the gather loop ran at half speed (8 FMAs with memory operands: 2.6 ns aligned to 16
//   bytes vs 1.5 ns aligned to 32, in isolation).
// - A panel block of w (kRowBlock rows x 64 columns) stays in L1 while a chunk of rows of x
//   gathers from it, instead of every row gathering from a 200 KB column block in L2. 128 rows
//   (32 KB) beat 64 (16 KB): fewer loads and stores of the accumulators per row, forward 149 -> 139 us.
// - The non-zeros are found by a branch-free left-pack of each group of 8 (AVX2) or 16 (AVX-512)
//   values (a branch per value mispredicted on MNIST's pixels).
// - The inner loops come in one set per instruction set (cpu/linear_sparse_kernels.h).
// - PyTorch's (out, in) weights: the forward packs W^T's panels straight from W; the weight
//   gradient is summed as for (in, out) and transposed into place (K x N floats, small next to it).
#include "cpu/linear_sparse.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "common/parallel.h"
#include "cpu/aligned_buffer.h"
#include "cpu/isa.h"
#include "cpu/linear_sparse_kernels.h"
#include "cpu/transpose.h"

namespace tb::cpu {
namespace {

const bool g_enabled = [] {
  const char* e = std::getenv("TENSORBOLT_SPARSE");
  return !(e && std::strcmp(e, "0") == 0);
}();

using sparse::kPanel;
using sparse::kRowBlock;
using sparse::kSlack;
constexpr int64_t kChunkRows = 32;  // rows of x (and y) per task: 32 x 64 floats of y = 8 KB

using Aligned = AlignedBuffer<float>;

// Copies columns [j0, j0 + width) of src (rows x ld) into dst (rows x panel, zero-padded past
// width). Returns false if a copied value is inf or NaN (exponent bits all ones; an integer test,
// so the loop vectorizes).
bool PackPanel(const float* src, int64_t rows, int64_t ld, int64_t j0, int64_t width, int64_t panel, float* dst) {
  uint32_t bad = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* s = src + r * ld + j0;
    float* d = dst + r * panel;
    for (int64_t j = 0; j < width; ++j) {
      uint32_t b;
      std::memcpy(&b, s + j, 4);
      bad |= static_cast<uint32_t>((b & 0x7f800000u) == 0x7f800000u);
      d[j] = s[j];
    }
    for (int64_t j = width; j < panel; ++j) d[j] = 0.f;
  }
  return bad == 0;
}

// pack(p, r0, r1) for each panel p of `cols` columns and each of 8 row ranges [r0, r1) of `rows`
// (so two threads share a panel's work), on the OpenMP team; false if any call returned false.
template <typename Pack>
bool ForEachPanelRows(int64_t rows, int64_t cols, int64_t panel, Pack pack) {
  const int64_t panels = (cols + panel - 1) / panel;
  int bad = 0;
  TB_PARALLEL_FOR(rows * cols, t, 0, panels * 8, {
    const int64_t p = t / 8, r0 = rows * (t % 8) / 8, r1 = rows * (t % 8 + 1) / 8;
    if (!pack(p, r0, r1)) __atomic_store_n(&bad, 1, __ATOMIC_RELAXED);  // any thread may find one
  });
  return bad == 0;
}

// Packs all of src (rows x cols) as panels of `panel` columns: panel p at dst + p * rows * panel.
// Returns false if src holds inf or NaN.
bool PackPanels(const float* src, int64_t rows, int64_t cols, int64_t panel, float* dst) {
  return ForEachPanelRows(rows, cols, panel, [&](int64_t p, int64_t r0, int64_t r1) {
    const int64_t j0 = p * panel;
    return PackPanel(src + r0 * cols, r1 - r0, cols, j0, std::min(panel, cols - j0), panel, dst + (p * rows + r0) * panel);
  });
}

// Whether src[0:n] holds inf or NaN (exponent bits all ones; an integer test, so it vectorizes).
bool AnyNonFinite(const float* src, int64_t n) {
  uint32_t bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, src + i, 4);
    bad |= static_cast<uint32_t>((u & 0x7f800000u) == 0x7f800000u);
  }
  return bad != 0;
}

// As PackPanels for the transpose of src (cols x rows): panel p's row r holds src[(p*panel + j) * rows + r]
// for j < panel (zero past cols).
bool PackPanelsTransposed(const float* src, int64_t rows, int64_t cols, int64_t panel, float* dst) {
  return ForEachPanelRows(rows, cols, panel, [&](int64_t p, int64_t r0, int64_t r1) {
    const int64_t j0 = p * panel, width = std::min(panel, cols - j0);
    float* d = dst + (p * rows + r0) * panel;
    // src rows j0 .. j0 + width (of `rows` floats), columns r0 .. r1, into d (r1 - r0 rows of panel)
    Transpose(src + j0 * rows + r0, nullptr, width, r1 - r0, rows, d, panel);
    if (width < panel)
      for (int64_t r = 0; r < r1 - r0; ++r) std::fill(d + r * panel + width, d + (r + 1) * panel, 0.f);
    return !AnyNonFinite(d, (r1 - r0) * panel);
  });
}

// out[0:width] += sum over q of val[q] * w[idx[q] * ld + 0:width]: the portable loop.
void GatherN(const int32_t* idx, const float* val, int64_t nnz, const float* w, int64_t ld, int64_t width,
             float* out) {
  for (int64_t q = 0; q < nnz; ++q) {
    const float v = val[q];
    const float* r = w + static_cast<int64_t>(idx[q]) * ld;
    for (int64_t j = 0; j < width; ++j) out[j] += v * r[j];
  }
}

void PortableGather64(const int32_t* idx, const float* val, int64_t nnz, const float* w, float* out) {
  GatherN(idx, val, nnz, w, kPanel, 64, out);
}

void PortableSum64(const int32_t* idx, const float* val, int64_t nnz, const float* g, float* out) {
  std::fill(out, out + 64, 0.f);
  GatherN(idx, val, nnz, g, kPanel, 64, out);
}

int64_t PortableCompress(const float* x, int64_t K, int32_t* idx, float* val, int32_t* bounds) {
  int64_t n = 0;
  for (int64_t k = 0; k < K; ++k) {
    if (k % kRowBlock == 0) bounds[k / kRowBlock] = static_cast<int32_t>(n);
    if (x[k] != 0.f) idx[n] = static_cast<int32_t>(k), val[n++] = x[k];
  }
  return n;
}

int64_t PortableCsc8(const float*, int64_t, int64_t, int64_t, int32_t*, float*, int64_t, int64_t*) { return 0; }

int64_t PortableCountNonZero(const float* x, int64_t n) {
  int64_t nz = 0;
  for (int64_t k = 0; k < n; ++k) nz += x[k] != 0.f;
  return nz;
}

const sparse::Kernels kPortable{&PortableGather64, &PortableSum64, &PortableCompress, &PortableCsc8,
                                &PortableCountNonZero};

// x (M, K) row by row: row i's non-zeros at idx/val + i * stride (stride = K + kSlack), their
// count in count[i], and the count before each block of kRowBlock columns in bounds[i * nBlocks + b].
struct Csr {
  std::vector<int32_t> idx, count, bounds;
  std::vector<float> val;
  int64_t stride = 0, nBlocks = 0;
  void Build(const sparse::Kernels& k, const float* x, int64_t M, int64_t K) {
    stride = K + kSlack;
    nBlocks = (K + kRowBlock - 1) / kRowBlock;
    const size_t cells = static_cast<size_t>(M * stride);
    if (idx.size() < cells) idx.resize(cells), val.resize(cells);
    count.resize(static_cast<size_t>(M));
    bounds.resize(static_cast<size_t>(M * nBlocks + 1));
    TB_PARALLEL_FOR(M * K, i, 0, M, {
      count[i] = static_cast<int32_t>(
          k.compress(x + i * K, K, idx.data() + i * stride, val.data() + i * stride, bounds.data() + i * nBlocks)); });
  }
  // Row i's non-zeros in column block b: [Begin, End).
  int64_t Begin(int64_t i, int64_t b) const { return bounds[i * nBlocks + b]; }
  int64_t End(int64_t i, int64_t b) const { return b + 1 < nBlocks ? bounds[i * nBlocks + b + 1] : count[i]; }
};

// x (M, K) column by column: column k's non-zeros (rows ascending) at rows/vals + k * stride
// (stride = M + kSlack), their count in count[k]. Built straight from x, 8 columns at a time (the
// kernels transpose 8 x 8 tiles in registers), so no row-wise list is sorted.
struct Csc {
  std::vector<int32_t> rows, count;
  std::vector<float> vals;
  int64_t stride = 0;
  void Build(const sparse::Kernels& k, const float* x, int64_t M, int64_t K) {
    stride = M + kSlack;
    const size_t cells = static_cast<size_t>(K * stride);
    if (rows.size() < cells) rows.resize(cells), vals.resize(cells);
    count.resize(static_cast<size_t>(K));
    // Raw pointers, and a tile's eight counts in locals: through the vectors, every store made the
    // compiler reload their data pointers and the counts (it cannot prove they do not alias).
    int32_t* const rowsP = rows.data();
    float* const valsP = vals.data();
    int32_t* const countP = count.data();
    const int64_t st = stride;
    const int64_t tiles = (K + 7) / 8;
    TB_PARALLEL_FOR(M * K, t, 0, tiles, {
      const int64_t k0 = t * 8, kw = std::min<int64_t>(8, K - k0);
      int64_t n[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      const int64_t i0 = kw == 8 ? k.csc8(x, M, K, k0, rowsP, valsP, st, n) : 0;
      for (int64_t i = i0; i < M; ++i)
        for (int64_t j = 0; j < kw; ++j) {
          const float v = x[i * K + k0 + j];
          if (v != 0.f) {
            const int64_t at = (k0 + j) * st + n[j]++;
            rowsP[at] = static_cast<int32_t>(i);
            valsP[at] = v;
          }
        }
      for (int64_t j = 0; j < kw; ++j) countP[k0 + j] = static_cast<int32_t>(n[j]);
    });
  }
};

}  // namespace

namespace sparse {
const Kernels& PortableKernels() { return kPortable; }
const Kernels& ActiveKernels() {
  const Kernels* k = nullptr;
  if (ActiveIsa() == Isa::kAvx512) k = Avx512Kernels();
  if (ActiveIsa() == Isa::kAvx2) k = Avx2Kernels();
  return k ? *k : kPortable;
}
}  // namespace sparse

bool SparseLinearEnabled() { return g_enabled; }

bool MostlyZero(const float* x, int64_t n, double maxDensity) {
  if (!g_enabled || n == 0) return false;
  // The first 16K values decide (a dense input is rejected after one short pass; the products
  // stay correct whatever the rest holds, only their speed depends on the density).
  const int64_t m = std::min<int64_t>(n, 16384);
  const int64_t nz = sparse::ActiveKernels().countNonZero(x, m);
  return static_cast<double>(nz) <= maxDensity * static_cast<double>(m);
}

Status SparseTimesDense(const float* x, const float* w, bool transW, const float* bias, bool relu, float* y,
                        int64_t M, int64_t N, int64_t K, bool* done) {
  *done = false;
  const sparse::Kernels& k = sparse::ActiveKernels();
  thread_local Aligned packed;
  const int64_t panels = (N + kPanel - 1) / kPanel;
  float* wp = packed.Get(panels * K * kPanel);
  if (!wp) return Status::Error("out of memory for the sparse product's panels");
  // A non-finite weight times a skipped zero would have been NaN: such weights take the dense path.
  if (!(transW ? PackPanelsTransposed(w, K, N, kPanel, wp) : PackPanels(w, K, N, kPanel, wp))) return Status::Ok();
  thread_local Csr csr;
  csr.Build(k, x, M, K);
  const Csr& c = csr;
  const int64_t chunks = (M + kChunkRows - 1) / kChunkRows;
  TB_PARALLEL_FOR(int64_t{2} * M * K, t, 0, chunks, {
    const int64_t i0 = t * kChunkRows, i1 = std::min(M, i0 + kChunkRows);
    for (int64_t i = i0; i < i1; ++i) {
      float* yr = y + i * N;
      if (bias)
        std::memcpy(yr, bias, static_cast<size_t>(N) * sizeof(float));
      else
        std::fill(yr, yr + N, 0.f);
    }
    for (int64_t p = 0; p < panels; ++p) {
      const int64_t j0 = p * kPanel, width = std::min(kPanel, N - j0);
      const float* panel = wp + p * K * kPanel;
      for (int64_t b = 0; b < c.nBlocks; ++b)
        for (int64_t i = i0; i < i1; ++i) {
          const int64_t q0 = c.Begin(i, b), n = c.End(i, b) - q0;
          if (n == 0) continue;
          const int32_t* ix = c.idx.data() + i * c.stride + q0;
          const float* vl = c.val.data() + i * c.stride + q0;
          if (width == kPanel)
            k.gather64(ix, vl, n, panel, y + i * N + j0);
          else
            GatherN(ix, vl, n, panel, kPanel, width, y + i * N + j0);
        }
    }
    if (relu)  // NaN passes, like the relu op
      for (int64_t q = i0 * N; q < i1 * N; ++q) y[q] = y[q] < 0.f ? 0.f : y[q];
  });
  *done = true;
  return Status::Ok();
}

Status SparseTransposedTimesDense(const float* x, const float* g, float* dw, bool transOut, int64_t M, int64_t N,
                                  int64_t K, bool* done) {
  // dw (K, N) = x^T (K, M) @ g (M, N). x's non-zeros grouped by column k (rows ascending), then
  // each 64-column piece of row k of dw is one register-accumulated sum over its list: no
  // read-modify-write of dw, and the order of the additions does not depend on the thread count.
  // 64 columns (one set of accumulators) beat 32 (two sets): each list is read half as often,
  // weight+bias gradient 158 -> 139 us (Zen 3, AVX2).
  *done = false;
  const sparse::Kernels& k = sparse::ActiveKernels();
  thread_local Aligned packed, transposed;
  const int64_t panels = (N + kPanel - 1) / kPanel;
  float* gp = packed.Get(panels * M * kPanel);
  float* out = transOut ? transposed.Get(K * N) : dw;
  if (!gp || !out) return Status::Error("out of memory for the sparse product's panels");
  if (!PackPanels(g, M, N, kPanel, gp)) return Status::Ok();  // inf/NaN in g: the dense path
  thread_local Csc csc;
  csc.Build(k, x, M, K);
  const Csc& c = csc;
  int64_t nnz = 0;
  for (int64_t q = 0; q < K; ++q) nnz += c.count[q];
  for (int64_t p = 0; p < panels; ++p) {
    const int64_t j0 = p * kPanel, width = std::min(kPanel, N - j0);
    const float* panel = gp + p * M * kPanel;
    TB_PARALLEL_FOR(nnz * width * 4, r, 0, K, {
      const int32_t* rw = c.rows.data() + r * c.stride;
      const float* vl = c.vals.data() + r * c.stride;
      const int64_t n = c.count[r];
      float* o = out + r * N + j0;
      if (width == kPanel) {
        k.sum64(rw, vl, n, panel, o);
      } else {
        std::fill(o, o + width, 0.f);
        GatherN(rw, vl, n, panel, kPanel, width, o);
      }
    });
  }
  if (transOut) Transpose(out, nullptr, K, N, N, dw, K);  // dw (N, K) = out^T
  *done = true;
  return Status::Ok();
}

}  // namespace tb::cpu
