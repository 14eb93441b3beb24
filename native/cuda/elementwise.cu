// Elementwise kernels, forward and backward side by side. Strided ops coalesce their index space on
// the host first (common.cuh), so same-shape and scalar cases run as flat loops with one multiply
// per operand. Gradients of broadcast operands are sums over the broadcast axes: one thread (or one
// warp, when the reduced axes are the fastest-varying ones) owns each gradient element and adds its
// terms in a fixed order, in double, so results are repeatable and need no atomics.
#include <type_traits>

#include "cuda/common.cuh"
#include "cuda/elementwise.cuh"

namespace tb::cuda {
namespace {

// ---------------------------------------------------------------- unary

template <UnaryOp OP>
__device__ inline float UnaryF(float v, float p1, float p2) {
  if constexpr (OP == UnaryOp::kNeg) return -v;
  else if constexpr (OP == UnaryOp::kExp) return expf(v);
  else if constexpr (OP == UnaryOp::kLog) return logf(v);
  else if constexpr (OP == UnaryOp::kSqrt) return sqrtf(v);
  else if constexpr (OP == UnaryOp::kAbs) return fabsf(v);
  else if constexpr (OP == UnaryOp::kSquare) return v * v;
  else if constexpr (OP == UnaryOp::kReciprocal) return 1.f / v;
  else if constexpr (OP == UnaryOp::kClip) return v < p1 ? p1 : (v > p2 ? p2 : v);
  else if constexpr (OP == UnaryOp::kPowScalar) return powf(v, p1);
  else if constexpr (OP == UnaryOp::kSign) return v > 0.f ? 1.f : (v < 0.f ? -1.f : v);  // keeps 0, -0, NaN
  else return 1.f / sqrtf(v);  // kRsqrt: rsqrtf is approximate; this matches the CPU to an ulp
}

// dx = dy * f'(x); y = f(x) where the derivative is cheaper from the output.
template <UnaryOp OP>
__device__ inline float UnaryD(float u, float v, float g, float p1, float p2) {
  if constexpr (OP == UnaryOp::kNeg) return -g;
  else if constexpr (OP == UnaryOp::kExp) return g * v;
  else if constexpr (OP == UnaryOp::kLog) return g / u;
  else if constexpr (OP == UnaryOp::kSqrt) return 0.5f * g / v;
  else if constexpr (OP == UnaryOp::kAbs) return u > 0.f ? g : (u < 0.f ? -g : 0.f);  // abs'(0) = 0
  else if constexpr (OP == UnaryOp::kSquare) return 2.f * u * g;
  else if constexpr (OP == UnaryOp::kReciprocal) return -g * v * v;
  else if constexpr (OP == UnaryOp::kClip) return u >= p1 && u <= p2 ? g : 0.f;
  else if constexpr (OP == UnaryOp::kPowScalar) return p1 == 0.f ? 0.f : g * p1 * powf(u, p1 - 1.f);
  else if constexpr (OP == UnaryOp::kSign) return 0.f;
  else return -0.5f * g * v * v * v;  // kRsqrt: d/dx x^(-1/2) = -1/2 y^3
}

template <UnaryOp OP>
__global__ void UnaryKernel(const float* x, float* y, int64_t n, float p1, float p2) {
  TB_CUDA_LOOP(i, n) y[i] = UnaryF<OP>(x[i], p1, p2);
}

template <UnaryOp OP>
__global__ void UnaryBackwardKernel(const float* x, const float* y, const float* dy, float* dx, int64_t n, float p1,
                                    float p2) {
  TB_CUDA_LOOP(i, n) dx[i] = UnaryD<OP>(x[i], y[i], dy[i], p1, p2);
}

template <UnaryOp OP>
using UnaryTag = std::integral_constant<UnaryOp, OP>;

// fn(UnaryTag<op>{}) for the runtime op code.
template <class Fn>
Status WithUnaryOp(UnaryOp op, Fn&& fn) {
  switch (op) {
    case UnaryOp::kNeg: return fn(UnaryTag<UnaryOp::kNeg>{});
    case UnaryOp::kExp: return fn(UnaryTag<UnaryOp::kExp>{});
    case UnaryOp::kLog: return fn(UnaryTag<UnaryOp::kLog>{});
    case UnaryOp::kSqrt: return fn(UnaryTag<UnaryOp::kSqrt>{});
    case UnaryOp::kAbs: return fn(UnaryTag<UnaryOp::kAbs>{});
    case UnaryOp::kSquare: return fn(UnaryTag<UnaryOp::kSquare>{});
    case UnaryOp::kReciprocal: return fn(UnaryTag<UnaryOp::kReciprocal>{});
    case UnaryOp::kClip: return fn(UnaryTag<UnaryOp::kClip>{});
    case UnaryOp::kPowScalar: return fn(UnaryTag<UnaryOp::kPowScalar>{});
    case UnaryOp::kSign: return fn(UnaryTag<UnaryOp::kSign>{});
    case UnaryOp::kRsqrt: return fn(UnaryTag<UnaryOp::kRsqrt>{});
    default: return Status::Error("unknown unary op " + std::to_string(static_cast<int>(op)));
  }
}

// ---------------------------------------------------------------- binary op table
// F: forward. Da/Db: the gradient reaching a/b from upstream gradient g.

struct Add {
  __device__ static float F(float a, float b) { return a + b; }
  __device__ static float Da(float, float, float g) { return g; }
  __device__ static float Db(float, float, float g) { return g; }
};
struct Sub {
  __device__ static float F(float a, float b) { return a - b; }
  __device__ static float Da(float, float, float g) { return g; }
  __device__ static float Db(float, float, float g) { return -g; }
};
struct Mul {
  __device__ static float F(float a, float b) { return a * b; }
  __device__ static float Da(float, float b, float g) { return g * b; }
  __device__ static float Db(float a, float, float g) { return g * a; }
};
struct Div {
  __device__ static float F(float a, float b) { return a / b; }
  __device__ static float Da(float, float b, float g) { return g / b; }
  __device__ static float Db(float a, float b, float g) { return -g * a / (b * b); }
};
struct Pow {
  __device__ static float F(float a, float b) { return powf(a, b); }
  // b = 0 gives 0 even at a = 0; log(a) for a <= 0 gives gradient 0 (as the CPU kernel).
  __device__ static float Da(float a, float b, float g) { return b == 0.f ? 0.f : g * b * powf(a, b - 1.f); }
  __device__ static float Db(float a, float b, float g) { return a > 0.f ? g * powf(a, b) * logf(a) : 0.f; }
};
// NaN propagates from either side; ties send the gradient to a.
struct Maximum {
  __device__ static bool PickA(float a, float b) { return a >= b || a != a; }
  __device__ static float F(float a, float b) { return PickA(a, b) ? a : b; }
  __device__ static float Da(float a, float b, float g) { return PickA(a, b) ? g : 0.f; }
  __device__ static float Db(float a, float b, float g) { return PickA(a, b) ? 0.f : g; }
};
struct Minimum {
  __device__ static bool PickA(float a, float b) { return a <= b || a != a; }
  __device__ static float F(float a, float b) { return PickA(a, b) ? a : b; }
  __device__ static float Da(float a, float b, float g) { return PickA(a, b) ? g : 0.f; }
  __device__ static float Db(float a, float b, float g) { return PickA(a, b) ? 0.f : g; }
};
#define TB_COMPARISON(Name, expr) \
  struct Name {                   \
    __device__ static float F(float a, float b) { return (expr) ? 1.f : 0.f; } \
  };
TB_COMPARISON(Equal, a == b)
TB_COMPARISON(NotEqual, a != b)
TB_COMPARISON(Greater, a > b)
TB_COMPARISON(GreaterEqual, a >= b)
TB_COMPARISON(Less, a < b)
TB_COMPARISON(LessEqual, a <= b)
#undef TB_COMPARISON

template <class Fn>
Status WithDifferentiableOp(BinaryOp op, Fn&& fn) {
  switch (op) {
    case BinaryOp::kAdd: return fn(Add{});
    case BinaryOp::kSub: return fn(Sub{});
    case BinaryOp::kMul: return fn(Mul{});
    case BinaryOp::kDiv: return fn(Div{});
    case BinaryOp::kPow: return fn(Pow{});
    case BinaryOp::kMaximum: return fn(Maximum{});
    case BinaryOp::kMinimum: return fn(Minimum{});
    default: return Status::Error("binary op " + std::to_string(static_cast<int>(op)) + " has no gradient");
  }
}

template <class Fn>
Status WithBinaryOp(BinaryOp op, Fn&& fn) {
  switch (op) {
    case BinaryOp::kEqual: return fn(Equal{});
    case BinaryOp::kNotEqual: return fn(NotEqual{});
    case BinaryOp::kGreater: return fn(Greater{});
    case BinaryOp::kGreaterEqual: return fn(GreaterEqual{});
    case BinaryOp::kLess: return fn(Less{});
    case BinaryOp::kLessEqual: return fn(LessEqual{});
    default: return WithDifferentiableOp(op, fn);
  }
}

// Operand offsets of flat index i: one multiply per operand when the space has at most one axis.
template <int N>
__device__ inline void OffsetsOf(const Space<N>& s, int64_t i, int64_t off[N]) {
  if (s.ndim <= 1) {
    for (int k = 0; k < N; ++k) off[k] = s.ndim == 0 ? 0 : i * s.st[k][0];
  } else {
    Offsets(s, i, off);
  }
}

template <class Op>
__global__ void BinaryKernel(Space<3> s, const float* a, const float* b, float* out) {
  TB_CUDA_LOOP(i, s.total) {
    int64_t off[3];
    OffsetsOf(s, i, off);
    out[i] = Op::F(a[off[0]], b[off[1]]);
  }
}

__global__ void WhereKernel(Space<4> s, const float* cond, const float* a, const float* b, float* out) {
  TB_CUDA_LOOP(i, s.total) {
    int64_t off[4];
    OffsetsOf(s, i, off);
    out[i] = cond[off[0]] != 0.f ? a[off[1]] : b[off[2]];
  }
}

// ---------------------------------------------------------------- broadcast-reducing gradients

// The index space of a gradient split into kept axes (where the destination operand D has a
// non-zero stride: one destination element per kept index) and reduced axes (stride 0: summed).
// Because D's strides are broadcast strides of a contiguous array, the kept indices enumerate the
// destination in its own order: kept index t is destination element t.
template <int N>
struct RedSpace {
  int nk = 0, nr = 0;
  int64_t kcount = 1, rcount = 1;
  int64_t kshape[kMaxDims] = {}, rshape[kMaxDims] = {};
  int64_t kst[N][kMaxDims] = {}, rst[N][kMaxDims] = {};
};

template <int N>
RedSpace<N> Split(const Space<N>& s, int d) {
  RedSpace<N> r;
  for (int ax = 0; ax < s.ndim; ++ax) {
    const bool kept = s.st[d][ax] != 0;
    int& n = kept ? r.nk : r.nr;
    (kept ? r.kshape : r.rshape)[n] = s.shape[ax];
    for (int k = 0; k < N; ++k) (kept ? r.kst : r.rst)[k][n] = s.st[k][ax];
    (kept ? r.kcount : r.rcount) *= s.shape[ax];
    ++n;
  }
  return r;
}

template <int N>
__device__ inline void Decompose(int64_t i, int nd, const int64_t* shape, const int64_t (*st)[kMaxDims],
                                 int64_t off[N]) {
  for (int k = 0; k < N; ++k) off[k] = 0;
  for (int ax = nd - 1; ax >= 0; --ax) {
    const int64_t q = i % shape[ax];
    i /= shape[ax];
    for (int k = 0; k < N; ++k) off[k] += q * st[k][ax];
  }
}

// One thread per destination element; the reduced indices are walked with an odometer (no division
// per term). g(off) is the term at operand offsets off.
template <int N, class G>
__global__ void ReduceThreadKernel(RedSpace<N> s, float* dst, G g) {
  TB_CUDA_LOOP(t, s.kcount) {
    int64_t off[N];
    Decompose<N>(t, s.nk, s.kshape, s.kst, off);
    int64_t idx[kMaxDims] = {};
    double acc = 0.0;
    for (int64_t r = 0; r < s.rcount; ++r) {
      acc += g(off);
      for (int ax = s.nr - 1; ax >= 0; --ax) {
        ++idx[ax];
        for (int k = 0; k < N; ++k) off[k] += s.rst[k][ax];
        if (idx[ax] < s.rshape[ax]) break;
        for (int k = 0; k < N; ++k) off[k] -= s.rst[k][ax] * s.rshape[ax];
        idx[ax] = 0;
      }
    }
    dst[t] = static_cast<float>(acc);
  }
}

// One warp per destination element, lanes interleaved over the reduced indices: used when the
// reduced axes vary fastest in memory, so the lanes' loads are contiguous.
template <int N, class G>
__global__ void ReduceWarpKernel(RedSpace<N> s, float* dst, G g) {
  const int lane = threadIdx.x % kWarp;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / kWarp);
  for (int64_t t = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp; t < s.kcount; t += warps) {
    int64_t base[N];
    Decompose<N>(t, s.nk, s.kshape, s.kst, base);
    double acc = 0.0;
    for (int64_t r = lane; r < s.rcount; r += kWarp) {
      int64_t off[N];
      Decompose<N>(r, s.nr, s.rshape, s.rst, off);
      for (int k = 0; k < N; ++k) off[k] += base[k];
      acc += g(off);
    }
    acc = WarpSum(acc);
    if (lane == 0) dst[t] = static_cast<float>(acc);
  }
}

// dst (dlen floats, operand D of s) = sum of g over the reduced axes; a zero-sized space gives zeros.
template <int N, class G>
Status ReduceInto(const Space<N>& s, int d, float* dst, int64_t dlen, G g, cudaStream_t stream, const char* op) {
  if (dlen == 0) return Status::Ok();
  if (s.total == 0) {
    cudaError_t e = cudaMemsetAsync(dst, 0, static_cast<size_t>(dlen) * sizeof(float), stream);
    if (e != cudaSuccess) return FromCuda(e, op, "cudaMemsetAsync");
    return Status::Ok();
  }
  const RedSpace<N> r = Split(s, d);
  // The last axis of the space varies fastest for every operand; when it is reduced and long
  // enough, the warp form reads memory contiguously.
  const bool innerReduced = s.ndim > 0 && s.st[d][s.ndim - 1] == 0 && r.rcount >= kWarp;
  if (innerReduced) {
    const int64_t threads = r.kcount * kWarp;
    ReduceWarpKernel<N><<<GridFor(threads), kThreads, 0, stream>>>(r, dst, g);
  } else {
    ReduceThreadKernel<N><<<GridFor(r.kcount), kThreads, 0, stream>>>(r, dst, g);
  }
  return LaunchStatus(op);
}

// Operands a, b, dy at offsets off[0..2]; Which = 0 gives a's gradient term, 1 gives b's.
template <class Op, int Which>
struct BinaryGradTerm {
  const float *a, *b, *dy;
  __device__ float operator()(const int64_t* off) const {
    const float x = a[off[0]], y = b[off[1]], g = dy[off[2]];
    if constexpr (Which == 0) return Op::Da(x, y, g);
    else return Op::Db(x, y, g);
  }
};

// cond, dy at off[0], off[1]: dy where (cond != 0) == whenTrue.
struct WhereGradTerm {
  const float *cond, *dy;
  bool whenTrue;
  __device__ float operator()(const int64_t* off) const { return (cond[off[0]] != 0.f) == whenTrue ? dy[off[1]] : 0.f; }
};

struct CopyTerm {
  const float* src;
  __device__ float operator()(const int64_t* off) const { return src[off[0]]; }
};

}  // namespace

