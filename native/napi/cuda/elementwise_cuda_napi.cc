// cuda.unary, unaryBackward, binary, binaryBackward, where, whereBackward, sumToStrides: the CPU
// functions' contracts (native/napi/elementwise_napi.cc) over device buffers; shapes and strides
// stay host Int32Arrays. Read operands must reach every offset their strides address; gradient
// outputs must be laid out by broadcast strides of a contiguous array of exactly their length.
#include <string>
#include <vector>

#include "common/ops.h"
#include "cuda/elementwise.cuh"
#include "napi/cuda/device_args.h"
#include "napi/register.h"

namespace tb::napi::cuda {
namespace {

namespace k = ::tb::cuda;

int64_t Total(const DevArgs& a, const std::vector<int64_t>& shape) {
  int64_t p = 1;
  for (auto d : shape) {
    if (d != 0 && p > (int64_t{1} << 40) / d) a.ThrowRange("out shape has too many elements");
    p *= d;
  }
  return p;
}

const float* Operand(const DevArgs& a, size_t i, const char* name, const std::vector<int64_t>& shape,
                     const std::vector<int64_t>& st) {
  const float* p = a.DevF32(i, name);
  const int64_t need = ExtentOf(shape, st);
  if (a.DevLen(i) < need)
    a.ThrowRange(a.Where(i, name) + " has " + std::to_string(a.DevLen(i)) + " elements; its strides reach " +
                 std::to_string(need));
  return p;
}

float* GradOutput(const DevArgs& a, size_t i, const char* name, const std::vector<int64_t>& shape,
                  const std::vector<int64_t>& st) {
  if (a.IsNull(i)) return nullptr;
  float* p = a.DevF32(i, name);
  int64_t expect = 1;
  for (size_t k = shape.size(); k-- > 0;) {
    if (shape[k] == 1 || st[k] == 0) continue;
    if (st[k] != expect)
      a.ThrowRange(a.Where(i, name) + ": stride " + std::to_string(st[k]) + " on axis " + std::to_string(k) +
                   " is not a broadcast stride of a contiguous array (expected 0 or " + std::to_string(expect) + ")");
    expect *= shape[k];
  }
  if (a.DevLen(i) != expect)
    a.ThrowRange(a.Where(i, name) + " has " + std::to_string(a.DevLen(i)) + " elements, its strides describe " +
                 std::to_string(expect));
  return p;
}

// An output must not be one of the inputs (the kernels read inputs at other offsets than they write).
void NotInput(const DevArgs& a, size_t out, const char* name, std::initializer_list<size_t> ins) {
  for (size_t i : ins)
    if (a.Same(out, i)) a.Throw(std::string(name) + " must not be the same buffer as " + a.Where(i, "an input"));
}

UnaryOp UnaryCode(const DevArgs& a, size_t i) {
  return static_cast<UnaryOp>(a.Int(i, "op", 0, static_cast<int>(UnaryOp::kCount) - 1));
}
BinaryOp BinaryCode(const DevArgs& a, size_t i) {
  return static_cast<BinaryOp>(a.Int(i, "op", 0, static_cast<int>(BinaryOp::kCount) - 1));
}
bool Differentiable(BinaryOp op) { return static_cast<int>(op) <= static_cast<int>(BinaryOp::kMinimum); }

Napi::Value Unary(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.unary", 5);
  const UnaryOp op = UnaryCode(a, 0);
  const float* x = a.DevF32(1, "x");
  const int64_t n = a.DevLen(1);
  float* out = a.DevF32(2, "out", n);
  const float p1 = static_cast<float>(a.Num(3, "p1")), p2 = static_cast<float>(a.Num(4, "p2"));
  a.Check(k::Unary(op, x, out, n, p1, p2, a.Stream()));
  return info.Env().Undefined();
}

Napi::Value UnaryBackward(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.unaryBackward", 7);
  const UnaryOp op = UnaryCode(a, 0);
  const float* x = a.DevF32(1, "x");
  const int64_t n = a.DevLen(1);
  const float* y = a.DevF32(2, "y", n);
  const float* dy = a.DevF32(3, "dy", n);
  float* dx = a.DevF32(4, "dx", n);
  const float p1 = static_cast<float>(a.Num(5, "p1")), p2 = static_cast<float>(a.Num(6, "p2"));
  a.Check(k::UnaryBackward(op, x, y, dy, dx, n, p1, p2, a.Stream()));
  return info.Env().Undefined();
}

Napi::Value Binary(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.binary", 7);
  const BinaryOp op = BinaryCode(a, 0);
  const auto shape = a.Shape(6, "outShape");
  const auto as = a.Strides(2, "aStrides", shape.size());
  const auto bs = a.Strides(4, "bStrides", shape.size());
  const float* A = Operand(a, 1, "a", shape, as);
  const float* B = Operand(a, 3, "b", shape, bs);
  float* out = a.DevF32(5, "out", Total(a, shape));
  a.Check(k::Binary(op, A, as.data(), B, bs.data(), out, shape.data(), static_cast<int>(shape.size()), a.Stream()));
  return info.Env().Undefined();
}

Napi::Value BinaryBackward(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.binaryBackward", 9);
  const BinaryOp op = BinaryCode(a, 0);
  if (!Differentiable(op))
    a.ThrowRange("op " + std::to_string(static_cast<int>(op)) + " is a comparison and has no gradient");
  const auto shape = a.Shape(6, "outShape");
  const auto as = a.Strides(2, "aStrides", shape.size());
  const auto bs = a.Strides(4, "bStrides", shape.size());
  const float* A = Operand(a, 1, "a", shape, as);
  const float* B = Operand(a, 3, "b", shape, bs);
  const float* dy = a.DevF32(5, "dy", Total(a, shape));
  float* da = GradOutput(a, 7, "da", shape, as);
  float* db = GradOutput(a, 8, "db", shape, bs);
  NotInput(a, 7, "da", {1, 3, 5});
  NotInput(a, 8, "db", {1, 3, 5, 7});
  a.Check(k::BinaryBackward(op, A, as.data(), B, bs.data(), dy, shape.data(), static_cast<int>(shape.size()), da,
                            da ? a.DevLen(7) : 0, db, db ? a.DevLen(8) : 0, a.Stream()));
  return info.Env().Undefined();
}

Napi::Value Where(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.where", 8);
  const auto shape = a.Shape(7, "outShape");
  const auto cs = a.Strides(1, "cStrides", shape.size());
  const auto as = a.Strides(3, "aStrides", shape.size());
  const auto bs = a.Strides(5, "bStrides", shape.size());
  const float* C = Operand(a, 0, "cond", shape, cs);
  const float* A = Operand(a, 2, "a", shape, as);
  const float* B = Operand(a, 4, "b", shape, bs);
  float* out = a.DevF32(6, "out", Total(a, shape));
  a.Check(k::Where(C, cs.data(), A, as.data(), B, bs.data(), out, shape.data(), static_cast<int>(shape.size()),
                   a.Stream()));
  return info.Env().Undefined();
}

Napi::Value WhereBackward(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.whereBackward", 8);
  const auto shape = a.Shape(3, "outShape");
  const auto cs = a.Strides(1, "cStrides", shape.size());
  const auto as = a.Strides(5, "aStrides", shape.size());
  const auto bs = a.Strides(7, "bStrides", shape.size());
  const float* C = Operand(a, 0, "cond", shape, cs);
  const float* dy = a.DevF32(2, "dy", Total(a, shape));
  float* da = GradOutput(a, 4, "da", shape, as);
  float* db = GradOutput(a, 6, "db", shape, bs);
  NotInput(a, 4, "da", {0, 2});
  NotInput(a, 6, "db", {0, 2, 4});
  a.Check(k::WhereBackward(C, cs.data(), dy, shape.data(), static_cast<int>(shape.size()), da, as.data(),
                           da ? a.DevLen(4) : 0, db, bs.data(), db ? a.DevLen(6) : 0, a.Stream()));
  return info.Env().Undefined();
}

Napi::Value SumToStrides(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.sumToStrides", 4);
  const auto shape = a.Shape(1, "srcShape");
  const float* src = a.DevF32(0, "src", Total(a, shape));
  const auto ds = a.Strides(3, "dstStrides", shape.size());
  if (a.IsNull(2)) a.Throw(a.Where(2, "dst") + " must be a CUDA device buffer");
  float* dst = GradOutput(a, 2, "dst", shape, ds);
  NotInput(a, 2, "dst", {0});
  a.Check(k::SumToStrides(src, shape.data(), static_cast<int>(shape.size()), dst, ds.data(), a.DevLen(2), a.Stream()));
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  Napi::Object cuda = CudaExports(env, exports);
  TB_CUDA_EXPORT(cuda, "unary", Unary);
  TB_CUDA_EXPORT(cuda, "unaryBackward", UnaryBackward);
  TB_CUDA_EXPORT(cuda, "binary", Binary);
  TB_CUDA_EXPORT(cuda, "binaryBackward", BinaryBackward);
  TB_CUDA_EXPORT(cuda, "where", Where);
  TB_CUDA_EXPORT(cuda, "whereBackward", WhereBackward);
  TB_CUDA_EXPORT(cuda, "sumToStrides", SumToStrides);
}

TB_NAPI_REGISTER(Register);

}  // namespace
}  // namespace tb::napi::cuda
