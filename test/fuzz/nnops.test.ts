// Fuzzing activations, softmax/logSoftmax, the fused softmax-cross-entropy, reductions, argMax/argMin
// and matmul against float64 references, with hostile axes, options and operands.
import { describe, it } from 'vitest';
import { accTol, check, dataFor, fc, make, outcome, shape, sizeOf, strides, tb, tspec, value, type TSpec, show } from './harness.js';

const f32 = Math.fround;

/** erf with relative error < 1.2e-7 (Numerical Recipes' erfc Chebyshev fit). */
function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - r : r - 1;
}
const SELU_A = 1.6732632423543772, SELU_S = 1.0507009873554805;
const softplus = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
const nanOr = (x: number, f: (x: number) => number) => (Number.isNaN(x) ? NaN : f(x));
// gelu(-inf) = -inf * 0 = NaN in this library as in PyTorch and TensorFlow (the x * Φ(x) product)
const geluLike = (x: number, f: (x: number) => number) => (Number.isNaN(x) || x === -Infinity ? NaN : f(x));

const ACT: Record<string, { f: (x: number, alpha: number) => number; alpha?: boolean; call: (x: tb.Tensor, a?: unknown) => tb.Tensor }> = {
  relu: { f: (x) => nanOr(x, (v) => (v < 0 ? 0 : v)), call: (x) => tb.relu(x) },
  relu6: { f: (x) => nanOr(x, (v) => (v < 0 ? 0 : v > 6 ? 6 : v)), call: (x) => tb.relu6(x) },
  leakyRelu: { f: (x, a) => (x < 0 ? f32(a) * x : x), alpha: true, call: (x, a) => tb.leakyRelu(x, a as number) },
  elu: { f: (x, a) => (x > 0 ? x : f32(a) * Math.expm1(x)), alpha: true, call: (x, a) => tb.elu(x, a as number) },
  selu: { f: (x) => SELU_S * (x > 0 ? x : SELU_A * Math.expm1(x)), call: (x) => tb.selu(x) },
  sigmoid: { f: (x) => 1 / (1 + Math.exp(-x)), call: (x) => tb.sigmoid(x) },
  tanh: { f: Math.tanh, call: (x) => tb.tanh(x) },
  softplus: { f: softplus, call: (x) => tb.softplus(x) },
  gelu: { f: (x) => geluLike(x, (v) => (Math.abs(v) > 1e6 ? (v > 0 ? v : -0) : 0.5 * v * (1 + erf(v / Math.SQRT2)))), call: (x) => tb.gelu(x) },
  geluTanh: {
    f: (x) => geluLike(x, (v) => (Math.abs(v) > 1e6 ? (v > 0 ? v : -0) : 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))))),
    call: (x) => tb.gelu(x, { approximate: true }),
  },
};

function softmaxRef(x: TSpec, axis: number, log: boolean): number[] {
  const s = x.shape, st = strides(s), n = s[axis]!, out = new Array<number>(x.data.length);
  const outerShape = s.map((d, i) => (i === axis ? 1 : d));
  for (let o = 0; o < sizeOf(outerShape); o++) {
    let base = 0;
    let rem = o;
    for (let d = s.length - 1; d >= 0; d--) {
      const idx = rem % outerShape[d]!;
      rem = Math.floor(rem / outerShape[d]!);
      base += idx * st[d]!;
    }
    const idxs = Array.from({ length: n }, (_, j) => base + j * st[axis]!);
    const vals = idxs.map((i) => f32(x.data[i]!));
    const m = vals.some(Number.isNaN) ? NaN : Math.max(...vals);
    // float32 like the kernel: x - m is formed in float32 before the exponential
    const sh = vals.map((v) => f32(v - m));
    const sum = sh.reduce((a, v) => a + Math.exp(v), 0);
    idxs.forEach((i, j) => (out[i] = log ? sh[j]! - Math.log(sum) : Math.exp(sh[j]!) / sum));
  }
  return out;
}

/** Validity of a reduce axis argument for rank r, and the normalized sorted axes. */
function normAxes(axis: unknown, r: number): number[] | null {
  if (axis === undefined || axis === null) return Array.from({ length: r }, (_, i) => i);
  const list = Array.isArray(axis) ? axis : typeof axis === 'number' ? [axis] : null;
  if (!list) return null;
  const out: number[] = [];
  for (const a of list) {
    if (typeof a !== 'number' || !Number.isInteger(a) || a < -r || a >= r) return null;
    out.push(a < 0 ? a + r : a);
  }
  if (new Set(out).size !== out.length) return null;
  return out.sort((a, b) => a - b);
}

