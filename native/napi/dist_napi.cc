// The collectives of tb.distributed: `dist` on the addon, present only in a build that found MPI
// (TB_HAVE_MPI). Every collective is queued to the one communication thread (dist/queue.h) and
// returns a Promise settled on the main thread; waitAll() blocks instead, for the synchronous
// PyTorch-style loop. Arrays in native memory (from alloc()) are reduced in place, the job holding
// a reference on the memory; any other array is copied to native memory at the call and back when
// the job is done (after checking it was not detached or resized meanwhile), so no collective can
// touch memory the JS side freed.
#include <napi.h>

#include "napi/register.h"

#ifdef TB_HAVE_MPI
#include <atomic>
#include <cmath>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "dist/host_block.h"
#include "dist/mpi_world.h"
#include "dist/queue.h"
#ifdef TB_HAVE_NCCL
#include "dist/nccl_communicator.h"
#endif
// Device buffers go to NCCL where the addon has both the CUDA backend and NCCL.
#if defined(TB_HAVE_NCCL) && defined(TENSORBOLT_CUDA)
#define TB_DEVICE_COLLECTIVES 1
#include "cuda/runtime.cuh"
#include "napi/cuda/device_args.h"
#endif

namespace tb::napi {
namespace {

using dist::DType;
using dist::HostBlock;

[[noreturn]] void ThrowType(Napi::Env env, const char* fn, const std::string& msg) {
  throw Napi::TypeError::New(env, std::string("tensorbolt.dist.") + fn + ": " + msg);
}
[[noreturn]] void ThrowError(Napi::Env env, const char* fn, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, std::string("tensorbolt.dist.") + fn + ": " + msg);
  e.Set("code", Napi::String::New(env, "ERR_TENSORBOLT_DIST"));
  throw e;
}

// One typed-array argument of a collective, and the native memory the job works on.
struct Buffer {
  void* js = nullptr;  // the array's own memory at the call
  int64_t count = 0;
  DType dtype = DType::kFloat32;
  size_t bytes = 0;
  std::shared_ptr<HostBlock> mem;  // the array's own block, or a staging copy
  void* ptr = nullptr;             // where the job reads and writes, inside mem
  bool staged = false;             // ptr is a copy: copy back to js when done
};

Buffer ReadBuffer(Napi::Env env, const char* fn, Napi::Value v, const char* name, bool stage = true) {
  bool is = false;
  napi_typedarray_type type;
  size_t len = 0;
  void* data = nullptr;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &type, &len, &data, nullptr, nullptr) != napi_ok)
    ThrowType(env, fn, std::string(name) + " must be a Float32Array, Int32Array or Float64Array");
  Buffer b;
  if (type == napi_float32_array) b.dtype = DType::kFloat32;
  else if (type == napi_int32_array) b.dtype = DType::kInt32;
  else if (type == napi_float64_array) b.dtype = DType::kFloat64;
  else ThrowType(env, fn, std::string(name) + " must be a Float32Array, Int32Array or Float64Array");
  b.js = data;
  b.count = static_cast<int64_t>(len);
  b.bytes = len * static_cast<size_t>(dist::ElementBytes(b.dtype));
  b.mem = dist::FindHostBlock(data, b.bytes);
  if (b.mem) {
    b.ptr = data;
  } else if (!stage) {
    b.staged = true;
  } else {
    b.mem = dist::NewHostBlock(b.bytes);
    if (!b.mem) ThrowError(env, fn, "out of memory staging " + std::to_string(b.bytes) + " bytes");
    if (b.bytes) std::memcpy(b.mem->data, data, b.bytes);
    b.ptr = b.mem->data;
    b.staged = true;
  }
  return b;
}

struct Pending {
  Napi::Promise::Deferred deferred;
  const char* fn;
  std::vector<Napi::Reference<Napi::Value>> refs;  // the arrays, alive until the job settles
  std::vector<Buffer> copyBack;                    // staged arrays the job wrote
  std::vector<size_t> copyBackRef;                 // their index in refs
};

// Queues: 0 runs MPI over host memory; 1, once initNccl() has run, NCCL over device memory. A
// pending job is keyed by its queue in the top byte and the queue's own id below.
constexpr int kMpi = 0, kNccl = 1;
constexpr int kShift = 56;

