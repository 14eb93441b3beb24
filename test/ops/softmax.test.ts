import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { checkOp, expectOpError, type Ref } from '../helpers/opcheck.js';
import { softmaxCrossEntropyAndProbs } from '../../lib/ops/softmax.js';

// ---- float64 references ----

/** Softmax (or log-softmax) of x along axis, with the max subtracted. */
function refSoftmax(x: Ref, axis: number, log: boolean): Ref {
  const shape = x.shape;
  const ax = axis < 0 ? axis + shape.length : axis;
  const outer = shape.slice(0, ax).reduce((a, b) => a * b, 1);
  const dim = shape[ax]!;
  const inner = shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  const out = new Float64Array(x.data.length);
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      const at = (d: number): number => (o * dim + d) * inner + i;
      let m = -Infinity;
      for (let d = 0; d < dim; d++) m = Math.max(m, x.data[at(d)]!);
      let s = 0;
      for (let d = 0; d < dim; d++) s += Math.exp(x.data[at(d)]! - m);
      for (let d = 0; d < dim; d++) {
        const z = x.data[at(d)]! - m;
        out[at(d)] = log ? z - Math.log(s) : Math.exp(z) / s;
      }
    }
  return { shape: shape.slice(), data: out };
}

/** Per-sample cross-entropy of softmax(logits) against labels (int) or target rows, with smoothing. */
function refXent(logits: Ref, target: Ref, isLabels: boolean, eps: number, reduction: 'mean' | 'sum' | 'none'): Ref {
  const [n, c] = logits.shape as [number, number];
  const lp = refSoftmax(logits, 1, true).data;
  const loss = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let l = 0;
    for (let j = 0; j < c; j++) {
      const t0 = isLabels ? (target.data[i] === j ? 1 : 0) : target.data[i * c + j]!;
      const t = (1 - eps) * t0 + eps / c;
      if (t !== 0) l -= t * lp[i * c + j]!;
    }
    loss[i] = l;
  }
  if (reduction === 'none') return { shape: [n], data: loss };
  const s = loss.reduce((a, b) => a + b, 0);
  return { shape: [], data: Float64Array.of(reduction === 'mean' ? s / n : s) };
}

/** One-hot rows built in JS (keeps this test independent of the layout ops). */
function oneHot(labels: tb.Tensor, c: number): tb.Tensor {
  const y = labels.dataSync();
  const out = new Float32Array(y.length * c);
  for (let i = 0; i < y.length; i++) out[i * c + y[i]!] = 1;
  return tb.tensor(out, [y.length, c]);
}

const spread = (_: number, rnd: () => number): number => (rnd() * 2 - 1) * 3;

