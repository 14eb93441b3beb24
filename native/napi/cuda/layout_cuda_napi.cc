// cuda.copyStrided(src, srcOffset, srcStrides, dst, dstOffset, dstStrides, shape, accumulate),
// cuda.gather(x, indices, y, outer, dim, inner), cuda.gatherBackward(dy, indices, dx, outer, dim, inner),
// cuda.oneHot(indices, out, depth, on, off). Indices are int32 device buffers; an index outside its
// range is found on the device and reported by the next download (runtime.cuh).
#include <cstdint>
#include <string>
#include <vector>

#include "cuda/layout.cuh"
#include "napi/cuda/device_args.h"
#include "napi/register.h"

namespace tb::napi::cuda {
namespace {

namespace k = ::tb::cuda;

constexpr int64_t kMaxOffset = INT64_C(1) << 40;

// offset + every index·strides over shape must stay inside len elements; returns the extent.
int64_t CheckReach(const DevArgs& a, const char* name, int64_t len, int64_t offset, const std::vector<int64_t>& shape,
                   const std::vector<int64_t>& strides) {
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] > 1 && strides[i] > 0 && (shape[i] - 1) > (len - 1) / strides[i])
      a.ThrowRange(std::string(name) + ": axis " + std::to_string(i) + " (size " + std::to_string(shape[i]) +
                   ", stride " + std::to_string(strides[i]) + ") reaches past its " + std::to_string(len) + " elements");
  const int64_t extent = ExtentOf(shape, strides);
  if (offset + extent > len)
    a.ThrowRange(std::string(name) + ": offset " + std::to_string(offset) + " + extent " + std::to_string(extent) +
                 " reaches past its " + std::to_string(len) + " elements");
  return extent;
}

Napi::Value CopyStrided(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.copyStrided", 8);
  int64_t srcLen = 0, dstLen = 0;
  bool srcInt = false, dstInt = false;
  void* src = a.DevAny32(0, "src", &srcLen, &srcInt);
  const int64_t srcOff = a.Int(1, "srcOffset", 0, kMaxOffset);
  void* dst = a.DevAny32(3, "dst", &dstLen, &dstInt);
  const int64_t dstOff = a.Int(4, "dstOffset", 0, kMaxOffset);
  if (srcInt != dstInt) a.Throw("src and dst must hold the same element type (both float32 or both int32)");
  const std::vector<int64_t> shape = a.Shape(6, "shape");
  const std::vector<int64_t> ss = a.Strides(2, "srcStrides", shape.size());
  const std::vector<int64_t> ds = a.Strides(5, "dstStrides", shape.size());
  const bool acc = a.Bool(7, "accumulate");
  for (auto d : shape)
    if (d == 0) return info.Env().Undefined();
  const int64_t srcExt = CheckReach(a, "src", srcLen, srcOff, shape, ss);
  const int64_t dstExt = CheckReach(a, "dst", dstLen, dstOff, shape, ds);
  if (src == dst && srcOff < dstOff + dstExt && dstOff < srcOff + srcExt)
    a.ThrowRange("the src and dst regions overlap; copy through a separate buffer");
  if (srcInt)
    a.Check(k::CopyStrided(static_cast<const int32_t*>(src) + srcOff, ss.data(), static_cast<int32_t*>(dst) + dstOff,
                           ds.data(), shape.data(), static_cast<int>(shape.size()), acc, a.Stream()));
  else
    a.Check(k::CopyStrided(static_cast<const float*>(src) + srcOff, ss.data(), static_cast<float*>(dst) + dstOff,
                           ds.data(), shape.data(), static_cast<int>(shape.size()), acc, a.Stream()));
  return info.Env().Undefined();
}

// An index set with no valid target: the CPU kernels report the first index; so do we, up front.
void RejectEmptyRange(const DevArgs& a, int64_t n, int64_t limit, const char* what) {
  if (n > 0 && limit == 0) a.ThrowRange(std::string("every index is outside [0, 0) of ") + what);
}

Napi::Value Gather(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.gather", 6);
  int64_t xLen = 0, yLen = 0;
  bool xInt = false, yInt = false;
  void* x = a.DevAny32(0, "x", &xLen, &xInt);
  const int32_t* idx = a.DevI32(1, "indices");
  const int64_t n = a.DevLen(1);
  void* y = a.DevAny32(2, "y", &yLen, &yInt);
  if (xInt != yInt) a.Throw("x and y must both be float32 or both int32");
  const int64_t outer = a.Int(3, "outer"), dim = a.Int(4, "dim"), inner = a.Int(5, "inner");
  const int64_t needX = CheckedProduct(a, {outer, dim, inner}), needY = CheckedProduct(a, {outer, n, inner});
  if (xLen != needX)
    a.ThrowRange("x has " + std::to_string(xLen) + " elements, expected outer*dim*inner = " + std::to_string(needX));
  if (yLen != needY)
    a.ThrowRange("y has " + std::to_string(yLen) + " elements, expected outer*nIdx*inner = " + std::to_string(needY));
  RejectEmptyRange(a, n, dim, "dim");
  a.NoAlias(2, "y", 0, "x");
  a.NoAlias(2, "y", 1, "indices");
  if (xInt)
    a.Check(k::Gather(static_cast<const int32_t*>(x), idx, n, static_cast<int32_t*>(y), outer, dim, inner, a.Stream()));
  else
    a.Check(k::Gather(static_cast<const float*>(x), idx, n, static_cast<float*>(y), outer, dim, inner, a.Stream()));
  return info.Env().Undefined();
}

Napi::Value GatherBackward(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.gatherBackward", 6);
  const int32_t* idx = a.DevI32(1, "indices");
  const int64_t n = a.DevLen(1);
  const int64_t outer = a.Int(3, "outer"), dim = a.Int(4, "dim"), inner = a.Int(5, "inner");
  const float* dy = a.DevF32(0, "dy", CheckedProduct(a, {outer, n, inner}));
  float* dx = a.DevF32(2, "dx", CheckedProduct(a, {outer, dim, inner}));
  RejectEmptyRange(a, n, dim, "dim");
  a.NoAlias(2, "dx", 0, "dy");
  a.Check(k::GatherBackward(dy, idx, n, dx, outer, dim, inner, a.Stream()));
  return info.Env().Undefined();
}

Napi::Value OneHot(const Napi::CallbackInfo& info) {
  DevArgs a(info, "cuda.oneHot", 5);
  const int32_t* idx = a.DevI32(0, "indices");
  const int64_t n = a.DevLen(0);
  const int64_t depth = a.Int(2, "depth");
  float* out = a.DevF32(1, "out", CheckedProduct(a, {n, depth}));
  const float on = static_cast<float>(a.Num(3, "on")), off = static_cast<float>(a.Num(4, "off"));
  RejectEmptyRange(a, n, depth, "depth");
  a.Check(k::OneHot(idx, n, out, depth, on, off, a.Stream()));
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  Napi::Object cuda = CudaExports(env, exports);
  TB_CUDA_EXPORT(cuda, "copyStrided", CopyStrided);
  TB_CUDA_EXPORT(cuda, "gather", Gather);
  TB_CUDA_EXPORT(cuda, "gatherBackward", GatherBackward);
  TB_CUDA_EXPORT(cuda, "oneHot", OneHot);
}

TB_NAPI_REGISTER(Register);

}  // namespace
}  // namespace tb::napi::cuda