struct World {
  dist::CommQueue* queue = nullptr;  // the MPI queue; never deleted: its thread may be stuck in MPI for good
  std::atomic<dist::CommQueue*> nccl{nullptr};  // set on the MPI thread by initNccl's job
  Napi::ThreadSafeFunction tsfn;
  std::unordered_map<uint64_t, Pending> pending;
  napi_env env = nullptr;
  int rank = 0, size = 1;
  double timeout = 0;
  bool finalized = false;
};
World* g_world = nullptr;

// Settles every completed job (main thread): staged results copied back, promises settled.
void Drain(Napi::Env env) {
  World* w = g_world;
  if (!w || !w->queue) return;
  std::vector<std::pair<uint64_t, Status>> done;
  for (dist::Completion& c : w->queue->TakeCompleted()) done.emplace_back(c.id, std::move(c.status));
  if (dist::CommQueue* q = w->nccl.load())
    for (dist::Completion& c : q->TakeCompleted()) done.emplace_back(c.id | (uint64_t{kNccl} << kShift), std::move(c.status));
  for (auto& [key, status] : done) {
    const Status& cs = status;
    auto it = w->pending.find(key);
    if (it == w->pending.end()) continue;
    Pending& p = it->second;
    std::string err = cs.ok ? "" : cs.message;
    for (size_t i = 0; err.empty() && i < p.copyBack.size(); ++i) {
      const Buffer& b = p.copyBack[i];
      napi_typedarray_type type;
      size_t len = 0;
      void* data = nullptr;
      napi_get_typedarray_info(env, p.refs[p.copyBackRef[i]].Value(), &type, &len, &data, nullptr, nullptr);
      if (data != b.js || static_cast<int64_t>(len) != b.count)
        err = "the array's buffer was detached or resized while the collective ran; its result was dropped";
      else if (b.bytes)
        std::memcpy(data, b.ptr, b.bytes);
    }
    if (err.empty()) {
      p.deferred.Resolve(env.Undefined());
    } else {
      Napi::Error e = Napi::Error::New(env, std::string("tensorbolt.dist.") + p.fn + ": " + err);
      e.Set("code", Napi::String::New(env, "ERR_TENSORBOLT_DIST"));
      p.deferred.Reject(e.Value());
    }
    w->pending.erase(it);
  }
  if (w->pending.empty()) w->tsfn.Unref(env);
}

World& Live(Napi::Env env, const char* fn) {
  if (!g_world || g_world->finalized) ThrowError(env, fn, "call tb.distributed.init() first");
  if (g_world->env != static_cast<napi_env>(env))
    ThrowError(env, fn, "tb.distributed was initialized by another thread of this process; use it from that thread");
  return *g_world;
}

// Queues a job on `queue`: info[argIndex[i]] stays alive until it settles, and `keep` holds the
// native memory it works on; copyBack lists the staged arrays it writes, by their index in argIndex.
// Returns the promise.
Napi::Value Enqueue(const Napi::CallbackInfo& info, const char* fn, const std::string& what, const std::vector<size_t>& argIndex,
                    std::vector<std::shared_ptr<void>> keep, std::vector<Buffer> copyBack, std::vector<size_t> copyBackRef,
                    dist::CommQueue::Run run, int queue) {
  Napi::Env env = info.Env();
  World& w = *g_world;
  Pending p{Napi::Promise::Deferred::New(env), fn, {}, std::move(copyBack), std::move(copyBackRef)};
  for (size_t i : argIndex) p.refs.push_back(Napi::Persistent(info[i]));
  Napi::Promise promise = p.deferred.Promise();
  if (w.pending.empty()) w.tsfn.Ref(env);
  dist::CommQueue* q = queue == kMpi ? w.queue : w.nccl.load();
  const uint64_t id = q->Submit(what, std::move(run), std::move(keep)) | (uint64_t{static_cast<unsigned>(queue)} << kShift);
  w.pending.emplace(id, std::move(p));
  // A job refused at once (broken queue) completes before this call returns.
  Drain(env);
  return promise;
}

// An MPI job over host arrays (written[i] says whether the job writes buffers[i]).
Napi::Value Submit(const Napi::CallbackInfo& info, const char* fn, const std::string& what,
                   const std::vector<Buffer>& buffers, const std::vector<size_t>& argIndex, const std::vector<bool>& written,
                   dist::CommQueue::Run run) {
  std::vector<std::shared_ptr<void>> keep;
  std::vector<Buffer> copyBack;
  std::vector<size_t> copyBackRef;
  for (size_t i = 0; i < buffers.size(); ++i) {
    keep.push_back(buffers[i].mem);
    if (written[i] && buffers[i].staged) {
      copyBack.push_back(buffers[i]);
      copyBackRef.push_back(i);
    }
  }
  return Enqueue(info, fn, what, argIndex, std::move(keep), std::move(copyBack), std::move(copyBackRef), std::move(run), kMpi);
}

