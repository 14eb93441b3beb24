// PyTorch's names and signatures for ops that a port writes as in PyTorch: torch.flatten(x, start,
// end), torch.max/min(x, dim) -> (values, indices), eq/ne/gt/ge/lt/le and torch.equal. Each case
// starts from the snippet that failed in a real port.
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { checkOp, expectOpError, refBinary, type Ref } from '../helpers/opcheck.js';

describe('flatten(x, startDim, endDim) as torch.flatten', () => {
  it('the failing snippet: tb.flatten(x, 1) on (N, 28, 28, 1) gives (N, 784)', () => {
    const x = tb.zeros([5, 28, 28, 1]);
    expect(tb.flatten(x, 1).shape).toEqual([5, 784]);
    expect(x.flatten(1).shape).toEqual([5, 784]);
  });

  it('start and end dims, negative dims, scalars; no startDim keeps the batch axis', () => {
    const x = tb.zeros([2, 3, 4, 5]);
    expect(tb.flatten(x, 0).shape).toEqual([120]);
    expect(tb.flatten(x, 1, 2).shape).toEqual([2, 12, 5]);
    expect(tb.flatten(x, -2).shape).toEqual([2, 3, 20]);
    expect(tb.flatten(x, 2, 2).shape).toEqual([2, 3, 4, 5]);
    expect(tb.flatten(x).shape).toEqual([2, 60]);
    expect(tb.flatten(tb.scalar(3), 0).shape).toEqual([1]);
    expect(new tb.nn.Flatten().forward(x).shape).toEqual([2, 60]);
    expect(new tb.nn.Flatten(0, 1).forward(x).shape).toEqual([6, 4, 5]);
  });

  it('forward against the reference and the gradient by finite differences', () => {
    checkOp({ name: 'flatten(x, 1, 2)', inputs: [{ shape: [2, 3, 4, 2] }], fn: (x) => tb.mul(tb.flatten(x, 1, 2), 2),
      ref: (x: Ref) => ({ shape: [2, 12, 2], data: x.data.map((v) => 2 * v) }) });
  });

  it('bad dims and extra arguments are errors, not dropped', () => {
    const x = tb.zeros([2, 3, 4]);
    expectOpError(() => tb.flatten(x, 3), 'flatten', /axis 3 is out of range for rank 3/);
    expectOpError(() => tb.flatten(x, 2, 1), 'flatten', /startDim 2 comes after endDim 1/);
    expectOpError(() => (tb.flatten as (...a: unknown[]) => tb.Tensor)(x, 1, 2, 3), 'flatten', /at most 3 arguments.*got 4/);
    expectOpError(() => (x.flatten as (...a: unknown[]) => tb.Tensor)(1, 2, 3), 'flatten', /got 4/);
    expectOpError(() => (tb.reshape as (...a: unknown[]) => tb.Tensor)(x, [24], 1), 'reshape', /at most 2 arguments/);
    expectOpError(() => (x.squeeze as (...a: unknown[]) => tb.Tensor)(0, 1), 'squeeze', /at most 2 arguments/);
    expectOpError(() => (tb.expandDims as (...a: unknown[]) => tb.Tensor)(x, 0, 1), 'expandDims', /at most 2 arguments/);
  });
});

