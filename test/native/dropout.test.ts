// The dropout binding called directly: every malformed call throws a JS Error and the process lives.
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native/load.js';

const f = (n: number) => new Float32Array(n);

function expectThrow(fn: () => unknown, re: RegExp): void {
  expect(fn).toThrow(re);
}

describe('native dropout', () => {
  const g = native();

  it('validates buffers', () => {
    expectThrow(() => g.dropout([1, 2] as unknown as Float32Array, f(2), f(2), 0.5, 1), /dropout.*x.*Float32Array/);
    expectThrow(() => g.dropout(new Int32Array(4) as unknown as Float32Array, f(4), f(4), 0.5, 1), /Float32Array/);
    expectThrow(() => g.dropout(f(4), f(3), f(4), 0.5, 1), /y.*3 elements, expected 4/);
    expectThrow(() => g.dropout(f(4), f(4), f(5), 0.5, 1), /mask.*5 elements, expected 4/);
    expectThrow(() => g.dropout(f(4), f(4), null as unknown as Float32Array, 0.5, 1), /mask/);
    expectThrow(() => (g.dropout as unknown as (...a: unknown[]) => void)(f(4), f(4), f(4)), /expected 5 arguments/);
  });

  it('validates rate and seed', () => {
    for (const r of [1, -0.5, 2, NaN, Infinity])
      expectThrow(() => g.dropout(f(4), f(4), f(4), r, 1), /dropout.*rate must be in \[0, 1\)/);
    expectThrow(() => g.dropout(f(4), f(4), f(4), '0.5' as unknown as number, 1), /rate.*number/);
    expectThrow(() => g.dropout(f(4), f(4), f(4), 0.5, 1.5), /seed.*integer/);
    expectThrow(() => g.dropout(f(4), f(4), f(4), 0.5, 2 ** 60), /seed/);
    expectThrow(() => g.dropout(f(4), f(4), f(4), 0.5, -(2 ** 60)), /seed/);
    expectThrow(() => g.dropout(f(4), f(4), f(4), 0.5, NaN), /seed/);
  });

  it('validates dropoutBackward', () => {
    expectThrow(() => g.dropoutBackward(f(4), f(3), f(4)), /dropoutBackward.*mask.*3 elements/);
    expectThrow(() => g.dropoutBackward(f(4), f(4), f(2)), /dropoutBackward.*dx/);
    expectThrow(() => g.dropoutBackward(f(4), f(4), new Int32Array(4) as unknown as Float32Array), /Float32Array/);
  });

  it('still works after the bad calls; rate 0 keeps everything; negative seeds are fine', () => {
    const x = Float32Array.from([1, 2, 3, 4]);
    const y = f(4), m = f(4);
    g.dropout(x, y, m, 0, 123);
    expect(Array.from(m)).toEqual([1, 1, 1, 1]);
    expect(Array.from(y)).toEqual([1, 2, 3, 4]);
    g.dropout(x, y, m, 0.5, -(2 ** 53 - 1));
    for (let i = 0; i < 4; i++) expect([0, 2]).toContain(m[i]);
    const dx = f(4);
    g.dropoutBackward(x, m, dx);
    for (let i = 0; i < 4; i++) expect(dx[i]).toBe(x[i]! * m[i]!);
    g.dropout(f(0), f(0), f(0), 0.5, 1); // empty is fine
  });
});
