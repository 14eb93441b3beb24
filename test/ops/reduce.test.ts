import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { checkOp, expectOpError, mulberry, stridesOf, type Ref } from '../helpers/opcheck.js';

type Kind = 'sum' | 'mean' | 'max' | 'min' | 'prod';

function normAxes(axis: number | number[] | undefined, rank: number): number[] {
  if (axis === undefined) return Array.from({ length: rank }, (_, i) => i);
  return (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a));
}

/** Plain float64 reduction reference (NaN sticks for max/min). */
function refReduce(x: Ref, axis: number | number[] | undefined, keepDims: boolean, kind: Kind): Ref {
  const rank = x.shape.length;
  const red = new Set(normAxes(axis, rank));
  const full = x.shape.map((d, i) => (red.has(i) ? 1 : d));
  const outShape = keepDims ? full : x.shape.filter((_, i) => !red.has(i));
  const n = full.reduce((a, b) => a * b, 1);
  const init = { sum: 0, mean: 0, prod: 1, max: -Infinity, min: Infinity }[kind];
  const acc = new Float64Array(n).fill(init);
  const xs = stridesOf(x.shape), os = stridesOf(full);
  let count = 1;
  for (const a of red) count *= x.shape[a]!;
  for (let i = 0; i < x.data.length; i++) {
    let o = 0;
    for (let d = 0; d < rank; d++) if (!red.has(d)) o += (Math.floor(i / xs[d]!) % x.shape[d]!) * os[d]!;
    const v = x.data[i]!;
    const a = acc[o]!;
    if (kind === 'sum' || kind === 'mean') acc[o] = a + v;
    else if (kind === 'prod') acc[o] = a * v;
    else if (!Number.isNaN(a) && (Number.isNaN(v) || (kind === 'max' ? v > a : v < a))) acc[o] = v;
  }
  if (kind === 'mean') for (let i = 0; i < n; i++) acc[i] = acc[i]! / count;
  return { shape: outShape, data: acc };
}

/** max/min over one dim give [values, indices] (torch.max(x, dim)): the values, the indices freed. */
function valuesOf(r: tb.Tensor | tb.ValuesIndices): tb.Tensor {
  if (r instanceof tb.Tensor) return r;
  r.indices.dispose();
  return r.values;
}
const fns: Record<Kind, (x: tb.Tensor, axis?: number | number[], keepDims?: boolean) => tb.Tensor> = {
  sum: tb.sum, mean: tb.mean, prod: tb.prod,
  max: (x, a, k) => valuesOf(tb.max(x, a, k)), min: (x, a, k) => valuesOf(tb.min(x, a, k)),
};

// [shape, axis, keepDims]
const cases: [number[], number | number[] | undefined, boolean][] = [
  [[7], undefined, false],
  [[7], 0, true],
  [[3, 5], 0, false],
  [[3, 5], 1, true],
  [[3, 5], -1, false],
  [[3, 5], [0, 1], false],
  [[2, 3, 4], 0, false],
  [[2, 3, 4], 1, false],
  [[2, 3, 4], 2, true],
  [[2, 3, 4], [0, 2], false],
  [[2, 3, 4], [0, 2], true],
  [[2, 3, 4], [1, -1], false],
  [[2, 3, 2, 3], 0, false],
  [[2, 3, 2, 3], 1, true],
  [[2, 3, 2, 3], 2, false],
  [[2, 3, 2, 3], -1, false],
  [[2, 3, 2, 3], [0, 3], true],
  [[2, 3, 2, 3], [1, 3], false],
  [[2, 3, 2, 3], [0, 1, 2], false],
  [[3, 1, 4], [0, 1], false], // a size-1 axis between: still one run
  [[3, 1, 4], 1, false],
  [[1, 1], undefined, true],
  [[2, 3], [], false], // no axis reduced: a copy
];

