// Direct calls into the layout kernels: bad arguments must throw JS errors, never crash or write
// outside a buffer.
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native/load.js';

const f = (n: number): Float32Array => new Float32Array(n);
const I = (...v: number[]): Int32Array => Int32Array.from(v);
const BIG = 2 ** 31 - 1;

describe('native copyStrided', () => {
  const g = native();
  it('copies, transposes, broadcasts and accumulates', () => {
    const src = Float32Array.from([1, 2, 3, 4, 5, 6]); // (2, 3)
    const dst = f(6);
    g.copyStrided(src, 0, I(1, 3), dst, 0, I(2, 1), I(3, 2), false); // transpose
    expect(Array.from(dst)).toEqual([1, 4, 2, 5, 3, 6]);
    g.copyStrided(src, 1, I(3, 1), dst, 0, I(2, 1), I(2, 2), true); // += src[:, 1:3]
    expect(Array.from(dst)).toEqual([3, 7, 7, 11, 3, 6]);
    const i = Int32Array.from([7, 8]), o = new Int32Array(4);
    g.copyStrided(i, 0, I(0, 1), o, 0, I(2, 1), I(2, 2), false); // broadcast rows, int32
    expect(Array.from(o)).toEqual([7, 8, 7, 8]);
  });

  it('accumulating into a stride-0 destination sums every element (no lost updates)', () => {
    const rows = 40000; // (rows, 3) summed over rows: above the parallel grain, so threads would race
    const src = f(rows * 3).fill(1);
    const dst = f(3);
    g.copyStrided(src, 0, I(3, 1), dst, 0, I(0, 1), I(rows, 3), true);
    expect(Array.from(dst)).toEqual([rows, rows, rows]);
  });

  it('large strided copies are exact', () => {
    const rows = 300, cols = 257;
    const src = Float32Array.from({ length: rows * cols }, (_, k) => k);
    const dst = f(rows * cols);
    g.copyStrided(src, 0, I(1, cols), dst, 0, I(rows, 1), I(cols, rows), false);
    for (const [r, c] of [[0, 0], [299, 256], [17, 100]]) expect(dst[c! * rows + r!]).toBe(src[r! * cols + c!]);
  });

  it('tiled transposing copies accumulate correctly', () => {
    const rows = 19, cols = 23;
    const src = Float32Array.from({ length: rows * cols }, (_, k) => k);
    const dst = f(rows * cols).fill(1);
    g.copyStrided(src, 0, I(1, cols), dst, 0, I(rows, 1), I(cols, rows), true);
    let bad = 0;
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) if (dst[c * rows + r] !== src[r * cols + c]! + 1) bad++;
    expect(bad).toBe(0);
  });

  it('rejects strides or offsets that reach outside either buffer', () => {
    const s = f(6), d = f(6);
    expect(() => g.copyStrided(s, 0, I(3, 1), d, 0, I(2, 1), I(3, 2), false)).toThrow(/src.*reaches past/);
    expect(() => g.copyStrided(s, 0, I(2, 1), d, 0, I(3, 1), I(3, 2), false)).toThrow(/dst.*reaches past/);
    expect(() => g.copyStrided(s, 1, I(2, 1), d, 0, I(2, 1), I(3, 2), false)).toThrow(/offset 1/);
    expect(() => g.copyStrided(s, 0, I(2, 1), d, 6, I(2, 1), I(1, 1), false)).toThrow(RangeError);
    expect(() => g.copyStrided(s, 0, I(BIG, BIG), d, 0, I(0, 0), I(BIG, BIG), false)).toThrow(RangeError);
    expect(() => g.copyStrided(s, 0, I(1), d, 0, I(1), I(2 ** 30), false)).toThrow(RangeError);
    expect(() => g.copyStrided(f(0), 0, I(1), d, 0, I(1), I(1), false)).toThrow(RangeError);
    expect(() => g.copyStrided(s, -1, I(1), d, 0, I(1), I(1), false)).toThrow(RangeError);
    expect(() => g.copyStrided(s, 2 ** 50, I(1), d, 0, I(1), I(1), false)).toThrow(RangeError);
    expect(() => g.copyStrided(s, 0, I(-1), d, 0, I(1), I(1), false)).toThrow(/negative stride/);
    expect(() => g.copyStrided(s, 0, I(1), d, 0, I(1), I(-2), false)).toThrow(/negative size/);
    g.copyStrided(s, 0, I(100), d, 0, I(100), I(0), false); // an empty shape touches nothing
  });

  it('rejects mixed element types, wrong kinds and mismatched stride lengths', () => {
    const s = f(4), d = f(4);
    expect(() => g.copyStrided(s, 0, I(1), new Int32Array(4), 0, I(1), I(4), false)).toThrow(/same element type/);
    expect(() => g.copyStrided(new Int32Array(4), 0, I(1), d, 0, I(1), I(4), false)).toThrow(TypeError);
    expect(() => g.copyStrided(new Float64Array(4) as unknown as Float32Array, 0, I(1), d, 0, I(1), I(4), false)).toThrow(TypeError);
    expect(() => g.copyStrided(s, 0, I(1, 1), d, 0, I(1), I(4), false)).toThrow(/srcStrides/);
    expect(() => g.copyStrided(s, 0, f(1) as unknown as Int32Array, d, 0, I(1), I(4), false)).toThrow(TypeError);
    expect(() => g.copyStrided(s, 0, I(1), d, 0, I(1), I(1, 1, 1, 1, 1, 1, 1, 1, 1), false)).toThrow(/dims/);
    expect(() => g.copyStrided(s, 0, I(1), d, 0, I(1), I(4), 1 as unknown as boolean)).toThrow(TypeError);
    expect(() => (g.copyStrided as unknown as (...a: unknown[]) => void)(s, 0, I(1), d)).toThrow(/arguments/);
  });

  it('rejects overlapping source and destination regions', () => {
    const buf = f(8);
    expect(() => g.copyStrided(buf, 0, I(1), buf, 2, I(1), I(4), false)).toThrow(/overlap/);
    expect(() => g.copyStrided(buf.subarray(0, 4), 0, I(1), buf.subarray(2), 0, I(1), I(4), false)).toThrow(/overlap/);
    g.copyStrided(buf.subarray(0, 4), 0, I(1), buf.subarray(4), 0, I(1), I(4), false); // disjoint halves are fine
  });
});

