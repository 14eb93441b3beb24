// Elementwise kernels, forward and backward side by side. Every strided op coalesces its index
// space first (elementwise_iter.h), so same-shape, scalar and row-broadcast cases run as flat
// vectorizable loops; gradients of broadcast operands are reduced deterministically.
#include "cpu/elementwise.h"

#include <cmath>

#include "common/parallel.h"
#include "cpu/elementwise_iter.h"

namespace tb::cpu {
namespace {

using ew::Ld;
using ew::Space;
using ew::StoreRow;
using ew::WithStride;

// ---------------------------------------------------------------- unary

template <typename F>
void Map(const float* x, float* y, int64_t n, F f) {
  TB_PARALLEL_FOR(n, i, 0, n, { y[i] = f(x[i]); });
}

// dx[i] = f(x[i], y[i], dy[i])
template <typename F>
void MapGrad(const float* x, const float* y, const float* dy, float* dx, int64_t n, F f) {
  TB_PARALLEL_FOR(n, i, 0, n, { dx[i] = f(x[i], y[i], dy[i]); });
}

inline float SignOf(float v) { return v > 0.f ? 1.f : (v < 0.f ? -1.f : v); }  // keeps 0, -0 and NaN

// ---------------------------------------------------------------- binary op table
// F: forward. Da/Db: the gradient reaching a/b from upstream gradient g.

struct Add {
  static float F(float a, float b) { return a + b; }
  static float Da(float, float, float g) { return g; }
  static float Db(float, float, float g) { return g; }
};
struct Sub {
  static float F(float a, float b) { return a - b; }
  static float Da(float, float, float g) { return g; }
  static float Db(float, float, float g) { return -g; }
};
struct Mul {
  static float F(float a, float b) { return a * b; }
  static float Da(float, float b, float g) { return g * b; }
  static float Db(float a, float, float g) { return g * a; }
};
struct Div {
  static float F(float a, float b) { return a / b; }
  static float Da(float, float b, float g) { return g / b; }
  static float Db(float a, float b, float g) { return -g * a / (b * b); }
};
struct Pow {
  static float F(float a, float b) { return std::pow(a, b); }
  // b = 0 gives 0 even at a = 0 (where b * a^(b-1) would be 0 * inf), as PyTorch does.
  static float Da(float a, float b, float g) { return b == 0.f ? 0.f : g * b * std::pow(a, b - 1.f); }
  // log(a) is undefined for a <= 0: that gradient is defined as 0 there (as tfjs does), not NaN.
  static float Db(float a, float b, float g) { return a > 0.f ? g * std::pow(a, b) * std::log(a) : 0.f; }
};
// NaN propagates from either side; ties send the gradient to a.
struct Maximum {
  static bool PickA(float a, float b) { return a >= b || a != a; }
  static float F(float a, float b) { return PickA(a, b) ? a : b; }
  static float Da(float a, float b, float g) { return PickA(a, b) ? g : 0.f; }
  static float Db(float a, float b, float g) { return PickA(a, b) ? 0.f : g; }
};
struct Minimum {
  static bool PickA(float a, float b) { return a <= b || a != a; }
  static float F(float a, float b) { return PickA(a, b) ? a : b; }
  static float Da(float a, float b, float g) { return PickA(a, b) ? g : 0.f; }
  static float Db(float a, float b, float g) { return PickA(a, b) ? 0.f : g; }
};
#define TB_COMPARISON(Name, expr) \
  struct Name {                   \
    static float F(float a, float b) { return (expr) ? 1.f : 0.f; } \
  };
TB_COMPARISON(Equal, a == b)
TB_COMPARISON(NotEqual, a != b)
TB_COMPARISON(Greater, a > b)
TB_COMPARISON(GreaterEqual, a >= b)
TB_COMPARISON(Less, a < b)
TB_COMPARISON(LessEqual, a <= b)
#undef TB_COMPARISON

// Calls fn(Op{}) for the binary op code.
template <typename Fn>
void WithBinaryOp(BinaryOp op, Fn&& fn) {
  switch (op) {
    case BinaryOp::kAdd: return fn(Add{});
    case BinaryOp::kSub: return fn(Sub{});
    case BinaryOp::kMul: return fn(Mul{});
    case BinaryOp::kDiv: return fn(Div{});
    case BinaryOp::kPow: return fn(Pow{});
    case BinaryOp::kMaximum: return fn(Maximum{});
    case BinaryOp::kMinimum: return fn(Minimum{});
    default: return;
  }
}

template <typename Op>
void BinaryT(const Space<3>& s, const float* a, const float* b, float* out) {
  const int last = s.ndim - 1;
  const int64_t sa = s.st[0][last], sb = s.st[1][last];
  WithStride(sa, [&](auto SA) {
    WithStride(sb, [&](auto SB) {
      constexpr int kA = decltype(SA)::value, kB = decltype(SB)::value;
      ew::ParallelWalk(s, [&](const int64_t* off, int64_t len) {
        const float* pa = a + off[0];
        const float* pb = b + off[1];
        float* po = out + off[2];  // out is contiguous: inner stride 1
        for (int64_t j = 0; j < len; ++j) po[j] = Op::F(Ld<kA>(pa, j), Ld<kB>(pb, j));
      });
    });
  });
}

// Gradient of operand Which (0 = a, 1 = b) into d, laid out by that operand's strides.
template <typename Op, int Which>
void BinaryGradT(const Space<3>& s, const float* a, const float* b, const float* dy, float* d, int64_t dlen) {
  const int last = s.ndim - 1;
  const int64_t sa = s.st[0][last], sb = s.st[1][last];
  WithStride(sa, [&](auto SA) {
    WithStride(sb, [&](auto SB) {
      constexpr int kA = decltype(SA)::value, kB = decltype(SB)::value;
      ew::ReduceInto<3, Which>(s, d, dlen, [&](const int64_t* off, int64_t len, float* base, bool assign) {
        const float* pa = a + off[0];
        const float* pb = b + off[1];
        const float* pg = dy + off[2];
        auto g = [&](int64_t j) {
          const float x = Ld<kA>(pa, j), y = Ld<kB>(pb, j);
          if constexpr (Which == 0) return Op::Da(x, y, pg[j]);
          else return Op::Db(x, y, pg[j]);
        };
        StoreRow<Which == 0 ? kA : kB>(base + off[Which], len, assign, g);
      });
    });
  });
}

// Row-major contiguous strides of shape (for out and dy).
void Contiguous(const int64_t* shape, int ndim, int64_t* st) {
  int64_t acc = 1;
  for (int i = ndim - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= shape[i];
  }
}

}  // namespace

void Unary(UnaryOp op, const float* x, float* y, int64_t n, float p1, float p2) {
  switch (op) {
    case UnaryOp::kNeg: return Map(x, y, n, [](float v) { return -v; });
    case UnaryOp::kExp: return Map(x, y, n, [](float v) { return std::exp(v); });
    case UnaryOp::kLog: return Map(x, y, n, [](float v) { return std::log(v); });
    case UnaryOp::kSqrt: return Map(x, y, n, [](float v) { return std::sqrt(v); });
    case UnaryOp::kAbs: return Map(x, y, n, [](float v) { return std::fabs(v); });
    case UnaryOp::kSquare: return Map(x, y, n, [](float v) { return v * v; });
    case UnaryOp::kReciprocal: return Map(x, y, n, [](float v) { return 1.f / v; });
    case UnaryOp::kClip: return Map(x, y, n, [=](float v) { return v < p1 ? p1 : (v > p2 ? p2 : v); });
    case UnaryOp::kPowScalar: return Map(x, y, n, [=](float v) { return std::pow(v, p1); });
    case UnaryOp::kSign: return Map(x, y, n, [](float v) { return SignOf(v); });
    case UnaryOp::kRsqrt: return Map(x, y, n, [](float v) { return 1.f / std::sqrt(v); });
    default: return;
  }
}

void UnaryBackward(UnaryOp op, const float* x, const float* y, const float* dy, float* dx, int64_t n, float p1,
                   float p2) {
  switch (op) {
    case UnaryOp::kNeg: return MapGrad(x, y, dy, dx, n, [](float, float, float g) { return -g; });
    case UnaryOp::kExp: return MapGrad(x, y, dy, dx, n, [](float, float v, float g) { return g * v; });
    case UnaryOp::kLog: return MapGrad(x, y, dy, dx, n, [](float u, float, float g) { return g / u; });
    case UnaryOp::kSqrt: return MapGrad(x, y, dy, dx, n, [](float, float v, float g) { return 0.5f * g / v; });
    // abs'(0) = 0: the subgradient PyTorch and tfjs use.
    case UnaryOp::kAbs: return MapGrad(x, y, dy, dx, n, [](float u, float, float g) { return u > 0.f ? g : (u < 0.f ? -g : 0.f); });
    case UnaryOp::kSquare: return MapGrad(x, y, dy, dx, n, [](float u, float, float g) { return 2.f * u * g; });
    case UnaryOp::kReciprocal: return MapGrad(x, y, dy, dx, n, [](float, float v, float g) { return -g * v * v; });
    case UnaryOp::kClip:
      return MapGrad(x, y, dy, dx, n, [=](float u, float, float g) { return u >= p1 && u <= p2 ? g : 0.f; });
    case UnaryOp::kPowScalar:
      return MapGrad(x, y, dy, dx, n,
                     [=](float u, float, float g) { return p1 == 0.f ? 0.f : g * p1 * std::pow(u, p1 - 1.f); });
    case UnaryOp::kSign: return MapGrad(x, y, dy, dx, n, [](float, float, float) { return 0.f; });
    // d/dx x^(-1/2) = -1/2 x^(-3/2) = -1/2 y^3
    case UnaryOp::kRsqrt: return MapGrad(x, y, dy, dx, n, [](float, float v, float g) { return -0.5f * g * v * v * v; });
    default: return;
  }
}

bool IsDifferentiable(BinaryOp op) {
  return static_cast<int>(op) >= 0 && static_cast<int>(op) <= static_cast<int>(BinaryOp::kMinimum);
}

void Binary(BinaryOp op, const float* a, const int64_t* aStrides, const float* b, const int64_t* bStrides, float* out,
            const int64_t* shape, int ndim) {
  int64_t os[kMaxDims];
  Contiguous(shape, ndim, os);
  const int64_t* st[3] = {aStrides, bStrides, os};
  const Space<3> s = ew::Coalesce<3>(shape, ndim, st);
  if (s.total == 0) return;
  switch (op) {
    case BinaryOp::kEqual: return BinaryT<Equal>(s, a, b, out);
    case BinaryOp::kNotEqual: return BinaryT<NotEqual>(s, a, b, out);
    case BinaryOp::kGreater: return BinaryT<Greater>(s, a, b, out);
    case BinaryOp::kGreaterEqual: return BinaryT<GreaterEqual>(s, a, b, out);
    case BinaryOp::kLess: return BinaryT<Less>(s, a, b, out);
    case BinaryOp::kLessEqual: return BinaryT<LessEqual>(s, a, b, out);
    default: return WithBinaryOp(op, [&](auto o) { BinaryT<decltype(o)>(s, a, b, out); });
  }
}

void BinaryBackward(BinaryOp op, const float* a, const int64_t* aStrides, const float* b, const int64_t* bStrides,
                    const float* dy, const int64_t* shape, int ndim, float* da, int64_t daLen, float* db,
                    int64_t dbLen) {
  if (!IsDifferentiable(op)) return;
  int64_t ys[kMaxDims];
  Contiguous(shape, ndim, ys);
  const int64_t* st[3] = {aStrides, bStrides, ys};
  const Space<3> s = ew::Coalesce<3>(shape, ndim, st);
  WithBinaryOp(op, [&](auto o) {
    using Op = decltype(o);
    if (da) BinaryGradT<Op, 0>(s, a, b, dy, da, daLen);
    if (db) BinaryGradT<Op, 1>(s, a, b, dy, db, dbLen);
  });
}

void Where(const float* cond, const int64_t* cStrides, const float* a, const int64_t* aStrides, const float* b,
           const int64_t* bStrides, float* out, const int64_t* shape, int ndim) {
  int64_t os[kMaxDims];
  Contiguous(shape, ndim, os);
  const int64_t* st[4] = {cStrides, aStrides, bStrides, os};
  const Space<4> s = ew::Coalesce<4>(shape, ndim, st);
  if (s.total == 0) return;
  const int last = s.ndim - 1;
  const int64_t sc = s.st[0][last], sa = s.st[1][last], sb = s.st[2][last];  // each 0 or 1
  // The condition's stride is the one that decides vectorization (a select per element).
  WithStride(sc, [&](auto SC) {
    constexpr int kC = decltype(SC)::value;
    ew::ParallelWalk(s, [&](const int64_t* off, int64_t len) {
      const float* pc = cond + off[0];
      const float* pa = a + off[1];
      const float* pb = b + off[2];
      float* po = out + off[3];
      for (int64_t j = 0; j < len; ++j) po[j] = Ld<kC>(pc, j) != 0.f ? pa[j * sa] : pb[j * sb];
    });
  });
}

void WhereBackward(const float* cond, const int64_t* cStrides, const float* dy, const int64_t* shape, int ndim,
                   float* da, const int64_t* aStrides, int64_t daLen, float* db, const int64_t* bStrides,
                   int64_t dbLen) {
  int64_t ys[kMaxDims];
  Contiguous(shape, ndim, ys);
  auto grad = [&](float* d, const int64_t* dStrides, int64_t dlen, bool whenTrue) {
    const int64_t* st[3] = {cStrides, ys, dStrides};
    const Space<3> s = ew::Coalesce<3>(shape, ndim, st);
    const int last = s.ndim - 1;
    const int64_t sc = s.st[0][last], sd = s.st[2][last];
    WithStride(sc, [&](auto SC) {
      WithStride(sd, [&](auto SD) {
        constexpr int kC = decltype(SC)::value, kD = decltype(SD)::value;
        ew::ReduceInto<3, 2>(s, d, dlen, [&](const int64_t* off, int64_t len, float* base, bool assign) {
          const float* pc = cond + off[0];
          const float* pg = dy + off[1];
          StoreRow<kD>(base + off[2], len, assign,
                       [&](int64_t j) { return (Ld<kC>(pc, j) != 0.f) == whenTrue ? pg[j] : 0.f; });
        });
      });
    });
  };
  if (da) grad(da, aStrides, daLen, true);
  if (db) grad(db, bStrides, dbLen, false);
}

void SumToStrides(const float* src, const int64_t* shape, int ndim, float* dst, const int64_t* dstStrides,
                  int64_t dstLen) {
  int64_t ss[kMaxDims];
  Contiguous(shape, ndim, ss);
  const int64_t* st[2] = {ss, dstStrides};
  const Space<2> s = ew::Coalesce<2>(shape, ndim, st);
  const int64_t sd = s.st[1][s.ndim - 1];
  WithStride(sd, [&](auto SD) {
    constexpr int kD = decltype(SD)::value;
    ew::ReduceInto<2, 1>(s, dst, dstLen, [&](const int64_t* off, int64_t len, float* base, bool assign) {
      const float* p = src + off[0];
      StoreRow<kD>(base + off[1], len, assign, [&](int64_t j) { return p[j]; });
    });
  });
}

}  // namespace tb::cpu
