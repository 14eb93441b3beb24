// NCCL collectives over device memory. Written against NCCL's documented API (2.12 or later for
// ncclRedOpCreatePreMulSum); this file is compiled only where NCCL is installed.
#if defined(TB_HAVE_NCCL) && defined(TB_HAVE_MPI)
#include "dist/nccl_communicator.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "dist/mpi_world.h"

namespace tb::dist {
namespace {

Status CudaCheck(cudaError_t e, const char* call) {
  if (e == cudaSuccess) return Status::Ok();
  return Status::Error(StatusCode::kDevice, std::string(call) + " failed: " + cudaGetErrorString(e));
}

Status NcclCheck(ncclResult_t r, const char* call) {
  if (r == ncclSuccess) return Status::Ok();
  return Status::Error(StatusCode::kDevice, std::string(call) + " failed: " + ncclGetErrorString(r));
}

ncclDataType_t NcclType(DType t) {
  return t == DType::kFloat32 ? ncclFloat32 : t == DType::kInt32 ? ncclInt32 : ncclFloat64;
}

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator(ncclComm_t comm, cudaStream_t stream, int* scratch, int rank, int size)
      : comm_(comm), stream_(stream), scratch_(scratch), rank_(rank), size_(size) {}

  int Rank() const override { return rank_; }
  int Size() const override { return size_; }
  const char* Engine() const override { return "nccl"; }
  Memory BufferMemory() const override { return Memory::kDevice; }

  Status AllReduce(Span buf, ReduceOp op, double preScale) override {
    ncclRedOp_t red = op == ReduceOp::kSum ? ncclSum : op == ReduceOp::kMax ? ncclMax : ncclMin;
    const bool scaled = op == ReduceOp::kSum && preScale != 1.0 && buf.dtype != DType::kInt32;
    float f = static_cast<float>(preScale);
    double d = preScale;
    if (scaled) {
      // Multiplies each rank's input by preScale inside the reduction (no extra kernel of ours).
      void* scalar = buf.dtype == DType::kFloat64 ? static_cast<void*>(&d) : static_cast<void*>(&f);
      Status s = NcclCheck(ncclRedOpCreatePreMulSum(&red, scalar, NcclType(buf.dtype), ncclScalarHostImmediate, comm_),
                           "ncclRedOpCreatePreMulSum");
      if (!s.ok) return s;
    }
    Status s = NcclCheck(ncclAllReduce(buf.data, buf.data, static_cast<size_t>(buf.count), NcclType(buf.dtype), red, comm_, stream_),
                         "ncclAllReduce");
    if (s.ok) s = Wait("ncclAllReduce");
    if (scaled) ncclRedOpDestroy(red, comm_);
    return s;
  }

  Status Broadcast(Span buf, int root) override {
    Status s = NcclCheck(ncclBroadcast(buf.data, buf.data, static_cast<size_t>(buf.count), NcclType(buf.dtype), root, comm_, stream_),
                         "ncclBroadcast");
    return s.ok ? Wait("ncclBroadcast") : s;
  }

  Status AllGather(Span send, Span recv) override {
    Status s = NcclCheck(ncclAllGather(send.data, recv.data, static_cast<size_t>(send.count), NcclType(send.dtype), comm_, stream_),
                         "ncclAllGather");
    return s.ok ? Wait("ncclAllGather") : s;
  }

  // NCCL has no barrier: a one-element all-reduce on the device is one.
  Status Barrier() override {
    Status s = NcclCheck(ncclAllReduce(scratch_, scratch_, 1, ncclInt32, ncclSum, comm_, stream_), "ncclAllReduce (barrier)");
    return s.ok ? Wait("barrier") : s;
  }

  void Abort() override { abort_.store(true); }

 private:
  // Polls the stream instead of blocking in cudaStreamSynchronize, so that a communicator error
  // (a peer gone: ncclCommGetAsyncError) or the watchdog's Abort() ends the wait.
  Status Wait(const char* what) {
    for (;;) {
      const cudaError_t q = cudaStreamQuery(stream_);
      if (q == cudaSuccess) return Status::Ok();
      if (q != cudaErrorNotReady) return CudaCheck(q, what);
      ncclResult_t async = ncclSuccess;
      ncclCommGetAsyncError(comm_, &async);
      if (async != ncclSuccess && async != ncclInProgress) {
        ncclCommAbort(comm_);
        return NcclCheck(async, what);
      }
      if (abort_.load()) {
        ncclCommAbort(comm_);
        return Status::Error(StatusCode::kDevice, std::string(what) + " aborted by the watchdog");
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  ncclComm_t comm_;
  cudaStream_t stream_;
  int* scratch_;
  int rank_, size_;
  std::atomic<bool> abort_{false};
};

}  // namespace

Status NcclStart(int rank, int size, int device, std::unique_ptr<Communicator>* out) {
  Status s = CudaCheck(cudaSetDevice(device), "cudaSetDevice");
  if (!s.ok) return s;
  ncclUniqueId id;
  if (rank == 0) {
    s = NcclCheck(ncclGetUniqueId(&id), "ncclGetUniqueId");
    if (!s.ok) return s;  // the other ranks then fail in the broadcast below, or time out
  }
  s = MpiBroadcastBytes(&id, static_cast<int>(sizeof id), 0);
  if (!s.ok) return s;
  cudaStream_t stream = nullptr;
  s = CudaCheck(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  if (!s.ok) return s;
  int* scratch = nullptr;
  s = CudaCheck(cudaMalloc(reinterpret_cast<void**>(&scratch), sizeof(int)), "cudaMalloc");
  if (!s.ok) return s;
  ncclComm_t comm = nullptr;
  s = NcclCheck(ncclCommInitRank(&comm, size, id, rank), "ncclCommInitRank");
  if (!s.ok) return s;
  *out = std::make_unique<NcclCommunicator>(comm, stream, scratch, rank, size);
  return Status::Ok();
}

const char* NcclVersionText() {
  static std::string text;
  int v = 0;
  if (ncclGetVersion(&v) != ncclSuccess) return "unknown";
  // NCCL_VERSION_CODE: major * 10000 + minor * 100 + patch since 2.9.
  text = std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
  return text.c_str();
}

}  // namespace tb::dist
#endif  // TB_HAVE_NCCL && TB_HAVE_MPI
