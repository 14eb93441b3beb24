// The collectives data-parallel training needs, behind one interface for every engine: Open MPI
// over host memory (mpi_communicator.cc) and NCCL over device memory (nccl_communicator.cc). Plain
// C++ (no MPI, NCCL or N-API types here), so the queue and the binding never see which engine runs.
// Every call is blocking and collective: each rank of the world must make the same calls in the same
// order with the same counts. Errors come back as a Status; nothing here aborts the process.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace tb::dist {

enum class DType : int { kFloat32 = 0, kInt32 = 1, kFloat64 = 2 };
enum class ReduceOp : int { kSum = 0, kMax = 1, kMin = 2 };

inline int64_t ElementBytes(DType t) { return t == DType::kFloat64 ? 8 : 4; }
inline const char* DTypeName(DType t) {
  return t == DType::kFloat32 ? "float32" : t == DType::kInt32 ? "int32" : "float64";
}

// Where a buffer lives: host memory, or the memory of the communicator's GPU (NCCL).
enum class Memory : int { kHost = 0, kDevice = 1 };

// `count` elements of `dtype` at `data`.
struct Span {
  void* data = nullptr;
  int64_t count = 0;
  DType dtype = DType::kFloat32;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int Rank() const = 0;
  virtual int Size() const = 0;
  // "mpi" or "nccl".
  virtual const char* Engine() const = 0;
  virtual Memory BufferMemory() const = 0;
  // buf = op over every rank's buf, in place. For kSum on float data, each rank's buf is first
  // multiplied by preScale (1/size gives the mean; local/global counts a weighted mean).
  virtual Status AllReduce(Span buf, ReduceOp op, double preScale) = 0;
  // buf = root's buf.
  virtual Status Broadcast(Span buf, int root) = 0;
  // recv (size * send.count) = every rank's send, in rank order.
  virtual Status AllGather(Span send, Span recv) = 0;
  virtual Status Barrier() = 0;
  // Called by the watchdog (another thread) when a collective has timed out: an engine that can
  // interrupt its call in flight does so (NCCL: ncclCommAbort); MPI cannot, and does nothing.
  virtual void Abort() {}
};

// x *= alpha for a float buffer in host memory (pre-scaling before a sum gives a mean or a weighted
// mean; int32 buffers are never scaled).
void ScaleHost(Span buf, double alpha);

}  // namespace tb::dist
