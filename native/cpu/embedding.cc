// Embedding's gradient as a gather: each row of the table sums the positions that read it.
#include "cpu/embedding.h"

#include <cstring>

#include "common/parallel.h"
#include "cpu/layout.h"

namespace tb::cpu {

Status EmbeddingBackward(const float* dy, const int32_t* idx, int64_t n, float* dw, int64_t V, int64_t D,
                         int64_t paddingIdx, int32_t* ws) {
  Status s = CheckIndices(idx, n, V, "the embedding's rows");
  if (!s.ok) return s;
  // start[v] .. start[v + 1] will be v's positions in `order`, ascending (a stable counting sort).
  int32_t* start = ws;
  int32_t* order = ws + V + 1;
  std::memset(start, 0, static_cast<size_t>(V + 1) * sizeof(int32_t));
  for (int64_t k = 0; k < n; ++k) ++start[idx[k] + 1];
  for (int64_t v = 0; v < V; ++v) start[v + 1] += start[v];
  for (int64_t k = 0; k < n; ++k) order[start[idx[k]]++] = static_cast<int32_t>(k);
  // Placing advanced each start[v] to its bucket's end, which is where v + 1 begins: shift back.
  for (int64_t v = V; v > 0; --v) start[v] = start[v - 1];
  start[0] = 0;
  // Rows own disjoint output: parallel without atomics, each sum in position order.
  TB_PARALLEL_FOR(V * D + n * D, v, 0, V, {
    float* row = dw + v * D;
    for (int64_t j = 0; j < D; ++j) row[j] = 0.0f;
    if (v == paddingIdx) continue;
    for (int32_t p = start[v]; p < start[v + 1]; ++p) {
      const float* g = dy + static_cast<int64_t>(order[p]) * D;
      for (int64_t j = 0; j < D; ++j) row[j] += g[j];
    }
  });
  return Status::Ok();
}

}  // namespace tb::cpu