Status Unary(UnaryOp op, const float* x, float* y, int64_t n, float p1, float p2, cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  return WithUnaryOp(op, [&](auto tag) {
    UnaryKernel<decltype(tag)::value><<<GridFor(n), kThreads, 0, stream>>>(x, y, n, p1, p2);
    return LaunchStatus("unary");
  });
}

Status UnaryBackward(UnaryOp op, const float* x, const float* y, const float* dy, float* dx, int64_t n, float p1,
                     float p2, cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  return WithUnaryOp(op, [&](auto tag) {
    UnaryBackwardKernel<decltype(tag)::value><<<GridFor(n), kThreads, 0, stream>>>(x, y, dy, dx, n, p1, p2);
    return LaunchStatus("unaryBackward");
  });
}

Status Binary(BinaryOp op, const float* a, const int64_t* aStrides, const float* b, const int64_t* bStrides,
              float* out, const int64_t* shape, int ndim, cudaStream_t stream) {
  int64_t os[kMaxDims];
  ContiguousStrides(shape, ndim, os);
  const int64_t* st[3] = {aStrides, bStrides, os};
  const Space<3> s = Coalesce<3>(shape, ndim, st);
  if (s.total == 0) return Status::Ok();
  return WithBinaryOp(op, [&](auto o) {
    BinaryKernel<decltype(o)><<<GridFor(s.total), kThreads, 0, stream>>>(s, a, b, out);
    return LaunchStatus("binary");
  });
}

