import { afterAll, describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { checkOp, expectOpError, refBinary, refOf, refUnary, stridesOf, type InputSpec, type Ref } from '../helpers/opcheck.js';

type Gen = InputSpec['gen'];

// Generators that keep finite differences away from kinks and singularities.
const positive: Gen = (_i, r) => 0.5 + 1.5 * r();
const awayFromZero: Gen = (_i, r) => (r() < 0.5 ? -1 : 1) * (0.5 + 1.5 * r());
// a and b on interleaved grids (k/7 vs (k+0.5)/7): never equal, never within 1/14 of each other.
const gridA: Gen = (_i, r) => (Math.floor(r() * 14) - 7) / 7;
const gridB: Gen = (_i, r) => (Math.floor(r() * 14) - 7 + 0.5) / 7;

const shapePairs: [string, number[], number[]][] = [
  ['same shape', [2, 3], [2, 3]],
  ['row broadcast [2,3]+[3]', [2, 3], [3]],
  ['row broadcast [3]+[2,3]', [3], [2, 3]],
  ['outer [2,1]+[1,4]', [2, 1], [1, 4]],
  ['3-d [3,1,2]+[1,4,1]', [3, 1, 2], [1, 4, 1]],
  ['column [5,7]+[5,1]', [5, 7], [5, 1]],
  ['scalar b', [2, 3], []],
  ['scalar a', [], [2, 3]],
  ['size 1', [1], [1]],
  ['size 0 [0,3]+[3]', [0, 3], [3]],
  ['size 0 [2,0]+[2,1]', [2, 0], [2, 1]],
  ['odd [5,7]', [5, 7], [5, 7]],
];

interface BinCase {
  fn: (a: tb.Tensor, b: tb.Tensor) => tb.Tensor;
  f: (a: number, b: number) => number;
  genA?: Gen;
  genB?: Gen;
  noGrad?: boolean;
}

const arithmetic: Record<string, BinCase> = {
  add: { fn: tb.add, f: (a, b) => a + b },
  sub: { fn: tb.sub, f: (a, b) => a - b },
  mul: { fn: tb.mul, f: (a, b) => a * b },
  div: { fn: tb.div, f: (a, b) => a / b, genB: awayFromZero },
  pow: { fn: tb.pow, f: (a, b) => a ** b, genA: positive },
  maximum: { fn: tb.maximum, f: Math.max, genA: gridA, genB: gridB },
  minimum: { fn: tb.minimum, f: Math.min, genA: gridA, genB: gridB },
};

const comparisons: Record<string, BinCase> = {
  eq: { fn: tb.eq, f: (a, b) => +(a === b) },
  notEqual: { fn: tb.notEqual, f: (a, b) => +(a !== b) },
  greater: { fn: tb.greater, f: (a, b) => +(a > b) },
  greaterEqual: { fn: tb.greaterEqual, f: (a, b) => +(a >= b) },
  less: { fn: tb.less, f: (a, b) => +(a < b) },
  lessEqual: { fn: tb.lessEqual, f: (a, b) => +(a <= b) },
};
// Values on a coarse grid so equal pairs actually occur.
const coarse: Gen = (_i, r) => Math.floor(r() * 3) - 1;

describe('binary arithmetic (forward + finite-difference gradients)', () => {
  for (const [name, c] of Object.entries(arithmetic)) {
    for (const [label, as, bs] of shapePairs) {
      it(`${name} ${label}`, () => {
        checkOp({
          name: `${name} ${label}`,
          inputs: [{ shape: as, gen: c.genA }, { shape: bs, gen: c.genB }],
          fn: c.fn,
          ref: (a, b) => refBinary(a, b, c.f),
        });
      });
    }
  }
});

describe('comparisons', () => {
  for (const [name, c] of Object.entries(comparisons)) {
    for (const [label, as, bs] of shapePairs) {
      it(`${name} ${label}`, () => {
        checkOp({
          name: `${name} ${label}`,
          inputs: [{ shape: as, gen: coarse }, { shape: bs, gen: coarse }],
          fn: c.fn,
          ref: (a, b) => refBinary(a, b, c.f),
          noGrad: true,
        });
      });
    }
    it(`${name} takes int32 (cast internally), gives float32 without grad`, () => {
      const a = tb.tensor([1, 2, 3], [3], 'int32');
      const b = tb.tensor([[2], [3]]).requiresGrad_();
      const y = c.fn(a, b);
      expect(y.dtype).toBe('float32');
      expect(y.requiresGrad).toBe(false);
      expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 1, 2, 3].map((v, i) => c.f(v, i < 3 ? 2 : 3)));
    });
  }
});

