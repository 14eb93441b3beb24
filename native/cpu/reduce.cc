// Reductions along one axis of an (outer, dim, inner) view, their gradients, and argmax/argmin.
//
// Work is cut into tiles: an outer index, a chunk of up to kChunk inner columns (accumulators on the
// stack, so the per-column loop vectorizes) and, for the forward reductions, a block of up to
// kDimBlock rows of dim. Block partials are merged in block order afterwards. The tiling depends only
// on the shape, never on the thread count, so a result is the same on any number of threads.
#include "cpu/reduce.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "common/parallel.h"

namespace tb::cpu {
namespace {

constexpr int64_t kDimBlock = 4096;
constexpr int64_t kChunk = 256;
constexpr int kLanes = 8;

// Accumulation rules. Sum and prod accumulate in double: a float running sum over 1e6 values loses
// about three digits; double keeps the float result correctly rounded in practice.
struct SumRule {
  using Acc = double;
  static Acc Init() { return 0.0; }
  static Acc Step(Acc a, float v) { return a + static_cast<double>(v); }
  static Acc Merge(Acc a, Acc b) { return a + b; }
};

struct ProdRule {
  using Acc = double;
  static Acc Init() { return 1.0; }
  static Acc Step(Acc a, float v) { return a * static_cast<double>(v); }
  static Acc Merge(Acc a, Acc b) { return a * b; }
};

// NaN is sticky: once the accumulator is NaN neither comparison replaces it, and a NaN value always
// replaces a number.
struct MaxRule {
  using Acc = float;
  static Acc Init() { return -std::numeric_limits<float>::infinity(); }
  static Acc Step(Acc a, float v) { return ((v > a) | (v != v)) ? v : a; }
  static Acc Merge(Acc a, Acc b) { return Step(a, b); }
};

struct MinRule {
  using Acc = float;
  static Acc Init() { return std::numeric_limits<float>::infinity(); }
  static Acc Step(Acc a, float v) { return ((v < a) | (v != v)) ? v : a; }
  static Acc Merge(Acc a, Acc b) { return Step(a, b); }
};

// Runs fn(o, b, d0, rows, j0, w) over every tile, in parallel when the whole view is big enough.
template <class Fn>
void ForTiles(int64_t outer, int64_t dim, int64_t inner, bool splitDim, Fn&& fn) {
  if (outer == 0 || inner == 0) return;
  const int64_t nb = (splitDim && dim > kDimBlock) ? (dim + kDimBlock - 1) / kDimBlock : 1;
  const int64_t nc = (inner + kChunk - 1) / kChunk;
  const int64_t tasks = outer * nc * nb;
  TB_PARALLEL_FOR(outer * dim * inner, t, 0, tasks, {
    const int64_t b = t % nb, c = (t / nb) % nc, o = t / (nb * nc);
    const int64_t d0 = b * kDimBlock;
    const int64_t rows = nb == 1 ? dim : std::min(kDimBlock, dim - d0);
    const int64_t j0 = c * kChunk;
    fn(o, b, d0, rows, j0, std::min(kChunk, inner - j0));
  });
}

inline int64_t NumBlocks(int64_t dim) { return dim > kDimBlock ? (dim + kDimBlock - 1) / kDimBlock : 1; }

// Fold of one contiguous row with kLanes independent accumulators in a fixed order (prod).
template <class R>
typename R::Acc FoldRow(const float* x, int64_t n) {
  using Acc = typename R::Acc;
  Acc lane[kLanes];
  for (int k = 0; k < kLanes; ++k) lane[k] = R::Init();
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) lane[k] = R::Step(lane[k], x[i + k]);
  Acc acc = R::Init();
  for (int k = 0; k < kLanes; ++k) acc = R::Merge(acc, lane[k]);
  for (; i < n; ++i) acc = R::Step(acc, x[i]);
  return acc;
}

#ifdef _OPENMP
#define TB_SIMD_REDUCE(clauses) _Pragma(TB_STR(omp simd clauses))
#define TB_STR(x) #x
#else
#define TB_SIMD_REDUCE(clauses)
#endif

// Max/min of a contiguous row. The comparison alone vectorizes as a plain max/min (OpenMP simd
// reduction; the result does not depend on order), with NaN tracked by a separate flag.
template <bool kMax>
float ExtremeRow(const float* x, int64_t n) {
  float m = kMax ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
  int nan = 0;
  if constexpr (kMax) {
    TB_SIMD_REDUCE(reduction(max : m) reduction(| : nan))
    for (int64_t i = 0; i < n; ++i) {
      const float v = x[i];
      m = v > m ? v : m;
      nan |= v != v;
    }
  } else {
    TB_SIMD_REDUCE(reduction(min : m) reduction(| : nan))
    for (int64_t i = 0; i < n; ++i) {
      const float v = x[i];
      m = v < m ? v : m;
      nan |= v != v;
    }
  }
  return nan ? std::numeric_limits<float>::quiet_NaN() : m;
}

// Double sum of a contiguous row; the vector width fixes the order at compile time.
inline double SumRow(const float* x, int64_t n) {
  double s = 0.0;
  TB_SIMD_REDUCE(reduction(+ : s))
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]);
  return s;
}

