// Process-wide native settings, exposed without leaking the addon itself.
import type { NativeInfo } from '../native/binding.js';
import { native, nativePath } from '../native/load.js';
import { TensorboltError, fmtValue } from '../tensor/errors.js';

export interface BackendInfo extends NativeInfo {
  backend: 'cpu';
  addonPath: string;
}

export function backendInfo(): BackendInfo {
  return { backend: 'cpu', ...native().info(), addonPath: nativePath() };
}

/** Threads for our kernels and OpenBLAS together (1 is often fastest for small models on 2 cores). */
export function setNumThreads(n: number): void {
  // 1024 is the addon's own limit; past it the addon's RangeError would escape.
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new TensorboltError('setNumThreads', `n must be an integer in [1, 1024], got ${fmtValue(n)}`);
  native().setNumThreads(n);
}

/** 'openblas' (when linked) or 'portable' (our blocked GEMM). */
export function setGemmBackend(name: 'openblas' | 'portable'): void {
  try {
    native().setGemmBackend(name);
  } catch (e) {
    throw new TensorboltError('setGemmBackend', (e as Error).message.replace(/^tensorbolt\.setGemmBackend: /, ''));
  }
}
