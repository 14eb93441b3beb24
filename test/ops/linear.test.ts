// linear(x, W, b, {activation, transposeWeight}): forward and finite-difference gradients against a
// plain reference, the fused ReLU against relu(matmul + add), and bad arguments.
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { native } from '../../lib/native/load.js';
import { linear } from '../../lib/ops/linear.js';
import { backends, checkOp, expectOpError, mulberry, withBackend, type Ref } from '../helpers/opcheck.js';

function naive(x: Ref, w: Ref, b: Ref | undefined, tw: boolean): Ref {
  const k = x.shape[x.shape.length - 1]!;
  const n = tw ? w.shape[0]! : w.shape[1]!;
  const m = x.data.length / k;
  const y = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = b ? b.data[j]! : 0;
      for (let p = 0; p < k; p++) s += x.data[i * k + p]! * w.data[tw ? j * k + p : p * n + j]!;
      y[i * n + j] = s;
    }
  return { shape: [...x.shape.slice(0, -1), n], data: y };
}

describe('linear', () => {
  const cases: [string, number[], number[], boolean, boolean][] = [
    ['(5, 7) @ (7, 3) + b', [5, 7], [7, 3], false, true],
    ['(2, 3, 4) @ (4, 6), no bias', [2, 3, 4], [4, 6], false, false],
    ['PyTorch weight (out, in)', [4, 5], [3, 5], true, true],
  ];
  for (const [name, xs, ws, tw, bias] of cases)
    it(`${name}: forward and gradients`, () => {
      const n = tw ? ws[0]! : ws[1]!;
      checkOp({
        name: `linear ${name}`,
        inputs: bias ? [{ shape: xs }, { shape: ws }, { shape: [n] }] : [{ shape: xs }, { shape: ws }],
        fn: (x, w, b) => linear(x, w, b ?? null, { transposeWeight: tw }),
        ref: (x, w, b) => naive(x, w, b, tw),
        atol: 1e-4,
        rtol: 1e-4,
      });
    });

  // [m, k, n]: small, and large enough (m*n*k > 4e6) that the GEMMs split over threads
  for (const [m, k, n] of [[37, 50, 20], [200, 300, 80]])
  for (const tw of [false, true])
    it(`fused ReLU equals relu(matmul + add), gradients included, ${m}x${k}x${n}${tw ? ', weight (out, in)' : ''}`, () => {
      for (const be of backends({ large: m * k * n > 4e6 }))
        withBackend(be, () => {
          const run = (fused: boolean): Float32Array[] => {
            const x = tb.randn([m, k], 0, 1, { seed: 1 });
            const w = tb.randn(tw ? [n, k] : [k, n], 0, 0.3, { seed: 2 });
            const b = tb.randn([n], 0, 0.3, { seed: 3 });
            for (const t of [x, w, b]) t.requiresGrad = true;
            const y = fused
              ? linear(x, w, b, { activation: 'relu', transposeWeight: tw })
              : tb.relu(tb.add(tb.matmul(x, w, { transposeB: tw }), b));
            y.backward(tb.randn(y.shape.slice(), 0, 1, { seed: 4 }));
            const out = [y, x.grad!, w.grad!, b.grad!].map((t) => t.dataSync() as Float32Array);
            tb.dispose([x, w, b, y]);
            return out;
          };
          const want = run(false);
          const got = run(true);
          got.forEach((g, i) => {
            const e = want[i]!;
            // one expect per mismatch, not per element (tens of thousands of them per backend)
            for (let j = 0; j < e.length; j++)
              if (!(Math.abs(g[j]! - e[j]!) <= 1e-5 * (1 + Math.abs(e[j]!)))) expect.fail(`[${be}] output ${i}[${j}]: ${g[j]} vs ${e[j]}`);
          });
          expect(want[0]!.some((v) => v === 0)).toBe(true);
        });
    });

  // Mostly-zero inputs take the zero-skipping products (native/cpu/linear_sparse.cc), for Keras's
  // (in, out) weights and PyTorch's (out, in) ones, under every instruction set present.
  for (const [m, k, n, density] of [[64, 300, 70, 0.1], [128, 784, 128, 0.19], [40, 512, 16, 0.02]] as const)
    for (const tw of [false, true])
    it(`mostly-zero input ${m}x${k} (density ${density}) @ ${tw ? `(${n}, ${k}) weight` : `${k}x${n}`}: values and gradients match a float64 reference`, () => {
      const rnd = mulberry(5);
      const xv = new Float32Array(m * k).map(() => (rnd() < density ? rnd() * 2 - 1 : 0));
      const wv = new Float32Array(k * n).map(() => rnd() - 0.5);
      const bv = new Float32Array(n).map(() => rnd() - 0.5);
      const gv = new Float32Array(m * n).map(() => rnd() * 2 - 1);
      // (out, in): wt[j][p] = wv[p][j]
      const wt = new Float32Array(k * n);
      for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) wt[j * k + p] = wv[p * n + j]!;
      for (const be of backends())
      for (const act of ['linear', 'relu'] as const) withBackend(be, () => {
        const x = tb.tensor(xv, [m, k]);
        const w = tw ? tb.tensor(wt, [n, k]) : tb.tensor(wv, [k, n]);
        const b = tb.tensor(bv, [n]);
        w.requiresGrad = true;
        b.requiresGrad = true;
        const y = linear(x, w, b, { activation: act, transposeWeight: tw });
        y.backward(tb.tensor(gv, [m, n]));
        const ref = naive({ shape: [m, k], data: Float64Array.from(xv) }, { shape: [k, n], data: Float64Array.from(wv) },
          { shape: [n], data: Float64Array.from(bv) }, false).data;
        const g = Float64Array.from(gv, (v, i) => (act === 'relu' && ref[i]! <= 0 ? 0 : v));
        const dw = new Float64Array(k * n), db = new Float64Array(n);
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) {
            db[j] += g[i * n + j]!;
            for (let p = 0; p < k; p++) dw[p * n + j] += xv[i * k + p]! * g[i * n + j]!;
          }
        const near = (got: Float32Array, want: ArrayLike<number>, what: string): void => {
          expect(got.length, what).toBe(want.length);
          for (let i = 0; i < want.length; i++)
            if (!(Math.abs(got[i]! - want[i]!) <= 1e-4 * (1 + Math.abs(want[i]!)))) expect.fail(`${what}[${i}]: ${got[i]} vs ${want[i]}`);
        };
        const dwt = new Float64Array(k * n);
        for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) dwt[j * k + p] = dw[p * n + j]!;
        near(y.dataSync() as Float32Array, act === 'relu' ? ref.map((v) => Math.max(v, 0)) : ref, `[${be}] ${act} y`);
        near(w.grad!.dataSync() as Float32Array, tw ? dwt : dw, `[${be}] ${act} dweight`);
        near(b.grad!.dataSync() as Float32Array, db, `[${be}] ${act} dbias`);
        tb.dispose([x, w, b, y]);
      });
    });

  it('a mostly-zero input still turns an infinite weight into NaN, as the dense product does', () => {
    const m = 32, k = 512, n = 16;
    const xv = new Float32Array(m * k);
    xv[5] = 1; // row 0 has one non-zero at column 5; every other product with w[7][*] is 0 * inf
    const wv = new Float32Array(k * n).fill(0.5);
    wv[7 * n + 3] = Infinity;
    const wt = new Float32Array(k * n).fill(0.5);
    wt[3 * k + 7] = Infinity; // the same weight stored (out, in)
    for (const be of backends())
      for (const tw of [false, true])
        withBackend(be, () => {
          const y = linear(tb.tensor(xv, [m, k]), tw ? tb.tensor(wt, [n, k]) : tb.tensor(wv, [k, n]), null, { transposeWeight: tw }).dataSync();
          expect(Number.isNaN(y[3]), `[${be}] transposeWeight ${tw}`).toBe(true);
          expect(Number.isNaN(y[n + 3])).toBe(true);
          expect(y[0]).toBe(0.5);
        });
  });

  it('a mostly-zero input with a NaN in the output gradient gives the dense weight gradient (NaN in every row)', () => {
    const m = 61, k = 300, n = 70; // none a multiple of the kernels' blocks; m * k is large enough for the sparse path
    const xv = new Float32Array(m * k);
    for (let i = 0; i < m; i++) xv[i * k + ((i * 37) % k)] = 1;
    const x = tb.tensor(xv, [m, k]);
    const w = tb.tensor(new Float32Array(k * n).fill(0.25), [k, n]);
    w.requiresGrad = true;
    const y = linear(x, w);
    const gv = new Float32Array(m * n).fill(1);
    gv[3 * n + 66] = NaN; // sample 3, output 66 (in the last, narrower column block)
    y.backward(tb.tensor(gv, [m, n]));
    const dw = w.grad!.dataSync();
    for (let p = 0; p < k; p++) {
      expect(Number.isNaN(dw[p * n + 66]), `dweight[${p}][66]`).toBe(true); // 0 * NaN is NaN, as in the dense GEMM
      expect(Number.isNaN(dw[p * n + 65]), `dweight[${p}][65]`).toBe(false);
    }
    expect(dw[((3 * 37) % k) * n + 0]).toBe(1);
    tb.dispose([x, w, y]);
  });

  it('rejects bad shapes and options; the binding checks its arguments', () => {
    const x = tb.zeros([2, 3]);
    expectOpError(() => linear(x, tb.zeros([4, 5])), 'linear', /3 features.*\[4,5\] expects 4/);
    expectOpError(() => linear(x, tb.zeros([3])), 'linear', /weight must be 2-D/);
    expectOpError(() => linear(x, tb.zeros([3, 5]), tb.zeros([4])), 'linear', /bias must have shape \[5\]/);
    expectOpError(() => linear(x, tb.zeros([3, 5]), null, { activation: 'tanh' as 'relu' }), 'linear', /activation/);
    expectOpError(() => linear(tb.zeros([2, 3], 'int32'), tb.zeros([3, 5])), 'linear', /float32/);
    const g = native();
    const f = (n: number) => new Float32Array(n);
    expect(() => g.linear(f(6), f(15), null, f(9), 2, 5, 3, false, 0)).toThrow(/y.*9 elements, expected 10/);
    expect(() => g.linear(f(6), f(15), null, f(10), 2, 5, 3, false, 2)).toThrow(/act/);
    const y = f(10);
    expect(() => g.linear(y.subarray(0, 6), f(15), null, y, 2, 5, 3, false, 0)).toThrow(/share memory/);
    expect(() => g.linearBackward(f(6), f(15), f(10), null, f(6), null, null, 2, 5, 3, false, 1)).toThrow(/y/);
    const out = f(10);
    g.linear(Float32Array.from([1, 2, 3, 4, 5, 6]), f(15).fill(1), Float32Array.from([0, -7, 0, 0, 0]), out, 2, 5, 3, false, 1);
    expect(Array.from(out)).toEqual([6, 0, 6, 6, 6, 15, 8, 15, 15, 15]);
  });
});
