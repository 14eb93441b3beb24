// Keras-style recurrent layers: outputs against the float64 reference with the layer's own weights,
// returnSequences / returnState / goBackwards / Bidirectional as Keras defines them, Keras's
// defaults (sigmoid gates, unit forget bias, orthogonal recurrent kernel, GRU reset_after),
// dropout, training in a Sequential model, and errors naming the layer and the shapes.
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { expectOpError, type Ref } from '../helpers/opcheck.js';
import { refRecurrence, type CellSpec } from '../ops/rnn_reference.js';

const ref = (t: tb.Tensor): Ref => ({ shape: t.shape.slice(), data: Float64Array.from(t.dataSync()) });

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 2e-5): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < b.length; i++) if (!(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)))) throw new Error(`[${i}]: ${a[i]} vs ${b[i]}`);
}

/** The reference run of a built Keras layer on x (B, T, F). */
function refOfLayer(l: tb.RecurrentLayer, x: tb.Tensor, reverse: boolean, h0: tb.Tensor | null = null, c0: tb.Tensor | null = null) {
  const [B, T, F] = x.shape as [number, number, number];
  const w = Object.fromEntries(l.weightsWithNames().map(([n, t]) => [n.split('/').pop()!, t]));
  const s: CellSpec = {
    cell: l.cell, batchFirst: true, reverse, torch: false, act: l.activation, recAct: l.recurrentActivation,
    resetAfter: l.cell === 'gru' ? (l as unknown as { resetAfter: boolean }).resetAfter : true, kerasGru: true,
  };
  let bx: Ref | null = w.bias ? ref(w.bias) : null, bh: Ref | null = null;
  if (w.bias && w.bias.rank === 2) {
    const n = w.bias.shape[1]!;
    bh = { shape: [n], data: bx!.data.slice(n) };
    bx = { shape: [n], data: bx!.data.slice(0, n) };
  }
  return refRecurrence(s, T, B, F, l.units, ref(x), ref(w.kernel!), ref(w.recurrent_kernel!), bx, bh,
    h0 ? ref(h0) : null, c0 ? ref(c0) : null, null);
}

function reversedTime(y: Float64Array, B: number, T: number, H: number): Float64Array {
  const out = new Float64Array(y.length);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let j = 0; j < H; j++) out[(b * T + t) * H + j] = y[(b * T + (T - 1 - t)) * H + j]!;
  return out;
}

