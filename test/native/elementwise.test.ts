// The elementwise binding called directly: every bad argument must come back as a thrown JS Error
// naming the function (never a crash), and the kernels must honour arbitrary strides.
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native/load.js';
import { BinaryOp, UnaryOp } from '../../lib/native/opcodes.js';

const f = (n: number): Float32Array => new Float32Array(n);
const i = (...v: number[]): Int32Array => Int32Array.from(v);
const HUGE = 2 ** 31 - 1;

function throwsNamed(fn: () => unknown, name: string, re?: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `${name} should throw`).toBeInstanceOf(Error);
  expect((err as Error).message).toContain(`tensorbolt.${name}`);
  if (re) expect((err as Error).message).toMatch(re);
}

describe('native elementwise: argument checks', () => {
  const g = native();
  const bad: unknown[] = [null, undefined, 1, 'x', [1, 2], new Float64Array(3), new Int32Array(3)];

  it('unary', () => {
    const ok = (): void => g.unary(UnaryOp.exp, f(3), f(3), 0, 0);
    ok();
    throwsNamed(() => (g.unary as (...a: unknown[]) => void)(UnaryOp.exp, f(3)), 'unary', /arguments/);
    for (const b of bad) throwsNamed(() => g.unary(UnaryOp.exp, b as Float32Array, f(3), 0, 0), 'unary', /x/);
    throwsNamed(() => g.unary(UnaryOp.exp, f(3), f(2), 0, 0), 'unary', /out.*2 elements, expected 3/);
    for (const op of [-1, UnaryOp.rsqrt + 1, 1.5, HUGE, NaN]) throwsNamed(() => g.unary(op, f(3), f(3), 0, 0), 'unary', /op/);
    throwsNamed(() => g.unary(UnaryOp.clip, f(3), f(3), 'a' as unknown as number, 0), 'unary', /p1/);
  });

  it('unaryBackward', () => {
    g.unaryBackward(UnaryOp.log, f(4), f(4), f(4), f(4), 0, 0);
    throwsNamed(() => g.unaryBackward(UnaryOp.log, f(4), f(3), f(4), f(4), 0, 0), 'unaryBackward', /y/);
    throwsNamed(() => g.unaryBackward(UnaryOp.log, f(4), f(4), f(5), f(4), 0, 0), 'unaryBackward', /dy/);
    throwsNamed(() => g.unaryBackward(UnaryOp.log, f(4), f(4), f(4), f(0), 0, 0), 'unaryBackward', /dx/);
    throwsNamed(() => g.unaryBackward(UnaryOp.log, f(4), f(4), null as unknown as Float32Array, f(4), 0, 0), 'unaryBackward', /dy/);
    throwsNamed(() => g.unaryBackward(99, f(4), f(4), f(4), f(4), 0, 0), 'unaryBackward', /op/);
  });

  it('binary', () => {
    const shape = i(2, 3);
    g.binary(BinaryOp.add, f(6), i(3, 1), f(3), i(0, 1), f(6), shape);
    for (const b of bad) throwsNamed(() => g.binary(BinaryOp.add, b as Float32Array, i(3, 1), f(3), i(0, 1), f(6), shape), 'binary', /a/);
    throwsNamed(() => g.binary(BinaryOp.add, f(5), i(3, 1), f(3), i(0, 1), f(6), shape), 'binary', /a.*5 elements.*reach 6/);
    throwsNamed(() => g.binary(BinaryOp.add, f(6), i(3, 1), f(2), i(0, 1), f(6), shape), 'binary', /b.*2 elements/);
    throwsNamed(() => g.binary(BinaryOp.add, f(6), i(3, 1), f(3), i(0, 1), f(5), shape), 'binary', /out/);
    throwsNamed(() => g.binary(BinaryOp.add, f(6), i(3, 1, 0), f(3), i(0, 1), f(6), shape), 'binary', /aStrides.*3 entries/);
    throwsNamed(() => g.binary(BinaryOp.add, f(6), i(3, -1), f(3), i(0, 1), f(6), shape), 'binary', /negative stride/);
    throwsNamed(() => g.binary(BinaryOp.add, f(6), i(3, 1), f(3), i(0, 1), f(6), i(2, -3)), 'binary', /negative size/);
    throwsNamed(() => g.binary(BinaryOp.add, f(6), i(0, 0), f(3), i(0, 0), f(6), i(HUGE, HUGE)), 'binary', /too many/);
    throwsNamed(() => g.binary(BinaryOp.add, f(1), i(0, HUGE), f(1), i(0, 0), f(1), i(1, 2)), 'binary', /a.*reach/);
    throwsNamed(() => g.binary(BinaryOp.add, f(1), i(...Array(9).fill(0)), f(1), i(...Array(9).fill(0)), f(1), i(...Array(9).fill(1))), 'binary', /dims/);
    throwsNamed(() => g.binary(13, f(6), i(3, 1), f(3), i(0, 1), f(6), shape), 'binary', /op/);
    throwsNamed(() => g.binary(BinaryOp.add, f(6), i(3, 1), f(3), i(0, 1), f(6), [2, 3] as unknown as Int32Array), 'binary', /outShape/);
  });

  it('binaryBackward', () => {
    const shape = i(2, 3);
    const call = (op: number, da: Float32Array | null, as: Int32Array, db: Float32Array | null, bs: Int32Array, dy = f(6)): void =>
      g.binaryBackward(op, f(6), as, f(3), bs, dy, shape, da, db);
    call(BinaryOp.mul, f(6), i(3, 1), f(3), i(0, 1));
    call(BinaryOp.mul, null, i(3, 1), null, i(0, 1));
    throwsNamed(() => call(BinaryOp.less, f(6), i(3, 1), f(3), i(0, 1)), 'binaryBackward', /no gradient/);
    throwsNamed(() => call(BinaryOp.mul, f(6), i(3, 1), f(3), i(0, 1), f(5)), 'binaryBackward', /dy/);
    throwsNamed(() => call(BinaryOp.mul, f(5), i(3, 1), f(3), i(0, 1)), 'binaryBackward', /da.*5 elements.*describe 6/);
    throwsNamed(() => call(BinaryOp.mul, f(6), i(3, 1), f(6), i(0, 1)), 'binaryBackward', /db.*6 elements.*describe 3/);
    // gradient outputs must be laid out contiguously: transposed or overlapping strides are refused
    throwsNamed(() => call(BinaryOp.mul, f(6), i(1, 2), f(3), i(0, 1)), 'binaryBackward', /da.*not a broadcast stride/);
    throwsNamed(() => call(BinaryOp.mul, f(6), i(3, 1), f(3), i(1, 1)), 'binaryBackward', /\(b\) has 3 elements.*reach 4/);
    throwsNamed(() => g.binaryBackward(BinaryOp.mul, f(6), i(3, 1), f(6), i(1, 2), f(6), shape, null, f(6)), 'binaryBackward', /db.*not a broadcast stride/);
    throwsNamed(() => call(BinaryOp.mul, 'x' as unknown as Float32Array, i(3, 1), f(3), i(0, 1)), 'binaryBackward', /da/);
    throwsNamed(() => g.binaryBackward(BinaryOp.mul, f(6), i(3, 1), f(3), i(0, 1), f(6), i(-2, 3), f(6), f(3)), 'binaryBackward', /negative/);
    throwsNamed(() => g.binaryBackward(BinaryOp.mul, f(6), i(0, 0), f(3), i(0, 0), f(6), i(HUGE, 4096), null, null), 'binaryBackward', /too many/);
  });

  it('where', () => {
    const shape = i(2, 3);
    g.where(f(2), i(1, 0), f(6), i(3, 1), f(1), i(0, 0), f(6), shape);
    throwsNamed(() => g.where(new Int32Array(2) as unknown as Float32Array, i(1, 0), f(6), i(3, 1), f(1), i(0, 0), f(6), shape), 'where', /cond/);
    throwsNamed(() => g.where(f(1), i(1, 0), f(6), i(3, 1), f(1), i(0, 0), f(6), shape), 'where', /cond.*reach 2/);
    throwsNamed(() => g.where(f(2), i(1, 0), f(6), i(3, 1), f(0), i(0, 0), f(6), shape), 'where', /b/);
    throwsNamed(() => g.where(f(2), i(1, 0), f(6), i(3, 1), f(1), i(0, 0), f(7), shape), 'where', /out/);
    throwsNamed(() => g.where(f(2), i(1), f(6), i(3, 1), f(1), i(0, 0), f(6), shape), 'where', /cStrides/);
    throwsNamed(() => g.where(f(2), i(1, 0), f(6), i(3, 1), f(1), i(0, 0), f(6), i(2, -1)), 'where', /negative/);
    throwsNamed(() => g.where(f(2), i(0, 0), f(6), i(0, 0), f(1), i(0, 0), f(6), i(HUGE, HUGE)), 'where', /too many/);
  });

  it('whereBackward', () => {
    const shape = i(2, 3);
    g.whereBackward(f(2), i(1, 0), f(6), shape, f(6), i(3, 1), f(1), i(0, 0));
    g.whereBackward(f(2), i(1, 0), f(6), shape, null, i(3, 1), null, i(0, 0));
    throwsNamed(() => g.whereBackward(f(2), i(1, 0), f(5), shape, f(6), i(3, 1), f(1), i(0, 0)), 'whereBackward', /dy/);
    throwsNamed(() => g.whereBackward(f(2), i(1, 0), f(6), shape, f(3), i(3, 1), f(1), i(0, 0)), 'whereBackward', /da/);
    throwsNamed(() => g.whereBackward(f(2), i(1, 0), f(6), shape, f(6), i(3, 1), f(2), i(0, 0)), 'whereBackward', /db.*describe 1/);
    throwsNamed(() => g.whereBackward(f(2), i(1, 0), f(6), shape, f(6), i(2, 1), f(1), i(0, 0)), 'whereBackward', /da.*not a broadcast stride/);
    throwsNamed(() => g.whereBackward(f(2), i(1, 0), f(6), shape, f(6), i(3, 1), f(1), i(0)), 'whereBackward', /bStrides/);
    throwsNamed(() => g.whereBackward(f(2), i(1, 0), f(6), i(2, -3), f(6), i(3, 1), f(1), i(0, 0)), 'whereBackward', /negative/);
    throwsNamed(() => g.whereBackward(1 as unknown as Float32Array, i(1, 0), f(6), shape, f(6), i(3, 1), f(1), i(0, 0)), 'whereBackward', /cond/);
  });

  it('sumToStrides', () => {
    g.sumToStrides(f(6), i(2, 3), f(3), i(0, 1));
    throwsNamed(() => g.sumToStrides(f(5), i(2, 3), f(3), i(0, 1)), 'sumToStrides', /src/);
    throwsNamed(() => g.sumToStrides(f(6), i(2, 3), f(2), i(0, 1)), 'sumToStrides', /dst/);
    throwsNamed(() => g.sumToStrides(f(6), i(2, 3), null as unknown as Float32Array, i(0, 1)), 'sumToStrides', /dst/);
    throwsNamed(() => g.sumToStrides(f(6), i(2, 3), f(3), i(0, 2)), 'sumToStrides', /not a broadcast stride/);
    throwsNamed(() => g.sumToStrides(f(6), i(2, 3), f(3), i(1)), 'sumToStrides', /dstStrides/);
    throwsNamed(() => g.sumToStrides(f(6), i(2, -3), f(3), i(0, 1)), 'sumToStrides', /negative/);
    throwsNamed(() => g.sumToStrides(f(6), i(HUGE, HUGE), f(1), i(0, 0)), 'sumToStrides', /too many/);
  });

  it('the process survives all of the above and the kernels still work', () => {
    const out = f(2);
    g.unary(UnaryOp.sqrt, Float32Array.from([4, 9]), out, 0, 0);
    expect(Array.from(out)).toEqual([2, 3]);
  });
});

