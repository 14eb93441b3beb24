// Winograd's minimal filtering F(2x2, 3x3) for 3x3 stride-1 convolutions on AVX-512 (declared in
// cpu/conv2d_lowering.h): each 2x2 block of output pixels ("tile") is computed from a 4x4 block of
// input as 16 products per (input, output) channel pair instead of 36, 2.25x fewer multiplications
// than the implicit GEMM (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016):
//   U = G g G^T       per (c, o): the 3x3 kernel as 4x4, once per call (pack);
//   V = B^T d B       per (tile, c): the tile's 4x4 input, 16 channels to a vector;
//   M = V U           for each of the 16 positions a GEMM over the channels: (tiles x C)(C x OC);
//   y = A^T M A       per (tile, o): back to 2x2, plus bias and the fused ReLU.
// The transforms add and subtract only (G's halves are exact), so the error is a few roundings of
// the partial sums, as in any reordering of them. They mix a tile's values, though: an infinity
// meets its own negative in them (inf - inf = NaN where the direct sum gives the infinity), and
// values near the float range can overflow in them where the direct sum does not. So the outputs
// are checked as they are written, and an image with a non-finite output is reported, for the
// caller to compute directly.
//
// Tiles are taken 12 at a time (one register tile of the GEMM: 12 tiles x 32 output channels, 24
// accumulators), in raster order across rows of tiles, so a chunk's V (16 x 12 x C) and M stay in
// L1/L2 and the whole U (16 x C x OC) in L2.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "common/isa_target.h"
#include "cpu/aligned_buffer.h"
#include "cpu/conv2d_lowering.h"
#include "cpu/gemm.h"
#include "cpu/isa.h"