// The label of a job: the caller's (argument i) or the function's name, with the element count.
std::string Label(const Napi::CallbackInfo& info, size_t i, const char* fn, int64_t count, DType dtype, const char* where = "") {
  std::string label = info.Length() > i && info[i].IsString() ? info[i].As<Napi::String>().Utf8Value() : fn;
  return label + " (" + std::to_string(count) + " " + dist::DTypeName(dtype) + where + ")";
}
std::string Label(const Napi::CallbackInfo& info, size_t i, const char* fn, const Buffer& b) { return Label(info, i, fn, b.count, b.dtype); }

#ifdef TB_DEVICE_COLLECTIVES
// A CUDA device buffer (cuda.alloc) as a collective's argument. The job holds its memory, so a
// buffer freed while NCCL works on it goes back to the cache only once the job is done.
struct DeviceArg {
  std::shared_ptr<DeviceMemory> mem;
  dist::Span span;
};

bool IsDevice(Napi::Value v) { return v.IsObject() && v.As<Napi::Object>().CheckTypeTag(&BufferTag()); }

DeviceArg ReadDevice(Napi::Env env, const char* fn, Napi::Value v, const char* name) {
  void* p = nullptr;
  if (napi_unwrap(env, v, &p) != napi_ok || !p) ThrowType(env, fn, std::string(name) + " is not a live device buffer");
  auto* b = static_cast<DeviceBuffer*>(p);
  if (!b->ptr) ThrowType(env, fn, std::string(name) + " was freed (cuda.free)");
  return {b->mem, {b->ptr, b->length, b->isInt ? DType::kInt32 : DType::kFloat32}};
}

// As Submit, on the NCCL queue, for device buffers (the argument at argIndex[i] is args[i]). NCCL
// runs on a stream of its own and must read what the compute stream wrote: a host wait for it
// first (simple, and it reports an earlier kernel's failure here, naming the collective).
Napi::Value SubmitDevice(const Napi::CallbackInfo& info, const char* fn, const std::string& what, const std::vector<DeviceArg>& args,
                         const std::vector<size_t>& argIndex, dist::CommQueue::Run run) {
  Napi::Env env = info.Env();
  if (!g_world->nccl.load()) ThrowError(env, fn, "device buffers go to NCCL, which is not started: initNccl(device) first");
  const Status s = ::tb::cuda::Synchronize(fn);
  if (!s.ok) ThrowError(env, fn, s.message);
  std::vector<std::shared_ptr<void>> keep;
  for (const DeviceArg& a : args) keep.push_back(a.mem);
  return Enqueue(info, fn, what, argIndex, std::move(keep), {}, {}, std::move(run), kNccl);
}

std::string DeviceLabel(const Napi::CallbackInfo& info, size_t i, const char* fn, const dist::Span& s) {
  return Label(info, i, fn, s.count, s.dtype, " on the device");
}
#endif

double Seconds(Napi::Env env, const char* fn, Napi::Value v) {
  const double s = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(s > 0 && s <= 1e7)) ThrowType(env, fn, "the timeout must be a number of seconds in (0, 1e7]");
  return s;
}

// init(timeoutSeconds) -> { rank, size, threadLevel, library }
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double timeout = Seconds(env, "init", info[0]);
  if (g_world) ThrowError(env, "init", g_world->finalized ? "MPI was finalized; it cannot start again in this process"
                                                          : "already initialized");
  std::unique_ptr<dist::Communicator> comm;
  dist::MpiInfo mi;
  const Status s = dist::MpiStart(&comm, &mi);
  if (!s.ok) ThrowError(env, "init", s.message);
  auto* w = new World();
  w->env = env;
  w->rank = mi.rank;
  w->size = mi.size;
  w->timeout = timeout;
  w->tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                          "tensorbolt.distributed", 0, 1);
  w->tsfn.Unref(env);
  Napi::ThreadSafeFunction tsfn = w->tsfn;
  w->queue = new dist::CommQueue(std::move(comm), timeout, [tsfn]() mutable {
    // Runs on a communication thread; the main thread then settles what completed. napi_closing
    // (the environment is going away) is harmless: nothing is left to settle.
    tsfn.NonBlockingCall([](Napi::Env env, Napi::Function) { Drain(env); });
  });
  g_world = w;
  Napi::Object out = Napi::Object::New(env);
  out.Set("rank", mi.rank);
  out.Set("size", mi.size);
  out.Set("threadLevel", mi.threadLevel);
  out.Set("library", mi.library);
  return out;
}

