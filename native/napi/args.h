// Argument checking for the binding. Every exported function validates what JS handed it (types,
// lengths, bounds) through these helpers, which throw a JS TypeError/RangeError whose message starts
// with "tensorbolt.<fn>: " ("tensorbolt.cuda.<fn>: " on the device). Nothing past this layer sees an
// unchecked pointer or size.
//
// ArgsBase reads what is the same on every device: numbers, booleans, and the host Int32Arrays of
// shapes, strides and dims. What a data buffer is differs: Args (here) takes typed arrays, DevArgs
// (napi/cuda/device_args.h) takes device-buffer handles, with the same accessors (F32, I32, Any32,
// Len, Span, Check), so that one kernel binding, a template over the two, serves both devices.
#pragma once
#include <napi.h>

#include <cmath>
#include <cstdio>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/strided.h"

namespace tb::napi {

// A double as JS prints it for integers ("-1", "2147483648", "1e+300"), never through an int cast.
inline std::string Fmt(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

class ArgsBase {
 public:
  const Napi::CallbackInfo& info;
  const char* fn;

  // prefix: "" for the top-level functions, "cuda." for those of the cuda sub-object.
  ArgsBase(const Napi::CallbackInfo& i, const char* name, size_t expected, const char* prefix = "")
      : info(i), fn(name), prefix_(prefix), env_(i.Env()) {
    if (i.Length() < expected)
      Throw("expected " + std::to_string(expected) + " arguments, got " + std::to_string(i.Length()));
  }

  // "tensorbolt.<fn>" or "tensorbolt.cuda.<fn>".
  std::string Name() const { return std::string("tensorbolt.") + prefix_ + fn; }

  [[noreturn]] void Throw(const std::string& msg) const {
    throw Napi::TypeError::New(info.Env(), Name() + ": " + msg);
  }
  [[noreturn]] void ThrowRange(const std::string& msg) const {
    throw Napi::RangeError::New(info.Env(), Name() + ": " + msg);
  }
  // A failed kernel: bad data (kInvalid) is a RangeError; a device failure is an Error whose `code`
  // (when given) names the kind of failure.
  [[noreturn]] void ThrowStatus(const Status& s, const char* code = nullptr) const {
    const std::string msg = Name() + ": " + s.message;
    Napi::Error e = s.code == StatusCode::kInvalid ? Napi::RangeError::New(info.Env(), msg)
                                                   : Napi::Error::New(info.Env(), msg);
    if (code) e.Value().Set("code", code);
    throw e;
  }

  std::string Where(size_t i, const char* name) const {
    return "argument " + std::to_string(i) + " (" + name + ")";
  }

  bool IsNull(size_t i) const {
    napi_valuetype t = napi_undefined;
    napi_typeof(env_, info[i], &t);
    return t == napi_null || t == napi_undefined;
  }

  // What N-API says of a typed-array argument, asked once per argument and call: each query walks
  // V8's typed-array kinds one by one, and the type, length and overlap checks used to ask again
  // and again (about 3 us of a 10-element adamStep call went there).
  struct Typed {
    bool probed = false;
    bool isTyped = false;
    napi_typedarray_type type = napi_int8_array;
    void* data = nullptr;  // the first element (byte offset applied)
    int64_t len = 0;       // elements
  };
  const Typed& Probe(size_t i) const {
    Typed& t = i < kCached ? cache_[i] : scratch_;
    if (i < kCached && t.probed) return t;
    t = Typed{};
    t.probed = true;
    const napi_value v = info[i];
    bool is = false;
    size_t len = 0;
    if (napi_is_typedarray(env_, v, &is) == napi_ok && is &&
        napi_get_typedarray_info(env_, v, &t.type, &len, &t.data, nullptr, nullptr) == napi_ok) {
      t.isTyped = true;
      t.len = static_cast<int64_t>(len);
    }
    return t;
  }

  // A host Float32Array / Int32Array (data on the CPU, shapes and dims on every device); n (if >= 0)
  // is the exact number of elements required.
  float* HostF32(size_t i, const char* name, int64_t n = -1) const {
    return static_cast<float*>(HostTyped(i, name, napi_float32_array, "a Float32Array", n));
  }
  int32_t* HostI32(size_t i, const char* name, int64_t n = -1) const {
    return static_cast<int32_t*>(HostTyped(i, name, napi_int32_array, "an Int32Array", n));
  }
  // Any Float32Array or Int32Array (4-byte elements); returns the raw pointer and element count.
  void* HostAny32(size_t i, const char* name, int64_t* len, bool* isInt) const {
    const Typed& t = Probe(i);
    if (t.isTyped && (t.type == napi_float32_array || t.type == napi_int32_array)) {
      *len = t.len;
      *isInt = t.type == napi_int32_array;
      return t.data;
    }
    Throw(Where(i, name) + " must be a Float32Array or an Int32Array");
  }

  // An integer in [lo, hi].
  int64_t Int(size_t i, const char* name, int64_t lo = 0, int64_t hi = INT32_MAX) const {
    const double d = Num(i, name);
    // Range first: casting NaN, an infinity or a double beyond int64 to int64 is undefined behaviour.
    if (!(d == std::trunc(d))) ThrowRange(Where(i, name) + " must be an integer, got " + Fmt(d));
    if (d < static_cast<double>(lo) || d > static_cast<double>(hi))
      ThrowRange(Where(i, name) + " = " + Fmt(d) + " is outside [" + std::to_string(lo) + ", " +
                 std::to_string(hi) + "]");
    return static_cast<int64_t>(d);
  }
  double Num(size_t i, const char* name) const {
    double d = 0;
    if (napi_get_value_double(env_, info[i], &d) != napi_ok) Throw(Where(i, name) + " must be a number");
    return d;
  }
  bool Bool(size_t i, const char* name) const {
    bool b = false;
    if (napi_get_value_bool(env_, info[i], &b) != napi_ok) Throw(Where(i, name) + " must be a boolean");
    return b;
  }

  // A shape: Int32Array of ndim <= kMaxDims non-negative sizes.
  std::vector<int64_t> Shape(size_t i, const char* name) const {
    int32_t* p = HostI32(i, name);
    int64_t n = Probe(i).len;
    if (n > kMaxDims) ThrowRange(Where(i, name) + " has " + std::to_string(n) + " dims; at most " + std::to_string(kMaxDims));
    std::vector<int64_t> s(p, p + n);
    for (auto d : s)
      if (d < 0) ThrowRange(Where(i, name) + " has a negative size " + std::to_string(d));
    return s;
  }
  // Strides matching a shape of ndim axes; each stride non-negative.
  std::vector<int64_t> Strides(size_t i, const char* name, size_t ndim) const {
    int32_t* p = HostI32(i, name);
    const int64_t n = Probe(i).len;
    if (static_cast<size_t>(n) != ndim)
      ThrowRange(Where(i, name) + " has " + std::to_string(n) + " entries, expected " + std::to_string(ndim));
    std::vector<int64_t> s(p, p + ndim);
    for (auto d : s)
      if (d < 0) ThrowRange(Where(i, name) + " has a negative stride " + std::to_string(d));
    return s;
  }

 protected:
  void* HostTyped(size_t i, const char* name, napi_typedarray_type want, const char* what, int64_t n) const {
    const Typed& t = Probe(i);
    if (!t.isTyped || t.type != want) Throw(Where(i, name) + " must be " + what);
    if (n >= 0 && t.len != n)
      ThrowRange(Where(i, name) + " has " + std::to_string(t.len) + " elements, expected " + std::to_string(n));
    return t.data;
  }

 private:
  static constexpr size_t kCached = 16;  // more than any binding function takes
  const char* prefix_;
  napi_env env_;
  mutable Typed cache_[kCached];
  mutable Typed scratch_;
};

// The checks written once over a device's buffer accessors (Self: Args or DevArgs, CRTP).
template <class Self>
class BufferArgs : public ArgsBase {
 public:
  using ArgsBase::ArgsBase;

  float* F32OrNull(size_t i, const char* name, int64_t n = -1) const {
    return IsNull(i) ? nullptr : self().F32(i, name, n);
  }
  int32_t* I32OrNull(size_t i, const char* name, int64_t n = -1) const {
    return IsNull(i) ? nullptr : self().I32(i, name, n);
  }

  // Throws unless the buffers at i and j are disjoint. allowSame lets two buffers over exactly the
  // same memory pass (elementwise kernels that read each element just before writing that element).
  // Call after both arguments have been type-checked.
  void NoOverlap(size_t i, const char* ni, size_t j, const char* nj, bool allowSame = false) const {
    const auto [p, pe] = self().Span(i);
    const auto [q, qe] = self().Span(j);
    if (p == pe || q == qe) return;
    if (allowSame && p == q && pe == qe) return;
    if (p < qe && q < pe)
      ThrowRange(Where(i, ni) + " and " + Where(j, nj) + " share memory" +
                 (allowSame ? " (only an exact in-place alias is allowed)" : ""));
  }
  // The same test for the layers' kernels (conv2d, pooling, linear), which say it as a TypeError:
  // "<out> must not share memory with <in>".
  void NotShared(size_t out, const char* outName, size_t in, const char* inName) const {
    const auto [p, pe] = self().Span(out);
    const auto [q, qe] = self().Span(in);
    if (p < qe && q < pe) Throw(std::string(outName) + " must not share memory with " + inName);
  }
  struct Named {
    size_t i;
    const char* name;
  };
  // Every output is disjoint from every input and from every other output.
  void OutputsDisjoint(std::initializer_list<Named> outs, std::initializer_list<Named> ins) const {
    EachOutputPair(outs, ins, [&](Named o, Named x) { NoOverlap(o.i, o.name, x.i, x.name); });
  }
  void OutputsUnshared(std::initializer_list<Named> outs, std::initializer_list<Named> ins) const {
    EachOutputPair(outs, ins, [&](Named o, Named x) { NotShared(o.i, o.name, x.i, x.name); });
  }

 private:
  const Self& self() const { return static_cast<const Self&>(*this); }
  template <class F>
  static void EachOutputPair(std::initializer_list<Named> outs, std::initializer_list<Named> ins, F&& f) {
    for (auto o = outs.begin(); o != outs.end(); ++o) {
      for (const auto& in : ins) f(*o, in);
      for (auto o2 = o + 1; o2 != outs.end(); ++o2) f(*o, *o2);
    }
  }
};

// The CPU's data buffers: Float32Array / Int32Array.
class Args : public BufferArgs<Args> {
 public:
  Args(const Napi::CallbackInfo& i, const char* name, size_t expected) : BufferArgs(i, name, expected) {}

  float* F32(size_t i, const char* name, int64_t n = -1) const { return HostF32(i, name, n); }
  int32_t* I32(size_t i, const char* name, int64_t n = -1) const { return HostI32(i, name, n); }
  void* Any32(size_t i, const char* name, int64_t* len, bool* isInt) const { return HostAny32(i, name, len, isInt); }
  // Length of a buffer argument already validated.
  int64_t Len(size_t i) const { return Probe(i).len; }
  // The bytes [begin, end) of the typed array at argument i; empty for null/undefined/empty arrays.
  std::pair<uintptr_t, uintptr_t> Span(size_t i) const {
    const Typed& t = Probe(i);
    if (!t.isTyped || t.data == nullptr || t.len == 0) return {0, 0};
    const auto b = reinterpret_cast<uintptr_t>(t.data);
    return {b, b + static_cast<uintptr_t>(t.len) * 4};  // every array the binding accepts has 4-byte elements
  }
  // How errors name a buffer kind: "a Float32Array" (KindName), "Float32Array" (TypeName).
  static const char* KindName(bool isInt) { return isInt ? "an Int32Array" : "a Float32Array"; }
  static const char* TypeName(bool isInt) { return isInt ? "Int32Array" : "Float32Array"; }

  void Check(const Status& s) const {
    if (!s.ok) ThrowStatus(s);
  }
};

// Largest element offset reachable by `strides` over `shape` (+1): the buffer must hold this many.
inline int64_t ExtentOf(const std::vector<int64_t>& shape, const std::vector<int64_t>& strides) {
  int64_t last = 0;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0) return 0;
    last += (shape[i] - 1) * strides[i];
  }
  return last + 1;
}

// Product of sizes with an overflow check against what a typed array can hold.
inline int64_t CheckedProduct(const ArgsBase& a, std::initializer_list<int64_t> dims) {
  int64_t p = 1;
  for (auto d : dims) {
    if (d < 0) a.ThrowRange("negative size");
    if (d != 0 && p > (int64_t{1} << 40) / d) a.ThrowRange("size overflow");
    p *= d;
  }
  return p;
}

}  // namespace tb::napi
