// Fuzzing the elementwise ops: unary math, broadcasting arithmetic, comparisons, where, clip, pow,
// cast, with special values, int32 operands, plain-number and nested-array operands, and gradients
// against derivative references summed over the broadcast axes.
import { describe, it } from 'vitest';
import {
  bindex, broadcast, broadcastPair, check, dataFor, fc, make, outcome, shape, show, sizeOf, sumToOperand, tame, tb, tspec, value,
  type TSpec,
} from './harness.js';

/** IEEE-754 pow (C's powf), which differs from Math.pow at 1^NaN and (-1)^±Inf. */
export function powIeee(a: number, b: number): number {
  if (b === 0 || a === 1) return 1;
  if (a === -1 && (b === Infinity || b === -Infinity)) return 1;
  return Math.pow(a, b);
}
const f32 = Math.fround;

const UNARY: Record<string, { f: (x: number) => number; df: (x: number) => number; domain: [number, number] }> = {
  neg: { f: (x) => -x, df: () => -1, domain: [-4, 4] },
  exp: { f: Math.exp, df: Math.exp, domain: [-4, 4] },
  log: { f: Math.log, df: (x) => 1 / x, domain: [0.1, 4] },
  sqrt: { f: Math.sqrt, df: (x) => 0.5 / Math.sqrt(x), domain: [0.1, 4] },
  rsqrt: { f: (x) => 1 / Math.sqrt(x), df: (x) => -0.5 * x ** -1.5, domain: [0.1, 4] },
  abs: { f: Math.abs, df: (x) => Math.sign(x), domain: [-4, 4] },
  square: { f: (x) => f32(x) * f32(x), df: (x) => 2 * x, domain: [-4, 4] },
  reciprocal: { f: (x) => 1 / x, df: (x) => -1 / (x * x), domain: [0.2, 4] },
  sign: { f: (x) => (Number.isNaN(x) ? NaN : x > 0 ? 1 : x < 0 ? -1 : 0), df: () => 0, domain: [-4, 4] },
};
const unaryFns = tb as unknown as Record<string, (x: unknown) => tb.Tensor>;

const BINARY: Record<string, { f: (a: number, b: number) => number; da: (a: number, b: number) => number; db: (a: number, b: number) => number; a: [number, number]; b: [number, number] }> = {
  add: { f: (a, b) => a + b, da: () => 1, db: () => 1, a: [-4, 4], b: [-4, 4] },
  sub: { f: (a, b) => a - b, da: () => 1, db: () => -1, a: [-4, 4], b: [-4, 4] },
  mul: { f: (a, b) => a * b, da: (_a, b) => b, db: (a) => a, a: [-4, 4], b: [-4, 4] },
  div: { f: (a, b) => a / b, da: (_a, b) => 1 / b, db: (a, b) => -a / (b * b), a: [-4, 4], b: [0.5, 4] },
  pow: { f: powIeee, da: (a, b) => b * a ** (b - 1), db: (a, b) => a ** b * Math.log(a), a: [0.5, 3], b: [-2, 2] },
  maximum: { f: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)), da: (a, b) => +(a >= b), db: (a, b) => +(a < b), a: [-4, 4], b: [-4, 4] },
  minimum: { f: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)), da: (a, b) => +(a <= b), db: (a, b) => +(a > b), a: [-4, 4], b: [-4, 4] },
};
const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  eq: (a, b) => a === b, notEqual: (a, b) => a !== b, greater: (a, b) => a > b,
  greaterEqual: (a, b) => a >= b, less: (a, b) => a < b, lessEqual: (a, b) => a <= b,
};
const fns = tb as unknown as Record<string, (a: unknown, b: unknown) => tb.Tensor>;

/** A broadcasting reference over float32-rounded operands. */
function refBinary(a: TSpec, b: TSpec, f: (x: number, y: number) => number): { shape: number[]; data: number[] } | null {
  const out = broadcast(a.shape, b.shape);
  if (!out) return null;
  const data = Array.from({ length: sizeOf(out) }, (_, i) => f(f32(a.data[bindex(i, out, a.shape)]!), f32(b.data[bindex(i, out, b.shape)]!)));
  return { shape: out, data };
}

/** An operand as the user might pass it: a tensor, or for some draws a plain number / nested array. */
function asArg(s: TSpec, form: number): unknown {
  if (s.dtype === 'float32' && form === 1 && s.shape.length === 0) return s.data[0]!;
  if (s.dtype === 'float32' && form === 2 && s.shape.length === 1) return s.data.slice();
  return make(s);
}

