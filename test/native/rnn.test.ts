// Direct calls into the recurrent kernels and the embedding gradient: every bad argument (sizes,
// flags, states a cell does not have, shared memory, indices) throws a JS error naming the
// function; the workspace sizes follow native/common/rnn.h; the batch split over threads does not
// change the bits.
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native/load.js';

const f = (n: number, v = 0): Float32Array => new Float32Array(n).fill(v);
const rnd = (n: number, seed: number): Float32Array => {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1);
};

// dims: [T, B, F, H, cell, batchFirst, reverse, transW, act, recAct, resetAfter, kerasGru]
const dims = (T: number, B: number, F: number, H: number, cell: number, extra: number[] = []): Int32Array =>
  Int32Array.from([T, B, F, H, cell, 1, 0, 0, 0, 1, 1, 1].map((v, i) => (i >= 5 && i - 5 < extra.length ? extra[i - 5]! : v)));

describe('native rnnSizes / rnnForward / rnnBackward', () => {
  const g = native();
  it('workspace and scratch sizes: gates, hprev, the cell-specific row block and a zero row', () => {
    const [T, B, H] = [5, 3, 4];
    const rows = T * B;
    expect(g.rnnSizes(dims(T, B, 2, H, 1))).toEqual([rows * 4 * H + rows * H + rows * H + H, rows * 4 * H + 3 * B * H + H]);
    expect(g.rnnSizes(dims(T, B, 2, H, 0))).toEqual([rows * H + rows * H + H, rows * H + 3 * B * H + H]);
    // reset-after GRU keeps the recurrent-side gate gradients apart
    expect(g.rnnSizes(dims(T, B, 2, H, 2))[1]).toBe(2 * rows * 3 * H + 3 * B * H + H);
    expect(g.rnnSizes(dims(T, B, 2, H, 2, [1, 0, 0, 0, 1, 0, 1]))[1]).toBe(rows * 3 * H + 3 * B * H + H);
  });

  it('rejects bad dims, wrong lengths, a c0 for a GRU, and outputs sharing memory', () => {
    const [T, B, F, H] = [2, 2, 3, 2];
    const d = dims(T, B, F, H, 1);
    const [ws] = g.rnnSizes(d);
    const args = () => [f(T * B * F), f(F * 4 * H), f(H * 4 * H), null, null, null, null, null, f(T * B * H), f(B * H), f(B * H), f(ws), d] as const;
    const call = (over: Record<number, unknown>) => {
      const a: unknown[] = [...args()];
      for (const [k, v] of Object.entries(over)) a[Number(k)] = v;
      return () => (g.rnnForward as (...x: unknown[]) => void)(...a);
    };
    expect(call({})).not.toThrow();
    expect(call({ 0: f(5) })).toThrow(/tensorbolt\.rnnForward: argument 0 \(x\) has 5 elements, expected 12/);
    expect(call({ 11: f(ws - 1) })).toThrow(/argument 11 \(ws\) has/);
    expect(call({ 12: Int32Array.from([2, 2, 3]) })).toThrow(/argument 12 \(dims\) has 3 elements, expected 12/);
    expect(call({ 12: dims(T, B, F, H, 3) })).toThrow(/cell 3 is not 0 \(rnn\), 1 \(lstm\) or 2 \(gru\)/);
    expect(call({ 12: dims(T, B, F, H, 1, [2]) })).toThrow(/is a flag \(0 or 1\), got 2/);
    expect(call({ 12: dims(T, B, F, 0, 1) })).toThrow(/hidden size H = 0 must be >= 1/);
    expect(call({ 12: dims(T, B, F, H, 1, [0, 0, 0, 9]) })).toThrow(/activation codes must be in \[0, 5\)/);
    const y = f(T * B * H);
    expect(call({ 8: y, 9: y.subarray(0, B * H) })).toThrow(/share memory/);
    const gd = dims(T, B, F, H, 2);
    const [gws] = g.rnnSizes(gd);
    expect(call({ 1: f(F * 3 * H), 2: f(H * 3 * H), 6: f(B * H), 10: null, 11: f(gws), 12: gd })).toThrow(/c0 must be null for a gru cell/);
    expect(call({ 1: f(F * 3 * H), 2: f(H * 3 * H), 10: f(B * H), 11: f(gws), 12: gd })).toThrow(/cN must be null for a gru cell/);
    expect(call({ 10: null })).toThrow(/argument 10 \(cN\) must be a Float32Array/);
  });

  it('backward rejects a scratch of the wrong size and gradients sharing memory with inputs', () => {
    const [T, B, F, H] = [2, 2, 3, 2];
    const d = dims(T, B, F, H, 0);
    const [ws, sc] = g.rnnSizes(d);
    const x = f(T * B * F), wx = f(F * H), wh = f(H * H), w = f(ws);
    g.rnnForward(x, wx, wh, null, null, null, null, null, f(T * B * H), f(B * H), null, w, d);
    const back = (scratch: Float32Array, dx: Float32Array | null) =>
      () => g.rnnBackward(x, wx, wh, null, null, w, f(T * B * H), null, null, dx, f(F * H), f(H * H), null, null, null, null, scratch, d);
    expect(back(f(sc), null)).not.toThrow();
    expect(back(f(sc + 1), null)).toThrow(/tensorbolt\.rnnBackward: argument 16 \(scratch\) has/);
    expect(back(f(sc), x)).toThrow(/share memory/);
  });

  it('the same bits on 1 and 2 threads (the batch is split over threads)', () => {
    const [T, B, F, H] = [6, 64, 5, 16];
    const d = dims(T, B, F, H, 1);
    const [ws, sc] = g.rnnSizes(d);
    const x = rnd(T * B * F, 1), wx = rnd(F * 4 * H, 2), wh = rnd(H * 4 * H, 3), dy = rnd(T * B * H, 4);
    const runOnce = (threads: number) => {
      g.setNumThreads(threads);
      const y = f(T * B * H), w = f(ws), dwh = f(H * 4 * H), dx = f(T * B * F);
      g.rnnForward(x, wx, wh, null, null, null, null, null, y, f(B * H), f(B * H), w, d);
      g.rnnBackward(x, wx, wh, null, null, w, dy, null, null, dx, f(F * 4 * H), dwh, null, null, null, null, f(sc), d);
      return [...y, ...dwh, ...dx];
    };
    const before = g.info().threads;
    try {
      const [a, b] = [runOnce(2), runOnce(1)];
      expect(a.findIndex((v, i) => !Object.is(v, b[i]))).toBe(-1);
    } finally {
      g.setNumThreads(before);
    }
  });
});

