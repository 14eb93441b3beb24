// A generic sweep over the whole native binding: every exported function gets a valid call (which
// must succeed) and then every argument is replaced by hostile values: wrong types, short, empty,
// detached ("disposed") buffers, negative, fractional, NaN and huge sizes, missing arguments, and
// buffers that overlap one another. Each call must either return or throw a JS Error naming the
// function; the cases that can only be misuse must throw. Every buffer sits between canary words
// that are checked after each call, so a write outside a buffer fails the test even in a build
// without AddressSanitizer; under `npm run test:asan` the same calls run on exact-size buffers too.
//
// The table below must list every function the addon exports: adding a binding function without a
// row here fails the first test.
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native/load.js';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

interface ArrSpec {
  k: 'f32' | 'i32';
  len: number;
  /** 'out' buffers are written (or read and written); 'in' buffers are only read. */
  role: 'in' | 'out';
  /** null (or undefined) is a valid value. */
  nullable?: boolean;
  /** the other 4-byte element type is accepted too */
  any?: boolean;
  /** the length is not tied to any other argument (a shorter or empty buffer is valid) */
  free?: boolean;
  /** valid contents (default: small floats / zeros) */
  values?: readonly number[];
  /**
   * A shape, strides or dims array: copied in full before the kernel starts, so it may share memory
   * with an output (the overlap is still exercised, without requiring a throw).
   */
  config?: boolean;
}
type ArgSpec =
  | ({ kind: 'arr' } & ArrSpec)
  | { kind: 'int'; v: number; neg?: boolean }
  | { kind: 'num'; v: number }
  | { kind: 'bool'; v: boolean }
  | { kind: 'str'; v: string }
  | { kind: 'null' };

interface FnSpec {
  args: ArgSpec[];
  /** [output, input] argument pairs that may be exactly the same memory (in-place elementwise). */
  inPlace?: [number, number][];
}

const fin = (len: number, extra: Partial<ArrSpec> = {}): ArgSpec => ({ kind: 'arr', k: 'f32', len, role: 'in', ...extra });
const fout = (len: number, extra: Partial<ArrSpec> = {}): ArgSpec => ({ kind: 'arr', k: 'f32', len, role: 'out', ...extra });
const iin = (values: readonly number[], extra: Partial<ArrSpec> = {}): ArgSpec =>
  ({ kind: 'arr', k: 'i32', len: values.length, role: 'in', values, ...extra });
const cfg = (values: readonly number[]): ArgSpec => iin(values, { config: true });
const iout = (len: number, extra: Partial<ArrSpec> = {}): ArgSpec => ({ kind: 'arr', k: 'i32', len, role: 'out', ...extra });
const int = (v: number, neg = false): ArgSpec => ({ kind: 'int', v, neg });
const num = (v: number): ArgSpec => ({ kind: 'num', v });
const bool = (v: boolean): ArgSpec => ({ kind: 'bool', v });
const NULL: ArgSpec = { kind: 'null' };

// conv: NCHW n=1 c=2 h=w=3, oc=2, 2x2 kernel, stride 1, no pad -> y (1,2,2,2)
const convDims = [1, 2, 3, 3, 2, 2, 2, 2, 2, 1, 1, 0, 0, 0];
// pool: NCHW n=1 c=2 h=w=4, 2x2 window, stride 2 -> y (1,2,2,2)
const poolDims = [1, 2, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0];
// flat input indices of each 2x2 window's top-left cell (a valid argmax)
const poolArgmax = [0, 2, 8, 10, 16, 18, 24, 26];
// recurrent: T=2, B=2, F=3, H=2, LSTM, batch-first, sigmoid gates: workspace 50, scratch 46 floats
const rnnDims = [2, 2, 3, 2, 1, 1, 0, 0, 0, 1, 1, 1];

