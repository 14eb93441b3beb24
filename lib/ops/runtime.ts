// Process-wide native settings, exposed without leaking the addon itself.
import {
  addonPath, cudaSetTf32, cudaState, nativeInfo, setGemm, setThreads, type CudaState, type NativeInfo,
} from '../native/runtime.js';
import { getDefaultDevice, type DeviceName } from '../tensor/device.js';
import { TensorboltError, fmtValue } from '../tensor/errors.js';

export interface BackendInfo extends NativeInfo {
  /** The default device: where creation functions put tensors (tb.setDefaultDevice). */
  backend: DeviceName;
  addonPath: string;
  /** Whether the CUDA build exists and is usable here (and why not). */
  cuda: CudaState;
}

export function backendInfo(): BackendInfo {
  return { ...nativeInfo(), backend: getDefaultDevice(), addonPath: addonPath(), cuda: cudaState() };
}

/** 'highest': full FP32 GEMMs (the default). 'tf32': TF32 tensor-core GEMMs on the GPU (about 10 mantissa bits). */
export type MatmulPrecision = 'highest' | 'tf32';
let matmulPrecision: MatmulPrecision = 'highest';

/**
 * Precision of matrix products on the GPU (matmul, linear layers, convolutions). The CPU always
 * computes in FP32; the setting is stored and applies to the CUDA GEMMs whenever a GPU is used.
 */
export function setMatmulPrecision(precision: MatmulPrecision): void {
  if (precision !== 'highest' && precision !== 'tf32')
    throw new TensorboltError('setMatmulPrecision', `precision must be 'highest' or 'tf32', got ${fmtValue(precision)}`);
  matmulPrecision = precision;
  cudaSetTf32(precision === 'tf32');
}

export function getMatmulPrecision(): MatmulPrecision {
  return matmulPrecision;
}

/**
 * Threads for tensorbolt's kernels, GEMMs included (each thread runs a single-threaded OpenBLAS on its
 * block). 1 is often fastest for small models, or when other work occupies the cores.
 */
export function setNumThreads(n: number): void {
  // 1024 is the addon's own limit; past it the addon's RangeError would escape.
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new TensorboltError('setNumThreads', `n must be an integer in [1, 1024], got ${fmtValue(n)}`);
  setThreads(n);
}

/** 'openblas' (when linked) or 'portable' (our blocked GEMM). */
export function setGemmBackend(name: 'openblas' | 'portable'): void {
  try {
    setGemm(name);
  } catch (e) {
    throw new TensorboltError('setGemmBackend', (e as Error).message.replace(/^tensorbolt\.setGemmBackend: /, ''));
  }
}