describe('native elementwise: strides', () => {
  const g = native();

  it('binary reads a transposed operand through its strides', () => {
    // a is stored (3, 2); read as its transpose (2, 3) with strides (1, 2)
    const a = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const out = f(6);
    g.binary(BinaryOp.sub, a, i(1, 2), Float32Array.from([10]), i(0, 0), out, i(2, 3));
    expect(Array.from(out)).toEqual([-9, -7, -5, -8, -6, -4]);
  });

  it('binaryBackward reads a transposed operand (the unit-row fallback) and reduces into the other', () => {
    // out (2, 3) = a^T * b with a stored (3, 2), b (3) broadcast over rows; dy = 1
    const a = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const db = f(3);
    g.binaryBackward(BinaryOp.mul, a, i(1, 2), Float32Array.from([1, 1, 1]), i(0, 1), Float32Array.from([1, 1, 1, 1, 1, 1]), i(2, 3), null, db);
    expect(Array.from(db)).toEqual([1 + 2, 3 + 4, 5 + 6]);
  });

  it('where reads general strides and a broadcast condition', () => {
    const out = f(4);
    g.where(Float32Array.from([1, 0]), i(0, 1), Float32Array.from([1, 2, 3, 4]), i(1, 2), Float32Array.from([-1, -2]), i(1, 0), out, i(2, 2));
    expect(Array.from(out)).toEqual([1, -1, 2, -2]);
  });

  it('sumToStrides sums over the zero-stride axes, and zero-size sources give zeros', () => {
    const src = Float32Array.from({ length: 24 }, (_, k) => k);
    const dst = f(3);
    g.sumToStrides(src, i(2, 3, 4), dst, i(0, 1, 0));
    expect(Array.from(dst)).toEqual([0, 1, 2].map((b) => [0, 1].reduce((s, a) => s + [0, 1, 2, 3].reduce((t, c) => t + a * 12 + b * 4 + c, 0), 0)));
    const z = Float32Array.from([7, 7, 7]);
    g.sumToStrides(f(0), i(0, 3), z, i(0, 1));
    expect(Array.from(z)).toEqual([0, 0, 0]);
  });

  it('gradient outputs are overwritten, not accumulated into', () => {
    const da = Float32Array.from([5, 5, 5]);
    const db = Float32Array.from([5]);
    g.binaryBackward(BinaryOp.mul, Float32Array.from([1, 2, 3]), i(1), Float32Array.from([2]), i(0), Float32Array.from([1, 1, 1]), i(3), da, db);
    expect(Array.from(da)).toEqual([2, 2, 2]);
    expect(Array.from(db)).toEqual([6]);
  });
});
