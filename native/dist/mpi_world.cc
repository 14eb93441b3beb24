// Open MPI collectives over host memory. Every MPI call of the process goes through the one
// communication thread (dist/queue.cc) except MPI_Init_thread and MPI_Finalize, made by the main
// thread while that thread is idle.
#ifdef TB_HAVE_MPI
#include "dist/mpi_world.h"

#include <dlfcn.h>
// the C API only: Open MPI's deprecated C++ bindings would come along otherwise
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace tb::dist {
namespace {

std::string ErrorText(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, len);
}

Status Check(int code, const char* call) {
  if (code == MPI_SUCCESS) return Status::Ok();
  return Status::Error(StatusCode::kDevice, std::string(call) + " failed: " + ErrorText(code));
}

MPI_Datatype MpiType(DType t) {
  return t == DType::kFloat32 ? MPI_FLOAT : t == DType::kInt32 ? MPI_INT : MPI_DOUBLE;
}

MPI_Op MpiOp(ReduceOp op) { return op == ReduceOp::kSum ? MPI_SUM : op == ReduceOp::kMax ? MPI_MAX : MPI_MIN; }

// MPI counts are ints: larger buffers go in pieces of at most this many elements.
constexpr int64_t kMaxChunk = INT_MAX / 2;

// Waiting without stealing the cores. MPI's blocking calls spin until the slowest rank arrives: a
// waiting rank's communication thread would spin through most of its own rank's backward pass (the
// overlap), or take the core of another rank where ranks share cores. So every collective waits
// in two phases. First an MPI_Ibarrier learns that every rank has arrived, polled patiently (a few
// microseconds of spinning, then naps of a tenth of the time waited so far, 20 to 100 us: the
// ranks that arrived last go straight into the collective and spin there until this one wakes, so
// a nap is paid twice). Then, with everyone there, the blocking collective itself: its time is the
// data's copies and sums, not a wait. The blocking calls take Open MPI's tuned algorithms; the
// non-blocking ones (libnbc) staged the data through extra copies and moved it only inside
// MPI_Test, so that polling them with naps cost more than the transfer. Measured on a 2-core VM, a
// 4.8 MB float all-reduce over 2 ranks: the blocking call 0.87 ms, MPI_Iallreduce polled without
// naps 1.67 ms, and with 5-100 us naps about 3 ms. The watchdog cannot interrupt a blocking call; a
// rank that dies inside one leaves this thread there, and the watchdog fails the job all the same
// (dist/queue.cc). The barrier phase, where a dead or hung rank leaves the others waiting, is
// polled, so Abort() ends it.
class MpiCommunicator : public Communicator {
 public:
  MpiCommunicator(MPI_Comm comm, int rank, int size) : comm_(comm), rank_(rank), size_(size) {}
  ~MpiCommunicator() override = default;  // freed by MpiFinish, never while MPI may be stuck

  int Rank() const override { return rank_; }
  int Size() const override { return size_; }
  const char* Engine() const override { return "mpi"; }
  Memory BufferMemory() const override { return Memory::kHost; }

  Status AllReduce(Span buf, ReduceOp op, double preScale) override {
    if (op == ReduceOp::kSum && preScale != 1.0) ScaleHost(buf, preScale);
    char* p = static_cast<char*>(buf.data);
    for (int64_t done = 0; done < buf.count; done += kMaxChunk) {
      const int n = static_cast<int>(std::min(kMaxChunk, buf.count - done));
      Status s = Arrive();
      if (s.ok) s = Check(MPI_Allreduce(MPI_IN_PLACE, p + done * ElementBytes(buf.dtype), n, MpiType(buf.dtype), MpiOp(op), comm_),
                          "MPI_Allreduce");
      if (!s.ok) return s;
    }
    return Status::Ok();
  }

  Status Broadcast(Span buf, int root) override {
    char* p = static_cast<char*>(buf.data);
    for (int64_t done = 0; done < buf.count; done += kMaxChunk) {
      const int n = static_cast<int>(std::min(kMaxChunk, buf.count - done));
      Status s = Arrive();
      if (s.ok) s = Check(MPI_Bcast(p + done * ElementBytes(buf.dtype), n, MpiType(buf.dtype), root, comm_), "MPI_Bcast");
      if (!s.ok) return s;
    }
    return Status::Ok();
  }

  Status AllGather(Span send, Span recv) override {
    if (send.count > kMaxChunk)
      return Status::Error("allGather of " + std::to_string(send.count) + " elements per rank is over MPI's limit of " +
                           std::to_string(kMaxChunk));
    Status s = Arrive();
    if (s.ok) s = Check(MPI_Allgather(send.data, static_cast<int>(send.count), MpiType(send.dtype), recv.data,
                                      static_cast<int>(send.count), MpiType(recv.dtype), comm_),
                        "MPI_Allgather");
    return s;
  }

  Status Barrier() override { return Arrive(); }

  void Abort() override { abort_.store(true); }

  MPI_Comm comm() const { return comm_; }

 private:
  // Every rank has reached this collective.
  Status Arrive() {
    MPI_Request req;
    Status s = Check(MPI_Ibarrier(comm_, &req), "MPI_Ibarrier");
    return s.ok ? Wait(&req, "MPI_Ibarrier") : s;
  }

  Status Wait(MPI_Request* req, const char* call) {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    for (;;) {
      int done = 0;
      Status s = Check(MPI_Test(req, &done, MPI_STATUS_IGNORE), call);
      if (!s.ok || done) return s;
      // The request is left behind: MPI cannot cancel a collective, and this communicator is dead.
      if (abort_.load()) return Status::Error(StatusCode::kDevice, std::string(call) + " abandoned after the timeout");
      const auto waited = clock::now() - start;
      if (waited < std::chrono::microseconds(20)) continue;
      std::this_thread::sleep_for(std::clamp<clock::duration>(waited / 10, std::chrono::microseconds(20), std::chrono::microseconds(100)));
    }
  }

  MPI_Comm comm_;
  int rank_, size_;
  std::atomic<bool> abort_{false};
};

MPI_Comm g_comm = MPI_COMM_NULL;

const char* LevelName(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE: return "single";
    case MPI_THREAD_FUNNELED: return "funneled";
    case MPI_THREAD_SERIALIZED: return "serialized";
    case MPI_THREAD_MULTIPLE: return "multiple";
    default: return "unknown";
  }
}