const unaryCases: [string, (x: tb.Tensor) => tb.Tensor, (x: number) => number, Gen?][] = [
  ['neg', tb.neg, (x) => -x],
  ['exp', tb.exp, Math.exp],
  ['log', tb.log, Math.log, positive],
  ['sqrt', tb.sqrt, Math.sqrt, positive],
  ['rsqrt', tb.rsqrt, (x) => 1 / Math.sqrt(x), positive],
  ['abs', tb.abs, Math.abs, awayFromZero],
  ['square', tb.square, (x) => x * x],
  ['reciprocal', tb.reciprocal, (x) => 1 / x, awayFromZero],
  ['sign', tb.sign, Math.sign, awayFromZero],
  // grid values (k+0.5)/8 are never within eps of the bounds ±0.5
  ['clip', (x) => tb.clip(x, -0.5, 0.5), (x) => Math.min(0.5, Math.max(-0.5, x)), (_i, r) => (Math.floor(r() * 16) - 8 + 0.5) / 8],
  ['pow scalar 2.5', (x) => tb.pow(x, 2.5), (x) => x ** 2.5, positive],
  ['pow scalar 3 (negative base)', (x) => tb.pow(x, 3), (x) => x ** 3],
  ['pow scalar 0', (x) => tb.pow(x, 0), () => 1],
];
const unaryShapes = [[2, 3], [], [1], [0, 4], [5, 7]];

describe('unary ops (forward + finite-difference gradients)', () => {
  for (const [name, fn, f, gen] of unaryCases) {
    for (const shape of unaryShapes) {
      it(`${name} [${shape}]`, () => {
        checkOp({ name: `${name} [${shape}]`, inputs: [{ shape, gen }], fn, ref: (x) => refUnary(x, f) });
      });
    }
  }
});

/** Broadcast reference over any number of operands. */
function refNary(xs: Ref[], f: (...v: number[]) => number): Ref {
  const n = Math.max(...xs.map((x) => x.shape.length));
  const padded = xs.map((x) => Array(n - x.shape.length).fill(1).concat(x.shape) as number[]);
  const out = Array.from({ length: n }, (_, d) => (padded.some((p) => p[d] === 0) ? 0 : Math.max(...padded.map((p) => p[d]!))));
  const so = stridesOf(out);
  const st = padded.map(stridesOf);
  return refOf(out, (i) => {
    const vals = xs.map((x, k) => {
      let off = 0;
      for (let d = 0; d < n; d++) if (padded[k]![d] !== 1) off += (Math.floor(i / so[d]!) % out[d]!) * st[k]![d]!;
      return x.data[off]!;
    });
    return f(...vals);
  });
}