template <class R>
typename R::Acc Row(const float* x, int64_t n) {
  if constexpr (std::is_same_v<R, SumRule>) return SumRow(x, n);
  else if constexpr (std::is_same_v<R, MaxRule>) return ExtremeRow<true>(x, n);
  else if constexpr (std::is_same_v<R, MinRule>) return ExtremeRow<false>(x, n);
  else return FoldRow<R>(x, n);
}

// acc[j] = fold over rows of x[d * stride + j], j < w.
template <class R>
void FoldCols(const float* x, int64_t rows, int64_t stride, int64_t w, typename R::Acc* acc) {
  for (int64_t j = 0; j < w; ++j) acc[j] = R::Init();
  for (int64_t d = 0; d < rows; ++d) {
    const float* r = x + d * stride;
    for (int64_t j = 0; j < w; ++j) acc[j] = R::Step(acc[j], r[j]);
  }
}

template <class R, class Fin>
void ReduceWith(const float* x, float* y, int64_t outer, int64_t dim, int64_t inner, Fin fin) {
  using Acc = typename R::Acc;
  const int64_t nb = NumBlocks(dim);
  // Block partials exist only when dim is split: at most 1/kDimBlock of the input's size.
  std::vector<Acc> part(nb > 1 ? static_cast<size_t>(outer * nb * inner) : 0);
  ForTiles(outer, dim, inner, true, [&](int64_t o, int64_t b, int64_t d0, int64_t rows, int64_t j0, int64_t w) {
    const float* xs = x + (o * dim + d0) * inner + j0;
    Acc acc[kChunk];
    if (inner == 1) acc[0] = Row<R>(xs, rows);
    else FoldCols<R>(xs, rows, inner, w, acc);
    if (nb == 1) {
      float* ys = y + o * inner + j0;
      for (int64_t j = 0; j < w; ++j) ys[j] = fin(acc[j]);
    } else {
      Acc* p = part.data() + (o * nb + b) * inner + j0;
      for (int64_t j = 0; j < w; ++j) p[j] = acc[j];
    }
  });
  if (nb == 1) return;
  TB_PARALLEL_FOR(outer * inner * nb, o, 0, outer, {
    const Acc* p = part.data() + o * nb * inner;
    for (int64_t j = 0; j < inner; ++j) {
      Acc a = p[j];
      for (int64_t b = 1; b < nb; ++b) a = R::Merge(a, p[b * inner + j]);
      y[o * inner + j] = fin(a);
    }
  });
}

// dx = scale * dy broadcast along dim (sum and mean).
void BroadcastBack(const float* dy, float* dx, int64_t outer, int64_t dim, int64_t inner, float scale) {
  ForTiles(outer, dim, inner, true, [&](int64_t o, int64_t, int64_t d0, int64_t rows, int64_t j0, int64_t w) {
    const float* g = dy + o * inner + j0;
    float* out = dx + (o * dim + d0) * inner + j0;
    if (inner == 1) {
      const float v = g[0] * scale;
      for (int64_t d = 0; d < rows; ++d) out[d] = v;
      return;
    }
    for (int64_t d = 0; d < rows; ++d)
      for (int64_t j = 0; j < w; ++j) out[d * inner + j] = g[j] * scale;
  });
}