describe('softmax / logSoftmax', () => {
  const cases: [number[], number[]][] = [
    [[2, 3, 5], [0, 1, 2, -1, -2, -3]],
    [[3, 1, 5], [0, 1, 2]], // size-1 axis: softmax is 1, logSoftmax 0, gradients 0
    [[1, 7, 1], [0, 1, 2]],
    [[2, 3, 70], [0, 1]], // inner 70: one full 64-column block and a partial one
    [[5], [0]],
    [[4, 0, 3], [1, 2]], // empty
  ];
  for (const log of [false, true]) {
    const name = log ? 'logSoftmax' : 'softmax';
    const fn = log ? tb.logSoftmax : tb.softmax;
    for (const [shape, axes] of cases)
      for (const axis of axes)
        it(`${name} ${JSON.stringify(shape)} axis ${axis}`, () => {
          checkOp({
            name: `${name} ${JSON.stringify(shape)} axis ${axis}`,
            inputs: [{ shape, gen: spread }],
            fn: (x) => fn(x, axis),
            ref: (x) => refSoftmax(x, axis, log),
            atol: 1e-6,
            rtol: 1e-5,
          });
        });
    it(`${name} defaults to the last axis; Tensor method matches`, () => {
      const x = tb.randn([3, 4, 5], 0, 2, { seed: 7 });
      const a = fn(x).dataSync();
      const b = fn(x, 2).dataSync();
      const c = (log ? x.logSoftmax() : x.softmax()).dataSync();
      const d = (log ? x.logSoftmax(0) : x.softmax(0)).dataSync();
      expect(Array.from(a)).toEqual(Array.from(b));
      expect(Array.from(c)).toEqual(Array.from(b));
      expect(Array.from(d)).toEqual(Array.from(fn(x, 0).dataSync()));
    });
  }

  it('large inputs (threaded paths, contiguous and strided) match the reference', () => {
    for (const [shape, axis] of [[[600, 97], 1], [[9, 50, 101], 1], [[40, 1100], 0]] as [number[], number][]) {
      const x = tb.randn(shape, 0, 4, { seed: 11 });
      const ref: Ref = { shape, data: Float64Array.from(x.dataSync()) };
      for (const log of [false, true]) {
        const y = (log ? tb.logSoftmax : tb.softmax)(x, axis).dataSync();
        const e = refSoftmax(ref, axis, log).data;
        for (let i = 0; i < e.length; i += 3) expect(Math.abs(y[i]! - e[i]!)).toBeLessThan(2e-6 + 2e-6 * Math.abs(e[i]!));
      }
    }
  });

  it('is stable for logits of ±1e4', () => {
    const x = tb.tensor([[1e4, -1e4, 0], [-1e4, -1e4, -1e4], [1e4, 1e4 - 1, 0]]).requiresGrad_();
    const y = tb.logSoftmax(x);
    const v = y.dataSync();
    expect(Array.from(v.slice(0, 3))).toEqual([0, -2e4, -1e4]);
    for (let j = 3; j < 6; j++) expect(v[j]).toBeCloseTo(-Math.log(3), 6);
    expect(v[6]).toBeCloseTo(-Math.log1p(Math.exp(-1)), 6);
    expect(v[7]).toBeCloseTo(-1 - Math.log1p(Math.exp(-1)), 5);
    expect(v[8]).toBeCloseTo(-1e4 - Math.log1p(Math.exp(-1)), 2);
    y.backward(tb.tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1]]));
    for (const g of x.grad!.dataSync()) expect(Number.isFinite(g)).toBe(true);
    const s = tb.softmax(tb.tensor([[1e4, -1e4], [-1e4, 1e4]])).dataSync();
    expect(Array.from(s)).toEqual([1, 0, 0, 1]);
  });

  it('rejects bad inputs, naming the op and the shape', () => {
    for (const [name, fn] of [['softmax', tb.softmax], ['logSoftmax', tb.logSoftmax]] as const) {
      expectOpError(() => fn(tb.zeros([2, 3]), 2), name, /axis 2.*\[2,3\]/);
      expectOpError(() => fn(tb.zeros([2, 3]), -3), name, /axis -3/);
      expectOpError(() => fn(tb.zeros([2, 3]), 0.5), name, /axis/);
      expectOpError(() => fn(tb.scalar(1)), name, /rank/);
      expectOpError(() => fn(tb.zeros([2, 3], 'int32')), name, /float32/);
      expectOpError(() => fn(null as unknown as tb.Tensor), name, /Tensor/);
    }
  });
});

