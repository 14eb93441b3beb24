import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';

describe('Tensor creation and reading', () => {
  it('from nested arrays, with shapes and dtypes', () => {
    const t = tb.tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(t.arraySync()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    const i = tb.tensor([1, 2, 3], undefined, 'int32');
    expect(i.dtype).toBe('int32');
    expect(i.dataSync()).toBeInstanceOf(Int32Array);
    expect(tb.scalar(3.5).item()).toBe(3.5);
    expect(tb.scalar(3.5).shape).toEqual([]);
    expect(tb.tensor([]).shape).toEqual([0]);
    expect(tb.tensor([1, 2, 3, 4], [2, 2]).arraySync()).toEqual([[1, 2], [3, 4]]);
  });

  it('wraps typed arrays without copying', () => {
    const buf = new Float32Array([1, 2, 3, 4]);
    const t = tb.tensor(buf, [2, 2]);
    buf[0] = 42;
    expect(t.arraySync()).toEqual([[42, 2], [3, 4]]);
    // dataSync returns a copy, so callers cannot corrupt the tensor.
    const d = t.dataSync();
    d[1] = -1;
    expect(t.dataSync()[1]).toBe(2);
  });

  it('async reads', async () => {
    const t = tb.tensor([[1, 2]]);
    expect(Array.from(await t.data())).toEqual([1, 2]);
    expect(await t.array()).toEqual([[1, 2]]);
  });

  it('constants and ranges', () => {
    expect(tb.zeros([2, 2]).arraySync()).toEqual([[0, 0], [0, 0]]);
    expect(tb.ones([3]).arraySync()).toEqual([1, 1, 1]);
    expect(tb.full([2], 7, 'int32').arraySync()).toEqual([7, 7]);
    expect(tb.arange(5).arraySync()).toEqual([0, 1, 2, 3, 4]);
    expect(tb.arange(1, 2, 0.5).arraySync()).toEqual([1, 1.5]);
    expect(tb.eye(2).arraySync()).toEqual([[1, 0], [0, 1]]);
    expect(tb.zerosLike(tb.ones([2, 3])).shape).toEqual([2, 3]);
  });

  it('seeded random draws are repeatable', () => {
    tb.setSeed(123);
    const a = tb.randn([100]).dataSync();
    tb.setSeed(123);
    const b = tb.randn([100]).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    const c = tb.randn([100], 0, 1, { seed: 7 }).dataSync();
    const d = tb.randn([100], 0, 1, { seed: 7 }).dataSync();
    expect(Array.from(c)).toEqual(Array.from(d));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    const big = tb.randn([20000], 2, 3, { seed: 1 }).dataSync();
    const mean = big.reduce((s, v) => s + v, 0) / big.length;
    const sd = Math.sqrt(big.reduce((s, v) => s + (v - mean) ** 2, 0) / big.length);
    expect(Math.abs(mean - 2)).toBeLessThan(0.1);
    expect(Math.abs(sd - 3)).toBeLessThan(0.1);
    const u = tb.rand([10000], -2, 2, { seed: 2 }).dataSync();
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...u)).toBeLessThan(2);
    const r = tb.randint(0, 10, [10000], { seed: 3 });
    expect(r.dtype).toBe('int32');
    const rv = r.dataSync();
    expect(Math.min(...rv)).toBe(0);
    expect(Math.max(...rv)).toBe(9);
  });

  it('rejects bad input with TensorboltError', () => {
    expect(() => tb.tensor([[1, 2], [3]])).toThrow(tb.TensorboltError);
    expect(() => tb.tensor([1, 2, 3], [2, 2])).toThrow(/tensor: .*\[2,2\]/);
    expect(() => tb.tensor('abc' as unknown as number)).toThrow(tb.TensorboltError);
    expect(() => tb.tensor([1, 'a' as unknown as number])).toThrow(tb.TensorboltError);
    expect(() => tb.zeros([-1])).toThrow(/full/);
    expect(() => tb.zeros([1.5])).toThrow(tb.TensorboltError);
    expect(() => tb.tensor([1], [1], 'float64' as 'float32')).toThrow(/dtype/);
    expect(() => tb.randint(5, 2, [3])).toThrow(/randint/);
    expect(() => tb.tensor([1, 2]).item()).toThrow(/item/);
    expect(() => tb.arange(0, 5, 0)).toThrow(/arange/);
  });
});

