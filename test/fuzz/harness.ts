// Shared machinery of the property-based suite (fast-check).
//
// Every property draws inputs (shapes, values including NaN, ±Inf, ±1e30, ±3.4e38 and denormals,
// dtypes, hostile arguments), runs a tensorbolt call inside tidy(), and accepts exactly two outcomes:
// the result matches a float64 reference, or the call throws TensorboltError (when the reference
// says the input is invalid it must throw). Any other exception type fails the property, as does a
// tensor leaked by either path. fast-check prints the seed and path of a failure; replay it with
//   TB_FUZZ_SEED=<seed> npx vitest run test/fuzz
// TB_FUZZ_SCALE multiplies every run count (e.g. 10 for a long local session).
import fc from 'fast-check';
import { expect } from 'vitest';
import * as tb from '../../lib/index.js';

export { fc, tb };

const SCALE = Number(process.env.TB_FUZZ_SCALE ?? '1');
const SEED = process.env.TB_FUZZ_SEED !== undefined ? Number(process.env.TB_FUZZ_SEED) : undefined;

/**
 * Runs property `name` RUNS[name] times (scaled) on values drawn from arb; on failure fast-check
 * reports the seed and the shrunk counterexample. Every property also checks that it leaked no tensor.
 */
export function check<T>(name: keyof typeof RUNS, arb: fc.Arbitrary<T>, body: (v: T) => void): void {
  const runs = Math.max(1, Math.round(RUNS[name] * SCALE));
  fc.assert(fc.property(arb, (v) => {
    const before = tb.memory().numTensors;
    try {
      body(v);
    } finally {
      for (const o of owned.splice(0)) o.dispose();
    }
    const after = tb.memory().numTensors;
    if (after !== before) throw new Error(`leaked ${after - before} tensor(s)`);
  }), { numRuns: runs, seed: SEED });
}

const owned: { dispose(): void }[] = [];
/**
 * Registers a module, layer or optimizer made by the current case: it keeps tensors past tidy() (as
 * model weights must), so it is disposed when the case ends, before the leak check.
 */
export function own<T extends { dispose(): void }>(o: T): T {
  owned.push(o);
  return o;
}

/**
 * Runs per property: the one table of the suite's size (test/fuzz/budget.test.ts checks that the
 * total stays at or above 10,000 and that every entry is used).
 */
export const RUNS = {
  unary: 900,
  unaryGrad: 300,
  binary: 900,
  binaryGrad: 400,
  compare: 400,
  where: 300,
  clipPow: 300,
  cast: 200,
  activation: 800,
  softmax: 400,
  xent: 400,
  reduce: 600,
  argReduce: 300,
  matmul: 400,
  reshape: 300,
  permute: 250,
  slice: 250,
  concat: 250,
  gather: 250,
  oneHot: 150,
  broadcastPad: 250,
  sumToShape: 150,
  creation: 300,
  conv2d: 300,
  pool: 300,
  batchNorm: 200,
  dropout: 200,
  recurrence: 250,
  embedding: 250,
  embeddingLayer: 150,
  kerasLayers: 300,
  torchLayers: 250,
  losses: 300,
  optimizers: 200,
  hostileOps: 800,
  hostileMethods: 300,
  hostileLayers: 300,
} as const;

// ---- values ----

export const SPECIALS = [NaN, Infinity, -Infinity, 1e30, -1e30, 3.4e38, -3.4e38, 1e-40, -1e-40, 1e-45, 0, -0] as const;

/** A float32 value: mostly ordinary, sometimes special. */
export const value = (maxAbs = 10): fc.Arbitrary<number> =>
  fc.oneof(
    { weight: 8, arbitrary: fc.double({ min: -maxAbs, max: maxAbs, noNaN: true }).map(Math.fround) },
    { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) },
    { weight: 1, arbitrary: fc.constantFrom(...SPECIALS).map(Math.fround) },
  );

/** Ordinary values only (for ops whose reference is only meaningful away from overflow). */
export const tame = (maxAbs = 4): fc.Arbitrary<number> => fc.double({ min: -maxAbs, max: maxAbs, noNaN: true }).map(Math.fround);

// ---- shapes ----

export const dim = (max = 4, min = 0): fc.Arbitrary<number> =>
  fc.oneof({ weight: 3, arbitrary: fc.integer({ min: Math.max(min, 1), max }) }, { weight: 1, arbitrary: fc.constant(Math.min(Math.max(min, 0), max)) });
