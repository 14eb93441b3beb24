// The recurrence op (every cell, layout, direction and activation): forward against the float64
// reference of rnn_reference.ts, backward (x, weights, biases, initial state) against finite
// differences, through the one opcheck helper, on every backend present. The three outputs (the
// sequence, the last h, the last c) are checked at once: the op under test returns them flattened
// and joined, so the upstream gradient reaches each of them.
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { checkOp, expectOpError, type InputSpec, type Ref } from '../helpers/opcheck.js';
import { refRecurrence, type Act, type CellSpec } from './rnn_reference.js';

const T = 3, B = 2, F = 3, H = 2;

interface Case extends Partial<CellSpec> {
  cell: CellSpec['cell'];
  h0?: boolean;
  c0?: boolean;
  rmask?: boolean;
  bias?: 'none' | 'one' | 'two' | 'stacked';
}

function spec(c: Case): CellSpec {
  return {
    cell: c.cell, batchFirst: c.batchFirst ?? true, reverse: c.reverse ?? false, torch: c.torch ?? false,
    act: c.act ?? 'tanh', recAct: c.recAct ?? 'sigmoid', resetAfter: c.resetAfter ?? true, kerasGru: c.kerasGru ?? !(c.torch ?? false),
  };
}

function run(c: Case): void {
  const s = spec(c);
  const G = s.cell === 'lstm' ? 4 : s.cell === 'gru' ? 3 : 1;
  const bias = c.bias ?? 'two';
  const inputs: InputSpec[] = [
    { shape: s.batchFirst ? [B, T, F] : [T, B, F] },
    { shape: s.torch ? [G * H, F] : [F, G * H] },
    { shape: s.torch ? [G * H, H] : [H, G * H] },
  ];
  const names = ['x', 'kernel', 'recurrentKernel'];
  const add = (name: string, sp: InputSpec) => { names.push(name); inputs.push(sp); };
  if (bias === 'one' || bias === 'two') add('bias', { shape: [G * H] });
  if (bias === 'two') add('recurrentBias', { shape: [G * H] });
  if (bias === 'stacked') add('bias', { shape: [2, G * H] });
  if (c.h0) add('h0', { shape: [B, H] });
  if (c.c0) add('c0', { shape: [B, H] });
  // A recurrent-dropout mask: zeros and 1/(1 - 0.4), not differentiated.
  if (c.rmask) add('rmask', { shape: [B, H], grad: false, gen: (i) => (i % 3 === 1 ? 0 : 1 / 0.6) });
  const at = (xs: (tb.Tensor | Ref)[], name: string) => { const i = names.indexOf(name); return i < 0 ? null : xs[i]!; };
  const name = `${s.cell} ${JSON.stringify(c)}`;
  checkOp({
    name,
    inputs,
    fn: (...xs) => {
      const b = at(xs, 'bias') as tb.Tensor | null;
      const r = tb.recurrence(xs[0]!, { kernel: xs[1]!, recurrentKernel: xs[2]!, bias: b, recurrentBias: at(xs, 'recurrentBias') as tb.Tensor | null }, {
        cell: s.cell, batchFirst: s.batchFirst, reverse: s.reverse, weightLayout: s.torch ? 'torch' : 'keras',
        activation: s.act, recurrentActivation: s.recAct, resetAfter: s.resetAfter, gateOrder: s.kerasGru ? 'keras' : 'torch',
        h0: at(xs, 'h0') as tb.Tensor | null, c0: at(xs, 'c0') as tb.Tensor | null, recurrentMask: at(xs, 'rmask') as tb.Tensor | null,
      });
      const parts = [r.output, r.h, ...(r.c ? [r.c] : [])].map((t) => tb.reshape(t, [t.size]));
      return tb.concat(parts, 0);
    },
    ref: (...xs) => {
      const b = at(xs, 'bias') as Ref | null;
      let bx = b, bh = at(xs, 'recurrentBias') as Ref | null;
      if (bias === 'stacked') {
        bx = { shape: [G * H], data: b!.data.slice(0, G * H) };
        bh = { shape: [G * H], data: b!.data.slice(G * H) };
      }
      const r = refRecurrence(s, T, B, F, H, xs[0]!, xs[1]!, xs[2]!, bx, bh, at(xs, 'h0') as Ref | null,
        at(xs, 'c0') as Ref | null, at(xs, 'rmask') as Ref | null);
      const data = [...r.y, ...r.h, ...(s.cell === 'lstm' ? r.c : [])];
      return { shape: [data.length], data: Float64Array.from(data) };
    },
    atol: 2e-5,
    rtol: 2e-4,
  });
}

describe('recurrence: LSTM', () => {
  it('Keras layout, batch-first, sigmoid gates, one bias', () => run({ cell: 'lstm', bias: 'one' }));
  it('with h0, c0 and both biases', () => run({ cell: 'lstm', h0: true, c0: true }));
  it('time-major, reversed, PyTorch layout', () => run({ cell: 'lstm', batchFirst: false, reverse: true, torch: true, h0: true, c0: true }));
  it('hard_sigmoid gates (TensorFlow.js default), no bias', () => run({ cell: 'lstm', recAct: 'hardSigmoid', bias: 'none' }));
  it('relu cell activation, recurrent dropout mask', () => run({ cell: 'lstm', act: 'relu', rmask: true, h0: true }));
  it('linear activation, reversed batch-first', () => run({ cell: 'lstm', act: 'linear', reverse: true, c0: true }));
});

