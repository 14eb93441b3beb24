// One parametrized checker for every op (tinygrad's helper_test_op, ggml's test-backend-ops):
//  - forward: the tensorbolt op against a plain float64 TypeScript reference;
//  - backward: tensorbolt's gradients against central finite differences of the reference, taken
//    in float64, of L = sum(w * f(x)) for a fixed random upstream gradient w.
// It runs for every backend present (backends()): the CPU kernels under each instruction set this
// machine runs, our GEMM in place of OpenBLAS, and 'cuda' where present. The finite differences (float64 TypeScript, the
// slow part) are taken once and compared with every backend's gradients.
import { expect } from 'vitest';
import * as tb from '../../lib/index.js';

type IsaName = tb.IsaName;


export interface Ref {
  shape: number[];
  data: Float64Array;
}

export interface InputSpec {
  shape: number[];
  dtype?: 'float32' | 'int32';
  /** Values generator (default: uniform in [-1, 1]); for int32, integers from gen. */
  gen?: (i: number, rnd: () => number) => number;
  /** Whether to check this input's gradient (default true for float32). */
  grad?: boolean;
}

export interface OpCase {
  name: string;
  inputs: InputSpec[];
  /** The op under test. */
  fn: (...xs: tb.Tensor[]) => tb.Tensor;
  /** Plain reference in float64. */
  ref: (...xs: Ref[]) => Ref;
  atol?: number;
  rtol?: number;
  /** Tolerance of the gradient check (relative to the gradient's scale). */
  gradTol?: number;
  /** Finite-difference step. */
  eps?: number;
  /** Skip the gradient check (non-differentiable ops). */
  noGrad?: boolean;
  /** Large tensors: not run on the CUDA emulator (see backends()). */
  large?: boolean;
}

/** Every instruction set the CPU kernels have (native/cpu/isa.h), widest first. */
export const ALL_ISAS: IsaName[] = ['avx512', 'avx2', 'portable'];

/** The sets this CPU and build run (the rest must be reported as skipped, never as passed). */
export function supportedIsas(): IsaName[] {
  return tb.backendInfo().isaSupported;
}

/** Whether 'cuda' is the host emulator (npm run test:cuda-emu): correct, but thousands of times slower than a GPU. */
export function cudaEmulated(): boolean {
  return /emulator/.test(tb.cuda.info().device?.name ?? '');
}

/**
 * Backends present here: the CPU kernels under every instruction set this machine runs
 * ('cpu-avx512', 'cpu-avx2', 'cpu-portable'), then our own GEMM in place of OpenBLAS under the
 * widest set when OpenBLAS is linked, and 'cuda' when the loaded addon has a usable CUDA device (a
 * GPU, or the host emulator of npm run test:cuda-emu). A case with large tensors (`large`: sizes
 * chosen to reach the CPU kernels' chunked and threaded paths) skips the emulator; on a GPU it runs too.
 */
export function backends(opts: { large?: boolean } = {}): string[] {
  const info = tb.backendInfo();
  const list = info.isaSupported.map((isa) => `cpu-${isa}`);
  if (info.openblas) list.push('cpu-portable-gemm');
  if (tb.cuda.isAvailable() && !(opts.large && cudaEmulated())) list.push('cuda');
  return list;
}

/** Runs fn with the named backend selected: tensors the test creates land on its device, CPU kernels run its set. */
export function withBackend<T>(name: string, fn: () => T): T {
  if (name === 'cpu-portable-gemm') {
    tb.setGemmBackend('portable');
    try {
      return fn();
    } finally {
      tb.setGemmBackend('openblas');
    }
  }
  const isa = ALL_ISAS.find((i) => name === `cpu-${i}`);
  if (isa) return withIsa(isa, fn);
  if (name === 'cuda') {
    const before = tb.getDefaultDevice();
    tb.setDefaultDevice('cuda');
    try {
      return fn();
    } finally {
      tb.setDefaultDevice(before);
    }
  }
  return fn();
}

/** Runs fn with the CPU kernels on one instruction set (which must be supported). */
export function withIsa<T>(isa: IsaName, fn: () => T): T {
  const prev = tb.backendInfo().isa;
  tb.setIsa(isa);
  try {
    return fn();
  } finally {
    tb.setIsa(prev);
  }
}

export function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function makeInputs(specs: InputSpec[], seed = 1): Ref[] {
  const rnd = mulberry(seed);
  return specs.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) data[i] = s.gen ? s.gen(i, rnd) : rnd() * 2 - 1;
    if (s.dtype !== 'int32') for (let i = 0; i < n; i++) data[i] = Math.fround(data[i]!);
    return { shape: s.shape.slice(), data };
  });
}

function toTensor(r: Ref, spec: InputSpec): tb.Tensor {
  if (spec.dtype === 'int32') return tb.tensor(Int32Array.from(r.data), r.shape);
  const t = tb.tensor(Float32Array.from(r.data), r.shape);
  if (spec.grad !== false) t.requiresGrad = true;
  return t;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e)) {
      expect(Number.isNaN(a), `${what}[${i}]: expected NaN, got ${a}`).toBe(true);
      continue;
    }
    if (!Number.isFinite(e)) {
      expect(a, `${what}[${i}]`).toBe(e);
      continue;
    }
    const tol = atol + rtol * Math.abs(e);
    if (!(Math.abs(a - e) <= tol)) throw new Error(`${what}[${i}]: got ${a}, expected ${e} (tol ${tol})`);
  }
}