describe('native gather / gatherBackward / oneHot', () => {
  const g = native();
  it('gathers and scatters', () => {
    const x = Float32Array.from([1, 2, 3, 4, 5, 6]); // (1, 3, 2)
    const y = f(6);
    g.gather(x, I(2, 0, 2), y, 1, 3, 2);
    expect(Array.from(y)).toEqual([5, 6, 1, 2, 5, 6]);
    const dx = f(6).fill(9);
    g.gatherBackward(Float32Array.from([1, 1, 1, 1, 1, 1]), I(2, 0, 2), dx, 1, 3, 2);
    expect(Array.from(dx)).toEqual([1, 1, 0, 0, 2, 2]);
    const yi = new Int32Array(2);
    g.gather(Int32Array.from([4, 5, 6]), I(1, 1), yi, 1, 3, 1);
    expect(Array.from(yi)).toEqual([5, 5]);
  });

  it('rejects out-of-range indices, naming position and value', () => {
    const x = f(6), y = f(4);
    expect(() => g.gather(x, I(0, 3), y, 1, 3, 2)).toThrow(/index 3 at position 1/);
    expect(() => g.gather(x, I(-1, 0), y, 1, 3, 2)).toThrow(RangeError);
    expect(() => g.gatherBackward(f(4), I(0, 5), f(6), 1, 3, 2)).toThrow(/index 5 at position 1/);
    expect(() => g.gatherBackward(f(4), I(-7, 0), f(6), 1, 3, 2)).toThrow(RangeError);
  });

  it('rejects bad types, lengths and sizes', () => {
    const x = f(6), y = f(4);
    expect(() => g.gather(x, I(0, 1), new Int32Array(4), 1, 3, 2)).toThrow(/both/);
    expect(() => g.gather(x, f(2) as unknown as Int32Array, y, 1, 3, 2)).toThrow(/Int32Array/);
    expect(() => g.gather(x, I(0, 1), f(3), 1, 3, 2)).toThrow(/y has 3/);
    expect(() => g.gather(f(5), I(0, 1), y, 1, 3, 2)).toThrow(/x has 5/);
    expect(() => g.gather(x, I(0, 1), y, -1, 3, 2)).toThrow(RangeError);
    expect(() => g.gather(x, I(0, 1), y, 1, 3, BIG + 1)).toThrow(RangeError);
    expect(() => g.gather(x, I(0, 1), y, BIG, BIG, BIG)).toThrow(/overflow/);
    expect(() => g.gatherBackward(y, I(0, 1), f(5), 1, 3, 2)).toThrow(/dx/);
    expect(() => g.gatherBackward(f(3), I(0, 1), x, 1, 3, 2)).toThrow(/dy/);
    expect(() => g.gatherBackward(new Int32Array(4) as unknown as Float32Array, I(0, 1), x, 1, 3, 2)).toThrow(TypeError);
    expect(() => g.gatherBackward(y, I(0, 1), x, 1, -3, 2)).toThrow(RangeError);
  });

  it('oneHot encodes and rejects bad input', () => {
    const out = f(6);
    g.oneHot(I(2, 0), out, 3, 5, -1);
    expect(Array.from(out)).toEqual([-1, -1, 5, 5, -1, -1]);
    expect(() => g.oneHot(I(0, 3), out, 3, 1, 0)).toThrow(/index 3 at position 1/);
    expect(() => g.oneHot(I(-1, 0), out, 3, 1, 0)).toThrow(RangeError);
    expect(() => g.oneHot(I(0, 1), f(5), 3, 1, 0)).toThrow(/out/);
    expect(() => g.oneHot(I(0, 1), out, -3, 1, 0)).toThrow(RangeError);
    expect(() => g.oneHot(I(0, 1), out, BIG + 1, 1, 0)).toThrow(RangeError);
    expect(() => g.oneHot(f(2) as unknown as Int32Array, out, 3, 1, 0)).toThrow(TypeError);
    expect(() => g.oneHot(I(0, 1), out, 3, 'on' as unknown as number, 0)).toThrow(TypeError);
  });

  it('the process survives and still computes', () => {
    const y = f(1);
    g.gather(Float32Array.from([3, 4]), I(1), y, 1, 2, 1);
    expect(y[0]).toBe(4);
  });
});