namespace tb::cpu::conv {

namespace {
const bool g_winogradOn = [] {
  const char* e = std::getenv("TENSORBOLT_WINOGRAD");
  return !(e && std::strcmp(e, "0") == 0);
}();
}  // namespace

#ifdef TB_ISA_X86
namespace winograd {

constexpr int64_t kTiles = 12;  // tiles per chunk: the GEMM tile's rows
thread_local AlignedBuffer<float> t_v, t_m;

TB_ISA_BEGIN_AVX512
namespace {

bool Applies(int64_t kh, int64_t kw, int64_t cin, int64_t cout, int64_t oh, int64_t ow) {
  return kh == 3 && kw == 3 && cin % 16 == 0 && cout % 32 == 0 && oh % 2 == 0 && ow % 2 == 0 && oh > 0 && ow > 0;
}

// U[xi][c][o] (16 x cin x cout) = G g G^T for the 3x3 kernel g of (c, o): for the forward, g[ky][kx]
// = W[ky][kx][c][o]; for the input gradient (cin = OC, cout = C), the kernel flipped, g[ky][kx] =
// W[2 - ky][2 - kx][o][c].
void Pack(const Conv2dDims& d, const float* weight, bool forInputGrad, float* U) {
  const int64_t cin = forInputGrad ? d.oc : d.c, cout = forInputGrad ? d.c : d.oc;
  for (int64_t c = 0; c < cin; ++c)
    for (int64_t o = 0; o < cout; ++o) {
      float g[3][3];
      for (int ky = 0; ky < 3; ++ky)
        for (int kx = 0; kx < 3; ++kx)
          g[ky][kx] = forInputGrad ? weight[((2 - ky) * 3 + (2 - kx)) * d.c * d.oc + o * d.oc + c]
                                   : weight[(ky * 3 + kx) * d.c * d.oc + c * d.oc + o];
      float t[4][3];  // G g
      for (int k = 0; k < 3; ++k) {
        t[0][k] = g[0][k];
        t[1][k] = 0.5f * (g[0][k] + g[1][k] + g[2][k]);
        t[2][k] = 0.5f * (g[0][k] - g[1][k] + g[2][k]);
        t[3][k] = g[2][k];
      }
      for (int i = 0; i < 4; ++i) {  // (G g) G^T
        const float u[4] = {t[i][0], 0.5f * (t[i][0] + t[i][1] + t[i][2]), 0.5f * (t[i][0] - t[i][1] + t[i][2]), t[i][2]};
        for (int j = 0; j < 4; ++j) U[((i * 4 + j) * cin + c) * cout + o] = u[j];
      }
    }
}

// V[xi][r][0:16] for tile r of the chunk: B^T d B of the 4x4 input block at `in` (pixel stride cin,
// row stride ldr), 16 channels.
__attribute__((always_inline)) inline void InputTile(const float* in, int64_t cin, int64_t ldr, float* V, int64_t vStride) {
  __m512 d[4][4];
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) d[i][j] = _mm512_loadu_ps(in + i * ldr + j * cin);
  __m512 t[4][4];  // B^T d: rows
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    t[0][j] = _mm512_sub_ps(d[0][j], d[2][j]);
    t[1][j] = _mm512_add_ps(d[1][j], d[2][j]);
    t[2][j] = _mm512_sub_ps(d[2][j], d[1][j]);
    t[3][j] = _mm512_sub_ps(d[1][j], d[3][j]);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {  // (B^T d) B: columns
    _mm512_store_ps(V + (i * 4 + 0) * vStride, _mm512_sub_ps(t[i][0], t[i][2]));
    _mm512_store_ps(V + (i * 4 + 1) * vStride, _mm512_add_ps(t[i][1], t[i][2]));
    _mm512_store_ps(V + (i * 4 + 2) * vStride, _mm512_sub_ps(t[i][2], t[i][1]));
    _mm512_store_ps(V + (i * 4 + 3) * vStride, _mm512_sub_ps(t[i][1], t[i][3]));
  }
}

// M[r][0:32] (row stride ldm) = sum over p < K of V[r][p] * U[p][0:32] (row stride ldu), r < 12: 24
// accumulators; per step two loads of U, twelve broadcasts of V. K is V's row stride too; a K known
// at compile time (CIN > 0) makes the twelve broadcasts offsets from one pointer (a run-time one
// kept twelve row pointers, more than the registers left beside the accumulators).
template <int CIN>
__attribute__((always_inline)) inline void Gemm12x32(int64_t cin, const float* V, const float* U, int64_t ldu, float* M,
                                                     int64_t ldm) {
  const int64_t K = CIN > 0 ? CIN : cin, ldv = K;
  __m512 c0[kTiles], c1[kTiles];
#pragma GCC unroll 12
  for (int r = 0; r < kTiles; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
  for (int64_t p = 0; p < K; ++p) {
    const __m512 b0 = _mm512_load_ps(U + p * ldu), b1 = _mm512_load_ps(U + p * ldu + 16);
#pragma GCC unroll 12
    for (int r = 0; r < kTiles; ++r) {
      const __m512 a = _mm512_set1_ps(V[r * ldv + p]);
      c0[r] = _mm512_fmadd_ps(a, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(a, b1, c1[r]);
    }
  }
#pragma GCC unroll 12
  for (int r = 0; r < kTiles; ++r) {
    _mm512_store_ps(M + r * ldm, c0[r]);
    _mm512_store_ps(M + r * ldm + 16, c1[r]);
  }
}

// The 2x2 outputs of one tile, 16 channels: A^T m A from m[xi] = M + xi * mStride, plus bias, ReLU.
// Returns the lanes that held NaN or an infinity before the ReLU.
__attribute__((always_inline)) inline __mmask16 OutputTile(const float* M, int64_t mStride, const float* bias, bool relu,
                                                           float* out, int64_t ldo, int64_t pix) {
  __mmask16 bad = 0;
  __m512 m[4][4];
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) m[i][j] = _mm512_load_ps(M + (i * 4 + j) * mStride);
  __m512 s[2][4];  // A^T m: rows
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    s[0][j] = _mm512_add_ps(_mm512_add_ps(m[0][j], m[1][j]), m[2][j]);
    s[1][j] = _mm512_sub_ps(_mm512_sub_ps(m[1][j], m[2][j]), m[3][j]);
  }
  const __m512 b = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps(), zero = _mm512_setzero_ps();
#pragma GCC unroll 2
  for (int i = 0; i < 2; ++i) {
    __m512 y0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s[i][0], s[i][1]), s[i][2]), b);
    __m512 y1 = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(s[i][1], s[i][2]), s[i][3]), b);
    // fpclass 0x99: quiet NaN, signalling NaN, +infinity, -infinity
    bad |= _mm512_fpclass_ps_mask(y0, 0x99) | _mm512_fpclass_ps_mask(y1, 0x99);
    if (relu) {  // max_ps(zero, a) returns a for NaN: NaN passes, like the relu op
      y0 = _mm512_max_ps(zero, y0);
      y1 = _mm512_max_ps(zero, y1);
    }
    _mm512_storeu_ps(out + i * ldo, y0);
    _mm512_storeu_ps(out + i * ldo + pix, y1);
  }
  return bad;
}

