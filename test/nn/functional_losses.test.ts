// nn.functional losses against float64 references (forward) and finite differences (backward).
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { checkOp, expectOpError, type Ref } from '../helpers/opcheck.js';

const F = tb.nn.functional;
type Reduction = 'mean' | 'sum' | 'none';

function reduceRef(per: Float64Array, shape: number[], reduction: Reduction): Ref {
  if (reduction === 'none') return { shape, data: per };
  const s = per.reduce((a, b) => a + b, 0);
  return { shape: [], data: Float64Array.of(reduction === 'mean' ? s / per.length : s) };
}

function logSoftmaxRows(z: Ref): Float64Array {
  const [n, c] = z.shape as [number, number];
  const out = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let j = 0; j < c; j++) m = Math.max(m, z.data[i * c + j]!);
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(z.data[i * c + j]! - m);
    for (let j = 0; j < c; j++) out[i * c + j] = z.data[i * c + j]! - m - Math.log(s);
  }
  return out;
}

/** PyTorch's cross_entropy: target row (1 - eps) * t + eps / C against log_softmax(z). */
function refCrossEntropy(z: Ref, t: Ref, labels: boolean, eps: number, reduction: Reduction): Ref {
  const [n, c] = z.shape as [number, number];
  const lp = logSoftmaxRows(z);
  const per = new Float64Array(n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < c; j++) {
      const t0 = labels ? (t.data[i] === j ? 1 : 0) : t.data[i * c + j]!;
      per[i]! -= ((1 - eps) * t0 + eps / c) * lp[i * c + j]!;
    }
  return reduceRef(per, [n], reduction);
}

const N = 6, C = 5;
const logitGen = (_: number, r: () => number): number => (r() * 2 - 1) * 3;
const labelGen = (i: number): number => (i * 3 + 2) % C;
const probGen = (_: number, r: () => number): number => 0.02 + 0.96 * r();
const binGen = (i: number): number => (i * 7) % 3 === 0 ? 1 : 0;
const softTargetGen = (_: number, r: () => number): number => r();

describe('crossEntropy', () => {
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    for (const eps of [0, 0.2]) {
      it(`class indices, ${reduction}, label smoothing ${eps}`, () => {
        checkOp({
          name: `crossEntropy labels ${reduction} ${eps}`,
          inputs: [{ shape: [N, C], gen: logitGen }, { shape: [N], dtype: 'int32', gen: labelGen }],
          fn: (z, y) => F.crossEntropy(z!, y!, { reduction, labelSmoothing: eps }),
          ref: (z, y) => refCrossEntropy(z!, y!, true, eps, reduction),
        });
      });
    }
    it(`probability targets, ${reduction}`, () => {
      checkOp({
        name: `crossEntropy probs ${reduction}`,
        inputs: [{ shape: [N, C], gen: logitGen }, { shape: [N, C], gen: softTargetGen, grad: false }],
        fn: (z, t) => F.crossEntropy(z!, t!, { reduction }),
        ref: (z, t) => refCrossEntropy(z!, t!, false, 0, reduction),
      });
    });
  }

  it('defaults to the mean', () => {
    const z = tb.randn([4, 3], 0, 1, { seed: 2 });
    const y = tb.tensor(Int32Array.of(0, 2, 1, 1));
    expect(F.crossEntropy(z, y).item()).toBeCloseTo(F.crossEntropy(z, y, { reduction: 'sum' }).item() / 4, 6);
  });

  it('is exact and has finite gradients for logits of ±1e4', () => {
    const z = tb.tensor([[1e4, -1e4, 0], [-1e4, 1e4, -1e4], [1e4, 1e4, -1e4]]).requiresGrad_();
    const y = tb.tensor(Int32Array.of(0, 0, 2));
    const loss = F.crossEntropy(z, y, { reduction: 'none' });
    const l = loss.dataSync();
    expect(l[0]).toBe(0);
    expect(l[1]).toBeCloseTo(2e4, 0);
    expect(l[2]).toBeCloseTo(2e4 + Math.log(2), 0);
    tb.sum(loss).backward();
    const g = z.grad!.dataSync();
    expect(g.every(Number.isFinite)).toBe(true);
    expect(Array.from(g.slice(3, 6))).toEqual([-1, 1, 0]);
    const z2 = tb.tensor([[1e4, -1e4], [-1e4, 1e4]]).requiresGrad_();
    const sm = F.crossEntropy(z2, y.slice([0], [2]), { labelSmoothing: 0.1 });
    expect(Number.isFinite(sm.item())).toBe(true);
    sm.backward();
    expect(z2.grad!.dataSync().every(Number.isFinite)).toBe(true);
  });

  it('rejects labels out of range, float labels and shape mismatches', () => {
    expectOpError(() => F.crossEntropy(tb.zeros([2, 3]), tb.tensor(Int32Array.of(0, 3))), 'softmaxCrossEntropy', /3/);
    expectOpError(() => F.crossEntropy(tb.zeros([2, 3]), tb.tensor(Int32Array.of(0, -1))), 'softmaxCrossEntropy', /-1/);
    expectOpError(() => F.crossEntropy(tb.zeros([2, 3]), tb.tensor([0, 1])), 'softmaxCrossEntropy', /int32/);
    expectOpError(() => F.crossEntropy(tb.zeros([2, 3]), tb.zeros([2, 4])), 'softmaxCrossEntropy', /\[2,3\].*\[2,4\]/);
    expectOpError(() => F.crossEntropy(tb.zeros([2, 3]), tb.tensor(Int32Array.of(0, 1)), { reduction: 'avg' as 'mean' }), 'softmaxCrossEntropy', /reduction/);
  });
});

