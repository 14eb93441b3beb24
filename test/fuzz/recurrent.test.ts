// Fuzzing the recurrence op (every cell, layout, direction, activation and bias form, empty batches
// and sequences, initial states of any shape or dtype, NaN in them) against the float64 reference
// of test/ops/rnn_reference.ts, and the embedding lookup and its gradient (indices in and out of
// range, float indices, bad tables and padding rows) against a gather; Keras's Embedding with float
// indices that are whole or not.
import { describe, it } from 'vitest';
import { refRecurrence, type Act, type CellSpec } from '../ops/rnn_reference.js';
import { check, dataFor, fc, outcome, shape, show, sizeOf, tame, tb } from './harness.js';

const f32 = Math.fround;
const ACTS: Act[] = ['tanh', 'sigmoid', 'hardSigmoid', 'relu', 'linear'];
const GATES = { rnn: 1, lstm: 4, gru: 3 } as const;

/** A state argument: absent, right, of another shape, int32, or holding a NaN. */
type StateKind = 'none' | 'ok' | 'shape' | 'int' | 'nan';
const stateKind = fc.constantFrom<StateKind>('none', 'none', 'ok', 'ok', 'shape', 'int', 'nan');

const recurrenceArb = fc.record({
  cell: fc.constantFrom('rnn' as const, 'lstm' as const, 'gru' as const),
  T: fc.integer({ min: 0, max: 4 }),
  B: fc.integer({ min: 0, max: 3 }),
  F: fc.integer({ min: 1, max: 3 }),
  H: fc.integer({ min: 1, max: 3 }),
  batchFirst: fc.boolean(),
  reverse: fc.boolean(),
  torch: fc.boolean(),
  act: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...ACTS) }, { weight: 1, arbitrary: fc.constantFrom<unknown>('softmax', 3, null) }),
  recAct: fc.constantFrom<unknown>('sigmoid', 'sigmoid', 'hardSigmoid', 'linear', 'gelu'),
  resetAfter: fc.boolean(),
  bias: fc.constantFrom('none', 'one', 'two', 'stacked', 'wrong'),
  /** x: right, int32, rank 2, wrong features */
  x: fc.constantFrom('ok', 'ok', 'ok', 'ok', 'int', 'rank2', 'features'),
  h0: stateKind,
  c0: stateKind,
  grad: fc.boolean(),
  seed: fc.integer({ min: 0, max: 2 ** 30 }),
});

/** Deterministic tame values from a seed (fast-check shrinks the seed, not thousands of floats). */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return f32((s / 2 ** 32) * 3 - 1.5);
  });
}