function specs(): Record<string, FnSpec> {
  const info = native().info();
  return {
    info: { args: [] },
    setGemmBackend: { args: [{ kind: 'str', v: info.gemm }] },
    setNumThreads: { args: [int(info.threads)] },
    isaInfo: { args: [] },
    setIsa: { args: [{ kind: 'str', v: native().isaInfo().isa }] },
    setCpuBf16: { args: [bool(false)] },
    gemm: { args: [fin(8), fin(12), fout(6), bool(false), bool(false), int(2), int(3), int(4), num(1), num(0), int(1), int(0), int(0), int(0)] },
    unary: { args: [int(0), fin(4), fout(4), num(0), num(0)], inPlace: [[2, 1]] },
    unaryBackward: { args: [int(0), fin(4), fin(4), fin(4), fout(4), num(0), num(0)], inPlace: [[4, 1], [4, 2], [4, 3]] },
    binary: { args: [int(0), fin(6), cfg([3, 1]), fin(3), cfg([0, 1]), fout(6), cfg([2, 3])], inPlace: [[5, 1]] },
    binaryBackward: { args: [int(2), fin(6), cfg([3, 1]), fin(3), cfg([0, 1]), fin(6), cfg([2, 3]), fout(6, { nullable: true }), fout(3, { nullable: true })] },
    where: { args: [fin(6), cfg([3, 1]), fin(6), cfg([3, 1]), fin(3), cfg([0, 1]), fout(6), cfg([2, 3])], inPlace: [[6, 0], [6, 2]] },
    whereBackward: { args: [fin(6), cfg([3, 1]), fin(6), cfg([2, 3]), fout(6, { nullable: true }), cfg([3, 1]), fout(3, { nullable: true }), cfg([0, 1])] },
    sumToStrides: { args: [fin(6), cfg([2, 3]), fout(3), cfg([0, 1])] },
    fill: { args: [fout(4, { any: true, free: true }), num(1)] },
    cast: { args: [fin(4, { any: true }), iout(4, { any: true })], inPlace: [[1, 0]] },
    axpy: { args: [num(2), fin(4), fout(4)], inPlace: [[2, 1]] },
    activation: { args: [int(3), fin(4), fout(4), num(0.1)], inPlace: [[2, 1]] },
    activationBackward: { args: [int(3), fin(4), fin(4), fin(4), fout(4), num(0.1)], inPlace: [[4, 1], [4, 2], [4, 3]] },
    softmax: { args: [fin(6), fout(6), int(2), int(3), int(1), bool(false)] },
    softmaxBackward: { args: [fin(6), fin(6), fout(6), int(2), int(3), int(1), bool(false)], inPlace: [[2, 0], [2, 1]] },
    softmaxXent: { args: [fin(6), int(2), int(3), iin([0, 2]), NULL, num(0.1), fout(6), fout(2)] },
    softmaxXentBackward: { args: [fin(6), int(2), int(3), iin([0, 2]), NULL, num(0.1), fin(2), fout(6)], inPlace: [[7, 0]] },
    reduce: { args: [int(0), fin(6), fout(2), int(2), int(3), int(1)] },
    reduceBackward: { args: [int(2), fin(6), fin(2), fin(2), fout(6), int(2), int(3), int(1)] },
    argReduce: { args: [int(0), fin(6), iout(2), int(2), int(3), int(1)] },
    copyStrided: { args: [fin(6, { any: true }), int(0), cfg([3, 1]), fout(6, { any: true }), int(0), cfg([1, 2]), cfg([2, 3]), bool(false)] },
    gather: { args: [fin(6, { any: true }), iin([2, 0]), fout(4, { any: true }), int(1), int(3), int(2)] },
    gatherPairAsync: { args: [fin(6, { any: true }), fout(4, { any: true }), int(2), fin(3, { any: true }), fout(2, { any: true }), int(1), iin([2, 0]), int(3)] },
    gatherBackward: { args: [fin(4), iin([2, 0]), fout(6), int(1), int(3), int(2)] },
    oneHot: { args: [iin([1, 0]), fout(6), int(3), num(1), num(0)] },
    conv2d: { args: [fin(18), fin(16), fin(2, { nullable: true }), fout(8), cfg(convDims), int(0)] },
    linear: { args: [fin(6), fin(12), fin(4, { nullable: true }), fout(8), int(2), int(4), int(3), bool(false), int(0)] },
    linearBackward: {
      args: [fin(6), fin(12), fin(8), fin(8, { nullable: true }), fout(6, { nullable: true }), fout(12, { nullable: true }), fout(4, { nullable: true }),
        int(2), int(4), int(3), bool(false), int(0)],
    },
    conv2dBackward: { args: [fin(18), fin(16), fin(8), fout(18, { nullable: true }), fout(16, { nullable: true }), fout(2, { nullable: true }), cfg(convDims), fin(8, { nullable: true }), int(0)] },
    maxPool2d: { args: [fin(32), fout(8), iout(8), cfg(poolDims)] },
    maxPool2dBackward: { args: [fin(8), iin(poolArgmax), fout(32), cfg(poolDims)] },
    avgPool2d: { args: [fin(32), fout(8), cfg(poolDims)] },
    avgPool2dBackward: { args: [fin(8), fout(32), cfg(poolDims)] },
    dropout: { args: [fin(4), fout(4), fout(4), num(0.5), int(7, true)], inPlace: [[1, 0]] },
    dropoutBackward: { args: [fin(4), fin(4), fout(4)], inPlace: [[2, 0], [2, 1]] },
    batchNorm: {
      args: [fin(12), fin(3, { nullable: true }), fin(3, { nullable: true }), fout(12), fout(3), fout(3), fout(3), fout(3, { values: [1, 1, 1] }),
        int(2), int(3), int(2), num(0.1), num(1e-5), bool(true)],
    },
    batchNormBackward: {
      args: [fin(12), fin(3, { nullable: true }), fin(3), fin(3, { values: [1, 1, 1] }), fin(12), fout(12, { nullable: true }),
        fout(3, { nullable: true }), fout(3, { nullable: true }), int(2), int(3), int(2)],
    },
    sgdStep: { args: [fout(4), fin(4), fout(4, { nullable: true }), num(0.1), num(0.9), num(0), num(0), bool(false), bool(true)] },
    adamStep: { args: [fout(4), fin(4), fout(4), fout(4), fout(4, { nullable: true }), num(1e-3), num(0.9), num(0.999), num(1e-8), num(0), bool(true), int(1)] },
    rmspropStep: { args: [fout(4), fin(4), fout(4), fout(4, { nullable: true }), fout(4, { nullable: true }), num(1e-2), num(0.99), num(1e-8), num(0), num(0.5), bool(false)] },
    adagradStep: { args: [fout(4), fin(4), fout(4), num(1e-2), num(0), num(0), num(1e-10), int(1), bool(false)] },
    adadeltaStep: { args: [fout(4), fin(4), fout(4), fout(4), num(1), num(0.9), num(1e-6), num(0)] },
    rnnSizes: { args: [cfg(rnnDims)] },
    rnnForward: {
      args: [fin(12), fin(24), fin(16), fin(8, { nullable: true }), fin(8, { nullable: true }), fin(4, { nullable: true }), fin(4, { nullable: true }),
        fin(4, { nullable: true }), fout(8), fout(4), fout(4), fout(50), cfg(rnnDims)],
    },
    rnnBackward: {
      args: [fin(12), fin(24), fin(16), fin(4, { nullable: true }), fin(4, { nullable: true }), fin(50), fin(8, { nullable: true }),
        fin(4, { nullable: true }), fin(4, { nullable: true }), fout(12, { nullable: true }), fout(24, { nullable: true }), fout(16, { nullable: true }),
        fout(8, { nullable: true }), fout(8, { nullable: true }), fout(4, { nullable: true }), fout(4, { nullable: true }), fout(46), cfg(rnnDims)],
    },
    embeddingBackward: { args: [fin(4), iin([2, 0]), fout(6), int(3), int(2), int(1, true), iout(6)] },
    sumSquares: { args: [fin(4, { free: true })] },
    scale: { args: [fout(4, { free: true }), num(0.5)] },
  };
}

