// Status returned by kernels that can fail on data (not on shapes: shapes are validated before a
// kernel runs). Plain C++: kernels never throw across the N-API boundary and never abort.
#pragma once
#include <string>

namespace tb {

struct Status {
  bool ok = true;
  std::string message;
  static Status Ok() { return {}; }
  static Status Error(std::string msg) { return {false, std::move(msg)}; }
};

}  // namespace tb
