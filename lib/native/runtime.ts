// Process-wide facts and knobs of the loaded addon, for lib/ (which never touches the addon itself):
// CPU build info, threads, the GEMM implementation, the CPU kernels' instruction set and bf16 products,
// and the CUDA device's status, memory and precision.
import type { CudaDeviceInfo, CudaMemoryInfo, IsaName, NativeInfo, NativeIsaInfo } from './binding.js';
import { cuda as cudaStateOf, cudaBinding, native, nativePath, type CudaState } from './load.js';

export type { CudaDeviceInfo, CudaMemoryInfo, IsaName, NativeInfo, NativeIsaInfo, CudaState };

export function nativeInfo(): NativeInfo {
  return native().info();
}

/** Path of the addon that was loaded. */
export function addonPath(): string {
  return nativePath();
}

export function setThreads(n: number): void {
  native().setNumThreads(n);
}

export function setGemm(name: 'openblas' | 'portable'): void {
  native().setGemmBackend(name);
}

/** The CPU kernels' instruction set: in use, the widest, every one this CPU runs; bf16 products. */
export function isaInfo(): NativeIsaInfo {
  return native().isaInfo();
}

/** Switches the CPU kernels to another instruction set (a RangeError for one this CPU cannot run). */
export function setIsa(name: IsaName): void {
  native().setIsa(name);
}

/** bf16 operands with fp32 sums for the CPU's GEMMs and convolutions (a RangeError without AVX512_BF16). */
export function setCpuBf16(on: boolean): void {
  native().setCpuBf16(on);
}

/** Whether the CUDA build exists and is usable here, and why not. */
export function cudaState(): CudaState {
  return cudaStateOf();
}

/** The GPU's facts, or null without a usable one. */
export function cudaDeviceInfo(): CudaDeviceInfo | null {
  return cudaBinding()?.info() ?? null;
}

/** The CUDA caching allocator's counters, or null without a GPU. */
export function cudaMemory(): CudaMemoryInfo | null {
  return cudaBinding()?.memory() ?? null;
}

/** Gives the CUDA allocator's cached blocks back to the driver (no-op without a GPU). */
export function cudaEmptyCache(): void {
  cudaBinding()?.emptyCache();
}

/** TF32 tensor-core math for later CUDA GEMMs and convolutions (no-op without a GPU). */
export function cudaSetTf32(on: boolean): void {
  cudaBinding()?.setTf32(on);
}