// ---- buffers between canaries ----

const GUARD = 4; // canary words on each side
const CANARY = 0x7fbadbad; // a NaN payload no kernel writes

interface Guarded {
  view: Float32Array | Int32Array;
  check: () => void;
}

/** A typed array of `len` elements at `offsetElems` inside a fresh buffer guarded by canaries. */
function region(totalElems: number): { buf: ArrayBuffer; base: number; check: (what: string) => void } {
  const buf = new ArrayBuffer((totalElems + 2 * GUARD) * 4);
  const words = new Uint32Array(buf);
  for (let i = 0; i < GUARD; i++) {
    words[i] = CANARY;
    words[words.length - 1 - i] = CANARY;
  }
  const check = (what: string) => {
    for (let i = 0; i < GUARD; i++) {
      if (words[i] !== CANARY || words[words.length - 1 - i] !== CANARY)
        throw new Error(`${what}: a write landed outside the buffer (canary clobbered)`);
    }
  };
  return { buf, base: GUARD * 4, check };
}

function typed(k: 'f32' | 'i32', buf: ArrayBuffer, byteOffset: number, len: number): Float32Array | Int32Array {
  return k === 'f32' ? new Float32Array(buf, byteOffset, len) : new Int32Array(buf, byteOffset, len);
}

function fillValid(a: Float32Array | Int32Array, s: ArrSpec): void {
  for (let i = 0; i < a.length; i++) a[i] = s.values ? s.values[i % s.values.length]! : s.k === 'f32' ? 0.25 * (i % 5) - 0.5 : 0;
}

