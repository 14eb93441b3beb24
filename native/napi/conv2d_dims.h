// Validation of the dims arrays shared by conv2d and pooling: every entry within its range, and each
// spatial output size one that some bottom/right padding in [0, k) produces, so every window
// overlaps the input and no kernel can index outside it.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>

#include "napi/args.h"

namespace tb::napi {

struct DimSpec {
  const char* name;
  int64_t lo, hi;
};

// Reads dims (Int32Array of exactly `count` entries) into out, checking each against specs.
inline void ReadDims(const ArgsBase& a, size_t i, const DimSpec* specs, size_t count, int64_t* out) {
  const int32_t* p = a.HostI32(i, "dims", static_cast<int64_t>(count));
  for (size_t k = 0; k < count; ++k) {
    const int64_t v = p[k];
    if (v < specs[k].lo || v > specs[k].hi)
      a.ThrowRange("dims[" + std::to_string(k) + "] (" + specs[k].name + ") = " + std::to_string(v) + " is outside [" +
                   std::to_string(specs[k].lo) + ", " + std::to_string(specs[k].hi) + "]");
    out[k] = v;
  }
}

// One spatial axis: input size in, kernel k, stride s, leading pad, output size out.
inline void CheckWindowAxis(const ArgsBase& a, const char* axis, int64_t in, int64_t k, int64_t s, int64_t pad,
                            int64_t out) {
  const std::string what = std::string(axis) + ": input " + std::to_string(in) + ", kernel " + std::to_string(k) +
                           ", stride " + std::to_string(s) + ", pad " + std::to_string(pad);
  if (pad >= k) a.ThrowRange(what + ": the leading pad must be smaller than the kernel");
  // The output count grows with the trailing pad pb in [pbMin, k - 1] (pbMin <= k - 1 as in >= 1), by
  // at most one per step, so every count between the two ends is reachable.
  const int64_t pbMin = std::max<int64_t>(0, k - in - pad);
  const int64_t lo = (in + pad + pbMin - k) / s + 1, hi = (in + pad - 1) / s + 1;
  if (out < lo || out > hi)
    a.ThrowRange(what + ": output size " + std::to_string(out) + " is inconsistent (expected " + std::to_string(lo) +
                 (lo == hi ? "" : ".." + std::to_string(hi)) + ")");
}

}  // namespace tb::napi