describe('reductions forward and backward', () => {
  for (const kind of ['sum', 'mean', 'max', 'min', 'prod'] as Kind[]) {
    for (const [shape, axis, keep] of cases) {
      it(`${kind} ${JSON.stringify(shape)} axis=${JSON.stringify(axis)} keepDims=${keep}`, () => {
        checkOp({
          name: `${kind} ${JSON.stringify(shape)} ${JSON.stringify(axis)}`,
          // prod: values of magnitude ~1 so products stay well scaled
          inputs: [{ shape, gen: kind === 'prod' ? (_, r) => (r() < 0.5 ? -1 : 1) * (0.5 + r()) : undefined }],
          fn: (x) => fns[kind](x, axis, keep),
          ref: (x) => refReduce(x, axis, keep, kind),
        });
      });
    }
  }

  it('prod gradient with zeros is exact (no division)', () => {
    checkOp({
      name: 'prod with zeros',
      inputs: [{ shape: [3, 4], gen: (i) => (i % 5 === 0 ? 0 : 1 + (i % 3) * 0.5) }],
      fn: (x) => tb.prod(x, 1),
      ref: (x) => refReduce(x, 1, false, 'prod'),
    });
  });

  it('prod gradient next to inf and NaN takes the exact path', () => {
    const x = tb.tensor([2, Infinity, 3]).requiresGrad_();
    tb.prod(x).backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([Infinity, 6, Infinity]);
    const z = tb.tensor([[2, NaN, 3], [1, 2, 4]]).requiresGrad_();
    tb.prod(z, 1).sum().backward();
    const g = Array.from(z.grad!.dataSync());
    expect([Number.isNaN(g[0]!), g[1], Number.isNaN(g[2]!)]).toEqual([true, 6, true]);
    expect(g.slice(3)).toEqual([8, 4, 2]);
  });

  it('size-0 dims: sum 0, mean NaN, prod 1, empty outputs', () => {
    expect(Array.from(tb.sum(tb.zeros([0, 3]), 0).dataSync())).toEqual([0, 0, 0]);
    expect(Array.from(tb.prod(tb.zeros([0, 3]), 0).dataSync())).toEqual([1, 1, 1]);
    expect(Array.from(tb.mean(tb.zeros([0, 3]), 0).dataSync()).every(Number.isNaN)).toBe(true);
    expect(tb.sum(tb.zeros([3, 0]), 0).shape).toEqual([0]);
    expect(tb.max(tb.zeros([3, 0]), 0).values.shape).toEqual([0]);
    expect(tb.sum(tb.zeros([2, 0, 3]), 1, true).shape).toEqual([2, 1, 3]);
    expect(tb.sum(tb.zeros([0])).item()).toBe(0);
    for (const kind of ['sum', 'mean', 'prod'] as Kind[])
      checkOp({
        name: `${kind} over empty axis`,
        inputs: [{ shape: [2, 0, 3] }],
        fn: (x) => fns[kind](x, 1),
        ref: (x) => refReduce(x, 1, false, kind),
      });
  });

  it('max/min gradient goes to the first extremum', () => {
    const x = tb.tensor([[1, 3, 3, 2], [5, 5, 0, 5]]).requiresGrad_();
    tb.max(x, 1).values.sum().backward();
    expect(x.grad!.arraySync()).toEqual([[0, 1, 0, 0], [1, 0, 0, 0]]);
    const z = tb.tensor([[1, 0], [0, 2], [0, 0]]).requiresGrad_();
    tb.min(z, 0).values.sum().backward();
    expect(z.grad!.arraySync()).toEqual([[0, 1], [1, 0], [0, 0]]);
    const w = tb.tensor([[4, 1], [1, 4]]).requiresGrad_(); // all axes: first in row-major order
    tb.max(w).backward();
    expect(w.grad!.arraySync()).toEqual([[1, 0], [0, 0]]);
  });

  it('methods', () => {
    const x = tb.tensor([[1, 2, 3], [4, 5, 6]]);
    expect(x.sum().item()).toBe(21);
    expect(x.sum(0).arraySync()).toEqual([5, 7, 9]);
    expect(x.mean(1, true).arraySync()).toEqual([[2], [5]]);
    expect(x.max(-1).values.arraySync()).toEqual([3, 6]);
    expect(x.min().item()).toBe(1);
    expect(x.prod(1).arraySync()).toEqual([6, 120]);
    expect(x.argMax().arraySync()).toEqual([2, 2]);
    expect(x.argMin(0).arraySync()).toEqual([0, 0, 0]);
  });
});

