// Gradient clipping by global norm and by value.
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import * as optim from '../../lib/optim/index.js';

function withGrad(values: number[]): tb.Tensor {
  const p = tb.zeros([values.length]);
  p.requiresGrad = true;
  p.grad = tb.tensor(values);
  return p;
}

describe('clipGradNorm', () => {
  it('returns the global 2-norm and scales every gradient to maxNorm', () => {
    const a = withGrad([3, 0]), b = withGrad([0, 4, 0]), c = tb.zeros([2]);
    const n = optim.clipGradNorm([a, b, c], 1);
    expect(n).toBeCloseTo(5, 6);
    const k = 1 / (5 + 1e-6);
    expect(Array.from(a.grad!.dataSync())).toEqual([Math.fround(3 * k), 0]);
    expect(b.grad!.dataSync()[1]).toBeCloseTo(4 * k, 7);
    expect(c.grad).toBeNull();
  });

  it('leaves gradients under the limit alone', () => {
    const a = withGrad([0.3, -0.4]);
    expect(optim.clipGradNorm(a, 1)).toBeCloseTo(0.5, 6);
    expect(Array.from(a.grad!.dataSync())).toEqual([Math.fround(0.3), Math.fround(-0.4)]);
  });

  it('other norms: Infinity (max |g|) and p = 1', () => {
    const a = withGrad([1, -6]), b = withGrad([2]);
    expect(optim.clipGradNorm([a, b], 3, Infinity)).toBe(6);
    expect(a.grad!.dataSync()[1]).toBeCloseTo(-3, 5);
    const c = withGrad([1, -2]), d = withGrad([3]);
    expect(optim.clipGradNorm([c, d], 100, 1)).toBeCloseTo(6, 6);
  });

  it('a large gradient (parallel sum of squares, double accumulation)', () => {
    const n = 1 << 18;
    const g = new Float32Array(n).fill(0.1);
    const p = tb.zeros([n]);
    p.grad = tb.tensor(g);
    const want = Math.sqrt(n * Math.fround(0.1) ** 2);
    expect(Math.abs(optim.clipGradNorm(p, 1e9) - want) / want).toBeLessThan(1e-12);
    optim.clipGradNorm(p, 1);
    expect(Math.sqrt(Array.from(p.grad.dataSync()).reduce((s, v) => s + v * v, 0))).toBeCloseTo(1, 4);
  });

  it('non-finite norms', () => {
    const a = withGrad([NaN, 1]);
    expect(() => optim.clipGradNorm(a, 1, 2, true)).toThrowError(/clipGradNorm: the total norm of the gradients is NaN/);
    expect(optim.clipGradNorm(a, 1)).toBeNaN();
    const b = withGrad([Infinity, 1]);
    expect(optim.clipGradNorm(b, 1)).toBe(Infinity);
    expect(b.grad!.dataSync()[1]).toBe(0); // scaled by maxNorm / inf = 0, as in PyTorch
  });

  it('rejects bad arguments', () => {
    const a = withGrad([1]);
    expect(() => optim.clipGradNorm(a, -1)).toThrowError(/clipGradNorm: maxNorm/);
    expect(() => optim.clipGradNorm(a, 1, 0)).toThrowError(/clipGradNorm: normType/);
    expect(() => optim.clipGradNorm([a, 5 as never], 1)).toThrowError(/clipGradNorm: params\[1\]/);
    expect(optim.clipGradNorm([], 1)).toBe(0);
  });
});

describe('clipGradValue', () => {
  it('clamps each element to [-clip, clip]', () => {
    const a = withGrad([-3, -0.5, 0, 0.7, 9]);
    optim.clipGradValue([a], 1);
    expect(Array.from(a.grad!.dataSync())).toEqual([-1, -0.5, 0, Math.fround(0.7), 1]);
    expect(() => optim.clipGradValue(a, -1)).toThrowError(/clipGradValue: clipValue/);
  });
});