describe('where', () => {
  const floatCond: Gen = (_i, r) => [0, 2.5, -1][Math.floor(r() * 3)]!;
  const intCond: Gen = (_i, r) => (r() < 0.5 ? 0 : 1);
  const cases: [string, number[], 'float32' | 'int32', number[], number[]][] = [
    ['same shape', [2, 3], 'float32', [2, 3], [2, 3]],
    ['int32 cond, all broadcast', [2, 1], 'int32', [1, 3], [3]],
    ['scalar b', [3], 'float32', [2, 3], []],
    ['3-d', [3, 1, 2], 'float32', [1, 4, 1], [2]],
    ['size 0', [0, 1], 'int32', [3], [1]],
    ['odd', [5, 7], 'int32', [5, 7], [7]],
  ];
  for (const [label, cs, dtype, as, bs] of cases) {
    it(label, () => {
      checkOp({
        name: `where ${label}`,
        inputs: [{ shape: cs, dtype, gen: dtype === 'int32' ? intCond : floatCond, grad: false }, { shape: as }, { shape: bs }],
        fn: (c, a, b) => tb.where(c, a, b),
        ref: (c, a, b) => refNary([c, a, b], (cv, av, bv) => (cv !== 0 ? av : bv)),
      });
    });
  }
  it('accepts numbers for a and b', () => {
    const y = tb.where(tb.tensor([1, 0, 1], [3], 'int32'), 5, [7, 8, 9]);
    expect(Array.from(y.dataSync())).toEqual([5, 8, 5]);
  });
});

describe('gradient conventions', () => {
  const grads = (fn: (a: tb.Tensor, b: tb.Tensor) => tb.Tensor, av: number[], bv: number[]): [number[], number[], number[]] => {
    const a = tb.tensor(av).requiresGrad_();
    const b = tb.tensor(bv).requiresGrad_();
    const y = fn(a, b);
    y.backward(tb.onesLike(y));
    return [Array.from(y.dataSync()), Array.from(a.grad!.dataSync()), Array.from(b.grad!.dataSync())];
  };
  it('maximum/minimum send tie gradients to a', () => {
    expect(grads(tb.maximum, [1, 2, 5], [1, 3, 4])).toEqual([[1, 3, 5], [1, 0, 1], [0, 1, 0]]);
    expect(grads(tb.minimum, [1, 2, 5], [1, 3, 4])).toEqual([[1, 2, 4], [1, 1, 0], [0, 0, 1]]);
  });
  it('pow: gradient wrt the exponent is 0 where the base is <= 0, not NaN', () => {
    const [y, da, db] = grads(tb.pow, [-2, 0, 2], [3, 2, 2]);
    expect(y).toEqual([-8, 0, 4]);
    expect(da).toEqual([12, 0, 4]);
    expect(db[0]).toBe(0);
    expect(db[1]).toBe(0);
    expect(db[2]).toBeCloseTo(4 * Math.log(2), 5);
  });
  it('abs has gradient 0 at 0; sign(0) is 0; clip passes the gradient at its bounds', () => {
    const x = tb.tensor([-1, 0, 2]).requiresGrad_();
    tb.abs(x).backward(tb.ones([3]));
    expect(Array.from(x.grad!.dataSync())).toEqual([-1, 0, 1]);
    expect(Array.from(tb.sign(tb.tensor([-3, 0, 4])).dataSync())).toEqual([-1, 0, 1]);
    const z = tb.tensor([-2, -1, 0, 1, 2]).requiresGrad_();
    const c = tb.clip(z, -1, 1);
    expect(Array.from(c.dataSync())).toEqual([-1, -1, 0, 1, 1]);
    c.backward(tb.ones([5]));
    expect(Array.from(z.grad!.dataSync())).toEqual([0, 1, 1, 1, 0]);
  });
  it('x + x and x - x accumulate both paths', () => {
    const x = tb.tensor([1, 2]).requiresGrad_();
    x.add(x).backward(tb.ones([2]));
    expect(Array.from(x.grad!.dataSync())).toEqual([2, 2]);
    const z = tb.tensor([1, 2]).requiresGrad_();
    z.sub(z).mul(3).backward(tb.ones([2]));
    expect(Array.from(z.grad!.dataSync())).toEqual([0, 0]);
  });
  it('numbers and arrays as operands; constants do not leak', () => {
    expect(tb.add(2, 3).item()).toBe(5);
    const before = tb.memory().numTensors;
    const x = tb.tensor([[1, 2], [3, 4]]).requiresGrad_();
    const t = tb.sub(1, x);
    const y = t.mul([10, 100]);
    const dy = tb.onesLike(y);
    y.backward(dy);
    expect(Array.from(y.dataSync())).toEqual([0, -100, -20, -300]);
    expect(Array.from(x.grad!.dataSync())).toEqual([-10, -100, -10, -100]);
    for (const u of [dy, y, t, x]) u.dispose();
    expect(tb.memory().numTensors).toBe(before);
    expectOpError(() => tb.add(2, 'x' as unknown as number), 'add');
    expect(tb.memory().numTensors).toBe(before);
  });
  it('Tensor methods', () => {
    const x = tb.tensor([1, 4, 9]);
    expect(Array.from(x.sqrt().add(1).mul(2).sub(x.neg()).div(2).dataSync())).toEqual([2.5, 5, 8.5]);
    expect(Array.from(x.pow(0.5).maximum(2).minimum(2.5).dataSync())).toEqual([2, 2, 2.5]);
    expect(Array.from(x.greater(4).dataSync())).toEqual([0, 0, 1]);
    expect(Array.from(x.clip(2, 5).square().reciprocal().dataSync())).toEqual([1 / 4, 1 / 16, Math.fround(1 / 25)]);
    for (const m of ['notEqual', 'greaterEqual', 'less', 'lessEqual', 'exp', 'log', 'rsqrt', 'abs', 'sign'] as const)
      expect(typeof x[m]).toBe('function');
  });
});

