// CUDA emulator (testing only): the device side of CUDA as plain C++. Kernels become host functions
// that emu.cc runs once per thread, each thread a fiber; blocks run one after another, so a
// function-static array is the block's shared memory. __syncthreads() and the warp intrinsics are
// barriers among the block's (or warp's) fibers. The build script rewrites kernel<<<...>>>(args)
// into emu::Launch(...). Sequential and deterministic: it checks indexing, reductions and
// synchronization logic, not the GPU memory model, races or speed.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "cuda_runtime_api.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static

struct uint3e {
  unsigned x, y, z;
};
struct double2 {
  double x, y;
};
inline double2 make_double2(double a, double b) { return {a, b}; }

namespace emu {
struct Thread {
  uint3e tid;
  int linear;
};
Thread* Current();
extern uint3e g_block;
extern dim3 g_blockDim, g_gridDim;
void SyncBlock();
void SyncWarp();
uint64_t* WarpSlots();  // 32 slots of the current warp

// Runs f once per thread of every block of the grid.
void LaunchImpl(void (*run)(void*), void* ctx, dim3 grid, dim3 block);
template <class F>
void Launch(F f, dim3 grid, dim3 block, size_t = 0, cudaStream_t = nullptr) {
  LaunchImpl([](void* c) { (*static_cast<F*>(c))(); }, &f, grid, block);
}

template <class T>
T Exchange(T v, int srcLane) {
  static_assert(sizeof(T) <= 8, "shuffle of a value wider than 8 bytes");
  uint64_t* slots = WarpSlots();
  const int lane = Current()->linear % 32;
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  slots[lane] = bits;
  SyncWarp();
  T r;
  std::memcpy(&r, &slots[srcLane >= 0 && srcLane < 32 ? srcLane : lane], sizeof(T));
  SyncWarp();
  return r;
}
}  // namespace emu

#define threadIdx (::emu::Current()->tid)
#define blockIdx (::emu::g_block)
#define blockDim (::emu::g_blockDim)
#define gridDim (::emu::g_gridDim)

inline void __syncthreads() { emu::SyncBlock(); }
template <class T>
T __shfl_down_sync(unsigned, T v, int d) {
  return emu::Exchange(v, emu::Current()->linear % 32 + d);
}
template <class T>
T __shfl_xor_sync(unsigned, T v, int d) {
  return emu::Exchange(v, (emu::Current()->linear % 32) ^ d);
}
inline unsigned __ballot_sync(unsigned, int pred) {
  uint64_t* slots = emu::WarpSlots();
  const int lane = emu::Current()->linear % 32;
  slots[lane] = pred ? 1 : 0;
  emu::SyncWarp();
  unsigned m = 0;
  for (int i = 0; i < 32; ++i) m |= slots[i] ? (1u << i) : 0u;
  emu::SyncWarp();
  return m;
}
inline int __ffs(unsigned x) { return __builtin_ffs(static_cast<int>(x)); }
inline int atomicCAS(int* p, int compare, int val) {
  const int old = *p;
  if (old == compare) *p = val;
  return old;
}
