// Host memory owned by native code and shared by reference count, for buffers a collective reads
// and writes on the communication thread. JS sees such a block through an external ArrayBuffer
// whose finalizer only drops its reference: a collective in flight holds its own, so neither the
// garbage collector nor a detached or transferred ArrayBuffer can free memory MPI is still writing.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace tb::dist {

struct HostBlock {
  void* data = nullptr;
  size_t bytes = 0;
  HostBlock() = default;
  HostBlock(const HostBlock&) = delete;
  HostBlock& operator=(const HostBlock&) = delete;
  ~HostBlock();
};

// A zeroed block of `bytes` (64-byte aligned), registered so FindHostBlock can recognise views of it;
// null when the memory cannot be had.
std::shared_ptr<HostBlock> NewHostBlock(size_t bytes);

// The live block holding [data, data + bytes), or null when that range is not (wholly) ours.
std::shared_ptr<HostBlock> FindHostBlock(const void* data, size_t bytes);

}  // namespace tb::dist