// alloc(length, dtype) -> a typed array over native memory (reduced in place, never copied).
Napi::Value Alloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double n = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(n >= 0 && n <= 1e10 && n == static_cast<double>(static_cast<int64_t>(n))))
    ThrowType(env, "alloc", "length must be an integer in [0, 1e10]");
  const std::string dt = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  napi_typedarray_type type;
  DType d;
  if (dt == "float32") { type = napi_float32_array; d = DType::kFloat32; }
  else if (dt == "int32") { type = napi_int32_array; d = DType::kInt32; }
  else if (dt == "float64") { type = napi_float64_array; d = DType::kFloat64; }
  else ThrowType(env, "alloc", "dtype must be 'float32', 'int32' or 'float64', got '" + dt + "'");
  const size_t count = static_cast<size_t>(n);
  const size_t bytes = count * static_cast<size_t>(dist::ElementBytes(d));
  std::shared_ptr<HostBlock> block = dist::NewHostBlock(bytes);
  if (!block) ThrowError(env, "alloc", "out of memory allocating " + std::to_string(bytes) + " bytes");
  napi_value ab;
  auto* hold = new std::shared_ptr<HostBlock>(block);
  napi_status st = napi_create_external_arraybuffer(
      env, block->data, bytes, [](napi_env, void*, void* hint) { delete static_cast<std::shared_ptr<HostBlock>*>(hint); },
      hold, &ab);
  if (st != napi_ok) {
    // A runtime without external buffers: JS memory, which collectives then stage (copy).
    delete hold;
    bool pendingException = false;
    napi_is_exception_pending(env, &pendingException);
    if (pendingException) { napi_value ignored; napi_get_and_clear_last_exception(env, &ignored); }
    void* data = nullptr;
    if (napi_create_arraybuffer(env, bytes, &data, &ab) != napi_ok) ThrowError(env, "alloc", "cannot allocate " + std::to_string(bytes) + " bytes");
  }
  napi_value ta;
  if (napi_create_typedarray(env, type, count, ab, 0, &ta) != napi_ok) ThrowError(env, "alloc", "cannot create the typed array");
  return Napi::Value(env, ta);
}

// allReduce(array, op 0 sum | 1 max | 2 min, preScale, label?) -> Promise<void>
Napi::Value AllReduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Live(env, "allReduce");
  const double op = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
  if (!(op == 0 || op == 1 || op == 2)) ThrowType(env, "allReduce", "op must be 0 (sum), 1 (max) or 2 (min)");
  const double scale = info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : NAN;
  if (!std::isfinite(scale)) ThrowType(env, "allReduce", "preScale must be a finite number");
  const auto rop = static_cast<dist::ReduceOp>(static_cast<int>(op));
#ifdef TB_DEVICE_COLLECTIVES
  if (IsDevice(info[0])) {
    const DeviceArg a = ReadDevice(env, "allReduce", info[0], "array");
    const dist::Span span = a.span;
    return SubmitDevice(info, "allReduce", DeviceLabel(info, 3, "allReduce", span), {a}, {0},
                        [span, rop, scale](dist::Communicator& c) { return c.AllReduce(span, rop, scale); });
  }
#endif
  Buffer b = ReadBuffer(env, "allReduce", info[0], "array");
  const dist::Span span{b.ptr, b.count, b.dtype};
  return Submit(info, "allReduce", Label(info, 3, "allReduce", b), {b}, {0}, {true},
                [span, rop, scale](dist::Communicator& c) { return c.AllReduce(span, rop, scale); });
}

// broadcast(array, root, label?) -> Promise<void>
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  World& w = Live(env, "broadcast");
  const double root = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
  if (!(root >= 0 && root < w.size && root == static_cast<int>(root)))
    ThrowType(env, "broadcast", "root must be a rank in [0, " + std::to_string(w.size) + ")");
  const int r = static_cast<int>(root);
#ifdef TB_DEVICE_COLLECTIVES
  if (IsDevice(info[0])) {
    const DeviceArg a = ReadDevice(env, "broadcast", info[0], "array");
    const dist::Span span = a.span;
    return SubmitDevice(info, "broadcast", DeviceLabel(info, 2, "broadcast", span), {a}, {0},
                        [span, r](dist::Communicator& c) { return c.Broadcast(span, r); });
  }
