// Numerics at the extremes: the losses and activations people feed raw logits and saturated
// probabilities into must stay finite (forward and gradient) for any finite input, and debug mode
// must name the first op that produces a NaN or an infinity.
import { afterEach, describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';

const F = tb.nn.functional;
const EXTREMES = [0, 1, -1, 20, -20, 88, -88, 89, -89, 100, -100, 1e4, -1e4, 1e30, -1e30, 1e38, -1e38, 1e-40, -1e-40];

function allFinite(t: tb.Tensor | null, what: string): void {
  expect(t, `${what}: missing`).not.toBeNull();
  const d = t!.dataSync();
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) throw new Error(`${what}[${i}] = ${d[i]}`);
}

/** Every ordered pair of extremes as rows of a (n, 2) logits matrix, plus rows of three. */
function extremeRows(): number[][] {
  const rows: number[][] = [];
  for (const a of EXTREMES) for (const b of EXTREMES) rows.push([a, b, (a + b) / 2]);
  return rows;
}

function leaf(values: number[][] | number[]): tb.Tensor {
  const t = tb.tensor(values as tb.NestedArray);
  t.requiresGrad = true;
  return t;
}

describe('finite for extreme inputs', () => {
  const rows = extremeRows();
  const n = rows.length;

  it('softmaxCrossEntropy (class indices, one-hot, soft targets, label smoothing): loss and gradient', () => {
    for (const smoothing of [0, 0.1]) {
      for (const label of [0, 1, 2]) {
        const logits = leaf(rows);
        const idx = tb.tensor(new Int32Array(n).fill(label), [n]);
        const loss = tb.softmaxCrossEntropy(logits, idx, { labelSmoothing: smoothing, reduction: 'none' });
        allFinite(loss, `xent loss (label ${label}, smoothing ${smoothing})`);
        tb.sum(loss).backward();
        allFinite(logits.grad, `xent grad (label ${label}, smoothing ${smoothing})`);
        for (const t of [logits, idx, loss]) t.dispose();
      }
    }
    const logits = leaf(rows);
    const soft = tb.tensor(rows.map(() => [0.2, 0.3, 0.5]));
    // per sample: a sum over 361 rows of ~1e38 would overflow float32 for real
    const loss = tb.softmaxCrossEntropy(logits, soft, { reduction: 'none' });
    allFinite(loss, 'xent loss (soft targets)');
    loss.backward(tb.onesLike(loss));
    allFinite(logits.grad, 'xent grad (soft targets)');
  });

  it('the Keras categorical losses on a softmax output (fused path and fromLogits)', () => {
    const logits = leaf(rows);
    const onehot = tb.oneHot(tb.tensor(new Int32Array(n).fill(2), [n]), 3);
    const l1 = tb.losses.categoricalCrossentropy(onehot, logits, { fromLogits: true });
    allFinite(l1, 'categoricalCrossentropy fromLogits');
    const probs = tb.softmax(logits);
    const l2 = tb.losses.categoricalCrossentropy(onehot, probs);
    allFinite(l2, 'categoricalCrossentropy on probabilities');
    tb.add(l1, l2).backward();
    allFinite(logits.grad, 'categoricalCrossentropy grad');
  });

  it('logSoftmax and softmax along either axis: values and gradients', () => {
    for (const axis of [-1, 0]) {
      for (const fn of [tb.logSoftmax, tb.softmax]) {
        const x = leaf(rows);
        const y = fn(x, axis);
        allFinite(y, `${fn.name} axis ${axis}`);
        // a bounded upstream gradient (logSoftmax's own scale can reach 2e38)
        tb.sum(tb.mul(tb.tanh(tb.mul(y, 1e-30)), 1)).backward();
        allFinite(x.grad, `${fn.name} grad axis ${axis}`);
        x.dispose();
        y.dispose();
      }
    }
  });

  it('sigmoid, softplus, tanh and the other activations: values and gradients, also at ±Infinity', () => {
    const xs = [...EXTREMES, 3.4e38, -3.4e38];
    for (const name of ['sigmoid', 'tanh', 'softplus', 'relu', 'elu', 'selu', 'gelu', 'leakyRelu', 'relu6'] as const) {
      const x = leaf(xs);
      const y = (tb as unknown as Record<string, (t: tb.Tensor) => tb.Tensor>)[name]!(x);
      if (name === 'sigmoid' || name === 'tanh') allFinite(y, name);
      // softplus/elu/selu/... grow like x: values may overflow only at the very top; gradients never
      tb.sum(tb.mul(y, 0)).backward();
      allFinite(x.grad, `${name} grad`);
      x.dispose();
    }
    const inf = tb.tensor([Infinity, -Infinity]);
    expect(Array.from(tb.sigmoid(inf).dataSync())).toEqual([1, 0]);
    expect(Array.from(tb.tanh(inf).dataSync())).toEqual([1, -1]);
  });

  it('binary cross-entropy on saturated probabilities (p = 0 and p = 1): loss and gradient', () => {
    const p = leaf([0, 1, 0, 1, 1e-45, 1 - 2 ** -24, 0.5]);
    const y = tb.tensor([0, 1, 1, 0, 1, 0, 1]);
    const l = F.binaryCrossEntropy(p, y, { reduction: 'sum' });
    allFinite(l, 'binaryCrossEntropy');
    // PyTorch clamps the log at -100: the wrong-way saturated pairs cost 100 each
    expect(l.item()).toBeGreaterThan(200);
    expect(l.item()).toBeLessThan(400);
    l.backward();
    allFinite(p.grad, 'binaryCrossEntropy grad');
    const k = leaf([0, 1, 0, 1]);
    const lk = tb.losses.binaryCrossentropy(tb.tensor([0, 1, 1, 0]), k);
    allFinite(lk, 'Keras binaryCrossentropy');
    lk.backward();
    allFinite(k.grad, 'Keras binaryCrossentropy grad');
  });

  it('binary cross-entropy from logits at ±1e30 and ±1e38: loss and gradient', () => {
    const x = leaf([1e30, -1e30, 1e38, -1e38, 0, 100, -100]);
    const y = tb.tensor([1, 0, 0, 1, 1, 1, 0]);
    const l = F.binaryCrossEntropyWithLogits(x, y, { reduction: 'none' });
    allFinite(l, 'bce with logits');
    const v = l.dataSync();
    expect(v[0]).toBe(0); // right-way saturated: zero loss
    expect(v[2]).toBeCloseTo(1e38, -33); // wrong-way: the logit's size
    tb.sum(l).backward();
    allFinite(x.grad, 'bce with logits grad');
    const k = tb.losses.binaryCrossentropy(y, x, { fromLogits: true });
    allFinite(k, 'Keras binaryCrossentropy fromLogits');
  });
});

