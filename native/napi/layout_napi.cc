// copyStrided(src, srcOffset, srcStrides, dst, dstOffset, dstStrides, shape, accumulate)
// gather(x, indices, y, outer, dim, inner)
// gatherBackward(dy, indices, dx, outer, dim, inner)
// oneHot(indices, out, depth, on, off)
// On the device an index outside its range is found by the kernel and reported by the next
// download or synchronize (cuda/runtime.cuh); on the CPU it throws here.
#include <cstdint>
#include <string>
#include <vector>

#include "cpu/layout.h"
#include "napi/gather_rows.h"
#include "napi/kernel.h"
#ifdef TENSORBOLT_CUDA
#include "cuda/layout.cuh"
#endif

namespace tb::napi {
namespace {

constexpr int64_t kMaxOffset = INT64_C(1) << 40;

// Checks that offset + every index·strides over shape stays inside a buffer of len elements, and
// returns the reachable span [offset, offset + extent). Each term is bounded before summing, so
// huge sizes or strides cannot overflow the check.
int64_t CheckReach(const ArgsBase& a, const char* name, int64_t len, int64_t offset, const std::vector<int64_t>& shape,
                   const std::vector<int64_t>& strides) {
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] > 1 && strides[i] > 0 && (shape[i] - 1) > (len - 1) / strides[i])
      a.ThrowRange(std::string(name) + ": axis " + std::to_string(i) + " (size " + std::to_string(shape[i]) +
                   ", stride " + std::to_string(strides[i]) + ") reaches past its " + std::to_string(len) +
                   " elements");
  const int64_t extent = ExtentOf(shape, strides);
  if (offset + extent > len)
    a.ThrowRange(std::string(name) + ": offset " + std::to_string(offset) + " + extent " + std::to_string(extent) +
                 " reaches past its " + std::to_string(len) + " elements");
  return extent;
}

template <class A>
Napi::Value CopyStrided(const Napi::CallbackInfo& info) {
  A a(info, "copyStrided", 8);
  int64_t srcLen = 0, dstLen = 0;
  bool srcInt = false, dstInt = false;
  void* src = a.Any32(0, "src", &srcLen, &srcInt);
  const int64_t srcOff = a.Int(1, "srcOffset", 0, kMaxOffset);
  void* dst = a.Any32(3, "dst", &dstLen, &dstInt);
  const int64_t dstOff = a.Int(4, "dstOffset", 0, kMaxOffset);
  if (srcInt != dstInt)
    a.Throw(std::string("src is ") + A::KindName(srcInt) + " but dst is " + A::KindName(dstInt) +
            "; both must hold the same element type");
  const std::vector<int64_t> shape = a.Shape(6, "shape");
  const std::vector<int64_t> ss = a.Strides(2, "srcStrides", shape.size());
  const std::vector<int64_t> ds = a.Strides(5, "dstStrides", shape.size());
  const bool acc = a.Bool(7, "accumulate");
  for (auto d : shape)
    if (d == 0) return info.Env().Undefined();
  const int64_t srcExt = CheckReach(a, "src", srcLen, srcOff, shape, ss);
  const int64_t dstExt = CheckReach(a, "dst", dstLen, dstOff, shape, ds);
  // Overlapping regions would make the result depend on the copy order (and on threads).
  const auto* s0 = static_cast<const char*>(src) + srcOff * 4;
  const auto* d0 = static_cast<const char*>(dst) + dstOff * 4;
  if (s0 < d0 + dstExt * 4 && d0 < s0 + srcExt * 4)
    a.ThrowRange("the src and dst regions overlap; copy through a separate buffer");
  const int nd = static_cast<int>(shape.size());
  if (srcInt)
    TB_KERNEL(a, CopyStrided, static_cast<const int32_t*>(src) + srcOff, ss.data(), static_cast<int32_t*>(dst) + dstOff,
              ds.data(), shape.data(), nd, acc);
  else
    TB_KERNEL(a, CopyStrided, static_cast<const float*>(src) + srcOff, ss.data(), static_cast<float*>(dst) + dstOff,
              ds.data(), shape.data(), nd, acc);
  return info.Env().Undefined();
}

template <class A>
Napi::Value Gather(const Napi::CallbackInfo& info) {
  A a(info, "gather", 6);
  const int32_t* idx = a.I32(1, "indices");
  const GatherCall c = ReadRows(a, 0, "x", 2, "y", idx, a.Len(1), a.Int(3, "outer"), a.Int(4, "dim"), a.Int(5, "inner"));
  a.OutputsDisjoint({{2, "y"}}, {{0, "x"}, {1, "indices"}});
  if (c.isInt)
    TB_KERNEL(a, Gather, static_cast<const int32_t*>(c.x), c.idx, c.n, static_cast<int32_t*>(c.y), c.outer, c.dim,
              c.inner);
  else
    TB_KERNEL(a, Gather, static_cast<const float*>(c.x), c.idx, c.n, static_cast<float*>(c.y), c.outer, c.dim, c.inner);
  return info.Env().Undefined();
}

template <class A>
Napi::Value GatherBackward(const Napi::CallbackInfo& info) {
  A a(info, "gatherBackward", 6);
  const int32_t* idx = a.I32(1, "indices");
  const int64_t n = a.Len(1);
  const int64_t outer = a.Int(3, "outer"), dim = a.Int(4, "dim"), inner = a.Int(5, "inner");
  const float* dy = a.F32(0, "dy", CheckedProduct(a, {outer, n, inner}));
  float* dx = a.F32(2, "dx", CheckedProduct(a, {outer, dim, inner}));
  a.OutputsDisjoint({{2, "dx"}}, {{0, "dy"}, {1, "indices"}});
  TB_KERNEL(a, GatherBackward, dy, idx, n, dx, outer, dim, inner);
  return info.Env().Undefined();
}

template <class A>
Napi::Value OneHot(const Napi::CallbackInfo& info) {
  A a(info, "oneHot", 5);
  const int32_t* idx = a.I32(0, "indices");
  const int64_t n = a.Len(0);
  const int64_t depth = a.Int(2, "depth");
  float* out = a.F32(1, "out", CheckedProduct(a, {n, depth}));
  const float on = static_cast<float>(a.Num(3, "on")), off = static_cast<float>(a.Num(4, "off"));
  a.NoOverlap(1, "out", 0, "indices");
  TB_KERNEL(a, OneHot, idx, n, out, depth, on, off);
  return info.Env().Undefined();
}

template <class A>
void Register(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "copyStrided", CopyStrided<A>);
  Export(env, exports, "gather", Gather<A>);
  Export(env, exports, "gatherBackward", GatherBackward<A>);
  Export(env, exports, "oneHot", OneHot<A>);
}

TB_NAPI_REGISTER_KERNELS(Register);

}  // namespace
}  // namespace tb::napi