describe('large inputs (OpenMP paths, deterministic reductions)', () => {
  const threads0 = tb.backendInfo().threads;
  afterAll(() => tb.setNumThreads(threads0));

  it('forward on 100k elements: same shape, scalar and row broadcast', () => {
    const a = tb.randn([400, 250], 0, 1, { seed: 11 });
    const b = tb.randn([400, 250], 0, 1, { seed: 12 });
    const r = tb.randn([250], 0, 1, { seed: 13 });
    const A = a.dataSync(), B = b.dataSync(), R = r.dataSync();
    const sum = tb.add(a, b).dataSync();
    const scaled = tb.mul(a, 3).dataSync();
    const mx = tb.maximum(a, r).dataSync();
    const e = tb.exp(a).dataSync();
    // One expect per check, not per element: 400k expect() calls would take seconds.
    const bad: string[] = [];
    for (let i = 0; i < A.length && bad.length < 5; i++) {
      if (sum[i] !== Math.fround(A[i]! + B[i]!)) bad.push(`add[${i}] = ${sum[i]}`);
      if (scaled[i] !== Math.fround(A[i]! * 3)) bad.push(`mul[${i}] = ${scaled[i]}`);
      if (mx[i] !== Math.max(A[i]!, R[i % 250]!)) bad.push(`maximum[${i}] = ${mx[i]}`);
      if (!(Math.abs(e[i]! - Math.exp(A[i]!)) <= 1e-6 * Math.exp(A[i]!))) bad.push(`exp[${i}] = ${e[i]}`);
    }
    expect(bad).toEqual([]);
  });

  it('broadcast gradients of 100k elements match float64 sums and do not depend on the thread count', () => {
    const run = (): Float32Array[] => {
      const a = tb.randn([1000, 100], 0, 1, { seed: 21 }).requiresGrad_();
      const b = tb.randn([100], 0, 1, { seed: 22 }).requiresGrad_();
      const s = tb.scalar(0.5).requiresGrad_();
      const y = tb.where(tb.greater(a, 0), tb.mul(a, b), s);
      y.backward(tb.onesLike(y));
      return [a.dataSync() as Float32Array, b.dataSync() as Float32Array, a.grad!.dataSync() as Float32Array,
        b.grad!.dataSync() as Float32Array, s.grad!.dataSync() as Float32Array];
    };
    tb.setNumThreads(1);
    const one = run();
    tb.setNumThreads(2);
    const two = run();
    for (let k = 2; k < one.length; k++) expect(two[k]).toEqual(one[k]);
    const [A, B, dA, dB, dS] = one as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
    const refB = new Float64Array(100);
    let refS = 0;
    let badA = 0;
    for (let i = 0; i < A.length; i++) {
      if (A[i]! > 0) refB[i % 100] += A[i]!;
      else refS += 1;
      if (dA[i] !== (A[i]! > 0 ? B[i % 100]! : 0)) badA++; // -0 === 0 here, as it should
    }
    expect(badA).toBe(0);
    for (let j = 0; j < 100; j++) expect(Math.abs(dB[j]! - refB[j]!)).toBeLessThan(1e-3);
    expect(dS[0]).toBe(refS);
  });
});

