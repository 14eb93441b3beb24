// Argument checking for the binding. Every exported function validates what JS handed it (types,
// lengths, bounds) through these helpers, which throw a JS TypeError/RangeError whose message starts
// with "tensorbolt.<fn>: ". Nothing past this layer sees an unchecked pointer or size.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/strided.h"

namespace tb::napi {

struct Args {
  const Napi::CallbackInfo& info;
  const char* fn;

  Args(const Napi::CallbackInfo& i, const char* name, size_t expected) : info(i), fn(name) {
    if (i.Length() < expected)
      Throw("expected " + std::to_string(expected) + " arguments, got " + std::to_string(i.Length()));
  }

  [[noreturn]] void Throw(const std::string& msg) const {
    throw Napi::TypeError::New(info.Env(), std::string("tensorbolt.") + fn + ": " + msg);
  }
  [[noreturn]] void ThrowRange(const std::string& msg) const {
    throw Napi::RangeError::New(info.Env(), std::string("tensorbolt.") + fn + ": " + msg);
  }

  std::string Where(size_t i, const char* name) const {
    return "argument " + std::to_string(i) + " (" + name + ")";
  }

  bool IsNull(size_t i) const { return info[i].IsNull() || info[i].IsUndefined(); }

  // A Float32Array; n (if >= 0) is the exact number of elements required.
  float* F32(size_t i, const char* name, int64_t n = -1) const {
    auto v = info[i];
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      Throw(Where(i, name) + " must be a Float32Array");
    auto a = v.As<Napi::Float32Array>();
    if (n >= 0 && static_cast<int64_t>(a.ElementLength()) != n)
      ThrowRange(Where(i, name) + " has " + std::to_string(a.ElementLength()) + " elements, expected " +
                 std::to_string(n));
    return a.Data();
  }
  float* F32OrNull(size_t i, const char* name, int64_t n = -1) const {
    return IsNull(i) ? nullptr : F32(i, name, n);
  }
  int32_t* I32(size_t i, const char* name, int64_t n = -1) const {
    auto v = info[i];
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      Throw(Where(i, name) + " must be an Int32Array");
    auto a = v.As<Napi::Int32Array>();
    if (n >= 0 && static_cast<int64_t>(a.ElementLength()) != n)
      ThrowRange(Where(i, name) + " has " + std::to_string(a.ElementLength()) + " elements, expected " +
                 std::to_string(n));
    return a.Data();
  }
  int32_t* I32OrNull(size_t i, const char* name, int64_t n = -1) const {
    return IsNull(i) ? nullptr : I32(i, name, n);
  }
  // Any Float32Array or Int32Array (4-byte elements); returns the raw pointer and element count.
  void* Any32(size_t i, const char* name, int64_t* len, bool* isInt) const {
    auto v = info[i];
    if (v.IsTypedArray()) {
      auto t = v.As<Napi::TypedArray>().TypedArrayType();
      if (t == napi_float32_array) {
        auto a = v.As<Napi::Float32Array>();
        *len = static_cast<int64_t>(a.ElementLength());
        *isInt = false;
        return a.Data();
      }
      if (t == napi_int32_array) {
        auto a = v.As<Napi::Int32Array>();
        *len = static_cast<int64_t>(a.ElementLength());
        *isInt = true;
        return a.Data();
      }
    }
    Throw(Where(i, name) + " must be a Float32Array or an Int32Array");
  }
  // Length of a typed array argument already validated.
  int64_t Len(size_t i) const { return static_cast<int64_t>(info[i].As<Napi::TypedArray>().ElementLength()); }

  // An integer in [lo, hi].
  int64_t Int(size_t i, const char* name, int64_t lo = 0, int64_t hi = INT32_MAX) const {
    auto v = info[i];
    if (!v.IsNumber()) Throw(Where(i, name) + " must be a number");
    double d = v.As<Napi::Number>().DoubleValue();
    if (!(d == static_cast<double>(static_cast<int64_t>(d))))
      ThrowRange(Where(i, name) + " must be an integer, got " + std::to_string(d));
    auto x = static_cast<int64_t>(d);
    if (x < lo || x > hi)
      ThrowRange(Where(i, name) + " = " + std::to_string(x) + " is outside [" + std::to_string(lo) + ", " +
                 std::to_string(hi) + "]");
    return x;
  }
  double Num(size_t i, const char* name) const {
    auto v = info[i];
    if (!v.IsNumber()) Throw(Where(i, name) + " must be a number");
    return v.As<Napi::Number>().DoubleValue();
  }
  bool Bool(size_t i, const char* name) const {
    auto v = info[i];
    if (!v.IsBoolean()) Throw(Where(i, name) + " must be a boolean");
    return v.As<Napi::Boolean>().Value();
  }
  // A shape: Int32Array of ndim <= kMaxDims non-negative sizes.
  std::vector<int64_t> Shape(size_t i, const char* name) const {
    int32_t* p = I32(i, name);
    int64_t n = Len(i);
    if (n > kMaxDims) ThrowRange(Where(i, name) + " has " + std::to_string(n) + " dims; at most " + std::to_string(kMaxDims));
    std::vector<int64_t> s(p, p + n);
    for (auto d : s)
      if (d < 0) ThrowRange(Where(i, name) + " has a negative size " + std::to_string(d));
    return s;
  }
  // Strides matching a shape of ndim axes; each stride non-negative.
  std::vector<int64_t> Strides(size_t i, const char* name, size_t ndim) const {
    int32_t* p = I32(i, name);
    if (static_cast<size_t>(Len(i)) != ndim)
      ThrowRange(Where(i, name) + " has " + std::to_string(Len(i)) + " entries, expected " + std::to_string(ndim));
    std::vector<int64_t> s(p, p + ndim);
    for (auto d : s)
      if (d < 0) ThrowRange(Where(i, name) + " has a negative stride " + std::to_string(d));
    return s;
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
inline int64_t CheckedProduct(const Args& a, std::initializer_list<int64_t> dims) {
  int64_t p = 1;
  for (auto d : dims) {
    if (d < 0) a.ThrowRange("negative size");
    if (d != 0 && p > (int64_t{1} << 40) / d) a.ThrowRange("size overflow");
    p *= d;
  }
  return p;
}

}  // namespace tb::napi
