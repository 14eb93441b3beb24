// The native boundary: gemm, fill, cast, axpy and the runtime knobs called directly with hostile
// arguments must throw JS errors (never crash the process or touch memory out of bounds).
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native/load.js';

const f = (n: number) => new Float32Array(n);
type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('native gemm', () => {
  const g = () => native();
  const ok = (): Any[] => [f(6), f(12), f(8), false, false, 2, 4, 3, 1, 0, 1, 0, 0, 0];
  it('accepts valid arguments', () => {
    const a = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const b = Float32Array.from({ length: 12 }, (_, i) => i);
    const c = f(8);
    g().gemm(a, b, c, false, false, 2, 4, 3, 1, 0, 1, 0, 0, 0);
    expect(Array.from(c)).toEqual([32, 38, 44, 50, 68, 83, 98, 113]);
  });
  const bad: [string, (args: Any[]) => void, RegExp][] = [
    ['too few arguments', (a) => a.splice(5), /expected 14 arguments/],
    ['a is not a Float32Array', (a) => (a[0] = [1, 2, 3]), /a.*Float32Array/],
    ['a is a Float64Array', (a) => (a[0] = new Float64Array(6)), /Float32Array/],
    ['c is an Int32Array', (a) => (a[2] = new Int32Array(8)), /Float32Array/],
    ['transA not boolean', (a) => (a[3] = 1), /boolean/],
    ['negative m', (a) => (a[5] = -1), /m.*outside/],
    ['fractional n', (a) => (a[6] = 1.5), /integer/],
    ['huge k', (a) => (a[7] = 2 ** 40), /outside/],
    ['NaN m', (a) => (a[5] = NaN), /integer/],
    ['short a', (a) => (a[0] = f(5)), /a holds 5/],
    ['short b', (a) => (a[1] = f(11)), /b holds 11/],
    ['short c', (a) => (a[2] = f(7)), /c holds 7/],
    ['batch beyond buffers', (a) => (a[10] = 2, a[11] = 6, a[12] = 12, a[13] = 8), /holds/],
    ['overlapping outputs', (a) => { a[0] = f(12); a[1] = f(24); a[2] = f(16); a[10] = 2; a[11] = 6; a[12] = 12; a[13] = 4; }, /strideC/],
    ['negative stride', (a) => (a[11] = -1), /outside/],
    ['alpha not a number', (a) => (a[8] = 'x'), /number/],
  ];
  for (const [name, mutate, re] of bad) {
    it(`throws on ${name}`, () => {
      const args = ok();
      mutate(args);
      expect(() => (g().gemm as Any)(...args)).toThrow(re);
    });
  }
});

describe('native fill / cast / axpy / runtime', () => {
  it('work on valid input', () => {
    const x = f(5);
    native().fill(x, 2.5);
    expect(Array.from(x)).toEqual([2.5, 2.5, 2.5, 2.5, 2.5]);
    const i = new Int32Array(3);
    native().fill(i, 7);
    expect(Array.from(i)).toEqual([7, 7, 7]);
    const y = f(3);
    native().cast(Int32Array.from([1, -2, 3]), y);
    expect(Array.from(y)).toEqual([1, -2, 3]);
    const j = new Int32Array(4);
    native().cast(Float32Array.from([1.9, -1.9, NaN, 1e20]), j);
    expect(Array.from(j)).toEqual([1, -1, 0, 2147483647]);
    const acc = Float32Array.from([1, 1]);
    native().axpy(2, Float32Array.from([1, 2]), acc);
    expect(Array.from(acc)).toEqual([3, 5]);
  });
  it('throw on hostile input', () => {
    const n = native() as Any;
    expect(() => n.fill()).toThrow(/fill: expected 2/);
    expect(() => n.fill([1, 2], 1)).toThrow(/Float32Array or an Int32Array/);
    expect(() => n.fill(f(2), 'a')).toThrow(/number/);
    expect(() => n.cast(f(2), new Int32Array(3))).toThrow(/elements/);
    expect(() => n.cast(new Uint8Array(2), f(2))).toThrow(/cast/);
    expect(() => n.axpy(1, f(3), f(2))).toThrow(/axpy.*expected 3/);
    expect(() => n.axpy('1', f(3), f(3))).toThrow(/number/);
    expect(() => n.setNumThreads(0)).toThrow(/setNumThreads/);
    expect(() => n.setNumThreads(-5)).toThrow(/setNumThreads/);
    expect(() => n.setGemmBackend('mkl')).toThrow(/unknown GEMM backend/);
    expect(() => n.setGemmBackend(3)).toThrow(/setGemmBackend/);
  });
  it('info describes the build', () => {
    const info = native().info();
    expect(['openblas', 'portable']).toContain(info.gemm);
    expect(typeof info.threads).toBe('number');
  });
});
