// cuda.reduce(op, x, y, outer, dim, inner), cuda.reduceBackward(op, x, y, dy, dx, outer, dim, inner),
// cuda.argReduce(op, x, out, outer, dim, inner).
#include "common/ops.h"
#include "cuda/reduce.cuh"
#include "napi/cuda/device_args.h"
#include "napi/register.h"

namespace tb::napi::cuda {
namespace {

namespace k = ::tb::cuda;

struct View {
  int64_t outer, dim, inner, full, out;
};

View ReadView(const DevArgs& a, size_t i) {
  View v;
  v.outer = a.Int(i, "outer");
  v.dim = a.Int(i + 1, "dim");
  v.inner = a.Int(i + 2, "inner");
  v.full = CheckedProduct(a, {v.outer, v.dim, v.inner});
  v.out = CheckedProduct(a, {v.outer, v.inner});
  return v;
}

void RejectEmpty(const DevArgs& a, const View& v, const char* what) {
  if (v.dim == 0 && v.out > 0) a.ThrowRange(std::string(what) + " over an empty dim (dim = 0) is undefined");
}

ReduceOp OpArg(const DevArgs& a) {
  return static_cast<ReduceOp>(a.Int(0, "op", 0, static_cast<int>(ReduceOp::kCount) - 1));
}

Napi::Value Reduce(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.reduce", 6);
  const ReduceOp op = OpArg(a);
  const View v = ReadView(a, 3);
  const float* x = a.DevF32(1, "x", v.full);
  float* y = a.DevF32(2, "y", v.out);
  if (op == ReduceOp::kMax) RejectEmpty(a, v, "max");
  if (op == ReduceOp::kMin) RejectEmpty(a, v, "min");
  a.NoAlias(2, "y", 1, "x");
  a.Check(k::Reduce(op, x, y, v.outer, v.dim, v.inner, a.Stream()));
  return info.Env().Undefined();
}

Napi::Value ReduceBackward(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.reduceBackward", 8);
  const ReduceOp op = OpArg(a);
  const View v = ReadView(a, 5);
  const float* x = a.DevF32(1, "x", v.full);
  const float* y = a.DevF32(2, "y", v.out);
  const float* dy = a.DevF32(3, "dy", v.out);
  float* dx = a.DevF32(4, "dx", v.full);
  if (op == ReduceOp::kMax) RejectEmpty(a, v, "max");
  if (op == ReduceOp::kMin) RejectEmpty(a, v, "min");
  for (size_t in : {1, 2, 3}) a.NoAlias(4, "dx", in, in == 1 ? "x" : in == 2 ? "y" : "dy");
  a.Check(k::ReduceBackward(op, x, y, dy, dx, v.outer, v.dim, v.inner, a.Stream()));
  return info.Env().Undefined();
}

Napi::Value ArgReduce(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.argReduce", 6);
  const auto op = static_cast<ArgReduceOp>(a.Int(0, "op", 0, static_cast<int>(ArgReduceOp::kCount) - 1));
  const View v = ReadView(a, 3);
  const float* x = a.DevF32(1, "x", v.full);
  int32_t* out = a.DevI32(2, "out", v.out);
  RejectEmpty(a, v, op == ArgReduceOp::kArgMax ? "argMax" : "argMin");
  a.Check(k::ArgReduce(op, x, out, v.outer, v.dim, v.inner, a.Stream()));
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  Napi::Object cuda = CudaExports(env, exports);
  TB_CUDA_EXPORT(cuda, "reduce", Reduce);
  TB_CUDA_EXPORT(cuda, "reduceBackward", ReduceBackward);
  TB_CUDA_EXPORT(cuda, "argReduce", ArgReduce);
}

TB_NAPI_REGISTER(Register);

}  // namespace
}  // namespace tb::napi::cuda
