// PyTorch-style recurrent modules: parameter names and shapes as PyTorch's, stacked bidirectional
// outputs and states against the float64 reference layer by layer, (h0, c0) in and gradients back
// to them, batchFirst and unbatched inputs, dropout between layers, nn.Embedding, and errors.
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { expectOpError, type Ref } from '../helpers/opcheck.js';
import { refRecurrence } from '../ops/rnn_reference.js';

const ref = (t: tb.Tensor): Ref => ({ shape: t.shape.slice(), data: Float64Array.from(t.dataSync()) });

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 3e-5): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < b.length; i++) if (!(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)))) throw new Error(`[${i}]: ${a[i]} vs ${b[i]}`);
}

type Cell = 'rnn' | 'lstm' | 'gru';

/** The reference of a stacked (bi)directional module on time-major x (T, B, F). */
function refStack(m: tb.nn.Module, cell: Cell, x: Ref, T: number, B: number, H: number, layers: number, dirs: number,
                  h0: Ref | null, c0: Ref | null, act: 'tanh' | 'relu' = 'tanh') {
  const sd = m.stateDict();
  let input = x;
  const hs: number[] = [], cs: number[] = [];
  for (let l = 0; l < layers; l++) {
    const F = input.shape[2]!;
    const outs: Float64Array[] = [];
    for (let d = 0; d < dirs; d++) {
      const sfx = `_l${l}${d ? '_reverse' : ''}`;
      const k = l * dirs + d;
      const st = (s: Ref | null) => (s ? { shape: [B, H], data: s.data.slice(k * B * H, (k + 1) * B * H) } : null);
      const r = refRecurrence({ cell, batchFirst: false, reverse: d === 1, torch: true, act, recAct: 'sigmoid', resetAfter: true, kerasGru: false },
        T, B, F, H, input, ref(sd[`weight_ih${sfx}`]!), ref(sd[`weight_hh${sfx}`]!), ref(sd[`bias_ih${sfx}`]!), ref(sd[`bias_hh${sfx}`]!),
        st(h0), st(c0), null);
      outs.push(r.y);
      hs.push(...r.h);
      cs.push(...r.c);
    }
    const out = new Float64Array(T * B * H * dirs);
    for (let r = 0; r < T * B; r++) for (let d = 0; d < dirs; d++) for (let j = 0; j < H; j++) out[r * H * dirs + d * H + j] = outs[d]![r * H + j]!;
    input = { shape: [T, B, H * dirs], data: out };
  }
  return { y: input.data, h: Float64Array.from(hs), c: Float64Array.from(cs) };
}

