// Recurrent layers and the embedding gradient (native/cpu/rnn.cc, native/cpu/embedding.cc):
// rnnSizes(dims) -> [workspace, scratch]
// rnnForward(x, wx, wh, bx, bh, h0, c0, rmask, y, hN, cN, ws, dims)
// rnnBackward(x, wx, wh, c0, rmask, ws, dy, dhN, dcN, dx, dwx, dwh, dbx, dbh, dh0, dc0, scratch, dims)
// embeddingBackward(dy, indices, dw, numEmbeddings, dim, paddingIdx, ws)
// dims: the host Int32Array of common/rnn.h (RnnDimIndex order).
// Each binding is written once over the device's argument reader (napi/kernel.h) and registered for
// both devices; rnnSizes is a pure function of the dims, answered on the host for both.
#include <string>

#include "common/rnn.h"
#include "cpu/embedding.h"
#include "cpu/rnn.h"
#include "napi/kernel.h"
#ifdef TENSORBOLT_CUDA
#include "cuda/rnn.cuh"
#endif

namespace tb::napi {
namespace {

// Dims and the element count of every buffer they imply, checked against overflow and against the
// int sizes and leading dimensions BLAS takes.
struct RnnSizes {
  RnnDims d;
  int64_t x, wx, wh, gh, state, y, ws, scratch;
};

RnnSizes ReadRnnDims(const ArgsBase& a, size_t i) {
  RnnSizes s;
  const int32_t* v = a.HostI32(i, "dims", kRnnDimsLen);
  const Status st = ParseRnnDims(v, kRnnDimsLen, &s.d);
  if (!st.ok) a.ThrowRange(st.message);
  const RnnDims& d = s.d;
  const int64_t G = d.Gates();
  s.gh = CheckedProduct(a, {G, d.H});
  s.x = CheckedProduct(a, {d.T, d.B, d.F});
  s.wx = CheckedProduct(a, {d.F, G, d.H});
  s.wh = CheckedProduct(a, {d.H, G, d.H});
  s.state = CheckedProduct(a, {d.B, d.H});
  s.y = CheckedProduct(a, {d.T, d.B, d.H});
  // The workspace holds at most 2 + G blocks of (rows, H) and the scratch 2G + 3.
  CheckedProduct(a, {d.T, d.B, d.H, 2 * G + 3});
  s.ws = d.WorkspaceSize();
  s.scratch = d.ScratchSize();
  if (d.Rows() > INT32_MAX || s.gh * d.RowStride() > INT32_MAX || d.F > INT32_MAX)
    a.ThrowRange("T*B = " + std::to_string(d.Rows()) + " rows of " + std::to_string(s.gh) +
                 " gates exceed the 2^31 sizes a GEMM takes");
  return s;
}

void CheckState(const ArgsBase& a, const RnnSizes& s, size_t i, const char* name, bool lstmOnly) {
  if (lstmOnly && s.d.cell != RnnCell::kLstm && !a.IsNull(i))
    a.Throw(std::string(name) + " must be null for a " + RnnCellName(s.d.cell) + " cell (only an LSTM has a cell state)");
}

// A pure function of the dims: the host computes it for either device.
Napi::Value RnnSizesFn(const Napi::CallbackInfo& info) {
  Args a(info, "rnnSizes", 1);
  const RnnSizes s = ReadRnnDims(a, 0);
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, Napi::Number::New(info.Env(), static_cast<double>(s.ws)));
  out.Set(1u, Napi::Number::New(info.Env(), static_cast<double>(s.scratch)));
  return out;
}

template <class A>
Napi::Value RnnForward(const Napi::CallbackInfo& info) {
  A a(info, "rnnForward", 13);
  const RnnSizes s = ReadRnnDims(a, 12);
  const bool lstm = s.d.cell == RnnCell::kLstm;
  CheckState(a, s, 6, "c0", true);
  CheckState(a, s, 10, "cN", true);
  const float* x = a.F32(0, "x", s.x);
  const float* wx = a.F32(1, "wx", s.wx);
  const float* wh = a.F32(2, "wh", s.wh);
  const float* bx = a.F32OrNull(3, "bx", s.gh);
  const float* bh = a.F32OrNull(4, "bh", s.gh);
  const float* h0 = a.F32OrNull(5, "h0", s.state);
  const float* c0 = a.F32OrNull(6, "c0", s.state);
  const float* rmask = a.F32OrNull(7, "rmask", s.state);
  float* y = a.F32(8, "y", s.y);
  float* hN = a.F32(9, "hN", s.state);
  float* cN = lstm ? a.F32(10, "cN", s.state) : nullptr;
  float* ws = a.F32(11, "ws", s.ws);
  a.OutputsDisjoint({{8, "y"}, {9, "hN"}, {10, "cN"}, {11, "ws"}},
                    {{0, "x"}, {1, "wx"}, {2, "wh"}, {3, "bx"}, {4, "bh"}, {5, "h0"}, {6, "c0"}, {7, "rmask"}});
  TB_KERNEL(a, RnnForward, s.d, x, wx, wh, bx, bh, h0, c0, rmask, y, hN, cN, ws);
  return info.Env().Undefined();
}

template <class A>
Napi::Value RnnBackward(const Napi::CallbackInfo& info) {
  A a(info, "rnnBackward", 18);
  const RnnSizes s = ReadRnnDims(a, 17);
  CheckState(a, s, 3, "c0", true);
  CheckState(a, s, 8, "dcN", true);
  CheckState(a, s, 15, "dc0", true);
  const float* x = a.F32(0, "x", s.x);
  const float* wx = a.F32(1, "wx", s.wx);
  const float* wh = a.F32(2, "wh", s.wh);
  const float* c0 = a.F32OrNull(3, "c0", s.state);
  const float* rmask = a.F32OrNull(4, "rmask", s.state);
  const float* ws = a.F32(5, "ws", s.ws);
  const float* dy = a.F32OrNull(6, "dy", s.y);
  const float* dhN = a.F32OrNull(7, "dhN", s.state);
  const float* dcN = a.F32OrNull(8, "dcN", s.state);
  float* dx = a.F32OrNull(9, "dx", s.x);
  float* dwx = a.F32OrNull(10, "dwx", s.wx);
  float* dwh = a.F32OrNull(11, "dwh", s.wh);
  float* dbx = a.F32OrNull(12, "dbx", s.gh);
  float* dbh = a.F32OrNull(13, "dbh", s.gh);
  float* dh0 = a.F32OrNull(14, "dh0", s.state);
  float* dc0 = a.F32OrNull(15, "dc0", s.state);
  float* scratch = a.F32(16, "scratch", s.scratch);
  a.OutputsDisjoint({{9, "dx"}, {10, "dwx"}, {11, "dwh"}, {12, "dbx"}, {13, "dbh"}, {14, "dh0"}, {15, "dc0"},
                     {16, "scratch"}},
                    {{0, "x"}, {1, "wx"}, {2, "wh"}, {3, "c0"}, {4, "rmask"}, {5, "ws"}, {6, "dy"}, {7, "dhN"},
                     {8, "dcN"}});
  TB_KERNEL(a, RnnBackward, s.d, x, wx, wh, c0, rmask, ws, dy, dhN, dcN, dx, dwx, dwh, dbx, dbh, dh0, dc0, scratch);
  return info.Env().Undefined();
}

template <class A>
Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  A a(info, "embeddingBackward", 7);
  const int32_t* idx = a.I32(1, "indices");
  const int64_t n = a.Len(1);
  const int64_t V = a.Int(3, "numEmbeddings", 1), D = a.Int(4, "dim", 1);
  const int64_t pad = a.Int(5, "paddingIdx", -1, INT32_MAX);
  const float* dy = a.F32(0, "dy", CheckedProduct(a, {n, D}));
  float* dw = a.F32(2, "dw", CheckedProduct(a, {V, D}));
  if (n + V + 1 > INT32_MAX) a.ThrowRange("indices and rows must number below 2^31");
  int32_t* ws = a.I32(6, "ws", V + 1 + n);
  a.OutputsDisjoint({{2, "dw"}, {6, "ws"}}, {{0, "dy"}, {1, "indices"}});
  TB_KERNEL(a, EmbeddingBackward, dy, idx, n, dw, V, D, pad, ws);
  return info.Env().Undefined();
}

template <class A>
void Register(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "rnnForward", RnnForward<A>);
  Export(env, exports, "rnnBackward", RnnBackward<A>);
  Export(env, exports, "embeddingBackward", EmbeddingBackward<A>);
}

TB_NAPI_REGISTER_KERNELS(Register);
TB_NAPI_REGISTER([](Napi::Env env, Napi::Object exports) { Export(env, exports, "rnnSizes", RnnSizesFn); });

}  // namespace
}  // namespace tb::napi
