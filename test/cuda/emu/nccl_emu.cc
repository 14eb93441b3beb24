// NCCL emulator (testing only): the slice of NCCL's API that tb.distributed's NCCL engine uses
// (scripts/nccl-decls/nccl.h), implemented over MPI on the CUDA emulator's "device" memory, which is
// host memory. It lets test:cuda-emu run the engine (native/dist/nccl_communicator.cc) and the routing
// of device tensors to it at 2 and 4 ranks on a machine with no GPU and no NCCL. Every call finishes
// its work before it returns, so the engine's polling of its stream finds it done at once. It checks
// tensorbolt's side (ids, queues, buffers, dtypes, pre-scaling, ordering on the host), not NCCL's:
// streams, GPUs and NCCL's transports need the real library on a GPU machine.
// the C API only: Open MPI's deprecated C++ bindings would come along otherwise
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <nccl.h>

#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

struct ncclComm {
  MPI_Comm comm;
  int rank, size;
};

namespace {

// Operators from ncclRedOpCreatePreMulSum: a sum of each rank's input times its own scalar.
struct PreMulSum {
  bool live = false;
  double scalar = 1;
};
std::mutex g_mu;
std::vector<PreMulSum> g_ops;

MPI_Datatype Type(ncclDataType_t t, size_t* bytes) {
  switch (t) {
    case ncclFloat32: *bytes = 4; return MPI_FLOAT;
    case ncclFloat64: *bytes = 8; return MPI_DOUBLE;
    case ncclInt32: *bytes = 4; return MPI_INT;
    default: *bytes = 0; return MPI_DATATYPE_NULL;
  }
}

ncclResult_t Mpi(int rc) { return rc == MPI_SUCCESS ? ncclSuccess : ncclSystemError; }

// Waits, napping, until every rank has reached this collective: MPI's blocking calls spin, and the
// tests run 4 ranks on 2 cores, where a thread spinning through another rank's backward pass would
// starve it.
ncclResult_t Arrive(MPI_Comm comm) {
  MPI_Request req;
  if (MPI_Ibarrier(comm, &req) != MPI_SUCCESS) return ncclSystemError;
  for (;;) {
    int done = 0;
    if (MPI_Test(&req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) return ncclSystemError;
    if (done) return ncclSuccess;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

void Scale(void* p, size_t n, ncclDataType_t t, double a) {
  if (t == ncclFloat32)
    for (size_t i = 0; i < n; ++i) static_cast<float*>(p)[i] *= static_cast<float>(a);
  else if (t == ncclFloat64)
    for (size_t i = 0; i < n; ++i) static_cast<double*>(p)[i] *= a;
}

}  // namespace

extern "C" {

ncclResult_t ncclGetVersion(int* version) {
  *version = 0;  // not a real NCCL: "0.0.0"
  return ncclSuccess;
}

ncclResult_t ncclGetUniqueId(ncclUniqueId* id) {
  std::memset(id, 0, sizeof *id);
  std::strcpy(id->internal, "tensorbolt nccl emulator");
  return ncclSuccess;
}

// Collective over MPI_COMM_WORLD: every rank calls it at the same point (tb.distributed's MPI thread).
ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank) {
  if (std::strcmp(id.internal, "tensorbolt nccl emulator") != 0) return ncclInvalidArgument;
  auto* c = new ncclComm{MPI_COMM_NULL, 0, 0};
  if (MPI_Comm_dup(MPI_COMM_WORLD, &c->comm) != MPI_SUCCESS) {
    delete c;
    return ncclSystemError;
  }
  MPI_Comm_rank(c->comm, &c->rank);
  MPI_Comm_size(c->comm, &c->size);
  if (c->rank != rank || c->size != nranks) return ncclInvalidArgument;
  *comm = c;
  return ncclSuccess;
}

ncclResult_t ncclCommAbort(ncclComm_t) { return ncclSuccess; }
ncclResult_t ncclCommGetAsyncError(ncclComm_t, ncclResult_t* e) {
  *e = ncclSuccess;
  return ncclSuccess;
}
const char* ncclGetErrorString(ncclResult_t) { return "NCCL emulator error"; }

ncclResult_t ncclRedOpCreatePreMulSum(ncclRedOp_t* op, void* scalar, ncclDataType_t t, ncclScalarResidence_t residence, ncclComm_t) {
  if (residence != ncclScalarHostImmediate || (t != ncclFloat32 && t != ncclFloat64)) return ncclInvalidArgument;
  const double a = t == ncclFloat32 ? *static_cast<float*>(scalar) : *static_cast<double*>(scalar);
  std::lock_guard<std::mutex> lock(g_mu);
  size_t i = 0;
  while (i < g_ops.size() && g_ops[i].live) ++i;
  if (i == g_ops.size()) g_ops.emplace_back();
  g_ops[i] = {true, a};
  *op = static_cast<ncclRedOp_t>(ncclNumOps + i);
  return ncclSuccess;
}

ncclResult_t ncclRedOpDestroy(ncclRedOp_t op, ncclComm_t) {
  std::lock_guard<std::mutex> lock(g_mu);
  const size_t i = static_cast<size_t>(op) - ncclNumOps;
  if (op < ncclNumOps || i >= g_ops.size() || !g_ops[i].live) return ncclInvalidArgument;
  g_ops[i].live = false;
  return ncclSuccess;
}

ncclResult_t ncclAllReduce(const void* send, void* recv, size_t count, ncclDataType_t t, ncclRedOp_t op, ncclComm_t comm,
                           cudaStream_t) {
  size_t bytes = 0;
  const MPI_Datatype type = Type(t, &bytes);
  if (type == MPI_DATATYPE_NULL) return ncclInvalidArgument;
  if (send != recv) std::memcpy(recv, send, count * bytes);
  MPI_Op mop = MPI_SUM;
  if (op == ncclMax) mop = MPI_MAX;
  else if (op == ncclMin) mop = MPI_MIN;
  else if (op >= ncclNumOps) {
    std::lock_guard<std::mutex> lock(g_mu);
    const size_t i = static_cast<size_t>(op) - ncclNumOps;
    if (i >= g_ops.size() || !g_ops[i].live) return ncclInvalidArgument;
    Scale(recv, count, t, g_ops[i].scalar);
  } else if (op != ncclSum) {
    return ncclInvalidArgument;  // ncclProd and ncclAvg: tensorbolt does not use them
  }
  if (ncclResult_t r = Arrive(comm->comm)) return r;
  return Mpi(MPI_Allreduce(MPI_IN_PLACE, recv, static_cast<int>(count), type, mop, comm->comm));
}

ncclResult_t ncclBroadcast(const void* send, void* recv, size_t count, ncclDataType_t t, int root, ncclComm_t comm, cudaStream_t) {
  size_t bytes = 0;
  const MPI_Datatype type = Type(t, &bytes);
  if (type == MPI_DATATYPE_NULL) return ncclInvalidArgument;
  if (comm->rank == root && send != recv) std::memcpy(recv, send, count * bytes);
  if (ncclResult_t r = Arrive(comm->comm)) return r;
  return Mpi(MPI_Bcast(recv, static_cast<int>(count), type, root, comm->comm));
}

ncclResult_t ncclAllGather(const void* send, void* recv, size_t count, ncclDataType_t t, ncclComm_t comm, cudaStream_t) {
  size_t bytes = 0;
  const MPI_Datatype type = Type(t, &bytes);
  if (type == MPI_DATATYPE_NULL) return ncclInvalidArgument;
  const int n = static_cast<int>(count);
  if (ncclResult_t r = Arrive(comm->comm)) return r;
  return Mpi(MPI_Allgather(send, n, type, recv, n, type, comm->comm));
}

}  // extern "C"