#endif
  Buffer b = ReadBuffer(env, "broadcast", info[0], "array");
  const dist::Span span{b.ptr, b.count, b.dtype};
  return Submit(info, "broadcast", Label(info, 2, "broadcast", b), {b}, {0}, {true},
                [span, r](dist::Communicator& c) { return c.Broadcast(span, r); });
}

// allGather(send, recv, label?) -> Promise<void>; recv holds size * send.length elements.
Napi::Value AllGather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  World& w = Live(env, "allGather");
#ifdef TB_DEVICE_COLLECTIVES
  if (IsDevice(info[0]) || IsDevice(info[1])) {
    if (!IsDevice(info[0]) || !IsDevice(info[1])) ThrowType(env, "allGather", "send and recv must both be device buffers, or neither");
    const DeviceArg sa = ReadDevice(env, "allGather", info[0], "send");
    const DeviceArg ra = ReadDevice(env, "allGather", info[1], "recv");
    if (sa.span.dtype != ra.span.dtype)
      ThrowType(env, "allGather", std::string("send is ") + dist::DTypeName(sa.span.dtype) + " but recv is " + dist::DTypeName(ra.span.dtype));
    if (ra.span.count != sa.span.count * w.size)
      ThrowType(env, "allGather", "recv has " + std::to_string(ra.span.count) + " elements, expected " + std::to_string(w.size) +
                                      " x " + std::to_string(sa.span.count));
    const auto* sp = static_cast<const char*>(sa.span.data);
    const auto* rp = static_cast<const char*>(ra.span.data);
    if (sa.span.count && sp < rp + ra.span.count * 4 && rp < sp + sa.span.count * 4)
      ThrowType(env, "allGather", "send and recv must not overlap");
    const dist::Span ss = sa.span, rs = ra.span;
    return SubmitDevice(info, "allGather", DeviceLabel(info, 2, "allGather", ss), {sa, ra}, {0, 1},
                        [ss, rs](dist::Communicator& c) { return c.AllGather(ss, rs); });
  }
#endif
  Buffer s = ReadBuffer(env, "allGather", info[0], "send");
  Buffer r = ReadBuffer(env, "allGather", info[1], "recv");
  if (s.dtype != r.dtype)
    ThrowType(env, "allGather", std::string("send is ") + dist::DTypeName(s.dtype) + " but recv is " + dist::DTypeName(r.dtype));
  if (r.count != s.count * w.size)
    ThrowType(env, "allGather", "recv has " + std::to_string(r.count) + " elements, expected " + std::to_string(w.size) +
                                    " x " + std::to_string(s.count));
  if (s.bytes && r.bytes && static_cast<char*>(s.ptr) < static_cast<char*>(r.ptr) + r.bytes &&
      static_cast<char*>(r.ptr) < static_cast<char*>(s.ptr) + s.bytes)
    ThrowType(env, "allGather", "send and recv must not overlap");
  const dist::Span ss{s.ptr, s.count, s.dtype}, rs{r.ptr, r.count, r.dtype};
  return Submit(info, "allGather", Label(info, 2, "allGather", s), {s, r}, {0, 1}, {false, true},
                [ss, rs](dist::Communicator& c) { return c.AllGather(ss, rs); });
}

// barrier(label?) -> Promise<void>
Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Live(env, "barrier");
  const std::string label = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "barrier";
  return Submit(info, "barrier", label, {}, {}, {}, [](dist::Communicator& c) { return c.Barrier(); });
}

// waitAll(): blocks until every collective queued so far is done; throws the failure if one failed.
Napi::Value WaitAll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  World& w = Live(env, "waitAll");
  Status s = w.queue->WaitAll();
  if (dist::CommQueue* q = w.nccl.load(); s.ok && q) s = q->WaitAll();
  Drain(env);
  if (!s.ok) ThrowError(env, "waitAll", s.message);
  return env.Undefined();
}

// state() -> { initialized, pending, broken, ncclStarted, mpiJobs, ncclJobs }: broken is '' while
// healthy, else why the collectives stopped.
Napi::Value State(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("initialized", g_world != nullptr && !g_world->finalized);
  out.Set("pending", g_world ? static_cast<double>(g_world->pending.size()) : 0.0);
  out.Set("broken", g_world && g_world->queue ? g_world->queue->Broken() : std::string());
  dist::CommQueue* nq = g_world ? g_world->nccl.load() : nullptr;
  out.Set("ncclStarted", nq != nullptr);
  // collectives submitted to each engine so far: which one a call went to
  out.Set("mpiJobs", g_world && g_world->queue ? static_cast<double>(g_world->queue->Submitted()) : 0.0);
  out.Set("ncclJobs", nq ? static_cast<double>(nq->Submitted()) : 0.0);
  return out;
}