const pairArb = (v = value(), intWeight = 1) =>
  fc.oneof(
    { weight: 6, arbitrary: broadcastPair() },
    { weight: 1, arbitrary: fc.tuple(shape(3, 4), shape(3, 4)) }, // often not broadcastable
  ).chain(([sa, sb]) => fc.tuple(tspec(fc.constant(sa), v, intWeight), tspec(fc.constant(sb), v, intWeight), fc.integer({ min: 0, max: 2 })));

describe('fuzz: elementwise', () => {
  it('unary math matches float64 references on any values (int32 input is rejected)', () => {
    check('unary', fc.tuple(fc.constantFrom(...Object.keys(UNARY)), tspec()), ([name, x]) => {
      const r = UNARY[name]!;
      outcome(`${name} ${show(x.shape)}`, () => unaryFns[name]!(make(x)),
        x.dtype === 'int32' ? { throws: true } : { shape: x.shape, data: x.data.map((v) => r.f(f32(v))), atol: 1e-6, rtol: 2e-6 });
    });
  });

  it('unary gradients match the derivative', () => {
    check('unaryGrad', fc.constantFrom(...Object.keys(UNARY)).chain((name) => {
      const [lo, hi] = UNARY[name]!.domain;
      return fc.tuple(fc.constant(name), shape(3, 4).chain((s) => fc.tuple(fc.constant(s),
        dataFor(s, fc.double({ min: lo, max: hi, noNaN: true }).map(f32)), dataFor(s, tame(2)))));
    }), ([name, [s, xs, dys]]) => {
      const r = UNARY[name]!;
      outcome(`${name} grad`, () => {
        const x = make({ shape: s, data: xs, dtype: 'float32' }, true);
        unaryFns[name]!(x).backward(tb.tensor(Float32Array.from(dys), s));
        return x.grad ?? tb.zeros(s);
      }, { shape: s, data: xs.map((v, i) => dys[i]! * r.df(v)), atol: 1e-5, rtol: 1e-4 });
    });
  });

  it('broadcasting arithmetic matches references, rejects int32 and unbroadcastable shapes', () => {
    check('binary', fc.tuple(fc.constantFrom(...Object.keys(BINARY)), pairArb()), ([name, [a, b, form]]) => {
      const r = refBinary(a, b, BINARY[name]!.f);
      const bad = !r || a.dtype === 'int32' || b.dtype === 'int32';
      outcome(`${name} ${show(a.shape)} ${show(b.shape)}`, () => fns[name]!(asArg(a, form), asArg(b, 0)),
        bad ? { throws: true } : { ...r!, atol: 1e-6, rtol: 2e-6 });
    });
  });

  it('broadcasting gradients reduce onto each operand', () => {
    check('binaryGrad', fc.constantFrom(...Object.keys(BINARY)).chain((name) => {
      const c = BINARY[name]!;
      return fc.tuple(fc.constant(name), broadcastPair(3).chain(([sa, sb]) => fc.tuple(
        dataFor(sa, fc.double({ min: c.a[0], max: c.a[1], noNaN: true }).map(f32)).map((data) => ({ shape: sa, data, dtype: 'float32' as const })),
        dataFor(sb, fc.double({ min: c.b[0], max: c.b[1], noNaN: true }).map(f32)).map((data) => ({ shape: sb, data, dtype: 'float32' as const })),
      )));
    }), ([name, [a, b]]) => {
      const c = BINARY[name]!;
      const out = broadcast(a.shape, b.shape)!;
      const dy = Array.from({ length: sizeOf(out) }, (_, i) => ((i * 7) % 5) / 4 - 0.5);
      const ga = dy.map((g, i) => g * c.da(f32(a.data[bindex(i, out, a.shape)]!), f32(b.data[bindex(i, out, b.shape)]!)));
      const gb = dy.map((g, i) => g * c.db(f32(a.data[bindex(i, out, a.shape)]!), f32(b.data[bindex(i, out, b.shape)]!)));
      let gbGot: Float32Array | Int32Array | null = null;
      outcome(`${name} grad of a`, () => {
        const ta = make(a, true);
        const tbb = make(b, true);
        fns[name]!(ta, tbb).backward(tb.tensor(Float32Array.from(dy), out));
        gbGot = (tbb.grad ?? tb.zeros(b.shape)).dataSync();
        return ta.grad ?? tb.zeros(a.shape);
      }, { shape: a.shape, data: sumToOperand(ga, out, a.shape), atol: 1e-4, rtol: 1e-4 });
      const exp = sumToOperand(gb, out, b.shape);
      for (let i = 0; i < exp.length; i++) {
        const tol = 1e-4 + 1e-4 * Math.abs(exp[i]!);
        if (!(Math.abs(gbGot![i]! - exp[i]!) <= tol)) throw new Error(`${name} grad of b[${i}]: got ${gbGot![i]}, expected ${exp[i]}`);
      }
    });
  });

  it('comparisons give 1/0 for any values, int32 operands included', () => {
    check('compare', fc.tuple(fc.constantFrom(...Object.keys(COMPARE)), pairArb(value(), 3)), ([name, [a, b, form]]) => {
      const r = refBinary(a, b, (x, y) => +COMPARE[name]!(x, y));
      outcome(`${name}`, () => fns[name]!(asArg(a, form), asArg(b, 0)), r ? { ...r } : { throws: true });
    });
  });

  it('where(cond, a, b) broadcasts all three; cond may be int32', () => {
    const triple = shape(3, 3).chain((out) => {
      const derive = fc.tuple(fc.integer({ min: 0, max: out.length }), fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }))
        .map(([r, m]) => out.slice(out.length - r).map((d, i) => (m[out.length - r + i] ? 1 : d)));
      return fc.tuple(derive, derive, derive);
    }).chain(([sc, sa, sb]) => fc.tuple(tspec(fc.constant(sc), fc.constantFrom(0, 1, NaN, -0, 2), 3), tspec(fc.constant(sa)), tspec(fc.constant(sb))));
    check('where', triple, ([c, a, b]) => {
      const out = broadcast(c.shape, a.shape, b.shape)!;
      const bad = a.dtype === 'int32' || b.dtype === 'int32';
      outcome('where', () => tb.where(make(c), make(a), make(b)), bad ? { throws: true } : {
        shape: out,
        data: Array.from({ length: sizeOf(out) }, (_, i) => (c.data[bindex(i, out, c.shape)] !== 0 ? a.data[bindex(i, out, a.shape)]! : b.data[bindex(i, out, b.shape)]!)),
      });
    });
  });

  it('clip and pow with scalar parameters of any kind', () => {
    const param = fc.oneof(value(), fc.constantFrom<unknown>('1', null, undefined, {}, [1], NaN));
    check('clipPow', fc.tuple(fc.constantFrom('clip', 'pow'), tspec(shape(3, 4)), param, param), ([op, x, p, q]) => {
      if (op === 'clip') {
        const valid = typeof p === 'number' && typeof q === 'number' && !Number.isNaN(p) && !Number.isNaN(q) && p <= q && x.dtype === 'float32';
        outcome(`clip(${String(p)}, ${String(q)})`, () => tb.clip(make(x), p as number, q as number), () => {
          if (!valid) return { throws: true };
          const lo = f32(p as number), hi = f32(q as number);
          return { shape: x.shape, data: x.data.map((v) => (f32(v) < lo ? lo : f32(v) > hi ? hi : f32(v))) };
        });
      } else {
        const valid = (typeof p === 'number' || p === null || Array.isArray(p)) && x.dtype === 'float32';
        const r = outcome(`pow(x, ${String(p)})`, () => tb.pow(make(x), p as number), () =>
          typeof p === 'number' && valid ? { shape: x.shape, data: x.data.map((v) => powIeee(f32(v), f32(p))), rtol: 1e-5 } : valid ? { any: true } : { throws: true });
        void r;
      }
    });
  });

  it('cast between float32 and int32: truncation toward zero, NaN to 0, saturation', () => {
    check('cast', fc.tuple(tspec(shape(3, 4), value(3e9), 2), fc.constantFrom<unknown>('float32', 'int32', 'float64', 'bool', 3, null)), ([x, dtype]) => {
      const valid = dtype === 'float32' || dtype === 'int32';
      const toInt = (v: number) => (Number.isNaN(v) ? 0 : v >= 2147483647 ? 2147483647 : v <= -2147483648 ? -2147483648 : Math.trunc(v));
      outcome(`cast ${x.dtype} -> ${String(dtype)}`, () => make(x).cast(dtype as 'int32'), () =>
        !valid ? { throws: true } : { shape: x.shape, data: x.data.map((v) => (dtype === 'int32' ? toInt(f32(v)) : x.dtype === 'int32' ? f32(v) : f32(v))) });
    });
  });
});