// The addon is loaded with RTLD_LOCAL, so libmpi's symbols are not global; Open MPI's components
// (opened later with dlopen) may expect to find them there. Reopening the library we are already
// linked against with RTLD_GLOBAL fixes that (mpi4py does the same).
void PromoteLibmpi() {
  for (const char* name : {"libmpi.so.40", "libmpi.so.12", "libmpi.so"}) {
    if (dlopen(name, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD) != nullptr) return;
  }
}

// Open MPI's shared-memory transport (vader) moves a large message with one copy through the kernel
// by default (CMA: process_vm_readv into the peer's pages). On the 2-core cloud VM this was tuned
// on, a gradient-sized all-reduce between 2 ranks was slower that way than with the two copies
// through the shared segment that vader falls back to, in a standalone C test and in the training
// step alike (probe timings without a peer; probably because the kernel walks the peer's page
// tables page by page, which nested paging makes slow). In containers without CAP_SYS_PTRACE, CMA
// fails outright under Open MPI 4.x (open-mpi/ompi#4948, where setting it to none is the known
// fix). Most Node services run in one or the other, so none is tensorbolt's default; a user who
// sets the variable (or passes --mca btl_vader_single_copy_mechanism to mpirun, which sets it)
// keeps their choice: cma may win on bare metal. Open MPI reads its MCA variables in MPI_Init. Only Open MPI 3 and 4
// have this variable (5 renamed vader to sm and moved single copy to its smsc framework, untested
// here), so other libraries are left alone.
void DefaultMcaParams() {
  char lib[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  if (MPI_Get_library_version(lib, &len) != MPI_SUCCESS) return;
  const std::string text(lib);
  if (text.rfind("Open MPI v3.", 0) == 0 || text.rfind("Open MPI v4.", 0) == 0)
    setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", /*overwrite=*/0);
}

}  // namespace

Status MpiStart(std::unique_ptr<Communicator>* out, MpiInfo* info) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (finalized) return Status::Error("MPI was finalized in this process; it cannot be started again");
  if (initialized) return Status::Error("MPI is already initialized in this process (init() runs once)");
  PromoteLibmpi();
  DefaultMcaParams();
  int provided = MPI_THREAD_SINGLE;
  int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
  if (rc != MPI_SUCCESS) return Status::Error(StatusCode::kDevice, "MPI_Init_thread failed (error " + std::to_string(rc) + ")");
  // Every MPI call comes from one thread at a time (the communication thread), so serialized is
  // enough; funneled or single would tie MPI to the main thread, which must stay free.
  if (provided < MPI_THREAD_SERIALIZED)
    return Status::Error(StatusCode::kDevice, std::string("MPI granted thread level '") + LevelName(provided) +
                                                  "'; tensorbolt needs 'serialized' or 'multiple' (an Open MPI built with thread support)");
  // A failed call returns its code (and we reject the collective) instead of MPI aborting the process.
  Status s = Check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  if (s.ok) s = Check(MPI_Comm_dup(MPI_COMM_WORLD, &g_comm), "MPI_Comm_dup");
  if (s.ok) s = Check(MPI_Comm_set_errhandler(g_comm, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  if (!s.ok) return s;
  int rank = 0, size = 1;
  MPI_Comm_rank(g_comm, &rank);
  MPI_Comm_size(g_comm, &size);
  char lib[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(lib, &len);
  std::string text(lib);  // len counts the terminating NUL
  info->library = text.substr(0, text.find_first_of("\r\n"));
  info->rank = rank;
  info->size = size;
  info->threadLevel = LevelName(provided);
  *out = std::make_unique<MpiCommunicator>(g_comm, rank, size);
  return Status::Ok();
}

Status MpiBroadcastBytes(void* data, int bytes, int root) {
  return Check(MPI_Bcast(data, bytes, MPI_BYTE, root, g_comm), "MPI_Bcast");
}

Status MpiFinish() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return Status::Ok();
  if (g_comm != MPI_COMM_NULL) MPI_Comm_free(&g_comm);
  return Check(MPI_Finalize(), "MPI_Finalize");
}

}  // namespace tb::dist
#endif  // TB_HAVE_MPI
