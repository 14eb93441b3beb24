// Status returned by kernels that can fail on data (not on shapes: shapes are validated before a
// kernel runs). Plain C++: kernels never throw across the N-API boundary and never abort.
// The code says what kind of failure it was, so the N-API layer can pick the JS error (RangeError
// for bad data, Error with a `code` property for device failures); CPU kernels only use kInvalid.
#pragma once
#include <string>

namespace tb {

enum class StatusCode : int {
  kOk = 0,
  kInvalid = 1,      // bad data: a label, an index, a variance out of range
  kOutOfMemory = 2,  // host or device allocation failed
  kLaunch = 3,       // a kernel failed to launch or failed while running (CUDA)
  kBlas = 4,         // cuBLAS returned an error
  kDevice = 5,       // no usable device, driver too old, or another runtime error (CUDA)
};

struct Status {
  bool ok = true;
  std::string message;
  StatusCode code = StatusCode::kOk;
  static Status Ok() { return {}; }
  static Status Error(std::string msg) { return {false, std::move(msg), StatusCode::kInvalid}; }
  static Status Error(StatusCode c, std::string msg) { return {false, std::move(msg), c}; }
};

}  // namespace tb