function guardedArray(s: ArrSpec, len = s.len, k = s.k): Guarded {
  const r = region(len);
  const view = typed(k, r.buf, r.base, len);
  fillValid(view, { ...s, k });
  return { view, check: () => r.check('array') };
}

/** Exact-size buffer (no slack): under AddressSanitizer any access past it is reported. */
function exactArray(s: ArrSpec): Float32Array | Int32Array {
  const a = s.k === 'f32' ? new Float32Array(s.len) : new Int32Array(s.len);
  fillValid(a, s);
  return a;
}

interface Built {
  args: unknown[];
  checks: (() => void)[];
}

function build(spec: FnSpec, exact = false): Built {
  const checks: (() => void)[] = [];
  const args = spec.args.map((a) => {
    switch (a.kind) {
      case 'arr': {
        if (exact) return exactArray(a);
        const g = guardedArray(a);
        checks.push(g.check);
        return g.view;
      }
      case 'null': return null;
      default: return a.v;
    }
  });
  return { args, checks };
}

// ---- calling ----

type Outcome = { threw: false } | { threw: true; err: unknown };

let calls = 0;
function call(name: string, args: unknown[]): Outcome {
  calls++;
  try {
    (native() as Any)[name](...args);
    return { threw: false };
  } catch (err) {
    return { threw: true, err };
  }
}

/** A thrown error must be a JS Error whose message names the binding function. */
function expectNamedError(name: string, what: string, err: unknown): void {
  expect(err, `${name} ${what}: threw a non-Error`).toBeInstanceOf(Error);
  expect((err as Error).message, `${name} ${what}`).toContain(`tensorbolt.${name}`);
}

function run(name: string, what: string, b: Built, mustThrow: boolean): void {
  const o = call(name, b.args);
  for (const c of b.checks) c();
  if (o.threw) expectNamedError(name, what, o.err);
  else if (mustThrow) throw new Error(`${name} ${what}: returned normally, expected a throw`);
}

function detached(k: 'f32' | 'i32', len: number): Float32Array | Int32Array {
  const a = k === 'f32' ? new Float32Array(len) : new Int32Array(len);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a; // its buffer now belongs elsewhere: length 0, no memory
}