describe('recurrence: GRU', () => {
  it('reset after, PyTorch layout and order (r, z, n), two biases', () => run({ cell: 'gru', torch: true, h0: true }));
  it('reset after, Keras (z, r, n), stacked (2, 3H) bias, time-major', () => run({ cell: 'gru', bias: 'stacked', batchFirst: false, h0: true }));
  it('reset before (TensorFlow.js), one bias, hard_sigmoid', () => run({ cell: 'gru', resetAfter: false, bias: 'one', recAct: 'hardSigmoid', h0: true }));
  it('reset before with a recurrent dropout mask, reversed', () => run({ cell: 'gru', resetAfter: false, bias: 'one', rmask: true, reverse: true, h0: true }));
  it('reset after with a recurrent dropout mask, no bias', () => run({ cell: 'gru', bias: 'none', rmask: true, h0: true }));
});

describe('recurrence: SimpleRNN', () => {
  it('tanh, Keras layout', () => run({ cell: 'rnn', bias: 'one', h0: true }));
  it('relu (PyTorch nonlinearity), time-major, reversed, two biases', () => run({ cell: 'rnn', act: 'relu', torch: true, batchFirst: false, reverse: true }));
  it('sigmoid with a recurrent dropout mask', () => run({ cell: 'rnn', act: 'sigmoid', rmask: true, h0: true }));
});

describe('recurrence: edges and errors', () => {
  const w = (f: number, h: number, g: number) => ({ kernel: tb.randn([f, g * h]), recurrentKernel: tb.randn([h, g * h]) });
  it('an empty sequence returns the initial state', () => {
    const h0 = tb.randn([2, 3]), c0 = tb.randn([2, 3]);
    const r = tb.recurrence(tb.zeros([2, 0, 4]), w(4, 3, 4), { cell: 'lstm', h0, c0 });
    expect(r.output.shape).toEqual([2, 0, 3]);
    expect(Array.from(r.h.dataSync())).toEqual(Array.from(h0.dataSync()));
    expect(Array.from(r.c!.dataSync())).toEqual(Array.from(c0.dataSync()));
  });
  it('only the last h used: gradients still reach every weight', () => {
    const ws = w(4, 3, 4);
    ws.kernel.requiresGrad = ws.recurrentKernel.requiresGrad = true;
    const r = tb.recurrence(tb.randn([2, 5, 4]), ws, { cell: 'lstm' });
    tb.sum(r.h).backward();
    expect(ws.kernel.grad!.shape).toEqual([4, 12]);
    expect(Math.max(...Array.from(ws.recurrentKernel.grad!.dataSync(), Math.abs))).toBeGreaterThan(0);
  });
  it('wrong rank, wrong features, wrong state shapes and a c0 for a GRU name the layer and the shapes', () => {
    const ws = w(4, 3, 4);
    expectOpError(() => tb.recurrence(tb.randn([2, 4]), ws, { cell: 'lstm', name: 'lstm_7' }), 'lstm_7', /rank 3.*\[2,4\]/);
    expectOpError(() => tb.recurrence(tb.randn([2, 5, 6]), ws, { cell: 'lstm', name: 'lstm_7' }), 'lstm_7', /kernel must have shape \[6,12\].*\[2,5,6\].*got \[4,12\]/);
    expectOpError(() => tb.recurrence(tb.randn([2, 5, 4]), ws, { cell: 'lstm', h0: tb.zeros([3, 3]) }), 'lstm', /initial state h must have shape \[2,3\].*got \[3,3\]/);
    expectOpError(() => tb.recurrence(tb.randn([2, 5, 4]), ws, { cell: 'lstm', c0: tb.zeros([2]) }), 'lstm', /initial state c must have shape \[2,3\]/);
    expectOpError(() => tb.recurrence(tb.randn([2, 5, 4]), w(4, 3, 3), { cell: 'gru', c0: tb.zeros([2, 3]) }), 'gru', /only an LSTM has a cell state/);
    expectOpError(() => tb.recurrence(tb.randn([2, 5, 4]), w(4, 3, 3), { cell: 'lstm' }), 'lstm', /recurrentKernel must be \(units, G·units\) with G = 4/);
    expectOpError(() => tb.recurrence(tb.randn([2, 5, 4]), ws, { cell: 'lstm', activation: 'softmax' as 'tanh' }), 'lstm', /activation must be one of/);
  });
  it('a NaN in the initial state runs through as in PyTorch; debug mode names the layer and says it came from an input, with and without a gradient', () => {
    const ws = w(4, 3, 4);
    const x = tb.randn([2, 5, 4]);
    const h0 = tb.tensor([[0, 0, 0], [0, NaN, 0]]);
    const plain = tb.recurrence(x, ws, { cell: 'lstm', h0 });
    expect(Number.isNaN(plain.h.dataSync()[4]!)).toBe(true);
    tb.setDebug(true);
    try {
      const before = tb.memory().numTensors;
      const msg = /debug mode: produced NaN at flat index \d+ of its \[2,5,3\] output \(its input \d already held NaN\/Inf/;
      expectOpError(() => tb.recurrence(x, ws, { cell: 'lstm', h0, name: 'lstm_9' }), 'lstm_9', msg);
      ws.kernel.requiresGrad = true;
      expectOpError(() => tb.recurrence(x, ws, { cell: 'lstm', h0, name: 'lstm_9' }), 'lstm_9', msg);
      expect(tb.memory().numTensors).toBe(before);
      // finite in, finite out: nothing to report
      expect(tb.recurrence(x, ws, { cell: 'lstm' }).h.shape).toEqual([2, 3]);
    } finally {
      tb.setDebug(false);
    }
  });
});
