// The embedding op: forward against a float64 gather, backward (a per-row sum of the positions
// naming that row) against finite differences, through the opcheck helper; padding rows, repeatable
// bits, and errors naming the layer and the shapes.
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { checkOp, expectOpError, refOf, type Ref } from '../helpers/opcheck.js';

function refEmbedding(w: Ref, idx: Ref): Ref {
  const D = w.shape[1]!;
  return refOf([...idx.shape, D], (i) => w.data[idx.data[Math.floor(i / D)]! * D + (i % D)]!);
}

describe('embedding', () => {
  it('1-D indices with repeats: forward and the weight gradient', () => {
    checkOp({
      name: 'embedding 1-D',
      inputs: [{ shape: [5, 3] }, { shape: [7], dtype: 'int32', gen: (i) => [1, 4, 1, 0, 1, 3, 4][i]! }],
      fn: (w, idx) => tb.embedding(w, idx),
      ref: refEmbedding,
    });
  });

  it('2-D indices (batch, time): every row of the table, some never read', () => {
    checkOp({
      name: 'embedding 2-D',
      inputs: [{ shape: [6, 4] }, { shape: [3, 4], dtype: 'int32', gen: (i, r) => Math.floor(r() * 4) }],
      fn: (w, idx) => tb.embedding(w, idx),
      ref: refEmbedding,
    });
  });

  it('paddingIdx: that row gets no gradient, the others theirs', () => {
    const w = tb.randn([4, 3]);
    w.requiresGrad = true;
    const idx = tb.tensor([2, 0, 2, 3, 2], [5], 'int32');
    const y = tb.embedding(w, idx, { paddingIdx: -2 });
    const up = tb.randn([5, 3]);
    y.backward(up);
    const g = w.grad!.arraySync() as number[][];
    const u = up.arraySync() as number[][];
    expect(g[2]).toEqual([0, 0, 0]);
    expect(g[1]).toEqual([0, 0, 0]);
    g[0]!.forEach((v, j) => expect(v).toBeCloseTo(u[1]![j]!, 6));
    g[3]!.forEach((v, j) => expect(v).toBeCloseTo(u[3]![j]!, 6));
  });

  it('the gradient of many repeats is the same bits on 1 and 2 threads', () => {
    const w = tb.randn([50, 40]);
    w.requiresGrad = true;
    const idx = tb.randint(0, 50, [4000]);
    const up = tb.randn([4000, 40]);
    const before = tb.backendInfo().threads;
    const grad = (threads: number): Float32Array => {
      tb.setNumThreads(threads);
      w.grad?.dispose();
      w.grad = null;
      tb.embedding(w, idx).backward(up);
      return w.grad!.dataSync() as Float32Array;
    };
    try {
      expect(grad(1)).toEqual(grad(2));
    } finally {
      tb.setNumThreads(before);
    }
  });

  it('errors name the layer, the indices and the table', () => {
    const w = tb.randn([5, 2]);
    expectOpError(() => tb.embedding(w, tb.tensor([1, 5, 0], [3], 'int32'), { name: 'embedding_3' }), 'embedding_3',
      /indices \[3\] into a table of 5 rows \[5,2\]: index 5 at position 1 is outside \[0, 5\)/);
    expectOpError(() => tb.embedding(w, tb.tensor([-1], [1], 'int32')), 'embedding', /index -1 at position 0/);
    expectOpError(() => tb.embedding(w, tb.tensor([1.5])), 'embedding', /indices must be int32, got float32 \[1\]/);
    expectOpError(() => tb.embedding(tb.randn([5]), tb.tensor([1], [1], 'int32')), 'embedding', /weight must be \(numEmbeddings, dim\), got \[5\]/);
    expectOpError(() => tb.embedding(w, tb.tensor([1], [1], 'int32'), { paddingIdx: 5 }), 'embedding', /paddingIdx must be an integer in \[-5, 5\)/);
  });

  it('debug mode checks the rows read without a gradient too', () => {
    const w = tb.tensor([[0, 1], [2, 3], [4, 5], [6, Infinity], [8, 9]]);
    const i = tb.tensor([0, 3], [2], 'int32');
    expect(tb.embedding(w, i).dataSync()[3]).toBe(Infinity);
    tb.setDebug(true);
    try {
      expectOpError(() => tb.embedding(w, i, { name: 'emb_2' }), 'emb_2', /debug mode: produced Infinity at flat index 3 of its \[2,2\] output \(its input 0 already held NaN\/Inf/);
    } finally {
      tb.setDebug(false);
    }
  });
});
