// The conv2d binding called directly: every malformed argument must throw a JS Error, never crash.
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native/load.js';

// NHWC: x (1, 4, 4, 2), weight (3, 3, 2, 3), y (1, 2, 2, 3)
const base = [1, 2, 4, 4, 3, 3, 3, 2, 2, 1, 1, 0, 0, 1];
const dims = (patch: Record<number, number> = {}): Int32Array => {
  const d = Int32Array.from(base);
  for (const [k, v] of Object.entries(patch)) d[Number(k)] = v;
  return d;
};
const f = (n: number): Float32Array => new Float32Array(n).fill(1);

describe('native conv2d', () => {
  it('computes a valid call', () => {
    const y = new Float32Array(12);
    native().conv2d(f(32), f(54), Float32Array.from([0, 1, 2]), y, dims(), 0);
    expect(Array.from(y)).toEqual(Array(4).fill([18, 19, 20]).flat());
    const dx = new Float32Array(32), dw = new Float32Array(54), db = new Float32Array(3);
    native().conv2dBackward(f(32), f(54), f(12), dx, dw, db, dims(), null, 0);
    expect(Array.from(db)).toEqual([4, 4, 4]);
    expect(dx[0]).toBe(3); // corner pixel: one window, three output channels
    expect(dw[0]).toBe(4); // top-left tap sees four input pixels
  });

  it('rejects wrong types and argument counts', () => {
    const g = native();
    const call = (...a: unknown[]) => () => (g.conv2d as (...x: unknown[]) => void)(...a);
    expect(call(f(32), f(54), null, f(12))).toThrow(/conv2d.*arguments/);
    expect(call(new Int32Array(32), f(54), null, f(12), dims(), 0)).toThrow(/x.*Float32Array/);
    expect(call(f(32), [1, 2], null, f(12), dims(), 0)).toThrow(/weight.*Float32Array/);
    expect(call(f(32), f(54), 3, f(12), dims(), 0)).toThrow(/bias.*Float32Array/);
    expect(call(f(32), f(54), null, f(12), Float32Array.from(base), 0)).toThrow(/dims.*Int32Array/);
    expect(call(f(32), f(54), null, f(12), dims().subarray(0, 13), 0)).toThrow(/dims.*14/);
  });

  it('rejects bad dims', () => {
    const run = (d: Int32Array) => () => native().conv2d(f(32), f(54), null, f(12), d, 0);
    expect(run(dims({ 0: -1 }))).toThrow(/dims\[0\] \(n\)/);
    expect(run(dims({ 1: 0 }))).toThrow(/dims\[1\] \(c\)/);
    expect(run(dims({ 9: 0 }))).toThrow(/strideH/);
    expect(run(dims({ 11: -2 }))).toThrow(/padTop/);
    expect(run(dims({ 13: 2 }))).toThrow(/layout/);
    expect(run(dims({ 7: 5 }))).toThrow(/height.*output size 5 is inconsistent \(expected 2..4\)/);
    expect(run(dims({ 8: 0 }))).toThrow(/ow/);
    expect(run(dims({ 11: 3 }))).toThrow(/pad must be smaller than the kernel/);
    expect(run(dims({ 9: 4 }))).toThrow(/height.*stride 4.*output size 2 is inconsistent \(expected 1\)/);
    expect(run(dims({ 0: 0x7fffffff, 1: 0x7fffffff }))).toThrow(/overflow/);
    expect(run(dims({ 0: 1 << 20 }))).toThrow(/x.*elements, expected/);
  });

  it('rejects short or long buffers and aliased outputs', () => {
    const g = native();
    expect(() => g.conv2d(f(31), f(54), null, f(12), dims(), 0)).toThrow(/x.*31 elements, expected 32/);
    expect(() => g.conv2d(f(32), f(53), null, f(12), dims(), 0)).toThrow(/weight/);
    expect(() => g.conv2d(f(32), f(54), f(2), f(12), dims(), 0)).toThrow(/bias/);
    expect(() => g.conv2d(f(32), f(54), null, f(11), dims(), 0)).toThrow(/y/);
    expect(() => g.conv2d(f(32), f(54), null, f(13), dims(), 0)).toThrow(/y/);
    const buf = new Float32Array(64);
    expect(() => g.conv2d(buf.subarray(0, 32), f(54), null, buf.subarray(20, 32), dims(), 0)).toThrow(/share memory/);
    expect(() => g.conv2dBackward(f(32), f(54), f(11), null, f(54), null, dims(), null, 0)).toThrow(/dy/);
    expect(() => g.conv2dBackward(f(32), f(54), f(12), f(30), null, null, dims(), null, 0)).toThrow(/dx/);
    expect(() => g.conv2dBackward(f(32), f(54), f(12), null, f(50), null, dims(), null, 0)).toThrow(/dweight/);
    expect(() => g.conv2dBackward(f(32), f(54), f(12), null, null, f(4), dims(), null, 0)).toThrow(/dbias/);
    const dw = f(54);
    expect(() => g.conv2dBackward(f(32), dw, f(12), null, dw, null, dims(), null, 0)).toThrow(/share memory/);
    // Still alive and correct after all of that.
    const y = new Float32Array(12);
    g.conv2d(f(32), f(54), null, y, dims(), 0);
    expect(y[0]).toBe(18);
  });

  it('handles an empty batch', () => {
    const dw = f(54), db = f(3);
    native().conv2d(f(0), f(54), null, f(0), dims({ 0: 0 }), 0);
    native().conv2dBackward(f(0), f(54), f(0), f(0), dw, db, dims({ 0: 0 }), null, 0);
    expect(Array.from(dw).every((v) => v === 0) && Array.from(db).every((v) => v === 0)).toBe(true);
  });
});
