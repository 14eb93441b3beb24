// Keras-style losses (tb.losses.*, compile({loss: name})) against float64 references.
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { checkOp, expectOpError, type Ref } from '../helpers/opcheck.js';

const EPS = 1e-7; // Keras's backend epsilon: probabilities are clipped to [EPS, 1 - EPS]
const clipP = (p: number): number => Math.min(1 - EPS, Math.max(EPS, p));
const scalar = (v: number): Ref => ({ shape: [], data: Float64Array.of(v) });

function rowsLogSoftmax(z: Ref): Float64Array {
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

/** Rows of positive numbers normalized to sum 1 (what a softmax layer outputs). */
function probRows(n: number, c: number, seed: number): tb.Tensor {
  const r = tb.rand([n, c], 0.05, 1, { seed }).dataSync();
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < c; j++) s += r[i * c + j]!;
    for (let j = 0; j < c; j++) r[i * c + j]! /= s;
  }
  return tb.tensor(r, [n, c]);
}

const N = 5, C = 4;
const labels = Int32Array.from({ length: N }, (_, i) => (i * 3 + 1) % C);
const oneHotGen = (i: number): number => (labels[Math.floor(i / C)] === i % C ? 1 : 0);

describe('categoricalCrossentropy', () => {
  it('of probabilities: -mean(sum(y * log(clip(p)))), with gradients', () => {
    checkOp({
      name: 'categoricalCrossentropy probs',
      inputs: [{ shape: [N, C], gen: oneHotGen, grad: false }, { shape: [N, C], gen: (_, r) => 0.05 + 0.9 * r() }],
      fn: (y, p) => tb.losses.categoricalCrossentropy(y!, p!),
      ref: (y, p) => {
        let s = 0;
        for (let i = 0; i < N * C; i++) s -= y!.data[i]! * Math.log(clipP(p!.data[i]!));
        return scalar(s / N);
      },
      eps: 1e-4,
    });
  });

  it('of probabilities 0 and 1 stays finite (clipped at 1e-7, as Keras)', () => {
    const y = tb.tensor([[1, 0], [0, 1]]);
    const p = tb.tensor([[0, 1], [0, 1]]);
    expect(tb.losses.categoricalCrossentropy(y, p).item()).toBeCloseTo(-Math.log(EPS) / 2, 3);
  });

  it('fromLogits: softmax cross-entropy, soft targets too', () => {
    checkOp({
      name: 'categoricalCrossentropy logits',
      inputs: [{ shape: [N, C], gen: (_, r) => r(), grad: false }, { shape: [N, C], gen: (_, r) => r() * 6 - 3 }],
      fn: (y, z) => tb.losses.categoricalCrossentropy(y!, z!, { fromLogits: true }),
      ref: (y, z) => {
        const lp = rowsLogSoftmax(z!);
        let s = 0;
        for (let i = 0; i < N * C; i++) s -= y!.data[i]! * lp[i]!;
        return scalar(s / N);
      },
    });
  });

  it('rejects mismatched shapes, naming the loss', () => {
    expectOpError(() => tb.losses.categoricalCrossentropy(tb.zeros([2, 3]), tb.zeros([2, 4])), 'categoricalCrossentropy', /\[2,3\].*\[2,4\]/);
    expectOpError(() => tb.losses.categoricalCrossentropy(tb.zeros([6]), tb.zeros([6])), 'categoricalCrossentropy', /\(batch, classes\)/);
  });
});

describe('sparseCategoricalCrossentropy', () => {
  const ref = (p: ArrayLike<number>, log: boolean): number => {
    let s = 0;
    for (let i = 0; i < N; i++) s -= log ? p[i * C + labels[i]!]! : Math.log(clipP(p[i * C + labels[i]!]!));
    return s / N;
  };

  it('of probabilities, with int32 labels, float labels and (N, 1) labels', () => {
    const p = probRows(N, C, 3);
    const want = ref(p.dataSync(), false);
    expect(tb.losses.sparseCategoricalCrossentropy(tb.tensor(labels), p).item()).toBeCloseTo(want, 5);
    expect(tb.losses.sparseCategoricalCrossentropy(tb.tensor(Float32Array.from(labels)), p).item()).toBeCloseTo(want, 5);
    expect(tb.losses.sparseCategoricalCrossentropy(tb.tensor(labels, [N, 1]), p).item()).toBeCloseTo(want, 5);
  });

  it('gradients of the probability form', () => {
    checkOp({
      name: 'sparseCategoricalCrossentropy probs',
      inputs: [{ shape: [N], dtype: 'int32', gen: (i) => labels[i]! }, { shape: [N, C], gen: (_, r) => 0.05 + 0.9 * r() }],
      fn: (y, p) => tb.losses.sparseCategoricalCrossentropy(y!, p!),
      ref: (y, p) => {
        let s = 0;
        for (let i = 0; i < N; i++) s -= Math.log(clipP(p!.data[i * C + y!.data[i]!]!));
        return scalar(s / N);
      },
      eps: 1e-4,
    });
  });

  it('fromLogits', () => {
    checkOp({
      name: 'sparseCategoricalCrossentropy logits',
      inputs: [{ shape: [N], dtype: 'int32', gen: (i) => labels[i]! }, { shape: [N, C], gen: (_, r) => r() * 6 - 3 }],
      fn: (y, z) => tb.losses.sparseCategoricalCrossentropy(y!, z!, { fromLogits: true }),
      ref: (_y, z) => scalar(ref(rowsLogSoftmax(z!), true)),
    });
  });

  it('rejects labels that do not fit the batch and labels out of range', () => {
    expectOpError(() => tb.losses.sparseCategoricalCrossentropy(tb.tensor(Int32Array.of(0, 1)), tb.zeros([3, 2])), 'sparseCategoricalCrossentropy', /\(3\).*\[2\]/);
    expect(() => tb.losses.sparseCategoricalCrossentropy(tb.tensor(Int32Array.of(0, 2)), tb.full([2, 2], 0.5))).toThrow(tb.TensorboltError);
    expect(() => tb.losses.sparseCategoricalCrossentropy(tb.tensor(Int32Array.of(0, 2)), tb.zeros([2, 2]), { fromLogits: true })).toThrow(/2/);
  });
});