describe('nn.LSTM / nn.GRU / nn.RNN', () => {
  it("parameters are PyTorch's: names, order and shapes", () => {
    const m = new tb.nn.LSTM(5, 3, { numLayers: 2, bidirectional: true });
    expect(Object.entries(m.stateDict()).map(([k, t]) => `${k}:${t.shape.join('x')}`)).toEqual([
      'weight_ih_l0:12x5', 'weight_hh_l0:12x3', 'bias_ih_l0:12', 'bias_hh_l0:12',
      'weight_ih_l0_reverse:12x5', 'weight_hh_l0_reverse:12x3', 'bias_ih_l0_reverse:12', 'bias_hh_l0_reverse:12',
      'weight_ih_l1:12x6', 'weight_hh_l1:12x3', 'bias_ih_l1:12', 'bias_hh_l1:12',
      'weight_ih_l1_reverse:12x6', 'weight_hh_l1_reverse:12x3', 'bias_ih_l1_reverse:12', 'bias_hh_l1_reverse:12',
    ]);
    const g = new tb.nn.GRU(4, 2, { bias: false });
    expect(Object.keys(g.stateDict())).toEqual(['weight_ih_l0', 'weight_hh_l0']);
    expect(g.stateDict().weight_ih_l0!.shape).toEqual([6, 4]);
    for (const p of m.parameters()) expect(Math.max(...Array.from(p.dataSync(), Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(3));
  });

  for (const cell of ['lstm', 'gru', 'rnn'] as const) {
    it(`${cell}: 2 layers, bidirectional, with an initial state: output and final states against the reference`, () => {
      tb.setSeed(20);
      const T = 4, B = 3, F = 5, H = 3, L = 2, D = 2;
      const m = cell === 'lstm' ? new tb.nn.LSTM(F, H, { numLayers: L, bidirectional: true })
        : cell === 'gru' ? new tb.nn.GRU(F, H, { numLayers: L, bidirectional: true })
        : new tb.nn.RNN(F, H, { numLayers: L, bidirectional: true, nonlinearity: 'relu' });
      const x = tb.randn([T, B, F]);
      const h0 = tb.randn([L * D, B, H]), c0 = tb.randn([L * D, B, H]);
      const want = refStack(m, cell, ref(x), T, B, H, L, D, ref(h0), cell === 'lstm' ? ref(c0) : null, cell === 'rnn' ? 'relu' : 'tanh');
      if (m instanceof tb.nn.LSTM) {
        const [y, [h, c]] = m.forward(x, [h0, c0]);
        expect(y.shape).toEqual([T, B, 2 * H]);
        expect(h.shape).toEqual([L * D, B, H]);
        close(y.dataSync(), want.y);
        close(h.dataSync(), want.h);
        close(c.dataSync(), want.c);
      } else {
        const [y, h] = (m as tb.nn.GRU).forward(x, h0);
        close(y.dataSync(), want.y);
        close(h.dataSync(), want.h);
      }
    });
  }

  it('batchFirst and unbatched inputs give the time-major results, transposed or squeezed', () => {
    tb.setSeed(21);
    const m = new tb.nn.GRU(4, 3);
    const x = tb.randn([5, 2, 4]);
    const [y] = m.forward(x);
    const mb = new tb.nn.GRU(4, 3, { batchFirst: true });
    mb.loadStateDict(m.stateDict());
    const [yb, hb] = mb.forward(tb.transpose(x, [1, 0, 2]));
    close(tb.transpose(yb, [1, 0, 2]).dataSync(), y.dataSync());
    expect(hb.shape).toEqual([1, 2, 3]);
    const [yu, hu] = m.forward(tb.slice(x, [0, 1, 0], [5, 1, 4]).reshape([5, 4]));
    expect(yu.shape).toEqual([5, 3]);
    expect(hu.shape).toEqual([1, 3]);
    close(yu.dataSync(), tb.slice(y, [0, 1, 0], [5, 1, 3]).dataSync());
  });

  it('gradients reach the weights and the initial state (h0, c0)', () => {
    tb.setSeed(22);
    const m = new tb.nn.LSTM(3, 2, { numLayers: 2 });
    const h0 = tb.randn([2, 4, 2]), c0 = tb.randn([2, 4, 2]);
    h0.requiresGrad = c0.requiresGrad = true;
    const [y, [h, c]] = m.forward(tb.randn([6, 4, 3]), [h0, c0]);
    tb.add(tb.sum(y), tb.add(tb.sum(h), tb.sum(c))).backward();
    for (const t of [h0, c0, ...m.parameters()]) expect(Math.max(...Array.from(t.grad!.dataSync(), Math.abs))).toBeGreaterThan(0);
  });

  it('a training loop holds no tensor and no pool memory more after 10 steps than after 2', () => {
    tb.setSeed(25);
    const m = new tb.nn.LSTM(5, 8, { numLayers: 2, bidirectional: true, batchFirst: true });
    const head = new tb.nn.Linear(16, 3);
    const opt = new tb.optim.Adam([...m.parameters(), ...head.parameters()], { lr: 1e-2 });
    const x = tb.randn([4, 6, 5]);
    const y = tb.tensor([0, 1, 2, 1], [4], 'int32');
    const step = () => tb.tidy(() => {
      opt.zeroGrad();
      const [out, [h]] = m.forward(x);
      const loss = tb.add(tb.nn.functional.crossEntropy(head.forward(tb.slice(out, [0, 5, 0], [4, 1, 16]).reshape([4, 16])), y), tb.mul(tb.sum(h), 0));
      loss.backward();
      opt.step();
      return loss.item();
    });
    step();
    step();
    const before = tb.memory();
    let last = 0;
    for (let i = 0; i < 8; i++) last = step();
    const after = tb.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    expect(after.poolBytes).toBe(before.poolBytes);
    expect(Number.isFinite(last)).toBe(true);
  });

  it('dropout between layers acts in training only', () => {
    tb.setSeed(23);
    const m = new tb.nn.LSTM(3, 4, { numLayers: 2, dropout: 0.5 });
    const x = tb.randn([5, 2, 3]);
    const evalOut = tb.noGrad(() => m.eval().forward(x)[0].dataSync());
    const want = refStack(m, 'lstm', ref(x), 5, 2, 4, 2, 1, null, null);
    close(evalOut, want.y);
    const trainOut = tb.noGrad(() => m.train().forward(x)[0].dataSync());
    expect(Math.max(...Array.from(trainOut, (v, i) => Math.abs(v - evalOut[i]!)))).toBeGreaterThan(1e-4);
  });

  it('errors name the module and the shapes', () => {
    const m = new tb.nn.LSTM(4, 3, { numLayers: 2 });
    expectOpError(() => m.forward(tb.randn([5, 2, 6])), 'LSTM.forward', /input \[5,2,6\] has 6 features, expected inputSize 4/);
    expectOpError(() => m.forward(tb.randn([5])), 'LSTM.forward', /expected input of rank 3 \(time, batch, features\) or 2/);
    expectOpError(() => m.forward(tb.randn([5, 2, 4]), [tb.zeros([1, 2, 3]), tb.zeros([2, 2, 3])]), 'LSTM.forward', /h0 must have shape \[2,2,3\]/);
    expectOpError(() => m.forward(tb.randn([5, 2, 4]), [tb.zeros([2, 2, 3]), tb.zeros([2, 3, 3])]), 'LSTM.forward', /c0 must have shape \[2,2,3\].*got \[2,3,3\]/);
    expectOpError(() => new tb.nn.GRU(4, 3).forward(tb.randn([5, 2, 4]), [tb.zeros([1, 2, 3]), tb.zeros([1, 2, 3])] as never), 'GRU.forward',
      /h0 must be one Tensor \(numLayers·directions, batch, hidden\): only an LSTM takes \[h0, c0\]/);
    expectOpError(() => new tb.nn.GRU(4, 0), 'GRU', /hiddenSize must be a positive integer/);
    // PyTorch options without a counterpart here: refused, not ignored (another model would result)
    expectOpError(() => new tb.nn.LSTM(4, 3, { projSize: 2 } as never), 'LSTM', /projSize is not supported \(no projection of h\), got 2/);
    expectOpError(() => new tb.nn.Embedding(4, 3, { maxNorm: 1 } as never), 'Embedding', /maxNorm is not supported/);
    expectOpError(() => new tb.nn.Embedding(4, 3, { sparse: true } as never), 'Embedding', /sparse is not supported/);
    expect(new tb.nn.LSTM(4, 3, { projSize: 0 } as never).hiddenSize).toBe(3);
    expectOpError(() => new tb.nn.RNN(4, 2, { nonlinearity: 'gelu' as 'tanh' }), 'RNN', /nonlinearity must be 'tanh' or 'relu'/);
    expectOpError(() => new tb.nn.Sequential(new tb.nn.GRU(2, 2)).forward(tb.randn([3, 1, 2])), 'Sequential', /returned an array, not one Tensor/);
  });
});

describe('nn.Embedding', () => {
  it('N(0, 1) rows, the padding row zero and without gradient, errors naming the indices', () => {
    tb.setSeed(24);
    const e = new tb.nn.Embedding(6, 4, { paddingIdx: 0 });
    expect(Array.from(e.weight.dataSync().slice(0, 4))).toEqual([0, 0, 0, 0]);
    const idx = tb.tensor([[0, 2], [2, 5]], [2, 2], 'int32');
    const y = e.forward(idx);
    expect(y.shape).toEqual([2, 2, 4]);
    tb.sum(y).backward();
    const g = e.weight.grad!.arraySync() as number[][];
    expect(g[0]).toEqual([0, 0, 0, 0]);
    expect(g[2]).toEqual([2, 2, 2, 2]);
    expect(g[5]).toEqual([1, 1, 1, 1]);
    expectOpError(() => e.forward(tb.tensor([6], [1], 'int32')), 'Embedding.forward', /index 6 at position 0 is outside \[0, 6\)/);
  });
});