// Asks for tile t's 4x4 input block and 2x2 output block (cin and cout floats a pixel) ahead of use:
// the input comes from memory (a batch's images are far larger than the caches), and the output's
// lines would otherwise be read for ownership only when the stores reach them.
inline void PrefetchTile(const float* in, int64_t wp, int64_t cin, float* out, int64_t ow, int64_t cout, int64_t ty,
                         int64_t tx) {
  for (int64_t i = 0; i < 4; ++i) {
    const char* src = reinterpret_cast<const char*>(in + ((2 * ty + i) * wp + 2 * tx) * cin);
    for (int64_t b = 0; b < 4 * cin * 4; b += 64) _mm_prefetch(src + b, _MM_HINT_T0);
  }
  for (int64_t i = 0; i < 2; ++i) {
    const char* dst = reinterpret_cast<const char*>(out + ((2 * ty + i) * ow + 2 * tx) * cout);
    for (int64_t b = 0; b < 2 * cout * 4; b += 64) __builtin_prefetch(dst + b, 1, 3);
  }
}

// One image: out (oh, ow, cout) = act(bias + valid 3x3 conv of in (oh + 2 rows of wp pixels, cin
// channels)), with U from Pack.
template <int CIN>
WinogradResult ImageOf(int64_t wp, int64_t cin, const float* in, int64_t oh, int64_t ow, int64_t cout, const float* U,
           const float* bias, bool relu, float* out) {
  const int64_t tilesX = ow / 2, tiles = (oh / 2) * tilesX;
  // V[xi][r][c] and M[xi][r][o]: 16 x 12 rows of cin (cout) floats
  const int64_t vStride = kTiles * cin, mStride = kTiles * cout;
  float* V = t_v.Get(16 * vStride);
  float* M = t_m.Get(16 * mStride);
  if (!V || !M) return WinogradResult::kNoMemory;
  __mmask16 bad = 0;
  for (int64_t t0 = 0; t0 < tiles; t0 += kTiles) {
    const int64_t nt = std::min(kTiles, tiles - t0);
    for (int64_t r = 0; r < kTiles; ++r) {
      // past the last tile: a repeat of it, so the GEMM's unused rows are finite and harmless
      const int64_t t = t0 + std::min(r, nt - 1), ty = t / tilesX, tx = t % tilesX;
      const float* src = in + (2 * ty * wp + 2 * tx) * cin;
      for (int64_t c = 0; c < cin; c += 16) InputTile(src + c, cin, wp * cin, V + r * cin + c, vStride);
    }
    for (int64_t t = t0 + kTiles; t < std::min(tiles, t0 + 2 * kTiles); ++t)
      PrefetchTile(in, wp, cin, out, ow, cout, t / tilesX, t % tilesX);
    for (int64_t xi = 0; xi < 16; ++xi)
      for (int64_t o = 0; o < cout; o += 32)
        Gemm12x32<CIN>(cin, V + xi * vStride, U + xi * cin * cout + o, cout, M + xi * mStride + o, cout);
    for (int64_t r = 0; r < nt; ++r) {
      const int64_t t = t0 + r, ty = t / tilesX, tx = t % tilesX;
      float* dst = out + (2 * ty * ow + 2 * tx) * cout;
      for (int64_t o = 0; o < cout; o += 16)
        bad |= OutputTile(M + r * cout + o, mStride, bias ? bias + o : nullptr, relu, dst + o, ow * cout, cout);
    }
  }
  return bad ? WinogradResult::kNonFinite : WinogradResult::kOk;
}

WinogradResult Image(int64_t wp, int64_t cin, const float* in, int64_t oh, int64_t ow, int64_t cout, const float* U,
                     const float* bias, bool relu, float* out) {
  switch (cin) {
    case 32: return ImageOf<32>(wp, cin, in, oh, ow, cout, U, bias, relu, out);
    case 64: return ImageOf<64>(wp, cin, in, oh, ow, cout, U, bias, relu, out);
    default: return ImageOf<0>(wp, cin, in, oh, ow, cout, U, bias, relu, out);
  }
}

const Winograd kSet{&Applies, &Pack, &Image};

}  // namespace
TB_ISA_END
}  // namespace winograd
#endif

const Winograd* WinogradKernels() {
#ifdef TB_ISA_X86
  if (g_winogradOn && ActiveIsa() == Isa::kAvx512 && !MatmulBf16()) return &winograd::kSet;
#endif
  return nullptr;
}

}  // namespace tb::cpu::conv