function reduceRef(name: string, x: TSpec, axes: number[], keepDims: boolean): { shape: number[]; data: number[]; tols: number[] } | 'throws' {
  const s = x.shape;
  const red = new Set(axes);
  const outFull = s.map((d, i) => (red.has(i) ? 1 : d));
  const outShape = keepDims ? outFull : s.filter((_, i) => !red.has(i));
  const nOut = sizeOf(outFull);
  const groups: number[][] = Array.from({ length: nOut }, () => []);
  const so = strides(outFull), sx = strides(s);
  for (let i = 0; i < x.data.length; i++) {
    let o = 0;
    for (let d = 0; d < s.length; d++) if (!red.has(d)) o += (Math.floor(i / sx[d]!) % s[d]!) * so[d]!;
    groups[o]!.push(f32(x.data[i]!));
  }
  const reducedSize = sizeOf(axes.map((a) => s[a]!));
  if ((name === 'max' || name === 'min') && reducedSize === 0 && nOut > 0) return 'throws';
  const data = groups.map((g) => {
    if (g.some(Number.isNaN)) return NaN;
    switch (name) {
      case 'sum': return g.reduce((a, b) => a + b, 0);
      case 'mean': return g.reduce((a, b) => a + b, 0) / g.length;
      case 'prod': return g.reduce((a, b) => a * b, 1);
      case 'max': return Math.max(...g);
      default: return Math.min(...g);
    }
  });
  // float32 accumulation: allow rtol times the size of the terms (cancellation is not an error)
  const tols = groups.map((g) => {
    if (name === 'max' || name === 'min') return 0;
    if (name === 'prod') {
      const p = Math.abs(g.reduce((a, b) => a * b, 1));
      return Number.isFinite(p) ? 1e-5 * p : 0;
    }
    const t = accTol(g);
    return name === 'mean' && t !== Infinity ? t / (g.length || 1) : t;
  });
  return { shape: outShape, data, tols };
}

const axisArb = (rank: number) => fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: fc.integer({ min: -rank - 1, max: rank }) },
  { weight: 3, arbitrary: fc.array(fc.integer({ min: -rank - 1, max: rank }), { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, 1.5, NaN, '0', [0.5], {}) },
);

