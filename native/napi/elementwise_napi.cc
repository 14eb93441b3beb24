// unary, unaryBackward, binary, binaryBackward, where, whereBackward, sumToStrides.
// Checks every buffer against the index space it is read or written over: read operands must hold
// the largest offset their strides reach; gradient outputs must be laid out by broadcast strides
// of a contiguous array of exactly their length, so every element is written once per reduction.
// Shapes and strides are host Int32Arrays on both devices.
#include <string>
#include <vector>

#include "common/ops.h"
#include "cpu/elementwise.h"
#include "napi/kernel.h"
#include "napi/pointwise_args.h"
#ifdef TENSORBOLT_CUDA
#include "cuda/elementwise.cuh"
#endif

namespace tb::napi {
namespace {

// Elements of an out shape, refusing sizes no typed array can hold.
int64_t Total(const ArgsBase& a, const std::vector<int64_t>& shape) {
  int64_t p = 1;
  for (auto d : shape) {
    if (d != 0 && p > (int64_t{1} << 40) / d) a.ThrowRange("out shape has too many elements");
    p *= d;
  }
  return p;
}

// A read operand at argument i with strides st over shape: its buffer must reach every offset.
template <class A>
const float* Operand(const A& a, size_t i, const char* name, const std::vector<int64_t>& shape,
                     const std::vector<int64_t>& st) {
  const float* p = a.F32(i, name);
  const int64_t need = ExtentOf(shape, st);
  if (a.Len(i) < need)
    a.ThrowRange(a.Where(i, name) + " has " + std::to_string(a.Len(i)) + " elements; its strides reach " +
                 std::to_string(need));
  return p;
}

// A gradient output at argument i (null allowed) with strides st over shape: the strides must be
// broadcast strides of a contiguous array (0 or the row-major stride on each axis of size > 1)
// whose size is the buffer's length.
template <class A>
float* GradOutput(const A& a, size_t i, const char* name, const std::vector<int64_t>& shape,
                  const std::vector<int64_t>& st) {
  if (a.IsNull(i)) return nullptr;
  float* p = a.F32(i, name);
  int64_t expect = 1;
  for (size_t k = shape.size(); k-- > 0;) {
    if (shape[k] == 1 || st[k] == 0) continue;
    if (st[k] != expect)
      a.ThrowRange(a.Where(i, name) + ": stride " + std::to_string(st[k]) + " on axis " + std::to_string(k) +
                   " is not a broadcast stride of a contiguous array (expected 0 or " + std::to_string(expect) + ")");
    expect *= shape[k];
  }
  if (a.Len(i) != expect)
    a.ThrowRange(a.Where(i, name) + " has " + std::to_string(a.Len(i)) + " elements, its strides describe " +
                 std::to_string(expect));
  return p;
}

// Whether strides st address a contiguous row-major array of shape (no broadcast axis): only then may
// an operand share memory with the output, element for element.
bool Contiguous(const std::vector<int64_t>& shape, const std::vector<int64_t>& st) {
  int64_t expect = 1;
  for (size_t k = shape.size(); k-- > 0;) {
    if (shape[k] != 1 && st[k] != expect) return false;
    expect *= shape[k];
  }
  return true;
}

UnaryOp UnaryCode(const ArgsBase& a, size_t i) {
  return static_cast<UnaryOp>(a.Int(i, "op", 0, static_cast<int>(UnaryOp::kCount) - 1));
}
BinaryOp BinaryCode(const ArgsBase& a, size_t i) {
  return static_cast<BinaryOp>(a.Int(i, "op", 0, static_cast<int>(BinaryOp::kCount) - 1));
}

// unary(op, x, out, p1, p2)
template <class A>
Napi::Value Unary(const Napi::CallbackInfo& info) {
  A a(info, "unary", 5);
  const UnaryOp op = UnaryCode(a, 0);
  const Pointwise p = ReadPointwise(a, 1, "out");
  const float p1 = static_cast<float>(a.Num(3, "p1")), p2 = static_cast<float>(a.Num(4, "p2"));
  TB_KERNEL(a, Unary, op, p.x, p.y, p.n, p1, p2);
  return info.Env().Undefined();
}

// unaryBackward(op, x, y, dy, dx, p1, p2)
template <class A>
Napi::Value UnaryBackward(const Napi::CallbackInfo& info) {
  A a(info, "unaryBackward", 7);
  const UnaryOp op = UnaryCode(a, 0);
  const PointwiseGrad g = ReadPointwiseGrad(a, 1);
  const float p1 = static_cast<float>(a.Num(5, "p1")), p2 = static_cast<float>(a.Num(6, "p2"));
  TB_KERNEL(a, UnaryBackward, op, g.x, g.y, g.dy, g.dx, g.n, p1, p2);
  return info.Env().Undefined();
}

// binary(op, a, aStrides, b, bStrides, out, outShape)
template <class A>
Napi::Value Binary(const Napi::CallbackInfo& info) {
  A a(info, "binary", 7);
  const BinaryOp op = BinaryCode(a, 0);
  const auto shape = a.Shape(6, "outShape");
  const auto as = a.Strides(2, "aStrides", shape.size());
  const auto bs = a.Strides(4, "bStrides", shape.size());
  const float* pa = Operand(a, 1, "a", shape, as);
  const float* pb = Operand(a, 3, "b", shape, bs);
  float* out = a.F32(5, "out", Total(a, shape));
  a.NoOverlap(5, "out", 1, "a", Contiguous(shape, as));
  a.NoOverlap(5, "out", 3, "b", Contiguous(shape, bs));
  TB_KERNEL(a, Binary, op, pa, as.data(), pb, bs.data(), out, shape.data(), static_cast<int>(shape.size()));
  return info.Env().Undefined();
}

// binaryBackward(op, a, aStrides, b, bStrides, dy, outShape, da, db)
template <class A>
Napi::Value BinaryBackward(const Napi::CallbackInfo& info) {
  A a(info, "binaryBackward", 9);
  const BinaryOp op = BinaryCode(a, 0);
  if (!cpu::IsDifferentiable(op))
    a.ThrowRange("op " + std::to_string(static_cast<int>(op)) + " is a comparison and has no gradient");
  const auto shape = a.Shape(6, "outShape");
  const auto as = a.Strides(2, "aStrides", shape.size());
  const auto bs = a.Strides(4, "bStrides", shape.size());
  const float* pa = Operand(a, 1, "a", shape, as);
  const float* pb = Operand(a, 3, "b", shape, bs);
  const float* dy = a.F32(5, "dy", Total(a, shape));
  float* da = GradOutput(a, 7, "da", shape, as);
  float* db = GradOutput(a, 8, "db", shape, bs);
  a.OutputsDisjoint({{7, "da"}, {8, "db"}}, {{1, "a"}, {3, "b"}, {5, "dy"}});
  TB_KERNEL(a, BinaryBackward, op, pa, as.data(), pb, bs.data(), dy, shape.data(), static_cast<int>(shape.size()), da,
            da ? a.Len(7) : 0, db, db ? a.Len(8) : 0);
  return info.Env().Undefined();
}

// where(cond, cStrides, a, aStrides, b, bStrides, out, outShape)
template <class A>
Napi::Value Where(const Napi::CallbackInfo& info) {
  A a(info, "where", 8);
  const auto shape = a.Shape(7, "outShape");
  const auto cs = a.Strides(1, "cStrides", shape.size());
  const auto as = a.Strides(3, "aStrides", shape.size());
  const auto bs = a.Strides(5, "bStrides", shape.size());
  const float* pc = Operand(a, 0, "cond", shape, cs);
  const float* pa = Operand(a, 2, "a", shape, as);
  const float* pb = Operand(a, 4, "b", shape, bs);
  float* out = a.F32(6, "out", Total(a, shape));
  a.NoOverlap(6, "out", 0, "cond", Contiguous(shape, cs));
  a.NoOverlap(6, "out", 2, "a", Contiguous(shape, as));
  a.NoOverlap(6, "out", 4, "b", Contiguous(shape, bs));
  TB_KERNEL(a, Where, pc, cs.data(), pa, as.data(), pb, bs.data(), out, shape.data(), static_cast<int>(shape.size()));
  return info.Env().Undefined();
}

// whereBackward(cond, cStrides, dy, outShape, da, aStrides, db, bStrides)
template <class A>
Napi::Value WhereBackward(const Napi::CallbackInfo& info) {
  A a(info, "whereBackward", 8);
  const auto shape = a.Shape(3, "outShape");
  const auto cs = a.Strides(1, "cStrides", shape.size());
  const auto as = a.Strides(5, "aStrides", shape.size());
  const auto bs = a.Strides(7, "bStrides", shape.size());
  const float* pc = Operand(a, 0, "cond", shape, cs);
  const float* dy = a.F32(2, "dy", Total(a, shape));
  float* da = GradOutput(a, 4, "da", shape, as);
  float* db = GradOutput(a, 6, "db", shape, bs);
  a.OutputsDisjoint({{4, "da"}, {6, "db"}}, {{0, "cond"}, {2, "dy"}});
  TB_KERNEL(a, WhereBackward, pc, cs.data(), dy, shape.data(), static_cast<int>(shape.size()), da, as.data(),
            da ? a.Len(4) : 0, db, bs.data(), db ? a.Len(6) : 0);
  return info.Env().Undefined();
}

// sumToStrides(src, srcShape, dst, dstStrides)
template <class A>
Napi::Value SumToStrides(const Napi::CallbackInfo& info) {
  A a(info, "sumToStrides", 4);
  const auto shape = a.Shape(1, "srcShape");
  const float* src = a.F32(0, "src", Total(a, shape));
  const auto ds = a.Strides(3, "dstStrides", shape.size());
  if (a.IsNull(2)) a.Throw(a.Where(2, "dst") + " must be " + A::KindName(false));
  float* dst = GradOutput(a, 2, "dst", shape, ds);
  a.NoOverlap(2, "dst", 0, "src");
  TB_KERNEL(a, SumToStrides, src, shape.data(), static_cast<int>(shape.size()), dst, ds.data(), a.Len(2));
  return info.Env().Undefined();
}

template <class A>
void Register(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "unary", Unary<A>);
  Export(env, exports, "unaryBackward", UnaryBackward<A>);
  Export(env, exports, "binary", Binary<A>);
  Export(env, exports, "binaryBackward", BinaryBackward<A>);
  Export(env, exports, "where", Where<A>);
  Export(env, exports, "whereBackward", WhereBackward<A>);
  Export(env, exports, "sumToStrides", SumToStrides<A>);
}

TB_NAPI_REGISTER_KERNELS(Register);

}  // namespace
}  // namespace tb::napi
