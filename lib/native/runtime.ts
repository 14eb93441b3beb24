// Process-wide facts and knobs of the loaded addon, for lib/ (which never touches the addon itself):
// CPU build info, threads, the GEMM implementation, and the CUDA device's status, memory and precision.
import type { CudaDeviceInfo, CudaMemoryInfo, NativeInfo } from './binding.js';
import { cuda as cudaStateOf, cudaBinding, native, nativePath, type CudaState } from './load.js';

export type { CudaDeviceInfo, CudaMemoryInfo, NativeInfo, CudaState };

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
