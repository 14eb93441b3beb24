// gatherPairAsync(xa, ya, innerA, xb, yb, innerB, indices, dim) -> Promise<void>: the host's batch
// gather for fit's input pipeline (host memory, a worker thread), so CPU only; the device has gather.
#include <cstdint>
#include <vector>

#include "cpu/layout.h"
#include "napi/gather_rows.h"
#include "napi/kernel.h"

namespace tb::napi {
namespace {

Status RunGather(const GatherCall& c, bool threaded) {
  return c.isInt ? cpu::Gather(static_cast<const int32_t*>(c.x), c.idx, c.n, static_cast<int32_t*>(c.y), c.outer,
                               c.dim, c.inner, threaded)
                 : cpu::Gather(static_cast<const float*>(c.x), c.idx, c.n, static_cast<float*>(c.y), c.outer, c.dim,
                               c.inner, threaded);
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

Napi::Value GatherPairAsync(const Napi::CallbackInfo& info) {
  Args a(info, "gatherPairAsync", 8);
  const int32_t* idx = a.I32(6, "indices");
  const int64_t n = a.Len(6), dim = a.Int(7, "dim");
  const GatherCall ca = ReadRows(a, 0, "xa", 1, "ya", idx, n, 1, dim, a.Int(2, "innerA"));
  const GatherCall cb = ReadRows(a, 3, "xb", 4, "yb", idx, n, 1, dim, a.Int(5, "innerB"));
  a.OutputsDisjoint({{1, "ya"}, {4, "yb"}}, {{0, "xa"}, {3, "xb"}, {6, "indices"}});
  // Checked at the call as well, so that a bad index throws here instead of rejecting later.
  a.Check(cpu::CheckIndices(idx, n, dim, "dim"));
  auto* w = new GatherPairWorker(info.Env(), ca, cb, info);
  Napi::Promise p = w->Promise();
  w->Queue();  // deletes itself once settled
  return p;
}

void Register(Napi::Env env, Napi::Object exports) { Export(env, exports, "gatherPairAsync", GatherPairAsync); }

TB_NAPI_REGISTER(Register);

}  // namespace
}  // namespace tb::napi
