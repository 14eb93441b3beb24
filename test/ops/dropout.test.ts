import { afterEach, describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { dropout } from '../../lib/ops/dropout.js';
import { checkOp, expectOpError, type Ref } from '../helpers/opcheck.js';

/** The mask dropout draws for `seed` on `n` elements (y of an all-ones input). */
function maskOf(n: number, rate: number, seed: number): Float32Array {
  const ones = tb.ones([n]);
  const y = dropout(ones, rate, { seed });
  const m = y.dataSync() as Float32Array;
  ones.dispose();
  y.dispose();
  return m;
}

/** Bitwise equality of two float arrays (vitest's deep equality is slow on 1e5 elements). */
function expectSame(a: Float32Array, b: Float32Array, what: string): void {
  expect(a.length, what).toBe(b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) throw new Error(`${what}: differs at ${i}: ${a[i]} vs ${b[i]}`);
}

function zeroFraction(a: ArrayLike<number>): number {
  let z = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === 0) z++;
  return z / a.length;
}

describe('dropout', () => {
  afterEach(() => tb.setNumThreads(tb.backendInfo().threads));

  for (const rate of [0.1, 0.5, 0.9]) {
    it(`drops a fraction ${rate} and scales the rest by 1/(1-rate)`, () => {
      const n = 100_000;
      const x = tb.rand([n], 0.5, 1.5, { seed: 11 });
      const y = dropout(x, rate, { seed: 1234 });
      const xv = x.dataSync();
      const yv = y.dataSync();
      // Binomial std is sqrt(r(1-r)/n) <= 0.0016: 0.008 is five of them.
      expect(Math.abs(zeroFraction(yv) - rate)).toBeLessThan(0.008);
      const scale = Math.fround(1 / (1 - rate));
      for (let i = 0; i < n; i++) {
        if (yv[i] === 0) continue;
        if (yv[i] !== Math.fround(xv[i]! * scale)) throw new Error(`y[${i}] = ${yv[i]}, expected ${xv[i]} * ${scale}`);
      }
      x.dispose();
      y.dispose();
    });
  }

  it('draws unbiased, uncorrelated bits', () => {
    const m = maskOf(100_000, 0.5, 77);
    // Neighbouring elements, and the same element under seeds 77 and 78, agree half of the time.
    let adjacent = 0;
    for (let i = 1; i < m.length; i++) if ((m[i] === 0) === (m[i - 1] === 0)) adjacent++;
    expect(Math.abs(adjacent / (m.length - 1) - 0.5)).toBeLessThan(0.01);
    const m2 = maskOf(100_000, 0.5, 78);
    let same = 0;
    for (let i = 0; i < m.length; i++) if ((m[i] === 0) === (m2[i] === 0)) same++;
    expect(Math.abs(same / m.length - 0.5)).toBeLessThan(0.01);
  });

  it('same seed gives the same mask, other seeds another one', () => {
    const a = maskOf(5000, 0.3, 42);
    const b = maskOf(5000, 0.3, 42);
    expectSame(b, a, 'same seed');
    for (const other of [43, -42, 2 ** 40 + 42]) {
      const c = maskOf(5000, 0.3, other);
      let diff = 0;
      for (let i = 0; i < a.length; i++) if ((a[i] === 0) !== (c[i] === 0)) diff++;
      // Two independent masks differ at 2*0.3*0.7 = 42% of positions.
      expect(diff / a.length).toBeGreaterThan(0.35);
    }
  });

  it('the mask of element i depends only on (seed, i): not on the size or the thread count', () => {
    const big = maskOf(200_000, 0.4, 9);
    const small = maskOf(1000, 0.4, 9);
    expectSame(big.subarray(0, 1000), small, 'prefix');
    tb.setNumThreads(1);
    const one = maskOf(200_000, 0.4, 9);
    tb.setNumThreads(3);
    const three = maskOf(200_000, 0.4, 9);
    expectSame(one, big, '1 thread');
    expectSame(three, big, '3 threads');
  });

  it('is the identity when not training or at rate 0', () => {
    const x = tb.randn([4, 5], 0, 1, { seed: 1 });
    expect(dropout(x, 0.5, { training: false })).toBe(x);
    expect(dropout(x, 0)).toBe(x);
    expect(dropout(x, 0, { seed: 3 })).toBe(x);
    x.dispose();
  });

  it('gradient is dy times the mask', () => {
    const x = tb.rand([37, 11], 0.5, 1.5, { seed: 5 }).requiresGrad_();
    const rate = 0.35;
    const y = dropout(x, rate, { seed: 99 });
    expect(y.requiresGrad).toBe(true);
    const dy = tb.randn([37, 11], 0, 1, { seed: 6 });
    y.backward(dy);
    const yv = y.dataSync();
    const g = x.grad!.dataSync();
    const d = dy.dataSync();
    const scale = Math.fround(1 / (1 - rate));
    for (let i = 0; i < yv.length; i++) {
      const expected = yv[i] === 0 ? 0 : Math.fround(d[i]! * scale);
      if (g[i] !== expected) throw new Error(`grad[${i}] = ${g[i]}, expected ${expected}`);
    }
    for (const t of [x, y, dy]) t.dispose();
  });

  // Forward and finite-difference gradient with the mask held fixed by the seed: a linear map.
  const shapes: number[][] = [[7, 5], [1], [3, 1, 17], [0, 4], [2, 3, 4, 5]];
  for (const shape of shapes) {
    it(`checkOp on ${JSON.stringify(shape)}`, () => {
      const n = shape.reduce((a, b) => a * b, 1);
      const mask = maskOf(n, 0.25, 2024);
      checkOp({
        name: `dropout ${JSON.stringify(shape)}`,
        inputs: [{ shape }],
        fn: (x) => dropout(x, 0.25, { seed: 2024 }),
        ref: (x: Ref) => ({ shape: x.shape, data: x.data.map((v, i) => v * mask[i]!) }),
      });
    });
  }

  it('tb.setSeed makes unseeded masks repeatable; successive calls differ', () => {
    const x = tb.ones([4000]);
    tb.setSeed(7);
    const a = dropout(x, 0.5).dataSync();
    const b = dropout(x, 0.5).dataSync();
    tb.setSeed(7);
    const a2 = dropout(x, 0.5).dataSync();
    const b2 = dropout(x, 0.5).dataSync();
    expectSame(a2 as Float32Array, a as Float32Array, 'first draw after setSeed');
    expectSame(b2 as Float32Array, b as Float32Array, 'second draw after setSeed');
    expect(b).not.toEqual(a);
    tb.setSeed(8);
    expect(dropout(x, 0.5).dataSync()).not.toEqual(a);
    x.dispose();
  });

  it('works as a Tensor method and leaves no tensors behind', () => {
    const x = tb.ones([100]).requiresGrad_();
    const before = tb.memory().numTensors;
    const y = x.dropout(0.5, { seed: 1 });
    const dy = tb.ones([100]);
    y.backward(dy);
    y.dispose();
    dy.dispose();
    x.grad!.dispose();
    x.grad = null;
    expect(tb.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('rejects bad rates, inputs and options', () => {
    const x = tb.zeros([2, 3]);
    for (const r of [1, -0.1, 1.5, NaN, Infinity])
      expectOpError(() => dropout(x, r), 'dropout', /rate/);
    expectOpError(() => dropout(x, '0.5' as unknown as number), 'dropout', /rate/);
    expectOpError(() => dropout(tb.zeros([2, 3], 'int32'), 0.5), 'dropout', /float32.*\[2,3\]/);
    expectOpError(() => dropout([1, 2] as unknown as tb.Tensor, 0.5), 'dropout', /Tensor/);
    expectOpError(() => dropout(x, 0.5, { seed: 1.5 }), 'dropout', /seed/);
    expectOpError(() => dropout(x, 0.5, { seed: 2 ** 60 }), 'dropout', /seed/);
    expectOpError(() => dropout(x, 0.5, { training: 'yes' as unknown as boolean }), 'dropout', /training/);
    const gone = tb.zeros([3, 2]);
    gone.dispose();
    expectOpError(() => dropout(gone, 0.5), 'dropout', /\[3,2\].*dispose/);
    x.dispose();
  });
});
