// copyStrided(src, srcOffset, srcStrides, dst, dstOffset, dstStrides, shape, accumulate)
// gather(x, indices, y, outer, dim, inner)
// gatherPairAsync(xa, ya, innerA, xb, yb, innerB, indices, dim) -> Promise<void>
// gatherBackward(dy, indices, dx, outer, dim, inner)
// oneHot(indices, out, depth, on, off)
#include <cstdint>
#include <string>
#include <vector>

#include "cpu/layout.h"
#include "napi/args.h"
#include "napi/register.h"

namespace tb::napi {
namespace {

constexpr int64_t kMaxOffset = INT64_C(1) << 40;

// Checks that offset + every index·strides over shape stays inside a buffer of len elements, and
// returns the reachable span [offset, offset + extent). Each term is bounded before summing, so
// huge sizes or strides cannot overflow the check.
int64_t CheckReach(const Args& a, const char* name, int64_t len, int64_t offset, const std::vector<int64_t>& shape,
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

Napi::Value CopyStrided(const Napi::CallbackInfo& info) {
  Args a(info, "copyStrided", 8);
  int64_t srcLen = 0, dstLen = 0;
  bool srcInt = false, dstInt = false;
  void* src = a.Any32(0, "src", &srcLen, &srcInt);
  const int64_t srcOff = a.Int(1, "srcOffset", 0, kMaxOffset);
  void* dst = a.Any32(3, "dst", &dstLen, &dstInt);
  const int64_t dstOff = a.Int(4, "dstOffset", 0, kMaxOffset);
  if (srcInt != dstInt)
    a.Throw(std::string("src is ") + (srcInt ? "an Int32Array" : "a Float32Array") + " but dst is " +
            (dstInt ? "an Int32Array" : "a Float32Array") + "; both must hold the same element type");
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
  if (srcInt)
    cpu::CopyStrided(static_cast<const int32_t*>(src) + srcOff, ss.data(), static_cast<int32_t*>(dst) + dstOff,
                     ds.data(), shape.data(), static_cast<int>(shape.size()), acc);
  else
    cpu::CopyStrided(static_cast<const float*>(src) + srcOff, ss.data(), static_cast<float*>(dst) + dstOff,
                     ds.data(), shape.data(), static_cast<int>(shape.size()), acc);
  return info.Env().Undefined();
}

// The arguments of a gather: rows `idx` (n of them) of x (outer, dim, inner) into y (outer, n, inner).
struct GatherCall {
  void* x;
  const int32_t* idx;
  int64_t n;
  void* y;
  bool isInt;
  int64_t outer, dim, inner;
};

// x and y at arguments xi and yi: both Float32Array or both Int32Array, of the sizes the dims ask for.
// The indices are not checked here: cpu::Gather checks them before it copies anything.
GatherCall ReadRows(const Args& a, size_t xi, const char* xn, size_t yi, const char* yn, const int32_t* idx,
                    int64_t n, int64_t outer, int64_t dim, int64_t inner) {
  GatherCall c{nullptr, idx, n, nullptr, false, outer, dim, inner};
  int64_t xLen = 0, yLen = 0;
  bool yInt = false;
  c.x = a.Any32(xi, xn, &xLen, &c.isInt);
  c.y = a.Any32(yi, yn, &yLen, &yInt);
  if (c.isInt != yInt) a.Throw(std::string(xn) + " and " + yn + " must both be Float32Array or both Int32Array");
  const int64_t needX = CheckedProduct(a, {outer, dim, inner}), needY = CheckedProduct(a, {outer, n, inner});
  const auto dims = [&](int64_t mid) {
    return " (" + std::to_string(outer) + " x " + std::to_string(mid) + " x " + std::to_string(inner) + ")";
  };
  if (xLen != needX)
    a.ThrowRange(std::string(xn) + " has " + std::to_string(xLen) + " elements, expected " + std::to_string(needX) + dims(dim));
  if (yLen != needY)
    a.ThrowRange(std::string(yn) + " has " + std::to_string(yLen) + " elements, expected " + std::to_string(needY) + dims(n));
  return c;
}

GatherCall ReadGather(const Args& a) {
  const int32_t* idx = a.I32(1, "indices");
  const GatherCall c = ReadRows(a, 0, "x", 2, "y", idx, a.Len(1), a.Int(3, "outer"), a.Int(4, "dim"), a.Int(5, "inner"));
  a.OutputsDisjoint({{2, "y"}}, {{0, "x"}, {1, "indices"}});
  return c;
}

Status RunGather(const GatherCall& c, bool threaded) {
  return c.isInt ? cpu::Gather(static_cast<const int32_t*>(c.x), c.idx, c.n, static_cast<int32_t*>(c.y), c.outer,
                               c.dim, c.inner, threaded)
                 : cpu::Gather(static_cast<const float*>(c.x), c.idx, c.n, static_cast<float*>(c.y), c.outer, c.dim,
                               c.inner, threaded);
}

Napi::Value Gather(const Napi::CallbackInfo& info) {
  Args a(info, "gather", 6);
  const Status s = RunGather(ReadGather(a), true);
  if (!s.ok) a.ThrowRange(s.message);
  return info.Env().Undefined();
}

// Rows `indices` of two arrays at once (a batch's x and y), on a libuv worker thread, resolving a
// promise when done: fit gathers the next shuffled batch (rows scattered over a data set far larger
// than the caches, so mostly waiting on DRAM) while the current batch trains. One worker for both
// arrays: each queued worker costs the main thread about 7 us to create and a completion callback.
// The worker holds references to the four arrays, so the objects outlive it, and copies the indices
// (a batch's worth). A reference does not keep an ArrayBuffer's memory: whoever can reach a buffer
// can transfer (detach) it while the worker reads, and N-API has no way to pin it. So callers pass
// only memory nobody else holds (lib/train/batches.ts: never a tb.tensor over the user's array).
class GatherPairWorker : public Napi::AsyncWorker {
 public:
  GatherPairWorker(Napi::Env env, const GatherCall& a, const GatherCall& b, const Napi::CallbackInfo& info)
      : Napi::AsyncWorker(env, "tensorbolt.gatherPairAsync"), a_(a), b_(b), idx_(a.idx, a.idx + a.n),
        deferred_(Napi::Promise::Deferred::New(env)) {
    a_.idx = b_.idx = idx_.data();
    for (int i = 0; i < 4; ++i) refs_[i] = Napi::Persistent(info[kArrays[i]].As<Napi::Object>());
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    // One thread: the OpenMP team belongs to the training thread.
    Status s = RunGather(a_, false);
    if (s.ok) s = RunGather(b_, false);
    if (!s.ok) SetError("tensorbolt.gatherPairAsync: " + s.message);
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  static constexpr int kArrays[4] = {0, 1, 3, 4};  // xa, ya, xb, yb
  GatherCall a_, b_;
  std::vector<int32_t> idx_;
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference refs_[4];
};

// gatherPairAsync(xa, ya, innerA, xb, yb, innerB, indices, dim) -> Promise<void>
Napi::Value GatherPairAsync(const Napi::CallbackInfo& info) {
  Args a(info, "gatherPairAsync", 8);
  const int32_t* idx = a.I32(6, "indices");
  const int64_t n = a.Len(6), dim = a.Int(7, "dim");
  const GatherCall ca = ReadRows(a, 0, "xa", 1, "ya", idx, n, 1, dim, a.Int(2, "innerA"));
  const GatherCall cb = ReadRows(a, 3, "xb", 4, "yb", idx, n, 1, dim, a.Int(5, "innerB"));
  a.OutputsDisjoint({{1, "ya"}, {4, "yb"}}, {{0, "xa"}, {3, "xb"}, {6, "indices"}});
  // Checked at the call as well, so that a bad index throws here instead of rejecting later.
  const Status s = cpu::CheckIndices(idx, n, dim, "dim");
  if (!s.ok) a.ThrowRange(s.message);
  auto* w = new GatherPairWorker(info.Env(), ca, cb, info);
  Napi::Promise p = w->Promise();
  w->Queue();  // deletes itself once settled
  return p;
}

Napi::Value GatherBackward(const Napi::CallbackInfo& info) {
  Args a(info, "gatherBackward", 6);
  const int32_t* idx = a.I32(1, "indices");
  const int64_t n = a.Len(1);
  const int64_t outer = a.Int(3, "outer"), dim = a.Int(4, "dim"), inner = a.Int(5, "inner");
  const float* dy = a.F32(0, "dy", CheckedProduct(a, {outer, n, inner}));
  float* dx = a.F32(2, "dx", CheckedProduct(a, {outer, dim, inner}));
  a.OutputsDisjoint({{2, "dx"}}, {{0, "dy"}, {1, "indices"}});
  const Status s = cpu::GatherBackward(dy, idx, n, dx, outer, dim, inner);
  if (!s.ok) a.ThrowRange(s.message);
  return info.Env().Undefined();
}

Napi::Value OneHot(const Napi::CallbackInfo& info) {
  Args a(info, "oneHot", 5);
  const int32_t* idx = a.I32(0, "indices");
  const int64_t n = a.Len(0);
  const int64_t depth = a.Int(2, "depth");
  float* out = a.F32(1, "out", CheckedProduct(a, {n, depth}));
  const float on = static_cast<float>(a.Num(3, "on")), off = static_cast<float>(a.Num(4, "off"));
  a.NoOverlap(1, "out", 0, "indices");
  const Status s = cpu::OneHot(idx, n, out, depth, on, off);
  if (!s.ok) a.ThrowRange(s.message);
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  TB_EXPORT(exports, "copyStrided", CopyStrided);
  TB_EXPORT(exports, "gather", Gather);
  TB_EXPORT(exports, "gatherPairAsync", GatherPairAsync);
  TB_EXPORT(exports, "gatherBackward", GatherBackward);
  TB_EXPORT(exports, "oneHot", OneHot);
}

TB_NAPI_REGISTER(Register);

}  // namespace
}  // namespace tb::napi