interface Mutation {
  what: string;
  value: () => unknown;
  mustThrow: boolean;
}

function mutationsFor(a: ArgSpec): Mutation[] {
  const junkTypes: [string, unknown][] = [['a string', 'x'], ['an object', {}], ['a bigint', 10n], ['a boolean', true]];
  const m = (what: string, value: unknown, mustThrow: boolean): Mutation => ({ what, value: () => value, mustThrow });
  switch (a.kind) {
    case 'arr': {
      const other = a.k === 'f32' ? 'i32' : 'f32';
      const lenTied = !a.free;
      return [
        ...junkTypes.map(([w, v]) => m(w, v, true)),
        m('a number', 3, true),
        m('a plain array', Array.from({ length: a.len }, () => 0), true),
        m('undefined', undefined, !a.nullable),
        m('null', null, !a.nullable),
        { what: 'a Float64Array', value: () => new Float64Array(a.len), mustThrow: true },
        { what: 'a Uint8Array', value: () => new Uint8Array(a.len * 4), mustThrow: true },
        { what: 'a Uint32Array', value: () => new Uint32Array(a.len), mustThrow: true },
        { what: `the other element type (${other})`, value: () => guardedArray(a, a.len, other).view, mustThrow: !a.any },
        { what: 'one element short', value: () => guardedArray(a, a.len - 1).view, mustThrow: lenTied },
        { what: 'empty', value: () => guardedArray(a, 0).view, mustThrow: lenTied },
        { what: 'one element long', value: () => guardedArray(a, a.len + 1).view, mustThrow: false },
        { what: 'detached (disposed) buffer', value: () => detached(a.k, a.len), mustThrow: lenTied },
      ];
    }
    case 'int':
      return [
        ...junkTypes.map(([w, v]) => m(w, v, true)),
        m('undefined', undefined, true),
        m('null', null, true),
        m('-1', -1, !a.neg),
        m('1.5', 1.5, true),
        m('NaN', NaN, true),
        m('Infinity', Infinity, true),
        m('-Infinity', -Infinity, true),
        m('1e300', 1e300, true),
        m('-1e300', -1e300, true),
        m('2^53', 2 ** 53, true),
        m('2^31', 2 ** 31, false),
        m('-2^31', -(2 ** 31), !a.neg),
      ];
    case 'num':
      return [
        ...junkTypes.map(([w, v]) => m(w, v, true)),
        m('undefined', undefined, true),
        m('null', null, true),
        m('NaN', NaN, false),
        m('Infinity', Infinity, false),
        m('-Infinity', -Infinity, false),
        m('1e300', 1e300, false),
        m('a denormal', 1e-45, false),
      ];
    case 'bool':
      return [...junkTypes.filter(([w]) => w !== 'a boolean').map(([w, v]) => m(w, v, true)), m('1', 1, true), m('undefined', undefined, true), m('null', null, true)];
    case 'str':
      return [m('a number', 1, true), m('undefined', undefined, true), m('an unknown name', 'bogus', true), m('an object', {}, true)];
    case 'null':
      return [m('a number', 3, true), m('a string', 'x', true), m('a plain array', [1], true)];
  }
}

// ---- overlapping buffers ----

/**
 * Arguments i and j as views of one buffer, j shifted by `shiftElems` elements from i (0: exactly the
 * same memory when the lengths agree). The output is filled first and the input last, so the input
 * keeps valid contents (indices in range, consistent dims).
 */
function overlapping(spec: FnSpec, i: number, j: number, shiftElems: number): Built {
  const b = build(spec);
  const si = spec.args[i] as { kind: 'arr' } & ArrSpec;
  const sj = spec.args[j] as { kind: 'arr' } & ArrSpec;
  const total = Math.max(si.len, shiftElems + sj.len);
  const r = region(total);
  const vi = typed(si.k, r.buf, r.base, si.len);
  const vj = typed(sj.k, r.buf, r.base + shiftElems * 4, sj.len);
  const [first, second] = si.role === 'out' ? [[vi, si], [vj, sj]] as const : [[vj, sj], [vi, si]] as const;
  fillValid(first[0], first[1]);
  fillValid(second[0], second[1]);
  b.args[i] = vi;
  b.args[j] = vj;
  b.checks.push(() => r.check('overlapping arrays'));
  return b;
}