describe('Keras recurrent layers: outputs', () => {
  const x = () => tb.randn([3, 5, 4]);
  it('LSTM: Keras defaults (sigmoid gates, forget bias 1, orthogonal recurrent kernel) and the last h', () => {
    tb.setSeed(1);
    const l = tb.layers.lstm({ units: 6 });
    const xs = x();
    const y = l.apply(xs);
    expect(y.shape).toEqual([3, 6]);
    expect(l.recurrentActivation).toBe('sigmoid');
    expect(Array.from(l.bias!.dataSync().slice(6, 12))).toEqual(new Array(6).fill(1));
    const u = l.recurrentKernel!.arraySync() as number[][]; // (6, 24): orthonormal rows
    for (let i = 0; i < 6; i++)
      for (let j = 0; j < 6; j++) expect(u[i]!.reduce((s, v, k) => s + v * u[j]![k]!, 0)).toBeCloseTo(i === j ? 1 : 0, 5);
    close(y.dataSync(), refOfLayer(l, xs, false).h);
  });
  it('returnSequences with goBackwards comes out reversed, as Keras', () => {
    tb.setSeed(2);
    const l = tb.layers.gru({ units: 3, returnSequences: true, goBackwards: true });
    const xs = x();
    const y = l.apply(xs);
    expect(y.shape).toEqual([3, 5, 3]);
    close(y.dataSync(), reversedTime(refOfLayer(l, xs, true).y, 3, 5, 3));
  });
  it('GRU reset_after (default, bias (2, 3·units)) and reset_before (TensorFlow.js)', () => {
    tb.setSeed(3);
    for (const resetAfter of [true, false]) {
      const l = tb.layers.gru({ units: 4, resetAfter, recurrentActivation: 'hardSigmoid', returnSequences: true });
      const xs = x();
      l.apply(xs).dispose();
      expect(l.bias!.shape).toEqual(resetAfter ? [2, 12] : [12]);
      tb.noGrad(() => l.bias!.f32('test').set(tb.randn(l.bias!.shape as number[]).dataSync() as Float32Array));
      close(l.apply(xs).dataSync(), refOfLayer(l, xs, false).y);
    }
  });
  it('SimpleRNN with relu, and returnState through applyWithState with an initial state', () => {
    tb.setSeed(4);
    const l = tb.layers.simpleRNN({ units: 5, activation: 'relu', returnState: true });
    const xs = x();
    const h0 = tb.randn([3, 5]);
    const [out, h] = l.applyWithState(xs, { initialState: [h0] });
    expect(out).toBe(h);
    close(out!.dataSync(), refOfLayer(l, xs, false, h0).h);
    expectOpError(() => l.apply(xs), l.name, /returnState: true gives \[output, \.\.\.states\]: call applyWithState/);
  });
  it('LSTM returnState gives [output, h, c]; the initial state [h, c] is used', () => {
    tb.setSeed(5);
    const l = tb.layers.lstm({ units: 2, returnSequences: true, returnState: true });
    const xs = x();
    const h0 = tb.randn([3, 2]), c0 = tb.randn([3, 2]);
    const [y, h, c] = l.applyWithState(xs, { initialState: [h0, c0] });
    const r = refOfLayer(l, xs, false, h0, c0);
    close(y!.dataSync(), r.y);
    close(h!.dataSync(), r.h);
    close(c!.dataSync(), r.c);
  });
  it('Bidirectional concat: the forward copy, then the backward copy in the input order; weights named as tfjs', () => {
    tb.setSeed(6);
    const bi = tb.layers.bidirectional({ layer: tb.layers.lstm({ units: 3, returnSequences: true, name: 'enc' }), name: 'bi' });
    const xs = x();
    const y = bi.apply(xs);
    expect(y.shape).toEqual([3, 5, 6]);
    expect(bi.weightsWithNames().map(([n]) => n)).toEqual([
      'bi/forward_enc/kernel', 'bi/forward_enc/recurrent_kernel', 'bi/forward_enc/bias',
      'bi/backward_enc/kernel', 'bi/backward_enc/recurrent_kernel', 'bi/backward_enc/bias']);
    const f = refOfLayer(bi.forwardLayer, xs, false).y, b = refOfLayer(bi.backwardLayer, xs, true).y;
    const want = new Float64Array(3 * 5 * 6);
    for (let r = 0; r < 15; r++) for (let j = 0; j < 3; j++) { want[r * 6 + j] = f[r * 3 + j]!; want[r * 6 + 3 + j] = b[r * 3 + j]!; }
    close(y.dataSync(), want);
    const sum = tb.layers.bidirectional({ layer: tb.layers.simpleRNN({ units: 3 }), mergeMode: 'ave' });
    const ys = sum.apply(xs);
    expect(ys.shape).toEqual([3, 3]);
    const hf = refOfLayer(sum.forwardLayer, xs, false).h, hb = refOfLayer(sum.backwardLayer, xs, true).h;
    close(ys.dataSync(), hf.map((v, i) => (v + hb[i]!) / 2));
  });
  it('Embedding: float indices taken when whole (a fraction, NaN or an infinity named), any sequence length once built', () => {
    tb.setSeed(7);
    const e = tb.layers.embedding({ inputDim: 10, outputDim: 3, name: 'emb' });
    const y = e.apply(tb.tensor([[1, 2], [9, 0]]));
    expect(y.shape).toEqual([2, 2, 3]);
    const table = e.embeddings!.arraySync() as number[][];
    expect((y.arraySync() as number[][][])[0]![1]).toEqual(table[2]);
    // Keras would truncate 2.5 to row 2, and the int32 cast maps NaN to row 0: both silent
    const before = tb.memory().numTensors;
    for (const [bad, shown] of [[2.5, '2.5'], [NaN, 'NaN'], [-Infinity, '-Infinity'], [3e9, '3000000000']] as const) {
      const x = tb.tensor([[1, 2], [bad, 0]]);
      expectOpError(() => e.apply(x), 'emb', new RegExp(`float indices must be whole numbers in int32's range, got ${shown} at flat index 2 of \\[2,2\\]`));
      x.dispose();
    }
    expect(tb.memory().numTensors).toBe(before);
    expect(e.apply(tb.tensor([[3, 3, 3, 3]], [1, 4], 'int32')).shape).toEqual([1, 4, 3]);
    expect(Math.max(...Array.from(e.embeddings!.dataSync(), Math.abs))).toBeLessThanOrEqual(0.05);
  });
});