describe('binaryCrossentropy', () => {
  const shape = [4, 3];
  const bin = (i: number): number => (i % 3 === 1 ? 1 : 0);
  it('of probabilities, clipped to [1e-7, 1 - 1e-7]', () => {
    checkOp({
      name: 'binaryCrossentropy probs',
      inputs: [{ shape, gen: bin, grad: false }, { shape, gen: (_, r) => 0.05 + 0.9 * r() }],
      fn: (y, p) => tb.losses.binaryCrossentropy(y!, p!),
      ref: (y, p) => {
        let s = 0;
        for (let i = 0; i < 12; i++) {
          const q = clipP(p!.data[i]!);
          s -= y!.data[i]! * Math.log(q) + (1 - y!.data[i]!) * Math.log(1 - q);
        }
        return scalar(s / 12);
      },
      eps: 1e-4,
    });
    const l = tb.losses.binaryCrossentropy(tb.tensor([1, 0]), tb.tensor([0, 1])).item();
    // 1 - 1e-7 rounds to 1 - 2^-23 in float32, as in Keras
    expect(l).toBeCloseTo((-Math.log(EPS) - Math.log(1 - Math.fround(1 - EPS))) / 2, 3);
  });

  it('fromLogits, finite for logits of ±1e4', () => {
    checkOp({
      name: 'binaryCrossentropy logits',
      inputs: [{ shape, gen: bin, grad: false }, { shape, gen: (_, r) => r() * 8 - 4 }],
      fn: (y, z) => tb.losses.binaryCrossentropy(y!, z!, { fromLogits: true }),
      ref: (y, z) => {
        let s = 0;
        for (let i = 0; i < 12; i++) {
          const v = z!.data[i]!;
          s += Math.max(v, 0) - v * y!.data[i]! + Math.log1p(Math.exp(-Math.abs(v)));
        }
        return scalar(s / 12);
      },
    });
    const z = tb.tensor([1e4, -1e4]).requiresGrad_();
    const l = tb.losses.binaryCrossentropy(tb.tensor([0, 0]), z, { fromLogits: true });
    expect(l.item()).toBeCloseTo(5e3, 0);
    l.backward();
    expect(Array.from(z.grad!.dataSync())).toEqual([0.5, 0]);
  });
});

describe('regression losses', () => {
  const shape = [3, 4];
  it('meanSquaredError', () => {
    checkOp({
      name: 'meanSquaredError',
      inputs: [{ shape, grad: false }, { shape }],
      fn: (y, p) => tb.losses.meanSquaredError(y!, p!),
      ref: (y, p) => scalar(y!.data.reduce((a, v, i) => a + (v - p!.data[i]!) ** 2, 0) / 12),
    });
  });
  it('meanAbsoluteError', () => {
    checkOp({
      name: 'meanAbsoluteError',
      inputs: [{ shape, grad: false }, { shape, gen: (i, r) => r() + (i % 2 ? 1.2 : -1.2) }],
      fn: (y, p) => tb.losses.meanAbsoluteError(y!, p!),
      ref: (y, p) => scalar(y!.data.reduce((a, v, i) => a + Math.abs(v - p!.data[i]!), 0) / 12),
    });
  });
  it('reject mismatched shapes (no silent broadcasting)', () => {
    expectOpError(() => tb.losses.meanSquaredError(tb.zeros([4]), tb.zeros([4, 1])), 'meanSquaredError', /\[4\].*\[4,1\]/);
    expectOpError(() => tb.losses.meanAbsoluteError(tb.zeros([4, 2]), tb.zeros([4, 1])), 'meanAbsoluteError', /\[4,2\].*\[4,1\]/);
  });
});

describe('losses by name', () => {
  it('compile accepts the camelCase names and the Keras snake_case aliases', () => {
    const m = tb.sequential([tb.layers.dense({ units: 1, inputShape: [1] })]);
    for (const [name, canon] of [['mse', 'meanSquaredError'], ['mean_absolute_error', 'meanAbsoluteError'], ['binary_crossentropy', 'binaryCrossentropy'],
      ['categoricalCrossentropy', 'categoricalCrossentropy'], ['mae', 'meanAbsoluteError']] as const) {
      m.compile({ optimizer: 'sgd', loss: name });
      expect(m.lossName).toBe(canon);
    }
  });

  it('an unknown name lists the valid ones', () => {
    const m = tb.sequential([tb.layers.dense({ units: 1, inputShape: [1] })]);
    expectOpError(() => m.compile({ optimizer: 'sgd', loss: 'hinge' }), 'compile',
      /unknown loss 'hinge'; valid losses: categoricalCrossentropy, sparseCategoricalCrossentropy, binaryCrossentropy, meanSquaredError, meanAbsoluteError/);
  });

  it('a custom loss function is used as given', () => {
    const m = tb.sequential([tb.layers.dense({ units: 1, inputShape: [1] })]);
    let calls = 0;
    m.compile({ optimizer: 'sgd', loss: (y, p) => { calls++; return tb.mean(tb.abs(tb.sub(y, p))); } });
    expect(m.lossName).toBeNull();
    m.evaluate(tb.ones([5, 1]), tb.ones([5, 1]), { batchSize: 2 });
    expect(calls).toBe(3);
  });
});