describe('large sums are accurate', () => {
  it('sum of 1e6 values matches a float64 sum to float precision', () => {
    const n = 1_000_003;
    const r = mulberry(7);
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = r() * 2 - 0.9;
    let ref = 0;
    for (let i = 0; i < n; i++) ref += a[i]!;
    const got = tb.sum(tb.tensor(a)).item();
    // a float32 running sum would be off by ~1e-3 relative; we need float rounding of the exact sum
    expect(Math.abs(got - ref)).toBeLessThanOrEqual(Math.abs(ref) * 2 ** -23);
    const m = tb.mean(tb.tensor(a)).item();
    expect(Math.abs(m - ref / n)).toBeLessThanOrEqual(Math.abs(ref / n) * 2 ** -23);
  });

  it('column sums and block-split sums of large tensors match float64', () => {
    const r = mulberry(9);
    const check = (shape: number[], axis: number): void => {
      const size = shape.reduce((p, d) => p * d, 1);
      const a = new Float32Array(size);
      for (let i = 0; i < size; i++) a[i] = r() * 2 - 1;
      const ref = refReduce({ shape, data: Float64Array.from(a) }, axis, false, 'sum');
      const got = tb.sum(tb.tensor(a, shape), axis).dataSync();
      for (let i = 0; i < ref.data.length; i++)
        expect(Math.abs(got[i]! - ref.data[i]!)).toBeLessThanOrEqual(1e-6 + Math.abs(ref.data[i]!) * 2 ** -22);
    };
    check([1000, 1000], 0); // inner > 1, many column chunks
    check([3, 20000, 5], 1); // dim split into blocks, inner > 1
    check([2, 50000], 1); // dim split into blocks, inner == 1
  });

  it('results do not depend on the thread count', () => {
    const x = tb.randn([3, 70000, 3], 0, 1, { seed: 5 });
    const before = tb.backendInfo().threads;
    const run = (): number[] => [tb.sum(x), tb.sum(x, 1), tb.mean(x, [0, 2]), tb.prod(x, 2)].flatMap((t) => Array.from(t.dataSync()));
    try {
      tb.setNumThreads(1);
      const one = run();
      tb.setNumThreads(4);
      expect(run()).toEqual(one);
    } finally {
      tb.setNumThreads(before);
    }
  });

  it('large max/min/argMax agree with the reference', () => {
    const r = mulberry(11);
    const shape = [3, 9000, 2];
    const a = new Float32Array(3 * 9000 * 2);
    for (let i = 0; i < a.length; i++) a[i] = r();
    const x = tb.tensor(a, shape);
    const ref = refReduce({ shape, data: Float64Array.from(a) }, 1, false, 'max');
    expect(Array.from(tb.max(x, 1).values.dataSync())).toEqual(Array.from(ref.data));
    const am = tb.argMax(x, 1).dataSync();
    for (let o = 0; o < 3; o++) for (let j = 0; j < 2; j++) expect(a[(o * 9000 + am[o * 2 + j]!) * 2 + j]).toBe(ref.data[o * 2 + j]);
  });
});

describe('NaN propagation', () => {
  it('max/min/sum of a slice with NaN is NaN; others stay finite', () => {
    const x = tb.tensor([[1, NaN, 3], [4, 5, 6]]);
    for (const f of [fns.max, fns.min, tb.sum, tb.mean, tb.prod]) {
      const y = f(x, 1).dataSync();
      expect(Number.isNaN(y[0]!)).toBe(true);
      expect(Number.isNaN(y[1]!)).toBe(false);
    }
    const c = tb.max(x, 0).values.dataSync(); // inner > 1 path
    expect([c[0], Number.isNaN(c[1]!), c[2]]).toEqual([4, true, 6]);
    expect(Number.isNaN(tb.max(tb.tensor([NaN, 1, 2]), 0).values.item())).toBe(true);
    expect(Number.isNaN(tb.min(tb.tensor([2, 1, NaN]), 0).values.item())).toBe(true);
  });

  it('argMax/argMin return the first NaN', () => {
    expect(tb.argMax(tb.tensor([1, 9, NaN, 4, NaN])).arraySync()).toBe(2);
    expect(tb.argMin(tb.tensor([NaN, -9, NaN])).arraySync()).toBe(0);
    expect(tb.argMax(tb.tensor([[1, 2], [NaN, 0], [7, NaN]]), 0).arraySync()).toEqual([1, 2]);
  });

  it('max gradient goes to the first NaN', () => {
    const x = tb.tensor([1, NaN, 5, NaN]).requiresGrad_();
    tb.max(x).backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([0, 1, 0, 0]);
  });
});

function refArg(x: Ref, axis: number, kind: 'max' | 'min'): Ref {
  const rank = x.shape.length;
  const a = axis < 0 ? axis + rank : axis;
  const outer = x.shape.slice(0, a).reduce((p, d) => p * d, 1);
  const dim = x.shape[a]!;
  const inner = x.shape.slice(a + 1).reduce((p, d) => p * d, 1);
  const data = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++)
    for (let j = 0; j < inner; j++) {
      let best = 0;
      for (let d = 1; d < dim; d++) {
        const v = x.data[(o * dim + d) * inner + j]!, b = x.data[(o * dim + best) * inner + j]!;
        if (kind === 'max' ? v > b : v < b) best = d;
      }
      data[o * inner + j] = best;
    }
  return { shape: x.shape.filter((_, i) => i !== a), data };
}

