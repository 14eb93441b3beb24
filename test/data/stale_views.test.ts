// Views that could go stale: a TensorDataset sample kept after the dataset's tensors were disposed
// read whatever tensor the pool gave that memory to next, and a resizable ArrayBuffer shrunk under
// a tensor gave short reads. Samples are copies now, and resizable buffers are refused.
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';

describe('TensorDataset.get', () => {
  it('a sample kept after dispose() keeps its values when the pool reuses the memory', () => {
    const x = tb.mul(tb.tensor(Array.from({ length: 64 * 4 }, (_, i) => i), [64, 4]), 1); // pooled memory
    const y = tb.mul(tb.tensor(Array.from({ length: 64 * 2 }, (_, i) => -i), [64, 2]), 1);
    const ds = new tb.TensorDataset(x, y);
    const [xs, ys] = ds.get(1) as [Float32Array, Float32Array];
    expect(Array.from(xs)).toEqual([4, 5, 6, 7]);
    x.dispose();
    y.dispose();
    const reuse = [tb.full([64, 4], 42), tb.full([64, 2], 42)]; // same sizes: the pool hands the buffers back
    expect(Array.from(xs)).toEqual([4, 5, 6, 7]);
    expect(Array.from(ys)).toEqual([-2, -3]);
    expect(() => ds.get(1)).toThrow(/TensorDataset\.get: tensor #\d+ \[64,4\] was used after dispose/);
    tb.dispose(reuse);
  });

  it('writing to a sample does not change the dataset', () => {
    const ds = new tb.TensorDataset(tb.ones([3, 2]), tb.zeros([3]));
    (ds.get(0)[0] as Float32Array).fill(9);
    expect(Array.from(ds.x.dataSync())).toEqual([1, 1, 1, 1, 1, 1]);
  });
});

describe('tb.tensor over memory that can change size', () => {
  it('a view of a resizable ArrayBuffer is refused (a copy is accepted)', () => {
    const ab = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer)(64, { maxByteLength: 128 });
    const a = new Float32Array(ab).fill(1);
    expect(() => tb.tensor(a)).toThrow(/^tensor: values is a view of a resizable ArrayBuffer, which could change size under the tensor; pass a copy \(values\.slice\(\)\)$/);
    expect(() => tb.tensor(new Int32Array(ab, 0, 4))).toThrow(/resizable ArrayBuffer/);
    expect(tb.sum(tb.tensor(a.slice())).item()).toBe(16);
  });

  it('a view of a growable SharedArrayBuffer is refused; a fixed one is shared as before', () => {
    const sab = new (SharedArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => SharedArrayBuffer)(16, { maxByteLength: 64 });
    expect(() => tb.tensor(new Float32Array(sab))).toThrow(/growable SharedArrayBuffer/);
    const fixed = new Float32Array(new SharedArrayBuffer(16)).fill(2);
    const t = tb.tensor(fixed);
    fixed[0] = 5;
    expect(Array.from(t.dataSync())).toEqual([5, 2, 2, 2]);
  });

  it('memory detached under a tensor is an error at its next use, not a short read', () => {
    const a = new Float32Array(8).fill(1);
    const t = tb.tensor(a);
    structuredClone(a.buffer, { transfer: [a.buffer] });
    expect(() => tb.sum(t)).toThrow(/^sum: tensor #\d+ \[8\] lost its memory: the typed array it was made from now has 0 of its 8 elements/);
    expect(() => t.item()).toThrow(/lost its memory/);
  });
});
