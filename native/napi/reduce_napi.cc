// reduce(op, x, y, outer, dim, inner)
// reduceBackward(op, x, y, dy, dx, outer, dim, inner)
// argReduce(op, x, out, outer, dim, inner)
#include "cpu/reduce.h"
#include "napi/kernel.h"
#ifdef TENSORBOLT_CUDA
#include "cuda/reduce.cuh"
#endif

namespace tb::napi {
namespace {

struct View {
  int64_t outer, dim, inner, full, out;
};

// Reads (outer, dim, inner) at argument positions i..i+2 and the element counts they imply.
View ReadView(const ArgsBase& a, size_t i) {
  View v;
  v.outer = a.Int(i, "outer");
  v.dim = a.Int(i + 1, "dim");
  v.inner = a.Int(i + 2, "inner");
  v.full = CheckedProduct(a, {v.outer, v.dim, v.inner});
  v.out = CheckedProduct(a, {v.outer, v.inner});
  return v;
}

// Max/min (and argmax/argmin) of an empty slice has no value.
void RejectEmpty(const ArgsBase& a, const View& v, const char* what) {
  if (v.dim == 0 && v.out > 0)
    a.ThrowRange(std::string(what) + " over an empty dim (dim = 0) is undefined");
}

const char* ReduceName(ReduceOp op) {
  switch (op) {
    case ReduceOp::kMax: return "max";
    case ReduceOp::kMin: return "min";
    default: return "reduce";
  }
}

template <class A>
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  A a(info, "reduce", 6);
  const auto op = static_cast<ReduceOp>(a.Int(0, "op", 0, static_cast<int>(ReduceOp::kCount) - 1));
  const View v = ReadView(a, 3);
  const float* x = a.F32(1, "x", v.full);
  float* y = a.F32(2, "y", v.out);
  a.NoOverlap(2, "y", 1, "x");
  if (op == ReduceOp::kMax || op == ReduceOp::kMin) RejectEmpty(a, v, ReduceName(op));
  TB_KERNEL(a, Reduce, op, x, y, v.outer, v.dim, v.inner);
  return info.Env().Undefined();
}

template <class A>
Napi::Value ReduceBackward(const Napi::CallbackInfo& info) {
  A a(info, "reduceBackward", 8);
  const auto op = static_cast<ReduceOp>(a.Int(0, "op", 0, static_cast<int>(ReduceOp::kCount) - 1));
  const View v = ReadView(a, 5);
  const float* x = a.F32(1, "x", v.full);
  const float* y = a.F32(2, "y", v.out);
  const float* dy = a.F32(3, "dy", v.out);
  float* dx = a.F32(4, "dx", v.full);
  a.OutputsDisjoint({{4, "dx"}}, {{1, "x"}, {2, "y"}, {3, "dy"}});
  if (op == ReduceOp::kMax || op == ReduceOp::kMin) RejectEmpty(a, v, ReduceName(op));
  TB_KERNEL(a, ReduceBackward, op, x, y, dy, dx, v.outer, v.dim, v.inner);
  return info.Env().Undefined();
}

template <class A>
Napi::Value ArgReduce(const Napi::CallbackInfo& info) {
  A a(info, "argReduce", 6);
  const auto op = static_cast<ArgReduceOp>(a.Int(0, "op", 0, static_cast<int>(ArgReduceOp::kCount) - 1));
  const View v = ReadView(a, 3);
  const float* x = a.F32(1, "x", v.full);
  int32_t* out = a.I32(2, "out", v.out);
  a.NoOverlap(2, "out", 1, "x");
  RejectEmpty(a, v, op == ArgReduceOp::kArgMax ? "argMax" : "argMin");
  TB_KERNEL(a, ArgReduce, op, x, out, v.outer, v.dim, v.inner);
  return info.Env().Undefined();
}

template <class A>
void Register(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "reduce", Reduce<A>);
  Export(env, exports, "reduceBackward", ReduceBackward<A>);
  Export(env, exports, "argReduce", ArgReduce<A>);
}

TB_NAPI_REGISTER_KERNELS(Register);

}  // namespace
}  // namespace tb::napi
