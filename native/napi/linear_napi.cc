// linear(x, w, b, y, m, n, k, transW, act), linearBackward(x, w, dy, y, dx, dw, db, m, n, k, transW, act)
// x (m, k); w (k, n), or (n, k) when transW; b (n) or null; y (m, n); act 0 none, 1 ReLU.
#include <string>

#include "common/ops.h"
#include "cpu/linear.h"
#include "napi/args.h"
#include "napi/conv2d_dims.h"
#include "napi/register.h"

namespace tb::napi {
namespace {

struct Dims {
  int64_t m, n, k;
  bool transW;
  FusedAct act;
};

Dims ReadDims(const Args& a, size_t i) {
  Dims d{a.Int(i, "m"), a.Int(i + 1, "n"), a.Int(i + 2, "k"), a.Bool(i + 3, "transW"),
         static_cast<FusedAct>(a.Int(i + 4, "act", 0, static_cast<int64_t>(FusedAct::kCount) - 1))};
  CheckedProduct(a, {d.m, d.k});
  CheckedProduct(a, {d.m, d.n});
  CheckedProduct(a, {d.n, d.k});
  return d;
}

struct Buf {
  const float* p;
  int64_t n;
  const char* name;
};

void NoAlias(const Args& a, std::initializer_list<Buf> outs, std::initializer_list<Buf> ins) {
  for (auto o = outs.begin(); o != outs.end(); ++o) {
    for (const auto& in : ins)
      if (Overlaps(o->p, o->n, in.p, in.n)) a.Throw(std::string(o->name) + " must not share memory with " + in.name);
    for (auto q = o + 1; q != outs.end(); ++q)
      if (Overlaps(o->p, o->n, q->p, q->n)) a.Throw(std::string(o->name) + " must not share memory with " + q->name);
  }
}

Napi::Value Linear(const Napi::CallbackInfo& info) {
  Args a(info, "linear", 9);
  const Dims d = ReadDims(a, 4);
  const float* x = a.F32(0, "x", d.m * d.k);
  const float* w = a.F32(1, "w", d.n * d.k);
  const float* b = a.F32OrNull(2, "b", d.n);
  float* y = a.F32(3, "y", d.m * d.n);
  NoAlias(a, {{y, d.m * d.n, "y"}}, {{x, d.m * d.k, "x"}, {w, d.n * d.k, "w"}, {b, b ? d.n : 0, "b"}});
  const Status st = cpu::LinearForward(x, w, d.transW, b, y, d.m, d.n, d.k, d.act);
  if (!st.ok) throw Napi::Error::New(info.Env(), "tensorbolt.linear: " + st.message);
  return info.Env().Undefined();
}

Napi::Value LinearBackward(const Napi::CallbackInfo& info) {
  Args a(info, "linearBackward", 12);
  const Dims d = ReadDims(a, 7);
  const float* x = a.F32(0, "x", d.m * d.k);
  const float* w = a.F32(1, "w", d.n * d.k);
  const float* dy = a.F32(2, "dy", d.m * d.n);
  // y is checked whenever given (null allowed without a fused activation)
  const float* y = d.act == FusedAct::kNone ? a.F32OrNull(3, "y", d.m * d.n) : a.F32(3, "y", d.m * d.n);
  float* dx = a.F32OrNull(4, "dx", d.m * d.k);
  float* dw = a.F32OrNull(5, "dw", d.n * d.k);
  float* db = a.F32OrNull(6, "db", d.n);
  NoAlias(a, {{dx, dx ? d.m * d.k : 0, "dx"}, {dw, dw ? d.n * d.k : 0, "dw"}, {db, db ? d.n : 0, "db"}},
          {{x, d.m * d.k, "x"}, {w, d.n * d.k, "w"}, {dy, d.m * d.n, "dy"}, {y, y ? d.m * d.n : 0, "y"}});
  const Status st = cpu::LinearBackward(x, w, d.transW, dy, y, d.act, dx, dw, db, d.m, d.n, d.k);
  if (!st.ok) throw Napi::Error::New(info.Env(), "tensorbolt.linearBackward: " + st.message);
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  TB_EXPORT(exports, "linear", Linear);
  TB_EXPORT(exports, "linearBackward", LinearBackward);
}

TB_NAPI_REGISTER(Register);

}  // namespace
}  // namespace tb::napi