/** Checks forward (and backward unless noGrad) of one case on every backend present. */
export function checkOp(c: OpCase, seed = 1): void {
  const refs = makeInputs(c.inputs, seed);
  const expected = c.ref(...refs.map((r) => ({ shape: r.shape.slice(), data: r.data.slice() })));
  const numeric: Float64Array[] = [];
  for (const be of backends({ large: c.large })) {
    withBackend(be, () => {
      const xs = refs.map((r, i) => toTensor(r, c.inputs[i]!));
      const y = c.fn(...xs);
      expect(y.shape, `${c.name} [${be}] output shape`).toEqual(expected.shape);
      expectClose(y.dataSync(), expected.data, c.atol ?? 1e-5, c.rtol ?? 1e-4, `${c.name} [${be}] forward`);
      if (!c.noGrad && y.requiresGrad) checkGrad(c, refs, xs, y, be, seed, numeric);
      for (const x of xs) x.dispose();
      y.dispose();
    });
  }
}

// numeric[k]: input k's finite-difference gradient, computed on the first backend's call and reused.
function checkGrad(c: OpCase, refs: Ref[], xs: tb.Tensor[], y: tb.Tensor, be: string, seed: number, numericOf: Float64Array[]): void {
  const rnd = mulberry(seed + 1000);
  const w = new Float64Array(y.size);
  for (let i = 0; i < w.length; i++) w[i] = Math.fround(rnd() * 2 - 1);
  const dy = tb.tensor(Float32Array.from(w), y.shape.slice());
  y.backward(dy);
  dy.dispose();
  const loss = (rs: Ref[]): number => {
    const out = c.ref(...rs);
    let s = 0;
    for (let i = 0; i < out.data.length; i++) s += w[i]! * out.data[i]!;
    return s;
  };
  const eps = c.eps ?? 1e-3;
  for (let k = 0; k < refs.length; k++) {
    const spec = c.inputs[k]!;
    if (spec.dtype === 'int32' || spec.grad === false) continue;
    const x = xs[k]!;
    let numeric = numericOf[k];
    if (!numeric) {
      numeric = new Float64Array(refs[k]!.data.length);
      for (let i = 0; i < numeric.length; i++) {
        const plus = refs.map((r) => ({ shape: r.shape, data: r.data.slice() }));
        const minus = refs.map((r) => ({ shape: r.shape, data: r.data.slice() }));
        plus[k]!.data[i]! += eps;
        minus[k]!.data[i]! -= eps;
        numeric[i] = (loss(plus) - loss(minus)) / (2 * eps);
      }
      numericOf[k] = numeric;
    }
    const analytic = x.grad ? x.grad.dataSync() : new Float32Array(numeric.length);
    let scale = 1e-2;
    for (const v of numeric) scale = Math.max(scale, Math.abs(v));
    const tol = (c.gradTol ?? 2e-3) * scale;
    for (let i = 0; i < numeric.length; i++) {
      if (!(Math.abs(analytic[i]! - numeric[i]!) <= tol))
        throw new Error(`${c.name} [${be}] grad of input ${k} at ${i}: analytic ${analytic[i]}, numeric ${numeric[i]} (tol ${tol})`);
    }
  }
}

/** Asserts fn throws TensorboltError whose message names op. */
export function expectOpError(fn: () => unknown, op: string, also?: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${op} to throw`).toBeInstanceOf(tb.TensorboltError);
  expect((err as Error).message).toContain(op);
  if (also) expect((err as Error).message).toMatch(also);
}

// ---- small float64 reference helpers ----

export function refOf(shape: number[], f: (i: number) => number): Ref {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = f(i);
  return { shape, data };
}

export function stridesOf(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Broadcast binary reference. */
export function refBinary(a: Ref, b: Ref, f: (x: number, y: number) => number): Ref {
  const n = Math.max(a.shape.length, b.shape.length);
  const pa = Array(n - a.shape.length).fill(1).concat(a.shape);
  const pb = Array(n - b.shape.length).fill(1).concat(b.shape);
  const out = pa.map((d: number, i: number) => Math.max(d, pb[i]));
  if (pa.some((d: number) => d === 0) || pb.some((d: number) => d === 0)) for (let i = 0; i < n; i++) if (pa[i] === 0 || pb[i] === 0) out[i] = 0;
  const sa = stridesOf(pa), sb = stridesOf(pb), so = stridesOf(out);
  return refOf(out, (i) => {
    let ia = 0, ib = 0;
    for (let d = 0; d < n; d++) {
      const idx = Math.floor(i / so[d]!) % out[d]!;
      if (pa[d] !== 1) ia += idx * sa[d]!;
      if (pb[d] !== 1) ib += idx * sb[d]!;
    }
    return f(a.data[ia]!, b.data[ib]!);
  });
}

export function refUnary(a: Ref, f: (x: number) => number): Ref {
  return refOf(a.shape.slice(), (i) => f(a.data[i]!));
}

/** Plain triple-loop matmul reference (batched over leading dims of a; b 2-D or same batch). */
export function refMatmul(a: Ref, b: Ref, tA = false, tB = false): Ref {
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const m = tA ? ac : ar, k = tA ? ar : ac, n = tB ? br : bc;
  const batchShape = a.shape.length > 2 ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
  const batch = batchShape.reduce((x, y) => x * y, 1);
  const data = new Float64Array(batch * m * n);
  for (let bi = 0; bi < batch; bi++) {
    const ao = a.shape.length > 2 ? bi * m * k : 0;
    const bo = b.shape.length > 2 ? bi * k * n : 0;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const av = tA ? a.data[ao + p * m + i]! : a.data[ao + i * k + p]!;
          const bv = tB ? b.data[bo + j * k + p]! : b.data[bo + p * n + j]!;
          s += av * bv;
        }
        data[bi * m * n + i * n + j] = s;
      }
  }
  return { shape: [...batchShape, m, n], data };
}
