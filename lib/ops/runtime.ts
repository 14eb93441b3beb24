// Process-wide native settings, exposed without leaking the addon itself.
import {
  addonPath, cudaSetTf32, cudaState, isaInfo, nativeInfo, setCpuBf16, setGemm, setIsa as setNativeIsa, setThreads,
  type CudaState, type IsaName, type NativeInfo, type NativeIsaInfo,
} from '../native/runtime.js';
import { getDefaultDevice, type DeviceName } from '../tensor/device.js';
import { TensorboltError, fmtValue } from '../tensor/errors.js';

export type { IsaName };

/** The CPU addon's facts (isa, bf16, gemmKernel describe the CPU kernels, whatever the default device). */
export interface BackendInfo extends NativeInfo, Omit<NativeIsaInfo, 'isaEnvError'> {
  /** The default device: where creation functions put tensors (tb.setDefaultDevice). */
  backend: DeviceName;
  addonPath: string;
  /** Whether the CUDA build exists and is usable here (and why not). */
  cuda: CudaState;
}

export function backendInfo(): BackendInfo {
  const { isaEnvError: _, ...isa } = isaInfo();
  return { ...nativeInfo(), ...isa, backend: getDefaultDevice(), addonPath: addonPath(), cuda: cudaState() };
}

/**
 * The instruction set of the CPU kernels: 'avx512' (AVX-512 F/BW/VL/DQ), 'avx2' (AVX2 + FMA) or
 * 'portable' (plain C++). The widest the CPU runs is picked at load; TENSORBOLT_ISA=... forces one
 * for a whole process. Throws for a set this CPU cannot run (backendInfo().isaSupported lists them).
 * A CPU setting only: kernels on 'cuda' tensors are the GPU's whatever it says.
 */
export function setIsa(name: IsaName): void {
  if (name !== 'avx512' && name !== 'avx2' && name !== 'portable')
    throw new TensorboltError('setIsa', `name must be 'avx512', 'avx2' or 'portable', got ${fmtValue(name)}`);
  try {
    setNativeIsa(name);
  } catch (e) {
    throw new TensorboltError('setIsa', (e as Error).message.replace(/^tensorbolt\.setIsa: /, ''));
  }
}

/**
 * 'highest': full FP32 GEMMs (the default). 'tf32': TF32 tensor-core GEMMs on the GPU (about 10
 * mantissa bits). 'bf16': on the CPU, matrix products and convolutions multiply bf16 operands (8
 * mantissa bits) and sum in FP32 with AVX512_BF16's dot products; weights and activations stay FP32.
 */
export type MatmulPrecision = 'highest' | 'tf32' | 'bf16';
let matmulPrecision: MatmulPrecision = 'highest';

/**
 * Precision of matrix products (matmul, linear layers, convolutions).
 * - 'tf32' applies to the CUDA GEMMs; the CPU keeps FP32.
 * - 'bf16' is a CPU setting: it applies to the CPU kernels of the avx512 instruction set (under a
 *   forced avx2 or portable set, products stay FP32), and throws on a CPU without AVX512_BF16 (Intel
 *   Cooper Lake or Sapphire Rapids, AMD Zen 4 and later have it). The zero-skipping dense products
 *   stay FP32. On 'cuda' tensors it changes nothing: the GPU's products stay FP32 ('tf32' is the GPU's
 *   reduced precision).
 */
export function setMatmulPrecision(precision: MatmulPrecision): void {
  if (precision !== 'highest' && precision !== 'tf32' && precision !== 'bf16')
    throw new TensorboltError('setMatmulPrecision', `precision must be 'highest', 'tf32' or 'bf16', got ${fmtValue(precision)}`);
  try {
    setCpuBf16(precision === 'bf16');
  } catch (e) {
    throw new TensorboltError('setMatmulPrecision', (e as Error).message.replace(/^tensorbolt\.setCpuBf16: /, ''));
  }
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