describe('native embeddingBackward', () => {
  const g = native();
  it('sums repeated rows, zeroes the padding row and unread rows', () => {
    const dy = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]); // 4 positions x 2
    const dw = f(8, 9);
    g.embeddingBackward(dy, Int32Array.from([2, 0, 2, 1]), dw, 4, 2, 1, new Int32Array(4 + 1 + 4));
    expect(Array.from(dw)).toEqual([3, 4, 0, 0, 1 + 5, 2 + 6, 0, 0]);
  });
  it('rejects an index out of range, a short workspace and bad sizes', () => {
    const dy = f(4), dw = f(6);
    expect(() => g.embeddingBackward(dy, Int32Array.from([0, 3]), dw, 3, 2, -1, new Int32Array(6)))
      .toThrow(/tensorbolt\.embeddingBackward: index 3 at position 1 is outside \[0, 3\) of the embedding's rows/);
    expect(() => g.embeddingBackward(dy, Int32Array.from([0, 1]), dw, 3, 2, -1, new Int32Array(5))).toThrow(/argument 6 \(ws\) has 5 elements, expected 6/);
    expect(() => g.embeddingBackward(dy, Int32Array.from([0, 1]), dw, 3, 2, -2, new Int32Array(6))).toThrow(/paddingIdx/);
    expect(() => g.embeddingBackward(dy, Int32Array.from([0, 1]), f(5), 3, 2, -1, new Int32Array(6))).toThrow(/argument 2 \(dw\) has 5 elements, expected 6/);
  });
});