const arrayArgs = (spec: FnSpec) => spec.args.flatMap((a, i) => (a.kind === 'arr' ? [i] : []));

// ---- the sweep ----

describe('native boundary: generic sweep over every binding function', () => {
  const table = specs();

  it('the table covers every exported function', () => {
    const exported = Object.keys(native()).filter((k) => typeof (native() as Any)[k] === 'function').sort();
    expect(exported).toEqual(Object.keys(table).sort());
  });

  for (const [name, spec] of Object.entries(table)) {
    describe(name, () => {
      it('accepts the valid call (guarded and exact-size buffers)', () => {
        run(name, 'valid call', build(spec), false);
        const o = call(name, build(spec, true).args);
        if (o.threw) throw o.err;
        // an extra trailing argument is ignored
        const b = build(spec);
        b.args.push(new Float32Array(1));
        const extra = call(name, b.args);
        if (extra.threw) throw extra.err;
        for (const c of b.checks) c();
      });

      it('throws on every missing-argument count', () => {
        for (let k = 0; k < spec.args.length; k++) run(name, `with only ${k} arguments`, { ...build(spec), args: build(spec).args.slice(0, k) }, true);
      });

      it('rejects hostile values in every argument position', () => {
        let cases = 0;
        spec.args.forEach((a, i) => {
          for (const mu of mutationsFor(a)) {
            const what = `argument ${i} (${a.kind}) = ${mu.what}`;
            const b = build(spec);
            b.args[i] = mu.value();
            run(name, what, b, mu.mustThrow);
            // the same call on exact-size buffers, for AddressSanitizer
            const e = build(spec, true);
            e.args[i] = mu.value();
            const o = call(name, e.args);
            if (o.threw) expectNamedError(name, what, o.err);
            cases++;
          }
        });
        expect(cases).toBe(spec.args.reduce((s, a) => s + mutationsFor(a).length, 0));
      });

      const arrs = arrayArgs(spec);
      if (arrs.length >= 2) {
        it('rejects an output that partly overlaps another buffer; exact aliases only where in-place is allowed', () => {
          for (const i of arrs) {
            for (const j of arrs) {
              if (j <= i) continue;
              const si = spec.args[i] as ArrSpec;
              const sj = spec.args[j] as ArrSpec;
              if (si.role !== 'out' && sj.role !== 'out') continue; // inputs may share memory
              const must = !si.config && !sj.config;
              run(name, `arguments ${i} and ${j} overlapping by all but one element`, overlapping(spec, i, j, 1), must);
              run(name, `arguments ${j} and ${i} overlapping by all but one element`, overlapping(spec, j, i, 1), must);
              if (si.len === sj.len) {
                const allowed = (spec.inPlace ?? []).some(([o, n]) => (o === i && n === j) || (o === j && n === i));
                run(name, `arguments ${i} and ${j} over the same memory`, overlapping(spec, i, j, 0), must && !allowed);
                if (allowed) {
                  const o = call(name, overlapping(spec, i, j, 0).args);
                  if (o.threw) throw new Error(`${name}: in-place ${i}~${j} should be allowed: ${(o.err as Error).message}`);
                }
              }
            }
          }
        });
      }
    });
  }

  it('the process and the addon are still healthy after the sweep', () => {
    console.log(`native boundary sweep: ${calls} calls over ${Object.keys(table).length} functions`);
    const x = Float32Array.from([1, -2, 3]);
    const y = new Float32Array(3);
    native().unary(4, x, y, 0, 0); // abs
    expect(Array.from(y)).toEqual([1, 2, 3]);
  });
});