describe('nllLoss over logSoftmax', () => {
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    it(`${reduction}: equals cross-entropy, gradients to the logits`, () => {
      checkOp({
        name: `nll(logSoftmax) ${reduction}`,
        inputs: [{ shape: [N, C], gen: logitGen }, { shape: [N], dtype: 'int32', gen: labelGen }],
        fn: (z, y) => F.nllLoss(F.logSoftmax(z!, 1), y!, { reduction }),
        ref: (z, y) => refCrossEntropy(z!, y!, true, 0, reduction),
      });
    });
  }

  it('picks -logProbs[i, y[i]] directly', () => {
    checkOp({
      name: 'nllLoss direct',
      inputs: [{ shape: [N, C] }, { shape: [N], dtype: 'int32', gen: labelGen }],
      fn: (lp, y) => F.nllLoss(lp!, y!, { reduction: 'none' }),
      ref: (lp, y) => ({ shape: [N], data: Float64Array.from({ length: N }, (_, i) => -lp!.data[i * C + y!.data[i]!]!) }),
    });
  });

  it('stays finite for logits of ±1e4', () => {
    const z = tb.tensor([[1e4, -1e4], [-1e4, 1e4]]).requiresGrad_();
    const loss = F.nllLoss(F.logSoftmax(z, 1), tb.tensor(Int32Array.of(1, 1)));
    expect(loss.item()).toBeCloseTo(1e4, 0);
    loss.backward();
    expect(Array.from(z.grad!.dataSync())).toEqual([0.5, -0.5, 0, 0]);
  });

  it('rejects bad targets naming nllLoss', () => {
    expectOpError(() => F.nllLoss(tb.zeros([2, 3]), tb.tensor([0, 1])), 'nllLoss', /int32/);
    expectOpError(() => F.nllLoss(tb.zeros([2, 3]), tb.tensor(Int32Array.of(0, 1, 2))), 'nllLoss', /N = 2/);
    expectOpError(() => F.nllLoss(tb.zeros([6]), tb.tensor(Int32Array.of(0))), 'nllLoss', /\(N, C\).*\[6\]/);
    expect(() => F.nllLoss(tb.zeros([2, 3]), tb.tensor(Int32Array.of(0, 5)))).toThrow(tb.TensorboltError);
  });
});

describe('regression losses', () => {
  const shape = [4, 3];
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    it(`mseLoss ${reduction}`, () => {
      checkOp({
        name: `mse ${reduction}`,
        inputs: [{ shape }, { shape }],
        fn: (a, b) => F.mseLoss(a!, b!, { reduction }),
        ref: (a, b) => reduceRef(a!.data.map((v, i) => (v - b!.data[i]!) ** 2), shape, reduction),
      });
    });
    it(`l1Loss ${reduction}`, () => {
      checkOp({
        name: `l1 ${reduction}`,
        // input and target apart by at least 0.05, away from |.|'s kink
        inputs: [{ shape }, { shape, gen: (i, r) => (r() * 2 - 1) + (i % 2 ? 2.05 : -2.05) }],
        fn: (a, b) => F.l1Loss(a!, b!, { reduction }),
        ref: (a, b) => reduceRef(a!.data.map((v, i) => Math.abs(v - b!.data[i]!)), shape, reduction),
      });
    });
  }
  it('reject different shapes, int targets and unknown reductions', () => {
    expectOpError(() => F.mseLoss(tb.zeros([2, 3]), tb.zeros([3, 2])), 'mseLoss', /\[2,3\].*\[3,2\]/);
    expectOpError(() => F.l1Loss(tb.zeros([2]), tb.zeros([2], 'int32')), 'l1Loss', /float32/);
    expectOpError(() => F.mseLoss(tb.zeros([2]), tb.zeros([2]), { reduction: 'avg' as 'mean' }), 'mseLoss', /reduction/);
  });
});