Status BinaryBackward(BinaryOp op, const float* a, const int64_t* aStrides, const float* b, const int64_t* bStrides,
                      const float* dy, const int64_t* shape, int ndim, float* da, int64_t daLen, float* db,
                      int64_t dbLen, cudaStream_t stream) {
  int64_t ys[kMaxDims];
  ContiguousStrides(shape, ndim, ys);
  const int64_t* st[3] = {aStrides, bStrides, ys};
  const Space<3> s = Coalesce<3>(shape, ndim, st);
  return WithDifferentiableOp(op, [&](auto o) {
    using Op = decltype(o);
    if (da) TB_TRY(ReduceInto(s, 0, da, daLen, BinaryGradTerm<Op, 0>{a, b, dy}, stream, "binaryBackward"));
    if (db) TB_TRY(ReduceInto(s, 1, db, dbLen, BinaryGradTerm<Op, 1>{a, b, dy}, stream, "binaryBackward"));
    return Status::Ok();
  });
}

Status Where(const float* cond, const int64_t* cStrides, const float* a, const int64_t* aStrides, const float* b,
             const int64_t* bStrides, float* out, const int64_t* shape, int ndim, cudaStream_t stream) {
  int64_t os[kMaxDims];
  ContiguousStrides(shape, ndim, os);
  const int64_t* st[4] = {cStrides, aStrides, bStrides, os};
  const Space<4> s = Coalesce<4>(shape, ndim, st);
  if (s.total == 0) return Status::Ok();
  WhereKernel<<<GridFor(s.total), kThreads, 0, stream>>>(s, cond, a, b, out);
  return LaunchStatus("where");
}

