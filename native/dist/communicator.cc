#include "dist/communicator.h"

namespace tb::dist {

void ScaleHost(Span buf, double alpha) {
  if (buf.dtype == DType::kFloat32) {
    float* p = static_cast<float*>(buf.data);
    const float a = static_cast<float>(alpha);
    for (int64_t i = 0; i < buf.count; ++i) p[i] *= a;
  } else if (buf.dtype == DType::kFloat64) {
    double* p = static_cast<double*>(buf.data);
    for (int64_t i = 0; i < buf.count; ++i) p[i] *= alpha;
  }
}

}  // namespace tb::dist