describe('Keras recurrent layers: dropout and training', () => {
  it('dropout and recurrentDropout act in training only, and repeat with a seed', () => {
    const xs = tb.randn([4, 6, 3]);
    const make = () => {
      tb.setSeed(9);
      const l = tb.layers.lstm({ units: 4, dropout: 0.5, recurrentDropout: 0.3, seed: 42 });
      l.build([6, 3]);
      return l;
    };
    const a = make(), b = make();
    const inf = a.apply(xs, { training: false }).dataSync();
    close(inf, refOfLayer(a, xs, false).h);
    const ta = a.apply(xs, { training: true }).dataSync(), tbv = b.apply(xs, { training: true }).dataSync();
    expect(Array.from(ta)).toEqual(Array.from(tbv));
    expect(Math.max(...Array.from(ta, (v, i) => Math.abs(v - inf[i]!)))).toBeGreaterThan(1e-3);
    // and the gradients pass through both masks
    tb.sum(a.apply(xs, { training: true })).backward();
    for (const [, w] of a.weightsWithNames()) expect(Math.max(...Array.from(w.grad!.dataSync(), Math.abs))).toBeGreaterThan(0);
  });
  it('a Sequential Embedding -> LSTM -> Dense model learns which token came first', async () => {
    tb.setSeed(10);
    // Sequences of 6 tokens in [0, 4); the label is the first token: the state must carry it.
    const n = 256;
    const xs = tb.randint(0, 4, [n, 6]);
    const ys = tb.tensor(Array.from(xs.dataSync()).filter((_, i) => i % 6 === 0), [n], 'int32');
    const model = tb.sequential([
      tb.layers.embedding({ inputDim: 4, outputDim: 8, inputLength: 6 }),
      tb.layers.lstm({ units: 16 }),
      tb.layers.dense({ units: 4, activation: 'softmax' }),
    ]);
    model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const before = model.evaluate(xs, ys)[0]!;
    await model.fit(xs, ys, { epochs: 60, batchSize: 16, verbose: 0 });
    const [loss, acc] = model.evaluate(xs, ys);
    expect(loss!).toBeLessThan(before * 0.5);
    expect(acc!).toBeGreaterThan(0.9);
  });
});

describe('Keras recurrent layers: errors', () => {
  it('wrong rank, mismatched inputShape, a wrong initial state, indices out of range', () => {
    const l = tb.layers.lstm({ units: 3, name: 'lstm_e' });
    expectOpError(() => l.apply(tb.randn([2, 4])), 'lstm_e', /expects input \(batch, time, features\), got \[2,4\]/);
    l.apply(tb.randn([2, 5, 4]));
    expectOpError(() => l.apply(tb.randn([2, 5, 7])), 'lstm_e', /expected input \(batch, time, 4\), got sample shape \[5,7\]/);
    expectOpError(() => l.applyWithState(tb.randn([2, 5, 4]), { initialState: [tb.zeros([2, 3])] }), 'lstm_e', /initialState must be \[h, c\]/);
    expectOpError(() => l.applyWithState(tb.randn([2, 5, 4]), { initialState: [tb.zeros([3, 3]), tb.zeros([2, 3])] }), 'lstm_e',
      /initial state h must have shape \[2,3\] \(batch, units\) for input \[2,5,4\], got \[3,3\]/);
    const model = tb.sequential([tb.layers.gru({ units: 2, inputShape: [5, 4], name: 'gru_e' })]);
    expectOpError(() => model.predict(tb.randn([2, 5, 3])), 'predict', /input shape \[2,5,3\] does not fit layer 'gru_e': expected \[null,5,4\]/);
    const e = tb.layers.embedding({ inputDim: 5, outputDim: 2, name: 'emb_e' });
    expectOpError(() => e.apply(tb.tensor([[0, 5]], [1, 2], 'int32')), 'emb_e', /indices \[1,2\] into a table of 5 rows \[5,2\]: index 5 at position 1/);
    expectOpError(() => tb.layers.lstm({ units: 0 }), 'lstm', /units must be a positive integer/);
    expectOpError(() => tb.layers.embedding({ inputDim: 5, outputDim: 2, maskZero: true }), 'embedding', /maskZero is not supported/);
    expectOpError(() => tb.layers.lstm({ units: 2, stateful: true }), 'lstm', /stateful is not supported/);
    expectOpError(() => tb.layers.bidirectional({ layer: tb.layers.dense({ units: 2 }) as unknown as tb.RecurrentLayer }), 'bidirectional', /must be a recurrent layer/);
  });
});
