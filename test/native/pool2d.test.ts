// The pooling bindings called directly: malformed arguments and corrupt argmax indices must throw a
// JS Error, never crash or write outside dx.
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native/load.js';

// [n, c, h, w, oh, ow, kh, kw, sH, sW, padTop, padLeft, layout]: (1, 2, 4, 4) pooled 2x2 -> 2x2
const dims = (layout: number, patch: Record<number, number> = {}): Int32Array => {
  const d = Int32Array.from([1, 2, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, layout]);
  for (const [k, v] of Object.entries(patch)) d[Number(k)] = v;
  return d;
};
const f = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => i);

describe('native pooling', () => {
  it('computes valid calls', () => {
    const g = native();
    const y = new Float32Array(8), am = new Int32Array(8);
    g.maxPool2d(f(32), y, am, dims(0));
    expect(Array.from(y)).toEqual([5, 7, 13, 15, 21, 23, 29, 31]);
    expect(Array.from(am)).toEqual([5, 7, 13, 15, 21, 23, 29, 31]);
    const dx = new Float32Array(32);
    g.maxPool2dBackward(new Float32Array(8).fill(1), am, dx, dims(0));
    expect(dx.reduce((a, b) => a + b, 0)).toBe(8);
    g.avgPool2d(f(32), y, dims(1));
    expect(y[0]).toBe((0 + 2 + 8 + 10) / 4);
    g.avgPool2dBackward(new Float32Array(8).fill(4), dx, dims(1));
    expect(Array.from(dx).every((v) => v === 1)).toBe(true);
  });

  it('rejects wrong types, counts and bad dims', () => {
    const g = native();
    const y = new Float32Array(8), am = new Int32Array(8);
    expect(() => (g.maxPool2d as (...a: unknown[]) => void)(f(32), y, am)).toThrow(/maxPool2d.*arguments/);
    expect(() => g.maxPool2d(f(32), y, new Float32Array(8) as unknown as Int32Array, dims(0))).toThrow(/argmax.*Int32Array/);
    expect(() => g.avgPool2d(new Int32Array(32) as unknown as Float32Array, y, dims(0))).toThrow(/x.*Float32Array/);
    expect(() => g.avgPool2d(f(32), y, dims(0).subarray(0, 12))).toThrow(/dims.*13/);
    expect(() => g.avgPool2d(f(32), y, dims(0, { 0: -1 }))).toThrow(/\(n\)/);
    expect(() => g.avgPool2d(f(32), y, dims(0, { 6: 0 }))).toThrow(/\(kh\)/);
    expect(() => g.avgPool2d(f(32), y, dims(0, { 4: 3 }))).toThrow(/height.*inconsistent/);
    expect(() => g.avgPool2d(f(32), y, dims(0, { 11: 2 }))).toThrow(/width.*smaller than the kernel/);
    expect(() => g.avgPool2d(f(32), y, dims(0, { 12: -1 }))).toThrow(/layout/);
    expect(() => g.maxPool2d(f(32), y, am, dims(0, { 0: 1 << 30 }))).toThrow(/2\^31/);
    expect(() => g.maxPool2d(f(32), y, am, dims(0, { 0: 0x7fffffff, 1: 0x7fffffff }))).toThrow(/overflow/);
  });

  it('rejects short buffers and aliasing', () => {
    const g = native();
    const y = new Float32Array(8), am = new Int32Array(8);
    expect(() => g.maxPool2d(f(31), y, am, dims(0))).toThrow(/x.*31 elements, expected 32/);
    expect(() => g.maxPool2d(f(32), new Float32Array(7), am, dims(0))).toThrow(/y/);
    expect(() => g.maxPool2d(f(32), y, new Int32Array(7), dims(0))).toThrow(/argmax/);
    expect(() => g.maxPool2dBackward(new Float32Array(7), am, f(32), dims(0))).toThrow(/dy/);
    expect(() => g.maxPool2dBackward(y, am, f(31), dims(0))).toThrow(/dx/);
    expect(() => g.avgPool2dBackward(y, f(33), dims(1))).toThrow(/dx/);
    const x = f(32);
    expect(() => g.avgPool2d(x, x.subarray(0, 8), dims(0))).toThrow(/share memory/);
    const shared = new Int32Array(40);
    expect(() => g.maxPool2dBackward(y, shared.subarray(0, 8), new Float32Array(shared.buffer, 0, 32), dims(0))).toThrow(/share memory/);
  });

  it('rejects argmax indices outside their window group instead of writing out of bounds', () => {
    const g = native();
    const dy = new Float32Array(8).fill(1);
    for (const layout of [0, 1]) {
      const good = new Int32Array(8);
      g.maxPool2d(f(32), new Float32Array(8), good, dims(layout));
      for (const bad of [32, -1, 1 << 30, -(1 << 31)]) {
        const am = good.slice();
        am[3] = bad;
        expect(() => g.maxPool2dBackward(dy, am, new Float32Array(32), dims(layout))).toThrow(/maxPool2dBackward.*argmax\[3\]/);
      }
      // An in-range index of another plane (NCHW) or channel (NHWC) would race with another thread.
      const am = good.slice();
      am[0] = good[7]!;
      expect(() => g.maxPool2dBackward(dy, am, new Float32Array(32), dims(layout))).toThrow(/argmax\[0\]/);
    }
    const dx = new Float32Array(32);
    const am = new Int32Array(8);
    g.maxPool2d(f(32), new Float32Array(8), am, dims(1));
    g.maxPool2dBackward(dy, am, dx, dims(1));
    expect(dx.reduce((a, b) => a + b, 0)).toBe(8);
  });
});