// dy goes to the first element of each slice equal to y (the first NaN when y is NaN). A first pass
// finds that position per column, a second writes dx; both loops are branch-free so they vectorize.
void RouteFirst(const float* x, const float* y, const float* dy, float* dx, int64_t outer, int64_t dim,
                int64_t inner) {
  ForTiles(outer, dim, inner, false, [&](int64_t o, int64_t, int64_t, int64_t rows, int64_t j0, int64_t w) {
    const float* xs = x + o * dim * inner + j0;
    float* out = dx + o * dim * inner + j0;
    const float* ys = y + o * inner + j0;
    const float* g = dy + o * inner + j0;
    if (inner == 1) {
      const float t = ys[0];
      int64_t k = 0;
      if (t == t)
        while (k < rows && xs[k] != t) ++k;
      else
        while (k < rows && xs[k] == xs[k]) ++k;
      std::fill(out, out + rows, 0.f);
      if (k < rows) out[k] = g[0];
      return;
    }
    const int32_t none = static_cast<int32_t>(rows);
    int32_t first[kChunk];
    for (int64_t j = 0; j < w; ++j) first[j] = none;
    for (int64_t d = 0; d < rows; ++d) {
      const float* r = xs + d * inner;
      for (int64_t j = 0; j < w; ++j) {
        const float v = r[j], t = ys[j];
        const bool hit = (first[j] == none) & ((v == t) | ((t != t) & (v != v)));
        first[j] = hit ? static_cast<int32_t>(d) : first[j];
      }
    }
    for (int64_t d = 0; d < rows; ++d) {
      float* dr = out + d * inner;
      for (int64_t j = 0; j < w; ++j) dr[j] = first[j] == d ? g[j] : 0.f;
    }
  });
}

// d(prod)/dx_d = dy * prod of the other elements. A contiguous row with a finite, non-zero double
// product P takes dy * P / x_d (vectorized); otherwise (zeros, overflow, underflow) and for columns,
// an exclusive prefix pass written into dx is scaled by a suffix pass: no division, exact with zeros.
void ProdBack(const float* x, const float* dy, float* dx, int64_t outer, int64_t dim, int64_t inner) {
  ForTiles(outer, dim, inner, false, [&](int64_t o, int64_t, int64_t, int64_t rows, int64_t j0, int64_t w) {
    const float* xs = x + o * dim * inner + j0;
    float* out = dx + o * dim * inner + j0;
    if (inner == 1) {
      const double p = FoldRow<ProdRule>(xs, rows);
      if (p != 0.0 && std::isfinite(p)) {
        const double gp = static_cast<double>(dy[o]) * p;
        for (int64_t d = 0; d < rows; ++d) out[d] = static_cast<float>(gp / static_cast<double>(xs[d]));
        return;
      }
      double a = 1.0;
      for (int64_t d = 0; d < rows; ++d) {
        out[d] = static_cast<float>(a);
        a *= static_cast<double>(xs[d]);
      }
      a = static_cast<double>(dy[o]);
      for (int64_t d = rows - 1; d >= 0; --d) {
        out[d] = static_cast<float>(static_cast<double>(out[d]) * a);
        a *= static_cast<double>(xs[d]);
      }
      return;
    }
    double acc[kChunk];
    for (int64_t j = 0; j < w; ++j) acc[j] = 1.0;
    for (int64_t d = 0; d < rows; ++d)
      for (int64_t j = 0; j < w; ++j) {
        out[d * inner + j] = static_cast<float>(acc[j]);
        acc[j] *= static_cast<double>(xs[d * inner + j]);
      }
    for (int64_t j = 0; j < w; ++j) acc[j] = static_cast<double>(dy[o * inner + j0 + j]);
    for (int64_t d = rows - 1; d >= 0; --d)
      for (int64_t j = 0; j < w; ++j) {
        out[d * inner + j] = static_cast<float>(static_cast<double>(out[d * inner + j]) * acc[j]);
        acc[j] *= static_cast<double>(xs[d * inner + j]);
      }
  });
}