describe('errors', () => {
  const z23 = (): tb.Tensor => tb.zeros([2, 3]);
  const binaryOps = { ...arithmetic, ...comparisons };
  for (const [name, c] of Object.entries(binaryOps)) {
    it(`${name}: wrong shape and wrong type`, () => {
      expectOpError(() => c.fn(z23(), tb.zeros([4])), name, /\[2,3\].*\[4\]/);
      expectOpError(() => c.fn(z23(), 'x' as unknown as tb.Tensor), name, /b must be/);
      expectOpError(() => c.fn(null as unknown as tb.Tensor, z23()), name, /a must be/);
      expectOpError(() => c.fn(z23(), [[1, 2], [3]] as unknown as tb.Tensor), name, /ragged/);
      const d = z23();
      d.dispose();
      expectOpError(() => c.fn(d, z23()), name, /dispose/);
      if (name in arithmetic) expectOpError(() => c.fn(tb.zeros([2, 3], 'int32'), z23()), name, /float32.*cast\('float32'\)/);
    });
  }
  for (const [name, fn] of unaryCases) {
    if (name.includes(' ') && !name.startsWith('pow scalar 2')) continue;
    const op = name.split(' ')[0]!;
    it(`${op}: wrong type and malformed input`, () => {
      expectOpError(() => fn(tb.zeros([2, 3], 'int32')), op, /float32.*cast/);
      expectOpError(() => fn('x' as unknown as tb.Tensor), op, /must be/);
      expectOpError(() => fn([[1, 2], [3]] as unknown as tb.Tensor), op, /ragged/);
    });
  }
  it('clip: bad bounds', () => {
    expectOpError(() => tb.clip(z23(), 1, 0), 'clip', /lo \(1\).*hi \(0\)/);
    expectOpError(() => tb.clip(z23(), NaN, 0), 'clip', /lo/);
    expectOpError(() => tb.clip(z23(), 0, '1' as unknown as number), 'clip', /hi/);
    expect(tb.clipByValue).toBe(tb.clip);
  });
  it('where: wrong shapes and types', () => {
    expectOpError(() => tb.where(tb.zeros([2]), tb.zeros([3]), tb.zeros([3])), 'where', /cond \[2\], a \[3\] and b \[3\]/);
    expectOpError(() => tb.where(tb.zeros([3]), tb.zeros([3]), tb.zeros([2, 2])), 'where', /\[2,2\]/);
    expectOpError(() => tb.where(tb.zeros([3]), tb.zeros([3], 'int32'), tb.zeros([3])), 'where', /a must be float32/);
    expectOpError(() => tb.where('yes' as unknown as tb.Tensor, tb.zeros([3]), tb.zeros([3])), 'where', /cond/);
  });
  it('pow: int32 base with a number exponent', () => {
    expectOpError(() => tb.pow(tb.zeros([2], 'int32'), 2), 'pow', /cast/);
  });
});