describe('tb.setDebug(true): names the first op that produces NaN or Inf', () => {
  afterEach(() => tb.setDebug(false));

  it('is off by default and lets non-finite values through', () => {
    expect(tb.isDebug()).toBe(false);
    const y = tb.log(tb.tensor([0, 1]));
    expect(y.dataSync()[0]).toBe(-Infinity);
  });

  it('throws at the first producing op, naming it, the value and the index', () => {
    tb.setDebug(true);
    const x = tb.tensor([[1, 2], [3, 0]]);
    const before = tb.memory().numTensors;
    let err: unknown;
    try {
      tb.tidy(() => {
        const a = tb.mul(x, 2); // finite
        const b = tb.log(a); // -Infinity at [1,1]: the culprit
        return tb.exp(b);
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(tb.TensorboltError);
    const e = err as tb.TensorboltError;
    expect(e.op).toBe('log');
    expect(e.message).toMatch(/-Infinity at flat index 3 of its \[2,2\] output from finite inputs/);
    expect(tb.memory().numTensors).toBe(before); // the abandoned op leaked nothing
  });

  it('says when the non-finite value came in with the input', () => {
    tb.setDebug(true);
    const x = tb.tensor([NaN, 1]);
    expect(() => tb.relu(x)).toThrow(/relu: debug mode: produced NaN at flat index 0 .*input 0 already held NaN/);
  });

  it('checks gradients too, naming the op whose backward produced the value', () => {
    const x = leaf([0, 4]);
    const y = tb.sqrt(x); // finite forward, gradient 1/(2*sqrt(0)) = Inf
    const s = tb.sum(y);
    tb.setDebug(true);
    const before = tb.memory().numTensors;
    expect(() => s.backward()).toThrow(/sqrt \(backward\): debug mode: the gradient of input 0 has Infinity at flat index 0/);
    expect(tb.memory().numTensors).toBe(before); // the gradients of the abandoned pass are freed
  });

  it('passes a whole finite training step untouched', () => {
    tb.setDebug(true);
    const model = tb.sequential([tb.layers.dense({ units: 4, activation: 'relu', inputShape: [3] }), tb.layers.dense({ units: 2, activation: 'softmax' })]);
    const opt = new tb.optim.SGD(model.parameters(), { lr: 0.1 });
    const x = tb.tensor([[1, 2, 3], [4, 5, 6]]);
    const y = tb.tensor([0, 1], [2], 'int32');
    tb.tidy(() => {
      opt.zeroGrad();
      const loss = tb.softmaxCrossEntropy((model.layers[1] as tb.Layer & { callLinear(t: tb.Tensor): tb.Tensor }).callLinear(model.layers[0]!.apply(x)), y);
      loss.backward();
      opt.step();
    });
  });

  it('rejects a non-boolean', () => {
    expect(() => tb.setDebug(1 as unknown as boolean)).toThrow(tb.TensorboltError);
  });
});