describe('fuzz: activations, softmax, losses, reductions, matmul', () => {
  it('activations match references for any value; alpha must be a finite number', () => {
    const alphaArb = fc.oneof({ weight: 6, arbitrary: fc.double({ min: -2, max: 2, noNaN: true }) }, { weight: 1, arbitrary: fc.constantFrom<unknown>(NaN, Infinity, '1', null, undefined) });
    check('activation', fc.tuple(fc.constantFrom(...Object.keys(ACT)), tspec(), alphaArb), ([name, x, alpha]) => {
      const a = ACT[name]!;
      const alphaOk = !a.alpha || alpha === undefined || (typeof alpha === 'number' && Number.isFinite(alpha));
      const al = alpha === undefined ? (name === 'leakyRelu' ? 0.2 : 1) : (alpha as number);
      outcome(`${name}(alpha ${String(alpha)})`, () => a.call(make(x), alpha), () =>
        x.dtype === 'int32' || !alphaOk ? { throws: true } : { shape: x.shape, data: x.data.map((v) => a.f(f32(v), al)), atol: 2e-6, rtol: 2e-5 });
    });
  });

  it('softmax / logSoftmax along any axis (bad axes throw)', () => {
    check('softmax', fc.tuple(fc.boolean(), tspec(shape(4, 5)), fc.oneof(fc.integer({ min: -5, max: 4 }), fc.constantFrom<unknown>(undefined, 1.5, '0', null))), ([log, x, axis]) => {
      const r = x.shape.length;
      const ax = axis === undefined ? -1 : axis;
      const valid = x.dtype === 'float32' && r > 0 && typeof ax === 'number' && Number.isInteger(ax) && ax >= -r && ax < r;
      outcome(`${log ? 'logSoftmax' : 'softmax'} axis ${String(axis)}`, () => (log ? tb.logSoftmax : tb.softmax)(make(x), axis as number), () =>
        valid ? { shape: x.shape, data: softmaxRef(x, (ax as number) < 0 ? (ax as number) + r : (ax as number), log), atol: 2e-6, rtol: 2e-5 } : { throws: true });
    });
  });

  it('softmaxCrossEntropy: labels (in or out of range), soft targets, smoothing and reductions', () => {
    const arb = fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 5 })).chain(([n, c]) => fc.tuple(
      dataFor([n, c], value()),
      fc.oneof(
        fc.array(fc.integer({ min: -1, max: c }), { minLength: n, maxLength: n }).map((l) => ({ kind: 'labels' as const, l })),
        dataFor([n, c], fc.double({ min: 0, max: 1, noNaN: true })).map((t) => ({ kind: 'soft' as const, t })),
        fc.constant({ kind: 'junk' as const }),
      ),
      fc.oneof(fc.constantFrom<unknown>(0, 0.1, 1, undefined), fc.constantFrom<unknown>(-0.1, 1.5, NaN, '0.1')),
      fc.constantFrom<unknown>('mean', 'sum', 'none', undefined, 'avg', 3),
      fc.constant([n, c] as const),
    ));
    check('xent', arb, ([logits, target, smoothing, reduction, [n, c]]) => {
      const eps = smoothing === undefined ? 0 : smoothing;
      const red = reduction === undefined ? 'mean' : reduction;
      const labelsOk = target.kind === 'labels' && target.l.every((v) => v >= 0 && v < c);
      const valid = target.kind !== 'junk' && typeof eps === 'number' && eps >= 0 && eps <= 1 && ['mean', 'sum', 'none'].includes(red as string) &&
        !(c === 0 && n > 0) && !(red === 'mean' && n === 0) && (target.kind === 'soft' || labelsOk);
      // a label outside [0, C) can only be found by the kernel: it must be a TensorboltError too
      const finiteLogits = logits.every((v) => Number.isFinite(f32(v)));
      outcome(`softmaxCrossEntropy n=${n} c=${c} ${target.kind} eps=${String(eps)} ${String(red)}`, () => {
        const lg = tb.tensor(Float32Array.from(logits), [n, c]);
        const tg = target.kind === 'labels' ? tb.tensor(Int32Array.from(target.l), [n]) : target.kind === 'soft' ? tb.tensor(Float32Array.from(target.t), [n, c]) : tb.tensor([1, 2, 3]);
        return tb.softmaxCrossEntropy(lg, tg, { labelSmoothing: smoothing as number, reduction: reduction as 'mean' });
      }, () => {
        if (!valid) return { throws: true };
        if (!finiteLogits) return { any: true };
        const e = eps as number;
        const losses: number[] = [];
        const mags: number[] = [];
        for (let i = 0; i < n; i++) {
          const row = logits.slice(i * c, (i + 1) * c).map(f32);
          const m = Math.max(...row);
          const sh = row.map((v) => f32(v - m));
          const lse = Math.log(sh.reduce((a, v) => a + Math.exp(v), 0));
          const t = target.kind === 'labels'
            ? row.map((_, j) => (1 - e) * +(j === target.l[i]) + e / c)
            : target.t.slice(i * c, (i + 1) * c).map((v) => (1 - e) * f32(v) + e / c);
          // terms with zero target weight contribute 0 (even where log p = -inf)
          const terms = t.flatMap((tj, j) => (tj === 0 ? [] : [-tj * (sh[j]! - lse)]));
          losses.push(terms.reduce((a, b) => a + b, 0));
          mags.push(accTol(terms, 1));
        }
        const total = losses.reduce((a, b) => a + b, 0);
        const magTotal = mags.reduce((a, b) => a + b, 0);
        if (red === 'none') return { shape: [n], data: losses, tols: mags.map((m) => 1e-5 * m), atol: 1e-5 };
        const v = red === 'mean' ? total / n : total;
        return { shape: [], data: [v], tols: [1e-5 * (red === 'mean' ? magTotal / n : magTotal)], atol: 1e-5 };
      });
    });
  });

  it('sum / mean / max / min / prod over any axes, keepDims or not', () => {
    check('reduce', fc.tuple(fc.constantFrom('sum', 'mean', 'max', 'min', 'prod'), tspec(shape(4, 4)), fc.boolean())
      .chain(([name, x, keep]) => fc.tuple(fc.constant(name), fc.constant(x), axisArb(x.shape.length), fc.constant(keep))), ([name, x, axis, keep]) => {
      const axes = normAxes(axis, x.shape.length);
      const fn = (tb as unknown as Record<string, (t: tb.Tensor, a: unknown, k: boolean) => tb.Tensor | tb.ValuesIndices>)[name]!;
      // max/min over one dim give [values, indices] (torch.max(x, dim)): the values are checked here
      const values = (r: tb.Tensor | tb.ValuesIndices) => (r instanceof tb.Tensor ? r : r.values);
      outcome(`${name} ${show(x.shape)} axis ${String(axis)} keepDims ${keep}`, () => values(fn(make(x), axis, keep)), () => {
        if (!axes || x.dtype === 'int32') return { throws: true };
        const r = reduceRef(name, x, axes, keep);
        return r === 'throws' ? { throws: true } : { ...r, atol: 1e-6, rtol: 1e-5 };
      });
    });
  });

  it('argMax / argMin: the first extremum, a NaN counting as the extremum', () => {
    check('argReduce', fc.tuple(fc.boolean(), tspec(shape(3, 4)), fc.oneof(fc.integer({ min: -4, max: 3 }), fc.constantFrom<unknown>(undefined, 0.5, '1', null))), ([isMax, x, axis]) => {
      const r = x.shape.length;
      const ax = axis === undefined ? -1 : axis;
      const valid = x.dtype === 'float32' && r > 0 && typeof ax === 'number' && Number.isInteger(ax) && ax >= -r && ax < r;
      outcome(`${isMax ? 'argMax' : 'argMin'} axis ${String(axis)}`, () => (isMax ? tb.argMax : tb.argMin)(make(x), axis as number), () => {
        if (!valid) return { throws: true };
        const a = (ax as number) < 0 ? (ax as number) + r : (ax as number);
        if (x.shape[a] === 0 && sizeOf(x.shape.filter((_, i) => i !== a)) > 0) return { throws: true };
        const s = x.shape, st = strides(s);
        const outShape = s.filter((_, i) => i !== a);
        const data = Array.from({ length: sizeOf(outShape) }, (_, o) => {
          let base = 0, rem = o;
          for (let d = s.length - 1; d >= 0; d--) {
            if (d === a) continue;
            base += (rem % s[d]!) * st[d]!;
            rem = Math.floor(rem / s[d]!);
          }
          let best = 0;
          for (let j = 0; j < s[a]!; j++) {
            const v = f32(x.data[base + j * st[a]!]!);
            const b = f32(x.data[base + best * st[a]!]!);
            if (Number.isNaN(b)) break;
            if (Number.isNaN(v) || (isMax ? v > b : v < b)) best = j;
          }
          return best;
        });
        return { shape: outShape, data, atol: 0, rtol: 0 };
      });
    });
  });

  it('matmul and dot: 1-D, 2-D and batched operands with transposes (mismatches throw)', () => {
    const arb = fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 3 }),
      fc.constantFrom(0, 1, 2, 3, 4), fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 9 }))
      .chain(([m, k, n, batch, form, tA, tB, mess]) => {
        let sa = tA ? [k, m] : [m, k];
        let sb = tB ? [n, k] : [k, n];
        if (form === 1) sa = [batch, ...sa];
        if (form === 2) { sa = [batch, ...sa]; sb = [batch, ...sb]; }
        if (form === 3) sa = [k]; // vector @ matrix
        if (form === 4) { sa = [k]; sb = [mess === 0 ? k + 1 : k]; tA = false; tB = false; } // tb.dot of two vectors
        if (mess === 0) sb = sb.map((d, i) => (i === sb.length - (tB ? 1 : 2) ? d + 1 : d)); // inner mismatch
        return fc.tuple(fc.constant({ sa, sb, tA: form === 3 ? false : tA, tB }), dataFor(sa, value(4)), dataFor(sb, value(4)));
      });
    check('matmul', arb, ([{ sa, sb, tA, tB }, da, db]) => {
      outcome(`matmul ${show(sa)}${tA ? 'T' : ''} @ ${show(sb)}${tB ? 'T' : ''}`,
        () => (sa.length === 1 && sb.length === 1 ? tb.dot : (x: tb.Tensor, y: tb.Tensor) => tb.matmul(x, y, { transposeA: tA, transposeB: tB }))(
          tb.tensor(Float32Array.from(da), sa), tb.tensor(Float32Array.from(db), sb)), () => {
          const a2 = sa.length === 1 ? [1, sa[0]!] : sa;
          const [ar, ac] = a2.slice(-2) as [number, number];
          const b2 = sb.length === 1 ? [sb[0]!, 1] : sb;
          const [br, bc] = b2.slice(-2) as [number, number];
          const m = tA ? ac : ar, k = tA ? ar : ac, kb = tB ? bc : br, n = tB ? br : bc;
          if (k !== kb) return { throws: true };
          const aBatch = a2.length > 2 ? a2[0]! : 0, bBatch = b2.length > 2 ? b2[0]! : 0;
          const batch = Math.max(aBatch, bBatch, 1);
          const out: number[] = [];
          const tols: number[] = [];
          for (let b = 0; b < batch; b++)
            for (let i = 0; i < m; i++)
              for (let j = 0; j < n; j++) {
                const terms: number[] = [];
                for (let p = 0; p < k; p++) {
                  const av = f32(da[(aBatch ? b * m * k : 0) + (tA ? p * m + i : i * k + p)]!);
                  const bv = f32(db[(bBatch ? b * k * n : 0) + (tB ? j * k + p : p * n + j)]!);
                  terms.push(av * bv);
                }
                out.push(terms.reduce((x, y) => x + y, 0));
                tols.push(accTol(terms));
              }
          let shape = [...(aBatch || bBatch ? [batch] : []), m, n];
          if (sb.length === 1) shape = shape.slice(0, -1);
          if (sa.length === 1) shape = shape.filter((_, i) => i !== shape.length - (sb.length === 1 ? 1 : 2));
          return { shape, data: out, tols, atol: 1e-5 };
        });
    });
  });
});