describe('max/min(x, dim) as torch.max: values and indices', () => {
  it('the failing snippet: const [values, indices] = tb.max(out, 1)', () => {
    const out = tb.tensor([[0.1, 2, -1], [5, 0, 5], [-3, -2, -7]]);
    const [values, indices] = tb.max(out, 1);
    expect(Array.from(values.dataSync())).toEqual([2, 5, -2]);
    expect(indices.dtype).toBe('int32');
    expect(Array.from(indices.dataSync())).toEqual([1, 0, 1]); // the first maximum, as torch on CPU
    const m = out.min(0, true);
    expect(m.values.arraySync()).toEqual([[-3, -2, -7]]);
    expect(m.indices.arraySync()).toEqual([[2, 2, 2]]);
    // no dim, or a list of axes: the reductions alone (torch.max(x), tf.max(x, axes))
    expect(tb.max(out).item()).toBe(5);
    expect(tb.max(out, [0, 1]).item()).toBe(5);
  });

  it('values carry the gradient (forward against the reference, backward by finite differences)', () => {
    checkOp({
      name: 'max(x, 1).values', inputs: [{ shape: [3, 4] }], fn: (x) => tb.max(x, 1).values,
      ref: (x) => ({ shape: [3], data: Float64Array.from([0, 1, 2], (r) => Math.max(...x.data.slice(r * 4, r * 4 + 4))) }),
    });
    checkOp({
      name: 'min(x, 0, keepDims).values', inputs: [{ shape: [3, 4] }], fn: (x) => tb.min(x, 0, true).values,
      ref: (x) => ({ shape: [1, 4], data: Float64Array.from([0, 1, 2, 3], (c) => Math.min(x.data[c]!, x.data[4 + c]!, x.data[8 + c]!)) }),
    });
  });

  it('a bad dim frees what it made and names the op', () => {
    const before = tb.memory().numTensors;
    const x = tb.zeros([2, 3]);
    expectOpError(() => tb.max(x, 2), 'max', /axis 2 is out of range/);
    expectOpError(() => (tb.max as (...a: unknown[]) => unknown)(x, 1, false, 'extra'), 'max', /at most 3/);
    x.dispose();
    expect(tb.memory().numTensors).toBe(before);
  });
});

describe('eq ne gt ge lt le, and equal as torch.equal', () => {
  const cases: [string, (a: tb.Tensor, b: tb.Tensor) => tb.Tensor, (a: number, b: number) => boolean][] = [
    ['eq', (a, b) => a.eq(b), (a, b) => a === b], ['ne', (a, b) => a.ne(b), (a, b) => a !== b],
    ['gt', (a, b) => a.gt(b), (a, b) => a > b], ['ge', (a, b) => tb.ge(a, b), (a, b) => a >= b],
    ['lt', (a, b) => tb.lt(a, b), (a, b) => a < b], ['le', (a, b) => a.le(b), (a, b) => a <= b],
  ];
  for (const [name, fn, f] of cases)
    it(`${name}: elementwise 1/0 with broadcasting`, () => {
      checkOp({ name, noGrad: true, fn,
        inputs: [{ shape: [3, 4], gen: (_i, r) => Math.floor(r() * 3) }, { shape: [4], gen: (_i, r) => Math.floor(r() * 3) }],
        ref: (a, b) => refBinary(a, b, (x, y) => +f(x, y)) });
    });

  it('the failing snippet: accuracy as pred.eq(labels).sum()', () => {
    const pred = tb.tensor([1, 2, 3, 4], [4], 'int32');
    const labels = tb.tensor([1, 0, 3, 4], [4], 'int32');
    expect(pred.eq(labels).sum().item()).toBe(3);
  });

  it('tb.equal and Tensor.equal: one boolean, false for other shapes or any differing value', () => {
    const a = tb.tensor([[1, 2], [3, 4]]);
    expect(tb.equal(a, tb.tensor([[1, 2], [3, 4]]))).toBe(true);
    expect(a.equal(tb.tensor([[1, 2], [3, 5]]))).toBe(false);
    expect(tb.equal(a, tb.tensor([1, 2, 3, 4]))).toBe(false); // no broadcasting: shapes must match
    expect(tb.equal(tb.tensor([NaN]), tb.tensor([NaN]))).toBe(false);
    expect(tb.equal(tb.zeros([0, 2]), tb.zeros([0, 2]))).toBe(true);
    expectOpError(() => tb.equal(a, [[1, 2], [3, 4]] as unknown as tb.Tensor), 'equal', /b must be a Tensor/);
  });
});