describe('fuzz: recurrent layers', () => {
  it('recurrence matches the float64 reference or throws TensorboltError for bad shapes, dtypes, options and states', () => {
    check('recurrence', recurrenceArb, (p) => {
      const { cell, T, B, F, H } = p;
      const G = GATES[cell], GH = G * H;
      const xShape = p.x === 'rank2' ? [T * B, F] : p.batchFirst ? [B, T, p.x === 'features' ? F + 1 : F] : [T, B, p.x === 'features' ? F + 1 : F];
      const wxShape = p.torch ? [GH, F] : [F, GH];
      const whShape = p.torch ? [GH, H] : [H, GH];
      let seed = p.seed;
      const data = (s: number[]) => values(sizeOf(s), seed++);
      const xd = data(xShape), wx = data(wxShape), wh = data(whShape), b1 = data([GH]), b2 = data([GH]);
      const stateData = (k: StateKind) => {
        const d = data([B, H]);
        if (k === 'nan' && d.length) d[d.length - 1] = NaN;
        return d;
      };
      const h0d = stateData(p.h0), c0d = stateData(p.c0);
      const stateShape = (k: StateKind) => (k === 'shape' ? [B + 1, H] : [B, H]);
      const stateOk = (k: StateKind) => k === 'none' || k === 'ok' || k === 'nan';
      const valid = p.x === 'ok' && ACTS.includes(p.act as Act) && ['sigmoid', 'hardSigmoid', 'linear'].includes(p.recAct as string) &&
        p.bias !== 'wrong' && stateOk(p.h0) && stateOk(p.c0) && (cell === 'lstm' || p.c0 === 'none');
      const nan = p.h0 === 'nan' || p.c0 === 'nan';
      outcome(`recurrence ${show(p)}`, () => {
        const x = tb.tensor(p.x === 'int' ? Int32Array.from(xd) : Float32Array.from(xd), xShape);
        const kernel = tb.tensor(Float32Array.from(wx), wxShape), recurrentKernel = tb.tensor(Float32Array.from(wh), whShape);
        const bias = p.bias === 'one' || p.bias === 'two' ? tb.tensor(Float32Array.from(b1), [GH])
          : p.bias === 'stacked' ? tb.tensor(Float32Array.from([...b1, ...b2]), [2, GH])
          : p.bias === 'wrong' ? tb.tensor(Float32Array.from(b1.slice(1)), [GH - 1]) : null;
        const recurrentBias = p.bias === 'two' ? tb.tensor(Float32Array.from(b2), [GH]) : null;
        const state = (k: StateKind, d: number[]) => (k === 'none' ? null
          : k === 'int' ? tb.tensor(new Int32Array(B * H), [B, H]) : tb.tensor(Float32Array.from(k === 'shape' ? [...d, ...d.slice(0, H)] : d), stateShape(k)));
        const h0 = state(p.h0, h0d), c0 = state(p.c0, c0d);
        const leaves = [x, kernel, recurrentKernel, bias, recurrentBias, h0, c0];
        if (p.grad) for (const t of leaves) if (t && t.dtype === 'float32') t.requiresGrad = true;
        const r = tb.recurrence(x, { kernel, recurrentKernel, bias, recurrentBias }, {
          cell, batchFirst: p.batchFirst, reverse: p.reverse, weightLayout: p.torch ? 'torch' : 'keras', activation: p.act as Act,
          recurrentActivation: p.recAct as Act, resetAfter: p.resetAfter, h0, c0,
        });
        const out = tb.concat([r.output, r.h, ...(r.c ? [r.c] : [])].map((t) => tb.reshape(t, [t.size])), 0);
        if (p.grad) {
          tb.sum(out).backward();
          for (const t of leaves) {
            if (!t) continue;
            if (!t.grad || show(t.grad.shape) !== show(t.shape)) throw new Error(`gradient of ${show(t.shape)}: ${t.grad ? show(t.grad.shape) : 'none'}`);
            // (linear gates make the cell a polynomial of degree 3^T: its gradient may overflow)
            if (!nan && p.recAct !== 'linear' && t.grad.dataSync().some((v) => !Number.isFinite(v))) throw new Error(`gradient of ${show(t.shape)} is not finite`);
          }
        }
        return out;
      }, () => {
        if (!valid) return { throws: true };
        // A NaN runs through (as in PyTorch); where it ends up past relu or hard_sigmoid clamps
        // differs between a C++ comparison and Math.max, so only the outcome's kind is checked.
        if (nan) return { any: true };
        // Linear gates (valid, but no layer's default) let float32 rounding grow step by step past
        // any fixed tolerance (values reach 1e10 within 4 steps): only the outcome's kind then.
        if (p.recAct === 'linear') return { any: true };
        const spec: CellSpec = { cell, batchFirst: p.batchFirst, reverse: p.reverse, torch: p.torch, act: p.act as Act, recAct: p.recAct as Act,
          resetAfter: p.resetAfter, kerasGru: !p.torch };
        const ref = (d: number[], s: number[]) => ({ shape: s, data: d });
        const bx = p.bias === 'none' ? null : ref(b1, [GH]);
        const bh = p.bias === 'two' || p.bias === 'stacked' ? ref(b2, [GH]) : null;
        const r = refRecurrence(spec, T, B, F, H, ref(xd, xShape), ref(wx, wxShape), ref(wh, whShape), bx, bh,
          p.h0 === 'ok' ? ref(h0d, [B, H]) : null, p.c0 === 'ok' ? ref(c0d, [B, H]) : null, null);
        const d = [...r.y, ...r.h, ...(cell === 'lstm' ? r.c : [])];
        return { shape: [d.length], data: d, atol: 2e-5, rtol: 2e-4 };
      });
    });
  });

  it('embedding and its gradient match a gather, or throw TensorboltError for bad indices, tables and padding rows', () => {
    const arb = fc.record({
      V: fc.integer({ min: 0, max: 5 }),
      D: fc.integer({ min: 0, max: 3 }),
      table: fc.constantFrom('ok', 'ok', 'ok', 'ok', 'rank1', 'int'),
      idxShape: shape(3, 3),
      float: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      pad: fc.oneof({ weight: 4, arbitrary: fc.constant<unknown>(undefined) }, { weight: 3, arbitrary: fc.integer({ min: -6, max: 6 }) },
        { weight: 1, arbitrary: fc.constantFrom<unknown>(1.5, NaN, '0', null) }),
      grad: fc.boolean(),
      seed: fc.integer({ min: 0, max: 2 ** 30 }),
    }).chain((p) => fc.tuple(fc.constant(p), fc.array(fc.integer({ min: -2, max: p.V + 1 }), { minLength: sizeOf(p.idxShape), maxLength: sizeOf(p.idxShape) })));
    check('embedding', arb, ([p, idx]) => {
      const { V, D } = p;
      const w = values(V * D, p.seed);
      const padOk = p.pad === undefined || p.pad === null || (typeof p.pad === 'number' && Number.isInteger(p.pad) && p.pad >= -V && p.pad < V);
      const pad = typeof p.pad === 'number' && padOk ? (p.pad < 0 ? p.pad + V : p.pad) : -1;
      const valid = p.table === 'ok' && !p.float && padOk && idx.every((i) => i >= 0 && i < V);
      outcome(`embedding ${show(p)} indices ${show(idx)}`, () => {
        const weight = p.table === 'rank1' ? tb.tensor(Float32Array.from(w), [V * D])
          : tb.tensor(p.table === 'int' ? Int32Array.from(w) : Float32Array.from(w), [V, D]);
        if (p.grad && weight.dtype === 'float32') weight.requiresGrad = true;
        const indices = tb.tensor(p.float ? Float32Array.from(idx) : Int32Array.from(idx), p.idxShape);
        const y = tb.embedding(weight, indices, { paddingIdx: p.pad as number });
        if (!p.grad) return y;
        tb.sum(y).backward();
        return weight.grad ?? tb.zeros([V, D]);
      }, () => {
        if (!valid) return { throws: true };
        if (!p.grad) return { shape: [...p.idxShape, D], data: idx.flatMap((i) => w.slice(i * D, (i + 1) * D)) };
        // d(sum)/d(row r) = how often r was read, except the padding row
        const counts = new Array<number>(V).fill(0);
        for (const i of idx) if (i !== pad) counts[i]!++;
        return { shape: [V, D], data: counts.flatMap((c) => new Array<number>(D).fill(c)) };
      });
    });
  });

  it("Keras Embedding takes float indices when whole and in range, else throws TensorboltError", () => {
    const entry = fc.oneof({ weight: 12, arbitrary: fc.integer({ min: -1, max: 5 }) }, { weight: 1, arbitrary: fc.constantFrom(2.5, -0.5, NaN, Infinity, -Infinity, 3e9) });
    const arb = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 4 }))
      .chain(([n, t]) => fc.tuple(fc.constant([n, t]), dataFor([n, t], entry)));
    check('embeddingLayer', arb, ([s, idx]) => {
      const layer = tb.layers.embedding({ inputDim: 5, outputDim: 2, name: 'emb_fuzz' });
      let table: Float32Array | null = null;
      const err = outcome(`layers.embedding ${show(s)} ${show(idx)}`, () => {
        try {
          return layer.apply(tb.tensor(Float32Array.from(idx), s));
        } finally {
          table = layer.embeddings ? layer.embeddings.dataSync() : null;
        }
      }, () => (idx.every((i) => Number.isInteger(i) && i >= 0 && i < 5)
        ? { shape: [...s, 2], data: idx.flatMap((i) => Array.from(table!.slice(i * 2, i * 2 + 2))) }
        : { throws: true }));
      if (err && !err.message.startsWith('emb_fuzz:')) throw new Error(`the error does not name the layer: ${err.message}`);
      layer.dispose();
    });
  });
});