describe('argMax / argMin', () => {
  const shapes: [number[], number][] = [
    [[7], 0], [[3, 5], 0], [[3, 5], 1], [[3, 5], -1], [[2, 3, 4], 0], [[2, 3, 4], 1], [[2, 3, 4], 2],
    [[2, 3, 2, 3], 0], [[2, 3, 2, 3], 1], [[2, 3, 2, 3], 2], [[2, 3, 2, 3], 3], [[4, 1], 1], [[1, 6], 0],
    [[0, 3], 1], [[300, 257], 1], [[257, 300], 0],
  ];
  for (const kind of ['max', 'min'] as const)
    for (const [shape, axis] of shapes)
      it(`arg${kind} ${JSON.stringify(shape)} axis ${axis}`, () => {
        // few distinct values so ties occur; the first index must win
        checkOp({
          name: `arg${kind}`,
          inputs: [{ shape, gen: (_, r) => Math.floor(r() * 4), grad: false }],
          fn: (x) => (kind === 'max' ? tb.argMax(x, axis) : tb.argMin(x, axis)),
          ref: (x) => refArg(x, axis, kind),
          noGrad: true,
          atol: 0,
          rtol: 0,
        });
      });

  it('default axis is the last; int32 output; no gradient', () => {
    const x = tb.tensor([[1, 5, 2], [7, 0, 7]]).requiresGrad_();
    const y = tb.argMax(x);
    expect(y.dtype).toBe('int32');
    expect(y.requiresGrad).toBe(false);
    expect(y.arraySync()).toEqual([1, 0]);
  });
});

describe('sumToShape', () => {
  const cases: [number[], number[]][] = [
    [[2, 3, 4], [3, 1]], [[2, 3, 4], [4]], [[2, 3, 4], []], [[2, 3, 4], [2, 1, 4]], [[2, 3, 4], [1, 3, 1]],
    [[5, 1], [1]], [[0, 3], [3]], [[2, 0], [2, 1]],
  ];
  for (const [from, to] of cases)
    it(`${JSON.stringify(from)} -> ${JSON.stringify(to)}`, () => {
      checkOp({
        name: 'sumToShape',
        inputs: [{ shape: from }],
        fn: (x) => tb.sumToShape(x, to),
        ref: (x) => {
          const lead = from.length - to.length;
          const axes = from.map((d, i) => i).filter((i) => i < lead || (to[i - lead] === 1 && from[i] !== 1));
          return { shape: to, data: refReduce(x, axes, false, 'sum').data };
        },
      });
    });

  it('returns x itself when shapes agree', () => {
    const x = tb.zeros([2, 3]);
    expect(tb.sumToShape(x, [2, 3])).toBe(x);
  });
});

describe('reduction errors', () => {
  const x = tb.zeros([2, 3]);
  const xi = tb.zeros([2, 3], 'int32');
  it('wrong types', () => {
    for (const [name, f] of Object.entries(fns)) {
      expectOpError(() => f(xi, 0), name, /float32/);
      expectOpError(() => f([1, 2] as unknown as tb.Tensor), name, /Tensor/);
      expectOpError(() => f(x, 'a' as unknown as number), name, /axis/);
      expectOpError(() => f(x, 0, 1 as unknown as boolean), name, /keepDims/);
    }
    expectOpError(() => tb.argMax(xi), 'argMax', /float32/);
    expectOpError(() => tb.argMin(null as unknown as tb.Tensor), 'argMin', /Tensor/);
    expectOpError(() => tb.argMax(x, [0] as unknown as number), 'argMax', /axis/);
    expectOpError(() => tb.sumToShape(xi, [3]), 'sumToShape', /float32/);
    expectOpError(() => tb.sumToShape(x, 'abc' as unknown as number[]), 'sumToShape');
  });
  it('wrong shapes and axes', () => {
    for (const [name, f] of Object.entries(fns)) {
      expectOpError(() => f(x, 2), name, /out of range for rank 2/);
      expectOpError(() => f(x, [0, -2]), name, /repeat/);
      expectOpError(() => f(x, 0.5), name, /integer/);
    }
    expectOpError(() => tb.max(tb.zeros([0, 3]), 0), 'max', /empty axis.*\[0,3\]/);
    expectOpError(() => tb.min(tb.zeros([2, 0])), 'min', /empty/);
    expectOpError(() => tb.argMax(tb.zeros([3, 0])), 'argMax', /empty axis.*\[3,0\]/);
    expectOpError(() => tb.argMin(tb.scalar(1)), 'argMin', /rank/);
    expectOpError(() => tb.argMax(x, 2), 'argMax', /out of range/);
    expectOpError(() => tb.sumToShape(x, [4]), 'sumToShape', /\[2,3\].*\[4\]/);
    expectOpError(() => tb.sumToShape(x, [1, 2, 3]), 'sumToShape', /broadcast/);
    expectOpError(() => tb.sumToShape(x, [2, 2]), 'sumToShape', /broadcast/);
  });
});
