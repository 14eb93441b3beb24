// The batch-normalization bindings called directly: every malformed call throws a JS Error and the
// process lives.
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native/load.js';

const f = (n: number) => new Float32Array(n);
type Fn = (...a: unknown[]) => void;

describe('native batchNorm', () => {
  const g = native();
  // (outer 2, c 3, inner 4): x has 24 values.
  const fwd = (over: Record<number, unknown> = {}): unknown[] => {
    const args: unknown[] = [f(24), f(3), f(3), f(24), f(3), f(3), f(3), Float32Array.from([1, 1, 1]), 2, 3, 4, 0.1, 1e-5, true];
    for (const [k, v] of Object.entries(over)) args[Number(k)] = v;
    return args;
  };
  const bwd = (over: Record<number, unknown> = {}): unknown[] => {
    const args: unknown[] = [f(24), f(3), f(3), Float32Array.from([1, 1, 1]), f(24), f(24), f(3), f(3), 2, 3, 4];
    for (const [k, v] of Object.entries(over)) args[Number(k)] = v;
    return args;
  };
  const call = (fn: Fn, args: unknown[]) => () => fn(...args);
  const bn = g.batchNorm as unknown as Fn;
  const bnb = g.batchNormBackward as unknown as Fn;

  it('accepts a well-formed call (and null gamma/beta)', () => {
    bn(...fwd());
    bn(...fwd({ 1: null, 2: null, 13: false }));
    bnb(...bwd());
    bnb(...bwd({ 1: null, 5: null, 6: null, 7: null }));
  });

  it('batchNorm: wrong types', () => {
    expect(call(bn, fwd({ 0: [1, 2] }))).toThrow(/batchNorm.*x.*Float32Array/);
    expect(call(bn, fwd({ 3: new Int32Array(24) }))).toThrow(/y.*Float32Array/);
    expect(call(bn, fwd({ 6: null }))).toThrow(/runningMean/);
    expect(call(bn, fwd({ 9: '3' }))).toThrow(/c.*number/);
    expect(call(bn, fwd({ 13: 1 }))).toThrow(/training.*boolean/);
    expect(call(bn, fwd().slice(0, 10))).toThrow(/expected 14 arguments/);
  });

  it('batchNorm: lengths must match the dims', () => {
    expect(call(bn, fwd({ 0: f(23) }))).toThrow(/x.*23 elements, expected 24/);
    expect(call(bn, fwd({ 3: f(12) }))).toThrow(/y.*expected 24/);
    expect(call(bn, fwd({ 1: f(4) }))).toThrow(/gamma.*expected 3/);
    expect(call(bn, fwd({ 2: f(2) }))).toThrow(/beta.*expected 3/);
    expect(call(bn, fwd({ 4: f(1) }))).toThrow(/mean.*expected 3/);
    expect(call(bn, fwd({ 5: f(0) }))).toThrow(/invstd.*expected 3/);
    expect(call(bn, fwd({ 7: f(6) }))).toThrow(/runningVar.*expected 3/);
  });

  it('batchNorm: negative, fractional, huge and overflowing sizes', () => {
    expect(call(bn, fwd({ 8: -2 }))).toThrow(/outer/);
    expect(call(bn, fwd({ 10: 1.5 }))).toThrow(/inner.*integer/);
    expect(call(bn, fwd({ 9: 2 ** 50 }))).toThrow(/c/);
    expect(call(bn, fwd({ 8: 2 ** 30, 10: 2 ** 30 }))).toThrow(/overflow/);
    expect(call(bn, fwd({ 8: 2 ** 10, 10: 2 ** 10 }))).toThrow(/x.*expected/);
  });

  it('batchNorm: momentum, eps, training with one value per channel, bad running variance', () => {
    for (const m of [-0.1, 1.5, NaN]) expect(call(bn, fwd({ 11: m }))).toThrow(/momentum must be in \[0, 1\]/);
    for (const e of [0, -1e-5, NaN, Infinity]) expect(call(bn, fwd({ 12: e }))).toThrow(/eps must be positive/);
    expect(call(bn, [f(3), null, null, f(3), f(3), f(3), f(3), f(3), 1, 3, 1, 0.1, 1e-5, true])).toThrow(/more than one value per channel/);
    expect(call(bn, fwd({ 7: Float32Array.from([1, -2, 1]), 13: false }))).toThrow(/runningVar\[1\]/);
    // Eval with one value per channel is fine.
    bn(f(3), null, null, f(3), f(3), f(3), f(3), Float32Array.from([1, 1, 1]), 1, 3, 1, 0.1, 1e-5, false);
  });

  it('batchNormBackward: wrong types, lengths and sizes', () => {
    expect(call(bnb, bwd({ 4: [0] }))).toThrow(/batchNormBackward.*dy.*Float32Array/);
    expect(call(bnb, bwd({ 0: f(25) }))).toThrow(/x.*expected 24/);
    expect(call(bnb, bwd({ 5: f(3) }))).toThrow(/dx.*expected 24/);
    expect(call(bnb, bwd({ 6: f(24) }))).toThrow(/dgamma.*expected 3/);
    expect(call(bnb, bwd({ 7: new Int32Array(3) }))).toThrow(/dbeta.*Float32Array/);
    expect(call(bnb, bwd({ 2: null }))).toThrow(/mean/);
    expect(call(bnb, bwd({ 9: -3 }))).toThrow(/c/);
    expect(call(bnb, bwd({ 8: 2 ** 41 }))).toThrow(/outer/);
    expect(call(bnb, bwd().slice(0, 9))).toThrow(/expected 11 arguments/);
  });

  it('computes after all the rejected calls', () => {
    const x = Float32Array.from([1, 2, 3, 4]); // (outer 4, c 1, inner 1)
    const y = f(4), mean = f(1), invstd = f(1), rm = f(1), rv = Float32Array.from([1]);
    g.batchNorm(x, null, null, y, mean, invstd, rm, rv, 4, 1, 1, 1, 1e-5, true);
    expect(mean[0]).toBe(2.5);
    expect(rm[0]).toBe(2.5);
    expect(rv[0]).toBeCloseTo(5 / 3, 6); // unbiased
    expect(invstd[0]).toBeCloseTo(1 / Math.sqrt(1.25 + 1e-5), 6); // biased
    expect(y[0]).toBeCloseTo(-1.5 / Math.sqrt(1.25 + 1e-5), 5);
  });
});
