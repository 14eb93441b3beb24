// The native addon's complete surface, typed (node-llama-cpp's AddonTypes.ts, onnxruntime's
// binding.ts): the kernels, declared once for both devices in kernels.ts, plus what only one device
// has (the CPU's runtime knobs and fit's host gather; the CUDA device runtime). Only lib/native/
// reads this file's types at the call sites; ops reach kernels through the backends (backend.ts).
//
// Conventions of the CPU binding: every buffer is a typed array the kernel reads or writes in place;
// outputs are preallocated by the caller, so no native call allocates JS memory. Shapes, strides and
// dims arrays are copied before the kernel runs and may overlap anything.

import type { Kernels } from './kernels.js';

import type { DistBinding } from './dist_binding.js';

export type F32 = Float32Array;
export type I32 = Int32Array;

export interface NativeInfo {
  /** GEMM implementation in use now: OpenBLAS, or our portable blocked kernel. */
  gemm: 'openblas' | 'portable';
  /** Whether the addon was linked against OpenBLAS at build time. */
  openblas: boolean;
  openblasConfig: string;
  /** Threads our own loops use (OpenMP), 1 when built without OpenMP. */
  threads: number;
  openmp: boolean;
  compiler: string;
}

/** The instruction set of the CPU kernels (see tb.setIsa and TENSORBOLT_ISA); the GPU's kernels have none to pick. */
export type IsaName = 'avx512' | 'avx2' | 'portable';

export interface NativeIsaInfo {
  /** The set in use now: picked from cpuid at load, or TENSORBOLT_ISA, or setIsa(). */
  isa: IsaName;
  /** The widest set this CPU and build run (what the load picks by default). */
  isaBest: IsaName;
  /** Every set this CPU and build run, widest first. */
  isaSupported: IsaName[];
  /** Whether the CPU has AVX512_BF16 (bf16 dot products) with the AVX-512 set. */
  bf16: boolean;
  /** What runs large GEMMs now: 'openblas', 'tensorbolt-avx512', 'tensorbolt-avx2', 'tensorbolt-portable' (+ notes). */
  gemmKernel: string;
  /** Whether the CPU's GEMMs and convolutions take bf16 operands now (setMatmulPrecision('bf16') under the avx512 set). */
  cpuBf16: boolean;
  /** Why TENSORBOLT_ISA could not be honoured at load ('' when unset or honoured). */
  isaEnvError: string;
}

export interface NativeBinding extends Kernels<F32, I32> {
  /**
   * The CUDA backend: present only in an addon built with `npm run build:cuda` (compiled with
   * TENSORBOLT_CUDA). See CudaBinding.
   */
  cuda?: CudaBinding;
  /** Collectives for tb.distributed: present only in an addon built with MPI (see dist_binding.ts). */
  dist?: DistBinding;

  // ---- runtime (native/napi/runtime_napi.cc) ----
  info(): NativeInfo;
  /** Switches GEMM between OpenBLAS and the portable kernel (throws if OpenBLAS was not linked). */
  setGemmBackend(name: 'openblas' | 'portable'): void;
  /** Threads of our OpenMP team; GEMMs are split over it with OpenBLAS single-threaded inside (one pool). */
  setNumThreads(n: number): void;

  // ---- instruction set (native/napi/isa_napi.cc) ----
  isaInfo(): NativeIsaInfo;
  /** Switches the CPU kernels to another set; throws a RangeError for one this CPU cannot run. */
  setIsa(name: IsaName): void;
  /** bf16 operands, fp32 sums for the CPU's GEMMs and convolutions; throws a RangeError without AVX512_BF16. */
  setCpuBf16(on: boolean): void;

  // ---- fit's host-side input pipeline (native/cpu/layout.cc), not a device kernel ----
  /**
   * Rows `indices` of xa (dim, innerA) into ya (nIdx, innerA) and of xb (dim, innerB) into yb, on a
   * worker thread; every argument is checked before the work is queued, and the arrays must stay
   * unchanged until the promise settles. The indices are copied; the four arrays must be memory no
   * one else can detach meanwhile (the worker keeps the objects, not their memory).
   */
  gatherPairAsync(xa: F32 | I32, ya: F32 | I32, innerA: number, xb: F32 | I32, yb: F32 | I32, innerB: number,
                  indices: I32, dim: number): Promise<void>;

  // ---- a host-side size query of the recurrent kernels (native/napi/rnn_napi.cc), not a kernel ----
  /**
   * [workspace, scratch] float counts of rnnForward's saved buffer and rnnBackward's scratch for
   * these dims (kernels.ts): the layout of native/common/rnn.h, the same on every device. Checks the
   * dims and their products (a RangeError naming what is wrong).
   */
  rnnSizes(dims: I32): [number, number];
}

