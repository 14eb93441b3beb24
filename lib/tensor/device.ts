// Devices. 'cpu' is where every tensor lives today. 'cuda' is reachable when a CUDA build of the
// addon is loaded and a GPU is visible (lib/native/load.ts decides); tensors cannot live there yet
// (docs/cuda.md lists what remains), so asking for it fails with an error that says why and what to do.
import type { CudaDeviceInfo, CudaMemoryInfo } from '../native/binding.js';
import { cuda as cudaState, cudaBinding } from '../native/load.js';
import type { DType } from './engine.js';
import { TensorboltError, fmtValue } from './errors.js';

export type DeviceName = 'cpu' | 'cuda';

/** Options that tensor-creating functions accept in place of a dtype. */
export interface CreateOptions {
  dtype?: DType;
  device?: DeviceName;
}

/** Why device 'cuda' cannot be used in this process, and how to fix it. */
export function cudaUnavailableMessage(): string {
  const s = cudaState();
  if (!s.built)
    return 'this install has no CUDA build of the addon. Build it with `npm run build:cuda` (needs the CUDA ' +
      'toolkit with nvcc and cuBLAS, and cmake; see docs/cuda.md); it is then used whenever a GPU is visible';
  return `the CUDA build (${s.path}) is present but cannot be used: ${s.reason}`;
}

/**
 * Checks a device argument. Returns 'cpu'; throws TensorboltError(op) for anything else: an unknown
 * name, or 'cuda' (unavailable, or available but not yet wired into tensors).
 */
export function resolveDevice(op: string, device: unknown): 'cpu' {
  if (device === undefined || device === 'cpu') return 'cpu';
  if (device !== 'cuda' && !(typeof device === 'string' && /^cuda:\d+$/.test(device)))
    throw new TensorboltError(op, `unknown device ${fmtValue(device)}; expected 'cpu' or 'cuda'`);
  if (!cudaBinding()) throw new TensorboltError(op, `device 'cuda' is not available: ${cudaUnavailableMessage()}`);
  throw new TensorboltError(
    op,
    "device 'cuda' is available (a GPU is visible and the CUDA build is loaded), but tensors cannot live on it " +
      'yet: the CUDA kernels are reachable only through the native binding so far (see docs/cuda.md)',
  );
}

/** The dtype from a creation function's dtype-or-options argument, after checking its device. */
export function creationDType(op: string, arg: DType | CreateOptions | undefined): DType | undefined {
  if (arg !== null && typeof arg === 'object') {
    resolveDevice(op, arg.device);
    return arg.dtype;
  }
  return arg;
}

export interface CudaInfo {
  /** A CUDA build of the addon exists. */
  built: boolean;
  /** That build is loaded and sees a GPU. */
  available: boolean;
  /** Why not, when not available. */
  reason: string;
  /** The device, when available. */
  device: CudaDeviceInfo | null;
}

/** tb.cuda: the CUDA backend's status. */
export const cuda = {
  /** Whether a CUDA build of the addon is loaded and a GPU is visible. */
  isAvailable(): boolean {
    return cudaBinding() !== null;
  },
  /** Build and device facts (device name, compute capability, CUDA and cuBLAS versions). */
  info(): CudaInfo {
    const s = cudaState();
    const b = cudaBinding();
    return { built: s.built, available: s.available, reason: s.reason, device: b ? b.info() : null };
  },
  /** The caching allocator's counters, or null without a GPU. */
  memory(): CudaMemoryInfo | null {
    return cudaBinding()?.memory() ?? null;
  },
};