export const shape = (maxRank = 4, maxDim = 4, minDim = 0): fc.Arbitrary<number[]> =>
  fc.array(dim(maxDim, minDim), { minLength: 0, maxLength: maxRank });

export const sizeOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Float data for a shape. */
export const dataFor = (s: readonly number[], v: fc.Arbitrary<number> = value()): fc.Arbitrary<number[]> =>
  fc.array(v, { minLength: sizeOf(s), maxLength: sizeOf(s) });

export interface TSpec {
  shape: number[];
  data: number[];
  dtype: 'float32' | 'int32';
}

/** A tensor spec: shape, dtype (mostly float32) and values. */
export const tspec = (shapeArb: fc.Arbitrary<number[]> = shape(), v: fc.Arbitrary<number> = value(), intWeight = 1): fc.Arbitrary<TSpec> =>
  fc.tuple(shapeArb, fc.oneof({ weight: 9, arbitrary: fc.constant('float32' as const) }, { weight: intWeight, arbitrary: fc.constant('int32' as const) }))
    .chain(([s, dtype]) => dataFor(s, dtype === 'int32' ? fc.integer({ min: -5, max: 5 }) : v).map((data) => ({ shape: s, data, dtype })));

export function make(s: TSpec, requiresGrad = false): tb.Tensor {
  const t = tb.tensor(s.dtype === 'int32' ? Int32Array.from(s.data) : Float32Array.from(s.data), s.shape);
  if (requiresGrad && s.dtype === 'float32') t.requiresGrad = true;
  return t;
}

/** Values for broadcasting: two shapes that broadcast together (or, with `bad`, that may not). */
export const broadcastPair = (maxRank = 4): fc.Arbitrary<[number[], number[]]> =>
  shape(maxRank, 4).chain((out) =>
    fc.tuple(
      fc.tuple(fc.integer({ min: 0, max: out.length }), fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length })),
      fc.tuple(fc.integer({ min: 0, max: out.length }), fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length })),
    ).map(([[ra, ma], [rb, mb]]) => {
      const derive = (r: number, m: boolean[]) => out.slice(out.length - r).map((d, i) => (m[out.length - r + i] ? 1 : d));
      return [derive(ra, ma), derive(rb, mb)] as [number[], number[]];
    }));

/** Arbitrary junk for argument positions. A fresh disposed tensor is made on demand. */
export const junk = (): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.constantFrom<unknown>(null, undefined, 'x', '', {}, [], [[1], [2, 3]], [1, 'a'], NaN, Infinity, -1, 1.5, 2 ** 40, true, 10n,
      Symbol('junk'), () => 1, new Float64Array(2), new Uint8Array(3), new Map(), Object.create(null)),
    fc.constant('disposed-tensor'),
    fc.constant('int-tensor'),
  );

/** Resolves junk placeholders into values. */
export function materialize(j: unknown): unknown {
  if (j === 'disposed-tensor') {
    const t = tb.tensor([1, 2, 3]);
    t.dispose();
    return t;
  }
  if (j === 'int-tensor') return tb.tidy(() => tb.keep(tb.tensor(Int32Array.from([1, 2]))));
  return j;
}

/** JSON for case descriptions that survives BigInt, Symbol and functions. */
export function show(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : typeof x === 'symbol' || typeof x === 'function' ? String(x) : x)) ?? String(v);
  } catch {
    return typeof v;
  }
}

export function disposeJunk(j: unknown): void {
  if (j instanceof tb.Tensor) j.dispose();
}

// ---- outcomes ----

export type Expected =
  | { throws: true }
  /** tols: per-element absolute tolerances added to atol (e.g. rtol times the sum of |terms| of a sum) */
  | { shape: number[]; data: ArrayLike<number>; atol?: number; rtol?: number; tols?: ArrayLike<number> }
  | { any: true };

/**
 * Runs fn inside tidy. It must either return a tensor matching `expected`, or throw TensorboltError
 * (required when expected is {throws}). Returns the error or null.
 */