Status WhereBackward(const float* cond, const int64_t* cStrides, const float* dy, const int64_t* shape, int ndim,
                     float* da, const int64_t* aStrides, int64_t daLen, float* db, const int64_t* bStrides,
                     int64_t dbLen, cudaStream_t stream) {
  int64_t ys[kMaxDims];
  ContiguousStrides(shape, ndim, ys);
  auto grad = [&](float* d, const int64_t* dStrides, int64_t dlen, bool whenTrue) {
    const int64_t* st[3] = {cStrides, ys, dStrides};
    const Space<3> s = Coalesce<3>(shape, ndim, st);
    return ReduceInto(s, 2, d, dlen, WhereGradTerm{cond, dy, whenTrue}, stream, "whereBackward");
  };
  if (da) TB_TRY(grad(da, aStrides, daLen, true));
  if (db) TB_TRY(grad(db, bStrides, dbLen, false));
  return Status::Ok();
}

Status SumToStrides(const float* src, const int64_t* shape, int ndim, float* dst, const int64_t* dstStrides,
                    int64_t dstLen, cudaStream_t stream) {
  int64_t ss[kMaxDims];
  ContiguousStrides(shape, ndim, ss);
  const int64_t* st[2] = {ss, dstStrides};
  const Space<2> s = Coalesce<2>(shape, ndim, st);
  return ReduceInto(s, 1, dst, dstLen, CopyTerm{src}, stream, "sumToStrides");
}

}  // namespace tb::cuda
