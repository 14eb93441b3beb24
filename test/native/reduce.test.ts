// Direct calls into the reduction kernels: bad arguments must throw JS errors, never crash.
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native/load.js';
import { ArgReduceOp, ReduceOp } from '../../lib/native/opcodes.js';

const f = (n: number): Float32Array => new Float32Array(n);
const i32 = (n: number): Int32Array => new Int32Array(n);
const BIG = 2 ** 31;

describe('native reduce', () => {
  const g = native();
  it('computes (outer, dim, inner) reductions', () => {
    const x = Float32Array.from([1, 2, 3, 4, 5, 6]); // (1, 2, 3)
    const y = f(3);
    g.reduce(ReduceOp.sum, x, y, 1, 2, 3);
    expect(Array.from(y)).toEqual([5, 7, 9]);
    g.reduce(ReduceOp.prod, x, y, 1, 2, 3);
    expect(Array.from(y)).toEqual([4, 10, 18]);
    const m = f(2);
    g.reduce(ReduceOp.mean, x, m, 2, 3, 1);
    expect(Array.from(m)).toEqual([2, 5]);
    g.reduce(ReduceOp.min, x, m, 2, 3, 1);
    expect(Array.from(m)).toEqual([1, 4]);
    const dx = f(6);
    g.reduceBackward(ReduceOp.mean, x, m, Float32Array.from([3, 6]), dx, 2, 3, 1);
    expect(Array.from(dx)).toEqual([1, 1, 1, 2, 2, 2]);
    const o = i32(3);
    g.argReduce(ArgReduceOp.argMin, x, o, 1, 2, 3);
    expect(Array.from(o)).toEqual([0, 0, 0]);
  });

  it('empty dim: sum 0, prod 1, mean NaN; max/min/arg throw RangeError', () => {
    const y = f(2);
    g.reduce(ReduceOp.sum, f(0), y, 2, 0, 1);
    expect(Array.from(y)).toEqual([0, 0]);
    g.reduce(ReduceOp.prod, f(0), y, 1, 0, 2);
    expect(Array.from(y)).toEqual([1, 1]);
    g.reduce(ReduceOp.mean, f(0), y, 2, 0, 1);
    expect(y.every(Number.isNaN)).toBe(true);
    expect(() => g.reduce(ReduceOp.max, f(0), f(2), 2, 0, 1)).toThrow(RangeError);
    expect(() => g.reduce(ReduceOp.min, f(0), f(2), 2, 0, 1)).toThrow(/empty/);
    expect(() => g.reduceBackward(ReduceOp.max, f(0), f(2), f(2), f(0), 2, 0, 1)).toThrow(RangeError);
    expect(() => g.argReduce(ArgReduceOp.argMax, f(0), i32(2), 2, 0, 1)).toThrow(RangeError);
    g.reduce(ReduceOp.max, f(0), f(0), 0, 0, 3); // empty output: nothing to define
  });

  it('rejects bad op codes, types, lengths and sizes', () => {
    const x = f(6), y = f(2);
    expect(() => g.reduce(5, x, y, 2, 3, 1)).toThrow(RangeError);
    expect(() => g.reduce(-1, x, y, 2, 3, 1)).toThrow(RangeError);
    expect(() => g.reduce(0.5, x, y, 2, 3, 1)).toThrow(RangeError);
    expect(() => g.reduce('sum' as unknown as number, x, y, 2, 3, 1)).toThrow(TypeError);
    expect(() => g.reduce(0, i32(6) as unknown as Float32Array, y, 2, 3, 1)).toThrow(/Float32Array/);
    expect(() => g.reduce(0, [1, 2] as unknown as Float32Array, y, 2, 3, 1)).toThrow(TypeError);
    expect(() => g.reduce(0, f(5), y, 2, 3, 1)).toThrow(/x.*5 elements, expected 6/);
    expect(() => g.reduce(0, x, f(1), 2, 3, 1)).toThrow(/y/);
    expect(() => g.reduce(0, x, y, -2, 3, 1)).toThrow(RangeError);
    expect(() => g.reduce(0, x, y, 2, -3, 1)).toThrow(RangeError);
    expect(() => g.reduce(0, x, y, 2, 3, BIG)).toThrow(RangeError);
    expect(() => g.reduce(0, x, y, BIG - 1, BIG - 1, BIG - 1)).toThrow(/overflow/);
    expect(() => g.reduce(0, x, y, 2, 3, NaN)).toThrow(RangeError);
    expect(() => (g.reduce as unknown as (...a: unknown[]) => void)(0, x, y, 2, 3)).toThrow(/arguments/);
  });

  it('reduceBackward validates every buffer', () => {
    const x = f(6), y = f(2), dy = f(2), dx = f(6);
    expect(() => g.reduceBackward(7, x, y, dy, dx, 2, 3, 1)).toThrow(RangeError);
    expect(() => g.reduceBackward(0, x, y, dy, f(5), 2, 3, 1)).toThrow(/dx/);
    expect(() => g.reduceBackward(0, x, y, f(3), dx, 2, 3, 1)).toThrow(/dy/);
    expect(() => g.reduceBackward(2, x, f(1), dy, dx, 2, 3, 1)).toThrow(/y/);
    expect(() => g.reduceBackward(4, f(7), y, dy, dx, 2, 3, 1)).toThrow(/x/);
    expect(() => g.reduceBackward(0, x, y, dy, i32(6) as unknown as Float32Array, 2, 3, 1)).toThrow(TypeError);
    expect(() => g.reduceBackward(0, x, y, dy, null as unknown as Float32Array, 2, 3, 1)).toThrow(TypeError);
    expect(() => g.reduceBackward(0, x, y, dy, dx, 2, 3, -1)).toThrow(RangeError);
    expect(() => g.reduceBackward(0, x, y, dy, dx, 2 ** 40, 1, 1)).toThrow(RangeError);
  });

  it('argReduce validates its output and op', () => {
    const x = f(6);
    expect(() => g.argReduce(2, x, i32(2), 2, 3, 1)).toThrow(RangeError);
    expect(() => g.argReduce(0, x, f(2) as unknown as Int32Array, 2, 3, 1)).toThrow(/Int32Array/);
    expect(() => g.argReduce(0, x, i32(3), 2, 3, 1)).toThrow(/out/);
    expect(() => g.argReduce(0, x, i32(2), 2, 4, 1)).toThrow(/x/);
    expect(() => g.argReduce(0, x, i32(2), -2, 3, 1)).toThrow(RangeError);
  });

  it('the process survives and still computes', () => {
    const y = f(1);
    g.reduce(ReduceOp.max, Float32Array.from([3, 9, 2]), y, 1, 3, 1);
    expect(y[0]).toBe(9);
  });
});