Napi::Value SetTimeout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  World& w = Live(env, "setTimeout");
  w.timeout = Seconds(env, "setTimeout", info[0]);
  w.queue->SetTimeout(w.timeout);
  if (dist::CommQueue* q = w.nccl.load()) q->SetTimeout(w.timeout);
  return env.Undefined();
}

// finalize() -> true once MPI is finalized; false (MPI left as it is) when the collectives broke,
// since MPI_Finalize would then wait for ranks that are gone.
Napi::Value Finalize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  World* w = g_world;
  if (!w || w->finalized) return Napi::Boolean::New(env, true);
  if (!w->pending.empty() && w->queue->Broken().empty())
    ThrowError(env, "finalize", std::to_string(w->pending.size()) + " collectives are still running; await them first");
  dist::CommQueue* nq = w->nccl.load();
  if ((nq && !nq->Stop()) || !w->queue->Stop()) return Napi::Boolean::New(env, false);
  w->tsfn.Release();
  w->finalized = true;
  const Status s = dist::MpiFinish();
  if (!s.ok) ThrowError(env, "finalize", s.message);
  return Napi::Boolean::New(env, true);
}

// isNative(array) -> whether the array lies in memory from alloc() (reduced without a copy).
Napi::Value IsNative(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Buffer b = ReadBuffer(env, "isNative", info[0], "array", false);
  return Napi::Boolean::New(env, !b.staged);
}

#ifdef TB_HAVE_NCCL
// initNccl(device) -> Promise<void>: a NCCL communicator over the MPI world, this rank driving GPU
// `device`; rank 0's unique id reaches the others through an MPI broadcast on the MPI queue, which
// then starts the NCCL queue. Collectives on device buffers go to that queue.
// allReduce/broadcast/allGather of device buffers then run there (SubmitDevice), in a build with
// the CUDA backend.
Napi::Value InitNccl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  World& w = Live(env, "initNccl");
  const double device = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(device >= 0 && device < 1024 && device == static_cast<int>(device)))
    ThrowType(env, "initNccl", "device must be a GPU index (usually the local rank)");
  if (w.nccl.load()) ThrowError(env, "initNccl", "NCCL is already initialized");
  World* wp = &w;
  const int dev = static_cast<int>(device);
  const double timeout = w.timeout;
  Napi::ThreadSafeFunction tsfn = w.tsfn;
  return Submit(info, "initNccl", "ncclCommInitRank", {}, {}, {}, [wp, dev, timeout, tsfn](dist::Communicator& c) mutable {
    std::unique_ptr<dist::Communicator> nc;
    Status s = dist::NcclStart(c.Rank(), c.Size(), dev, &nc);
    if (!s.ok) return s;
    wp->nccl.store(new dist::CommQueue(std::move(nc), timeout, [tsfn]() mutable {
      tsfn.NonBlockingCall([](Napi::Env env, Napi::Function) { Drain(env); });
    }));
    return Status::Ok();
  });
}
#endif

void Register(Napi::Env env, Napi::Object exports) {
  Napi::Object d = Napi::Object::New(env);
  const auto put = [env](Napi::Object o, const char* name, Napi::Function::Callback fn) {
    o.Set(name, Napi::Function::New(env, fn, name));
  };
  put(d, "init", Init);
  put(d, "alloc", Alloc);
  put(d, "allReduce", AllReduce);
  put(d, "broadcast", Broadcast);
  put(d, "allGather", AllGather);
  put(d, "barrier", Barrier);
  put(d, "waitAll", WaitAll);
  put(d, "state", State);
  put(d, "setTimeout", SetTimeout);
  put(d, "finalize", Finalize);
  put(d, "isNative", IsNative);
#ifdef TB_HAVE_NCCL
  put(d, "initNccl", InitNccl);
  d.Set("nccl", true);
#else
  d.Set("nccl", false);
#endif
  exports.Set("dist", d);
}

TB_NAPI_REGISTER(Register);

}  // namespace
}  // namespace tb::napi
#endif  // TB_HAVE_MPI