template <bool kMax>
inline bool Better(float v, float best) {
  return kMax ? v > best : v < best;
}

template <bool kMax>
void ArgWith(const float* x, int32_t* out, int64_t outer, int64_t dim, int64_t inner) {
  ForTiles(outer, dim, inner, false, [&](int64_t o, int64_t, int64_t, int64_t rows, int64_t j0, int64_t w) {
    const float* xs = x + o * dim * inner + j0;
    int32_t* os = out + o * inner + j0;
    if (inner == 1) {
      // The extremum by a vectorized pass, then the first position holding it (or the first NaN).
      const float m = ExtremeRow<kMax>(xs, rows);
      int64_t k = 0;
      if (m == m)
        while (k + 1 < rows && xs[k] != m) ++k;
      else
        while (k + 1 < rows && xs[k] == xs[k]) ++k;
      os[0] = static_cast<int32_t>(k);
      return;
    }
    float best[kChunk];
    int32_t idx[kChunk];
    for (int64_t j = 0; j < w; ++j) {
      best[j] = xs[j];
      idx[j] = 0;
    }
    for (int64_t d = 1; d < rows; ++d) {
      const float* r = xs + d * inner;
      for (int64_t j = 0; j < w; ++j) {
        const float v = r[j];
        const bool take = best[j] == best[j] && (v != v || Better<kMax>(v, best[j]));
        best[j] = take ? v : best[j];
        idx[j] = take ? static_cast<int32_t>(d) : idx[j];
      }
    }
    for (int64_t j = 0; j < w; ++j) os[j] = idx[j];
  });
}

}  // namespace

void Reduce(ReduceOp op, const float* x, float* y, int64_t outer, int64_t dim, int64_t inner) {
  switch (op) {
    case ReduceOp::kSum:
      ReduceWith<SumRule>(x, y, outer, dim, inner, [](double a) { return static_cast<float>(a); });
      break;
    case ReduceOp::kMean: {
      const double n = static_cast<double>(dim);  // 0/0 gives NaN for an empty dim, as NumPy does
      ReduceWith<SumRule>(x, y, outer, dim, inner, [n](double a) { return static_cast<float>(a / n); });
      break;
    }
    case ReduceOp::kProd:
      ReduceWith<ProdRule>(x, y, outer, dim, inner, [](double a) { return static_cast<float>(a); });
      break;
    case ReduceOp::kMax:
      ReduceWith<MaxRule>(x, y, outer, dim, inner, [](float a) { return a; });
      break;
    case ReduceOp::kMin:
      ReduceWith<MinRule>(x, y, outer, dim, inner, [](float a) { return a; });
      break;
    default:
      break;
  }
}

void ReduceBackward(ReduceOp op, const float* x, const float* y, const float* dy, float* dx, int64_t outer,
                    int64_t dim, int64_t inner) {
  switch (op) {
    case ReduceOp::kSum:
      BroadcastBack(dy, dx, outer, dim, inner, 1.f);
      break;
    case ReduceOp::kMean:
      BroadcastBack(dy, dx, outer, dim, inner, dim > 0 ? static_cast<float>(1.0 / static_cast<double>(dim)) : 0.f);
      break;
    case ReduceOp::kProd:
      ProdBack(x, dy, dx, outer, dim, inner);
      break;
    case ReduceOp::kMax:
    case ReduceOp::kMin:
      RouteFirst(x, y, dy, dx, outer, dim, inner);
      break;
    default:
      break;
  }
}

void ArgReduce(ArgReduceOp op, const float* x, int32_t* out, int64_t outer, int64_t dim, int64_t inner) {
  if (dim <= 0) return;
  if (op == ArgReduceOp::kArgMax) ArgWith<true>(x, out, outer, dim, inner);
  else ArgWith<false>(x, out, outer, dim, inner);
}

}  // namespace tb::cpu