describe('binary cross-entropy', () => {
  const shape = [5, 2];
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    it(`binaryCrossEntropy ${reduction}`, () => {
      checkOp({
        name: `bce ${reduction}`,
        inputs: [{ shape, gen: probGen }, { shape, gen: binGen, grad: false }],
        fn: (p, t) => F.binaryCrossEntropy(p!, t!, { reduction }),
        ref: (p, t) => reduceRef(p!.data.map((v, i) => -(t!.data[i]! * Math.log(v) + (1 - t!.data[i]!) * Math.log(1 - v))), shape, reduction),
        eps: 1e-4,
      });
    });
    it(`binaryCrossEntropyWithLogits ${reduction} (soft targets too)`, () => {
      checkOp({
        name: `bceLogits ${reduction}`,
        inputs: [{ shape, gen: logitGen }, { shape, gen: softTargetGen, grad: false }],
        fn: (z, t) => F.binaryCrossEntropyWithLogits(z!, t!, { reduction }),
        ref: (z, t) => reduceRef(z!.data.map((v, i) => {
          const sp = Math.log1p(Math.exp(-Math.abs(v)));
          return -(t!.data[i]! * (Math.min(v, 0) - sp) + (1 - t!.data[i]!) * (Math.min(-v, 0) - sp));
        }), shape, reduction),
      });
    });
  }

  it('withLogits is exact and has finite gradients for logits of ±1e4', () => {
    const z = tb.tensor([1e4, -1e4, 1e4, -1e4]).requiresGrad_();
    const t = tb.tensor([1, 0, 0, 1]);
    const l = F.binaryCrossEntropyWithLogits(z, t, { reduction: 'none' });
    expect(Array.from(l.dataSync())).toEqual([0, 0, 1e4, 1e4]);
    tb.sum(l).backward();
    expect(Array.from(z.grad!.dataSync())).toEqual([0, 0, 1, -1]);
  });

  it('of probabilities 0 and 1: loss clamped at 100 (PyTorch), finite gradients', () => {
    const p = tb.tensor([0, 1, 0, 1, 0.5]).requiresGrad_();
    const t = tb.tensor([0, 1, 1, 0, 1]);
    const l = F.binaryCrossEntropy(p, t, { reduction: 'none' });
    const v = l.dataSync();
    expect(v[0]).toBeCloseTo(0, 6);
    expect(v[1]).toBeCloseTo(0, 6);
    expect(v[2]).toBeCloseTo(100, 4);
    expect(v[3]).toBeCloseTo(100, 4);
    expect(v[4]).toBeCloseTo(Math.log(2), 6);
    tb.sum(l).backward();
    const g = p.grad!.dataSync();
    expect(Array.from(g).every(Number.isFinite), `gradient ${Array.from(g)}`).toBe(true);
    expect(g[4]).toBeCloseTo(-2, 5);
    // PyTorch's (p - t) / max(p (1 - p), 1e-12): 0 where the prediction is right, huge but finite where wrong
    expect(g[0]).toBe(0);
    expect(g[1]).toBe(0);
    expect(g[2]).toBeCloseTo(-1e12, -8);
    expect(g[3]).toBeCloseTo(1e12, -8);
    expectOpError(() => F.binaryCrossEntropy(tb.full([2], 0.5), tb.full([2], 1).requiresGrad_()), 'binaryCrossEntropy', /detach/);
  });

  it('reject mismatched shapes naming the op', () => {
    expectOpError(() => F.binaryCrossEntropy(tb.full([3], 0.5), tb.zeros([3, 1])), 'binaryCrossEntropy', /\[3\].*\[3,1\]/);
    expectOpError(() => F.binaryCrossEntropyWithLogits(tb.zeros([3]), tb.zeros([4])), 'binaryCrossEntropyWithLogits', /\[3\].*\[4\]/);
  });
});