// ---------------------------------------------------------------------------------------------
// The CUDA backend (native/cuda/ kernels), under `cuda` on the addon.
//
// Conventions beyond the CPU binding's:
// - Every CPU kernel has a CUDA twin of the same name: one binding (native/napi/<family>_napi.cc)
//   serves both devices, so the twin takes the same arguments in the same order, with the same
//   meaning and the same checks. Data lives in device buffers (DeviceBuffer, from alloc() or view())
//   where the CPU function takes a Float32Array/Int32Array; shapes, strides and dims stay host
//   Int32Arrays. Only the host's own tools have no twin: setGemmBackend, setNumThreads,
//   gatherPairAsync (fit's batch gather from host memory) and the CPU's instruction-set controls
//   (isaInfo, setIsa, setCpuBf16: they pick and describe the CPU kernels, and never touch the GPU's);
//   info() differs (CudaDeviceInfo).
// - Error messages name the function as "tensorbolt.cuda.<name>: ".
// - Work is queued on one stream and runs asynchronously; download() and synchronize() wait. A
//   kernel that fails while running, or that finds bad data (a label or index out of range), is
//   reported by the next download()/synchronize(), naming the op that queued it.
// - Errors carry a `code`: ERR_TENSORBOLT_CUDA_OOM, _LAUNCH, _CUBLAS, _DEVICE; bad data and bad
//   arguments are RangeError/TypeError as on the CPU.
// ---------------------------------------------------------------------------------------------

/**
 * Device memory for `length` float32 or int32 elements, or a view of part of another buffer's (same
 * memory). Opaque: only the binding reads it.
 */
export interface DeviceBuffer {
  readonly length: number;
  readonly dtype: 'float32' | 'int32';
}
type D = DeviceBuffer;

export interface CudaDeviceInfo {
  name: string;
  /** e.g. "9.0" for an H100. */
  computeCapability: string;
  totalMemory: number;
  freeMemory: number;
  multiprocessors: number;
  /** 1000 * major + 10 * minor (13000 = CUDA 13.0). */
  runtimeVersion: number;
  driverVersion: number;
  /** 10000 * major + 100 * minor + patch; 0 when unknown. */
  cublasVersion: number;
  /** Whether GEMMs (and convolutions) use TF32 tensor-core math. */
  tf32: boolean;
}

export interface CudaMemoryInfo {
  /** Bytes in buffers handed out (rounded to the allocator's block sizes). */
  inUse: number;
  /** Bytes in freed blocks kept for reuse. */
  cached: number;
  peakInUse: number;
  deviceMallocs: number;
  cacheHits: number;
}

/** The CUDA binding: every kernel (kernels.ts) over device buffers, plus the device's runtime and allocator. */
export interface CudaBinding extends Kernels<D, D> {
  // ---- runtime and allocator (native/napi/cuda/runtime_cuda_napi.cc) ----
  /** Visible devices; never throws. reason says why when count is 0. */
  deviceCount(): { count: number; reason: string };
  info(): CudaDeviceInfo;
  /** Uninitialized device memory (from the caching allocator). */
  alloc(length: number, dtype: 'float32' | 'int32'): DeviceBuffer;
  /**
   * Gives up the handle now; it is unusable afterwards. Idempotent. The memory goes back to the cache
   * when the buffer and every view of it are freed (or collected).
   */
  free(buffer: DeviceBuffer): void;
  /**
   * Elements [offset, offset + length) of buffer as a buffer of their own (same dtype), sharing its
   * memory; the memory stays allocated while the view lives, and freeing the view frees only the view.
   */
  view(buffer: D, offset: number, length: number): DeviceBuffer;
  /** dst[dstOffset ..] = src (same dtype). Queued; src may be reused at once. */
  upload(dst: D, src: F32 | I32, dstOffset: number): void;
  /** dst = src[srcOffset .. + dst.length). Waits for all queued work and reports its failures. */
  download(src: D, dst: F32 | I32, srcOffset: number): void;
  /** dst[dstOffset .. + length) = src[srcOffset .. + length), same dtype, queued; the ranges must not partly overlap. */
  copy(src: D, srcOffset: number, dst: D, dstOffset: number, length: number): void;
  synchronize(): void;
  memory(): CudaMemoryInfo;
  /** Gives cached blocks back to the driver. */
  emptyCache(): void;
  /** TF32 tensor-core math for later GEMMs and convolutions (false: full FP32, the default). */
  setTf32(on: boolean): void;
}