describe('Tensor lifetime', () => {
  it('dispose, use after dispose, memory()', () => {
    const before = tb.memory().numTensors;
    const t = tb.ones([10, 10]);
    expect(tb.memory().numTensors).toBe(before + 1);
    t.dispose();
    t.dispose(); // idempotent
    expect(t.isDisposed).toBe(true);
    expect(tb.memory().numTensors).toBe(before);
    expect(() => t.dataSync()).toThrow(/dataSync: tensor #\d+ \[10,10\] was used after dispose/);
    expect(() => tb.matmul(t, t)).toThrow(tb.TensorboltError);
  });

  it('Symbol.dispose', () => {
    const before = tb.memory().numTensors;
    {
      using t = tb.ones([3]);
      expect(t.size).toBe(3);
    }
    expect(tb.memory().numTensors).toBe(before);
  });

  it('tidy disposes intermediates and keeps the result', () => {
    const before = tb.memory().numTensors;
    let inner: tb.Tensor | null = null;
    const out = tb.tidy(() => {
      inner = tb.ones([4, 4]);
      return tb.matmul(inner, inner);
    });
    expect(inner!.isDisposed).toBe(true);
    expect(out.isDisposed).toBe(false);
    expect(tb.memory().numTensors).toBe(before + 1);
    out.dispose();
    const kept = tb.tidy(() => {
      const k = tb.keep(tb.ones([2]));
      tb.ones([2]);
      return 5;
    });
    expect(kept).toBe(5);
    expect(tb.memory().numTensors).toBe(before + 1);
  });

  it('tidy disposes on exceptions too', () => {
    const before = tb.memory().numTensors;
    expect(() => tb.tidy(() => {
      tb.ones([3]);
      throw new Error('boom');
    })).toThrow('boom');
    expect(tb.memory().numTensors).toBe(before);
  });

  it('reshape shares memory and survives disposing the original', () => {
    const a = tb.tensor([1, 2, 3, 4, 5, 6]);
    const b = a.reshape([2, -1]);
    expect(b.shape).toEqual([2, 3]);
    a.dispose();
    expect(b.arraySync()).toEqual([[1, 2, 3], [4, 5, 6]]);
    b.dispose();
    expect(() => a.reshape([7])).toThrow(tb.TensorboltError);
    expect(() => tb.tensor([1, 2, 3]).reshape([2, -1])).toThrow(/reshape: cannot reshape \[3\]/);
    expect(tb.ones([2, 3, 4]).flatten().shape).toEqual([2, 12]);
    expect(tb.ones([1, 3, 1]).squeeze().shape).toEqual([3]);
    expect(tb.ones([3]).expandDims(0).shape).toEqual([1, 3]);
  });
});

describe('autograd', () => {
  it('gradients accumulate across backward calls and reset with null', () => {
    const w = tb.tensor([[1, 2], [3, 4]]).requiresGrad_();
    const x = tb.tensor([[1], [1]]);
    tb.matmul(w, x).backward(tb.ones([2, 1]));
    expect(w.grad!.arraySync()).toEqual([[1, 1], [1, 1]]);
    tb.matmul(w, x).backward(tb.ones([2, 1]));
    expect(w.grad!.arraySync()).toEqual([[2, 2], [2, 2]]);
    w.grad!.dispose();
    w.grad = null;
    tb.matmul(w, x).backward(tb.full([2, 1], 3));
    expect(w.grad!.arraySync()).toEqual([[3, 3], [3, 3]]);
  });

  it('a tensor used twice gets the sum of both paths', () => {
    const a = tb.tensor([[2]]).requiresGrad_();
    // y = a @ a (1x1): dy/da = 2a
    tb.matmul(a, a).backward();
    expect(a.grad!.item()).toBe(4);
  });

  it('noGrad and detach stop recording', () => {
    const w = tb.tensor([[1, 2]]).requiresGrad_();
    const y = tb.noGrad(() => tb.matmul(w, tb.tensor([[1], [1]])));
    expect(y.requiresGrad).toBe(false);
    expect(tb.isGradEnabled()).toBe(true);
    const d = w.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.arraySync()).toEqual([[1, 2]]);
    expect(() => y.backward()).toThrow(/backward/);
  });

  it('backward of a non-scalar needs a gradient of the right shape', () => {
    const w = tb.tensor([[1, 2]]).requiresGrad_();
    const y = tb.matmul(w, tb.tensor([[1, 0], [0, 1]]));
    expect(() => y.backward()).toThrow(/non-scalar/);
    expect(() => y.backward(tb.ones([3]))).toThrow(/\[3\].*\[1,2\]/);
  });

  it('releases the graph after backward (saved buffers freed, inputs unlinked)', () => {
    const w = tb.tensor([[1, 2]]).requiresGrad_();
    const y = tb.matmul(w, tb.tensor([[1], [1]]));
    expect(y._node).not.toBeNull();
    y.backward();
    expect(y._node).toBeNull();
    expect(() => y.backward()).toThrow(/backward/);
  });

  it('int32 tensors cannot require grad', () => {
    expect(() => tb.tensor([1], undefined, 'int32').requiresGrad_()).toThrow(/requiresGrad/);
  });
});