export function outcome(what: string, fn: () => tb.Tensor | void, expected: Expected | (() => Expected)): tb.TensorboltError | null {
  let got: { shape: number[]; data: Float32Array | Int32Array } | null = null;
  let err: unknown = null;
  try {
    tb.tidy(() => {
      const y = fn();
      if (y instanceof tb.Tensor) got = { shape: y.shape.slice(), data: y.dataSync() };
    });
  } catch (e) {
    err = e;
  }
  if (err !== null) {
    if (!(err instanceof tb.TensorboltError))
      throw new Error(`${what}: threw ${(err as Error)?.constructor?.name ?? typeof err} instead of TensorboltError: ${(err as Error)?.message ?? String(err)}`);
    return err;
  }
  const exp = typeof expected === 'function' ? expected() : expected;
  if ('throws' in exp) throw new Error(`${what}: returned instead of throwing TensorboltError`);
  if ('any' in exp) return null;
  if (!got) throw new Error(`${what}: returned no tensor`);
  const g = got as { shape: number[]; data: Float32Array | Int32Array };
  expect(g.shape, `${what}: shape`).toEqual(exp.shape);
  expectClose(g.data, exp.data, exp.atol ?? 1e-5, exp.rtol ?? 1e-4, what, exp.tols);
  return null;
}

/** Elementwise closeness with IEEE special values: NaN must match NaN, infinities their sign. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number, what: string, tols?: ArrayLike<number>): void {
  if (actual.length !== expected.length) throw new Error(`${what}: ${actual.length} values, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    // float outputs are compared with the float32 rounding of the reference; int32 outputs exactly
    const e = actual instanceof Int32Array ? expected[i]! : Math.fround(expected[i]!);
    // an infinite tolerance marks an element whose float32 result depends on the order of
    // accumulation past overflow (terms beyond 1e38 that cancel): not checked
    if (tols && tols[i] === Infinity) continue;
    if (Number.isNaN(e)) {
      if (!Number.isNaN(a)) throw new Error(`${what}[${i}]: got ${a}, expected NaN`);
      continue;
    }
    if (Number.isNaN(a)) throw new Error(`${what}[${i}]: got NaN, expected ${expected[i]}`);
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      // float32 overflow at the border: a value past 1e38 and an infinity of the same sign agree
      const big = (x: number) => !Number.isFinite(x) || Math.abs(x) >= 1e38;
      if (a === e || (big(a) && big(e) && Math.sign(a) === Math.sign(e))) continue;
      throw new Error(`${what}[${i}]: got ${a}, expected ${expected[i]}`);
    }
    const tol = atol + rtol * Math.abs(e) + (tols ? tols[i]! : 0);
    if (!(Math.abs(a - e) <= tol)) throw new Error(`${what}[${i}]: got ${a}, expected ${expected[i]} (tol ${tol})`);
  }
}

// ---- float64 reference helpers ----

export function strides(s: readonly number[]): number[] {
  const r = new Array<number>(s.length);
  let acc = 1;
  for (let i = s.length - 1; i >= 0; i--) {
    r[i] = acc;
    acc *= s[i]!;
  }
  return r;
}

/** NumPy broadcast of shapes, or null when they do not broadcast. */
export function broadcast(...shapes: (readonly number[])[]): number[] | null {
  const n = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - n + i] ?? 1;
      if (v === 1) continue;
      if (d !== 1 && d !== v) return null;
      d = v;
    }
    out.push(d);
  }
  return out;
}

/** Element index in an operand of shape s for flat index i of the broadcast output shape out. */
export function bindex(i: number, out: readonly number[], s: readonly number[]): number {
  const so = strides(out);
  const ss = strides(s);
  let k = 0;
  const off = out.length - s.length;
  for (let d = 0; d < out.length; d++) {
    const idx = Math.floor(i / so[d]!) % out[d]!;
    const j = d - off;
    if (j >= 0 && s[j] !== 1) k += idx * ss[j]!;
  }
  return k;
}

/** Gradient of a broadcast operand: per-output gradients summed onto the operand's elements. */
export function sumToOperand(gOut: ArrayLike<number>, out: readonly number[], s: readonly number[]): Float64Array {
  const r = new Float64Array(sizeOf(s));
  for (let i = 0; i < gOut.length; i++) r[bindex(i, out, s)] += gOut[i]!;
  return r;
}

/**
 * Tolerance for a float32 accumulation of terms (sum, dot product): rtol times the sum of the
 * magnitudes of the finite terms, or Infinity (unchecked) when those alone reach float32 overflow.
 */
export function accTol(terms: readonly number[], rtol = 1e-5): number {
  let mag = 0;
  for (const t of terms) if (Number.isFinite(t)) mag += Math.abs(t);
  return mag >= 1e38 ? Infinity : rtol * mag;
}