describe('softmaxCrossEntropy', () => {
  const N = 5, C = 4;
  const labelGen = (i: number): number => (i * 3 + 1) % C;
  const oneHotGen = (i: number): number => (Math.floor(i / C) * 3 + 1) % C === i % C ? 1 : 0;
  const softGen = (_: number, rnd: () => number): number => rnd(); // rows need not sum to 1
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    for (const eps of [0, 0.1]) {
      const tag = `${reduction}, smoothing ${eps}`;
      it(`labels (${tag})`, () => {
        checkOp({
          name: `xent labels ${tag}`,
          inputs: [{ shape: [N, C], gen: spread }, { shape: [N], dtype: 'int32', gen: labelGen }],
          fn: (z, y) => tb.softmaxCrossEntropy(z, y, { reduction, labelSmoothing: eps }),
          ref: (z, y) => refXent(z, y, true, eps, reduction),
        });
      });
      it(`one-hot targets (${tag})`, () => {
        checkOp({
          name: `xent one-hot ${tag}`,
          inputs: [{ shape: [N, C], gen: spread }, { shape: [N, C], gen: oneHotGen, grad: false }],
          fn: (z, t) => tb.softmaxCrossEntropy(z, t, { reduction, labelSmoothing: eps }),
          ref: (z, t) => refXent(z, t, false, eps, reduction),
        });
      });
      it(`soft targets (${tag})`, () => {
        checkOp({
          name: `xent soft ${tag}`,
          inputs: [{ shape: [N, C], gen: spread }, { shape: [N, C], gen: softGen, grad: false }],
          fn: (z, t) => tb.softmaxCrossEntropy(z, t, { reduction, labelSmoothing: eps }),
          ref: (z, t) => refXent(z, t, false, eps, reduction),
        });
      });
    }
  }

  it('labels and their one-hot rows give the same loss and gradient; odd sizes; one class', () => {
    for (const [n, c] of [[7, 13], [3, 1], [1, 33]] as [number, number][]) {
      const z1 = tb.randn([n, c], 0, 3, { seed: n * c }).requiresGrad_();
      const z2 = z1.detach().requiresGrad_();
      const labels = tb.tensor(Int32Array.from({ length: n }, (_, i) => (i * 5) % c));
      const l1 = tb.softmaxCrossEntropy(z1, labels, { labelSmoothing: 0.2 });
      const l2 = tb.softmaxCrossEntropy(z2, oneHot(labels, c), { labelSmoothing: 0.2 });
      expect(l1.item()).toBeCloseTo(l2.item(), 5);
      l1.backward();
      l2.backward();
      const g1 = z1.grad!.dataSync(), g2 = z2.grad!.dataSync();
      for (let i = 0; i < g1.length; i++) expect(g1[i]).toBeCloseTo(g2[i]!, 6);
    }
  });

  it('large batch (threaded path) matches the reference', () => {
    const [n, c] = [700, 61];
    const z = tb.randn([n, c], 0, 5, { seed: 3 });
    const y = tb.tensor(Int32Array.from({ length: n }, (_, i) => (i * 7) % c));
    const got = tb.softmaxCrossEntropy(z, y, { reduction: 'none', labelSmoothing: 0.05 }).dataSync();
    const e = refXent({ shape: [n, c], data: Float64Array.from(z.dataSync()) }, { shape: [n], data: Float64Array.from(y.dataSync()) },
      true, 0.05, 'none').data;
    for (let i = 0; i < n; i++) expect(Math.abs(got[i]! - e[i]!)).toBeLessThan(1e-5 * (1 + e[i]!));
  });

  it('is stable for logits of ±1e4: exact loss, finite gradients', () => {
    const z = tb.tensor([[1e4, -1e4], [1e4, -1e4]]).requiresGrad_();
    const loss = tb.softmaxCrossEntropy(z, tb.tensor(Int32Array.of(0, 1)), { reduction: 'none' });
    expect(Array.from(loss.dataSync())).toEqual([0, 2e4]);
    loss.backward(tb.ones([2]));
    expect(Array.from(z.grad!.dataSync())).toEqual([0, 0, 1, -1]);

    const z2 = tb.tensor([[1e4, -1e4, 3], [-1e4, 1e4, 1e4]]).requiresGrad_();
    const t = tb.tensor([[0, 1, 0], [0.5, 0.5, 0]]);
    const l2 = tb.softmaxCrossEntropy(z2, t, { reduction: 'sum', labelSmoothing: 0.3 });
    const ref = refXent({ shape: [2, 3], data: Float64Array.from(z2.dataSync()) }, { shape: [2, 3], data: Float64Array.from(t.dataSync()) },
      false, 0.3, 'sum').data[0]!;
    expect(Math.abs(l2.item() - ref) / ref).toBeLessThan(1e-6);
    l2.backward();
    for (const g of z2.grad!.dataSync()) expect(Number.isFinite(g)).toBe(true);
  });

  it('label smoothing stays finite for logits at the ends of the float range (a fuzzer find)', () => {
    // A float sum of this row's logits overflowed to inf and the smoothed loss came out -inf; the
    // loss itself (0.025 x 6.8e38 for the first row) is finite.
    const big = 3.3999999521443642e38;
    const rows = [[big, 0, 0, big], [0, 0, 0, 0]];
    for (const reduction of ['none', 'mean'] as const) {
      const z = tb.tensor(rows);
      const labels = tb.tensor(Int32Array.of(0, 0));
      const got = Array.from(tb.softmaxCrossEntropy(z, labels, { labelSmoothing: 0.1, reduction }).dataSync());
      const ref = refXent({ shape: [2, 4], data: Float64Array.from(z.dataSync()) }, { shape: [2], data: Float64Array.of(0, 0) },
        true, 0.1, reduction).data;
      got.forEach((g, i) => expect(Math.abs(g - ref[i]!) / Math.abs(ref[i]!)).toBeLessThan(1e-5));
      // soft targets: z_j - m leaves the float range here (-3.4e38 - 3.4e38)
      const z2 = tb.tensor([[big, -big, 0]]);
      const t = tb.tensor([[0.5, 0.25, 0.25]]);
      const l2 = tb.softmaxCrossEntropy(z2, t, { labelSmoothing: 0.1, reduction }).dataSync()[0]!;
      const ref2 = refXent({ shape: [1, 3], data: Float64Array.from(z2.dataSync()) }, { shape: [1, 3], data: Float64Array.of(0.5, 0.25, 0.25) },
        false, 0.1, reduction).data[0]!;
      expect(Math.abs(l2 - ref2) / ref2).toBeLessThan(1e-5);
      tb.dispose([z, labels, z2, t]);
    }
  });

  it('zero-probability targets ignore -inf logits instead of giving NaN', () => {
    const z = tb.tensor([[0, -Infinity, 1]]);
    const l = tb.softmaxCrossEntropy(z, tb.tensor([[1, 0, 0]]));
    expect(l.item()).toBeCloseTo(Math.log1p(Math.E), 5);
  });

  it('does not need its inputs after the forward pass, and leaks nothing', () => {
    const before = tb.memory().numTensors;
    const z = tb.randn([3, 4], 0, 1, { seed: 5 }).requiresGrad_();
    const y = tb.tensor(Int32Array.of(0, 3, 2));
    const t = oneHot(y, 4);
    const l1 = tb.softmaxCrossEntropy(z, y);
    const l2 = tb.softmaxCrossEntropy(z, t, { reduction: 'sum' });
    y.dispose();
    t.dispose();
    l1.backward();
    l2.backward();
    l1.dispose();
    l2.dispose();
    z.dispose();
    expect(tb.memory().numTensors).toBe(before);
  });

  it('with the probabilities (what fit reads for its metrics): equal to softmax(logits), valid after backward, no leak', () => {
    const before = tb.memory().numTensors;
    // 32 x 10: large enough for the buffer pool (tiny arrays are not pooled)
    const z = tb.randn([32, 10], 0, 3, { seed: 9 }).requiresGrad_();
    const y = tb.tensor(Int32Array.from({ length: 32 }, (_, i) => (i * 7) % 10));
    const { loss, probs } = softmaxCrossEntropyAndProbs(z, y);
    expect(probs.requiresGrad).toBe(false);
    expect(loss.item()).toBeCloseTo(tb.tidy(() => tb.noGrad(() => tb.softmaxCrossEntropy(z, y).item())), 6);
    const want = tb.tidy(() => tb.noGrad(() => tb.softmax(z).dataSync()));
    loss.backward(); // frees what the graph kept; probs shares that memory and must survive it
    // buffers freed to the pool are handed out again: these would overwrite probs if it had been freed
    const others = [0, 1, 2].map(() => tb.ones([32, 10]));
    expect(Array.from(probs.dataSync())).toEqual(Array.from(want)); // the same kernel arithmetic: bit for bit
    others.forEach((t) => t.dispose());
    expect(Array.from(z.grad!.dataSync()).every(Number.isFinite)).toBe(true);
    for (const t of [loss, probs, z, y]) t.dispose();
    z.grad?.dispose();
    expect(tb.memory().numTensors).toBe(before);
  });

  it('no graph (and no saved state) when logits do not require grad', () => {
    const before = tb.memory().numTensors;
    const z = tb.randn([3, 4], 0, 1, { seed: 5 });
    const l = tb.softmaxCrossEntropy(z, tb.tensor(Int32Array.of(0, 3, 2)));
    expect(l.requiresGrad).toBe(false);
    expect(tb.memory().numTensors - before).toBe(3); // z, labels, loss
  });

  it('rejects labels out of range with a TensorboltError naming the sample and label', () => {
    const z = tb.zeros([3, 4]);
    expectOpError(() => tb.softmaxCrossEntropy(z, tb.tensor(Int32Array.of(0, 4, 1))), 'softmaxCrossEntropy', /label 4 of sample 1.*\[0, 4\)/);
    expectOpError(() => tb.softmaxCrossEntropy(z, tb.tensor(Int32Array.of(0, 1, -1))), 'softmaxCrossEntropy', /label -1 of sample 2/);
  });

  it('rejects wrong shapes and types, naming the op and the shapes', () => {
    const op = 'softmaxCrossEntropy';
    const z = tb.zeros([3, 4]);
    const y = tb.tensor(Int32Array.of(0, 1, 2));
    expectOpError(() => tb.softmaxCrossEntropy(tb.zeros([4]), y), op, /\(N, C\).*\[4\]/);
    expectOpError(() => tb.softmaxCrossEntropy(tb.zeros([2, 3, 4]), y), op, /\[2,3,4\]/);
    expectOpError(() => tb.softmaxCrossEntropy(tb.zeros([3, 4], 'int32'), y), op, /float32/);
    expectOpError(() => tb.softmaxCrossEntropy(z, tb.tensor(Int32Array.of(0, 1))), op, /\[3\].*\[3,4\].*\[2\]/);
    expectOpError(() => tb.softmaxCrossEntropy(z, tb.zeros([3, 4], 'int32')), op, /int32 target/);
    expectOpError(() => tb.softmaxCrossEntropy(z, tb.zeros([3])), op, /cast\('int32'\)/);
    expectOpError(() => tb.softmaxCrossEntropy(z, tb.zeros([3, 5])), op, /\[3,4\].*\[3,5\]/);
    expectOpError(() => tb.softmaxCrossEntropy(z, tb.zeros([2, 4])), op, /\[2,4\]/);
    expectOpError(() => tb.softmaxCrossEntropy(z, [0, 1, 2] as unknown as tb.Tensor), op, /target must be a Tensor/);
    expectOpError(() => tb.softmaxCrossEntropy(5 as unknown as tb.Tensor, y), op, /logits must be a Tensor/);
    expectOpError(() => tb.softmaxCrossEntropy(tb.zeros([3, 0]), y), op, /at least one class/);
    expectOpError(() => tb.softmaxCrossEntropy(tb.zeros([0, 4]), tb.zeros([0], 'int32')), op, /empty batch/);
    expect(tb.softmaxCrossEntropy(tb.zeros([0, 4]), tb.zeros([0], 'int32'), { reduction: 'sum' }).item()).toBe(0);
  });

  it('rejects bad options and targets that require grad', () => {
    const op = 'softmaxCrossEntropy';
    const z = tb.zeros([3, 4]);
    const y = tb.tensor(Int32Array.of(0, 1, 2));
    expectOpError(() => tb.softmaxCrossEntropy(z, y, { labelSmoothing: 1.5 }), op, /labelSmoothing/);
    expectOpError(() => tb.softmaxCrossEntropy(z, y, { labelSmoothing: -0.1 }), op, /labelSmoothing/);
    expectOpError(() => tb.softmaxCrossEntropy(z, y, { labelSmoothing: NaN }), op, /labelSmoothing/);
    expectOpError(() => tb.softmaxCrossEntropy(z, y, { reduction: 'avg' as 'mean' }), op, /reduction.*'avg'/);
    expectOpError(() => tb.softmaxCrossEntropy(z, y, 3 as unknown as tb.SoftmaxCrossEntropyOptions), op, /options/);
    expectOpError(() => tb.softmaxCrossEntropy(z, tb.zeros([3, 4]).requiresGrad_()), op, /detach/);
    expect(tb.noGrad(() => tb.softmaxCrossEntropy(z, tb.zeros([3, 4]).requiresGrad_())).item()).toBeCloseTo(0, 6);
  });
});
