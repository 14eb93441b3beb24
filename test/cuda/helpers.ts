// Runs one native kernel on both backends with the same inputs: the CPU binding on host typed arrays
// (the reference, itself tested against float64 references in test/native and test/ops) and the
// CUDA binding on device copies of them; then compares the outputs. Used only when a CUDA build is
// loaded and a GPU is visible.
import { afterEach, expect } from 'vitest';
import type { CudaBinding, DeviceBuffer, NativeBinding } from '../../lib/native/binding.js';
import { mulberry } from '../helpers/opcheck.js';

type Host = Float32Array | Int32Array;
type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Tol {
  atol: number;
  rtol: number;
}
export const EXACT: Tol = { atol: 0, rtol: 0 };

export function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = mulberry(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

export function randInt(n: number, seed: number, lo: number, hi: number): Int32Array {
  const r = mulberry(seed);
  return Int32Array.from({ length: n }, () => lo + Math.floor((hi - lo) * r()));
}

export function upload(cuda: CudaBinding, h: Host): DeviceBuffer {
  const d = cuda.alloc(h.length, h instanceof Int32Array ? 'int32' : 'float32');
  cuda.upload(d, h, 0);
  return d;
}

export function download(cuda: CudaBinding, d: DeviceBuffer): Host {
  const h = d.dtype === 'int32' ? new Int32Array(d.length) : new Float32Array(d.length);
  cuda.download(d, h, 0);
  return h;
}

/** Element-wise |gpu - cpu| <= atol + rtol * |cpu|; NaN must meet NaN, infinities must match. */
export function expectClose(what: string, gpu: ArrayLike<number>, cpu: ArrayLike<number>, tol: Tol): void {
  expect(gpu.length, `${what}: length`).toBe(cpu.length);
  for (let i = 0; i < cpu.length; i++) {
    const g = gpu[i]!, c = cpu[i]!;
    if (Number.isNaN(c) || !Number.isFinite(c)) {
      if (!Object.is(g, c) && !(Number.isNaN(c) && Number.isNaN(g)))
        throw new Error(`${what}[${i}]: gpu ${g}, cpu ${c}`);
      continue;
    }
    const t = tol.atol + tol.rtol * Math.abs(c);
    if (!(Math.abs(g - c) <= t)) throw new Error(`${what}[${i}]: gpu ${g}, cpu ${c} (|diff| ${Math.abs(g - c)} > tol ${t})`);
  }
}

/**
 * args: the kernel's arguments in order. Typed arrays listed in `data` are buffers: the CPU call gets
 * its own copy, the GPU call a device copy; everything else (numbers, shapes, dims) is passed as is.
 * After both calls, each buffer in `outs` is compared with tol (per-output tolerances may be given).
 */
export function compareKernel(
  cpu: NativeBinding,
  cuda: CudaBinding,
  fn: string,
  args: unknown[],
  data: number[],
  outs: number[],
  tol: Tol | Tol[],
): void {
  const cpuArgs = args.map((a, i) => (data.includes(i) && a ? (a as Host).slice() : a));
  const devArgs = args.map((a, i) => (data.includes(i) && a ? upload(cuda, a as Host) : a));
  try {
    (cpu as Any)[fn](...cpuArgs);
    (cuda as Any)[fn](...devArgs);
    outs.forEach((i, k) => {
      const t = Array.isArray(tol) ? tol[k]! : tol;
      expectClose(`${fn} output ${i}`, download(cuda, devArgs[i] as DeviceBuffer), cpuArgs[i] as Host, t);
    });
  } finally {
    for (const i of data) if (devArgs[i]) cuda.free(devArgs[i] as DeviceBuffer);
  }
}

/**
 * A turn of the event loop after each test of the file. The kernel comparisons run synchronously
 * (for seconds each on the emulator); a file of them with no turn between tests keeps the worker from
 * reading the runner's replies, and past vitest's 60 s RPC timeout on a loaded machine the run fails
 * with "Timeout calling onTaskUpdate" although every test passed.
 */
export function yieldBetweenTests(): void {
  afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));
}
