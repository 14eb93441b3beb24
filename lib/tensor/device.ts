// Devices: 'cpu' always; 'cuda' when a CUDA build of the addon is loaded and a GPU is visible (the
// loader in lib/native decides and remembers why not). A device name resolves to its backend here;
// the default device (tb.setDefaultDevice) is where creation functions put tensors by default.
import { cpu, cuda as cudaBackend, type DeviceName, type OpBackend } from '../native/backend.js';
import {
  cudaDeviceInfo, cudaEmptyCache, cudaMemory, cudaState, type CudaDeviceInfo, type CudaMemoryInfo,
} from '../native/runtime.js';
import type { DType } from './engine.js';
import { TensorboltError, fmtValue } from './errors.js';

export type { DeviceName } from '../native/backend.js';

/** Options that tensor-creating functions accept in place of a dtype. */
export interface CreateOptions {
  dtype?: DType;
  /** 'cpu' or 'cuda' (also 'cuda:0'); default: tb.getDefaultDevice(). */
  device?: DeviceName | 'cuda:0';
}

/** Why device 'cuda' cannot be used in this process, and how to fix it. */
export function cudaUnavailableMessage(): string {
  const s = cudaState();
  if (!s.built)
    return 'this install has no CUDA build of the addon. Build it with `npm run build:cuda` (needs the CUDA ' +
      'toolkit with nvcc and cuBLAS, and cmake; see docs/cuda.md); it is then used whenever a GPU is visible';
  return `the CUDA build (${s.path}) is present but cannot be used: ${s.reason}`;
}

/** Checks a device argument and names it: 'cpu' or 'cuda' ('cuda:0' is 'cuda'). Throws TensorboltError(op) otherwise. */
export function deviceName(op: string, device: unknown): DeviceName {
  if (device === 'cpu' || device === 'cuda') return device;
  if (device === 'cuda:0') return 'cuda';
  if (typeof device === 'string' && /^cuda:\d+$/.test(device))
    throw new TensorboltError(op, `device ${fmtValue(device)}: only one GPU is supported; use 'cuda' (device 0)`);
  throw new TensorboltError(op, `unknown device ${fmtValue(device)}; expected 'cpu' or 'cuda'`);
}

let defaultDevice: DeviceName = 'cpu';

/** The backend of a device (undefined: the default device); throws TensorboltError(op) when it cannot be used. */
export function backendFor(op: string, device?: unknown): OpBackend {
  const d = device === undefined ? defaultDevice : deviceName(op, device);
  if (d === 'cpu') return cpu();
  const be = cudaBackend();
  if (!be) throw new TensorboltError(op, `device 'cuda' is not available: ${cudaUnavailableMessage()}`);
  return be;
}

/** The device tensors are created on when a creation function is given none (PyTorch's set_default_device). */
export function setDefaultDevice(device: DeviceName | 'cuda:0'): void {
  const be = backendFor('setDefaultDevice', device ?? null);
  defaultDevice = be.device;
}

export function getDefaultDevice(): DeviceName {
  return defaultDevice;
}

/** 'cuda' when it is usable here, else 'cpu' (what `--device auto` picks). */
export function bestDevice(): DeviceName {
  return cudaBackend() ? 'cuda' : 'cpu';
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

/** tb.cuda: the CUDA backend's status and its few process-wide controls. */
export const cuda = {
  /** Whether a CUDA build of the addon is loaded and a GPU is visible. */
  isAvailable(): boolean {
    return cudaBackend() !== null;
  },
  /** Build and device facts (device name, compute capability, CUDA and cuBLAS versions). */
  info(): CudaInfo {
    const s = cudaState();
    return { built: s.built, available: s.available, reason: s.reason, device: cudaDeviceInfo() };
  },
  /** The caching allocator's counters (bytes in use, cached, device mallocs), or null without a GPU. */
  memory(): CudaMemoryInfo | null {
    return cudaMemory();
  },
  /**
   * Waits until every queued kernel and copy has finished, and throws what failed on the device
   * (a label or index out of range, a failed launch), naming the op that queued it. Timing GPU work
   * needs it; reading values (dataSync, item) waits by itself. A no-op without a GPU.
   */
  synchronize(): void {
    cudaBackend()?.synchronize();
  },
  /** Gives the allocator's cached blocks back to the driver (for other processes). */
  emptyCache(): void {
    cudaEmptyCache();
  },
};
