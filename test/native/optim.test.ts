// The optimizer kernels called directly: every malformed call throws a JS Error (and the process
// lives on), and well-formed calls compute the documented update.
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native/load.js';

const f = (n: number, v = 0.5) => new Float32Array(n).fill(v);

/** Every call must throw an Error whose message names the function (and match re when given). */
function throws(fn: string, call: () => unknown, re?: RegExp): void {
  let err: unknown;
  try {
    call();
  } catch (e) {
    err = e;
  }
  expect(err, `${fn} should throw`).toBeInstanceOf(Error);
  expect((err as Error).message).toContain(`tensorbolt.${fn}`);
  if (re) expect((err as Error).message).toMatch(re);
}

describe('native optimizer kernels reject bad arguments', () => {
  const n = native();

  it('sgdStep', () => {
    const ok = () => n.sgdStep(f(4), f(4), f(4), 0.1, 0.9, 0, 0, false, true);
    ok();
    throws('sgdStep', () => n.sgdStep([1, 2] as never, f(2), null, 0.1, 0, 0, 0, false, true), /Float32Array/);
    throws('sgdStep', () => n.sgdStep(f(4), new Int32Array(4) as never, null, 0.1, 0, 0, 0, false, true), /Float32Array/);
    throws('sgdStep', () => n.sgdStep(f(4), f(3), null, 0.1, 0, 0, 0, false, true), /grad.*3 elements, expected 4/);
    throws('sgdStep', () => n.sgdStep(f(4), f(4), f(5), 0.1, 0.9, 0, 0, false, true), /momentumBuf/);
    throws('sgdStep', () => n.sgdStep(f(4), f(4), null, 0.1, 0.9, 0, 0, false, true), /needs a momentumBuf/);
    throws('sgdStep', () => n.sgdStep(f(4), f(4), f(4), 0.1, 0, 0, 0, true, true), /nesterov/);
    throws('sgdStep', () => n.sgdStep(f(4), f(4), null, NaN, 0, 0, 0, false, true), /lr.*finite/);
    throws('sgdStep', () => n.sgdStep(f(4), f(4), null, 1e300, 0, 0, 0, false, true), /finite float32/);
    throws('sgdStep', () => n.sgdStep(f(4), f(4), null, 0.1, 0, 0, Infinity, false, true), /weightDecay/);
    throws('sgdStep', () => n.sgdStep(f(4), f(4), null, 0.1, 0, 0, 0, 1 as never, true), /boolean/);
    throws('sgdStep', () => (n.sgdStep as (...a: unknown[]) => void)(f(4), f(4)), /expected 9 arguments/);
    ok();
  });

  it('adamStep', () => {
    const call = (o: { g?: Float32Array; m?: Float32Array; vmax?: Float32Array | null; b1?: number; b2?: number; eps?: number; step?: number } = {}) =>
      n.adamStep(f(5), o.g ?? f(5), o.m ?? f(5), f(5), o.vmax ?? null, 1e-3, o.b1 ?? 0.9, o.b2 ?? 0.999, o.eps ?? 1e-8, 0, false, o.step ?? 1);
    call();
    call({ vmax: f(5) });
    throws('adamStep', () => call({ g: f(4) }), /grad/);
    throws('adamStep', () => call({ m: f(6) }), /argument 2 \(m\)/);
    throws('adamStep', () => call({ vmax: f(1) }), /vmax/);
    throws('adamStep', () => call({ step: 0 }), /step.*outside/);
    throws('adamStep', () => call({ step: -3 }), /step/);
    throws('adamStep', () => call({ step: 1.5 }), /integer/);
    throws('adamStep', () => call({ step: 2 ** 60 }), /step/);
    throws('adamStep', () => call({ step: NaN }), /step/);
    throws('adamStep', () => call({ b1: 1 }), /beta1/);
    throws('adamStep', () => call({ b2: -0.1 }), /beta2/);
    throws('adamStep', () => call({ eps: -1 }), /eps/);
    throws('adamStep', () => n.adamStep(f(5), f(5), null as never, f(5), null, 1e-3, 0.9, 0.999, 1e-8, 0, false, 1), /Float32Array/);
    call({ step: 2 ** 40 });
  });

  it('rmspropStep', () => {
    const call = (o: { sq?: Float32Array; mom?: Float32Array | null; avg?: Float32Array | null; alpha?: number; momentum?: number } = {}) =>
      n.rmspropStep(f(3), f(3), o.sq ?? f(3), o.mom ?? null, o.avg ?? null, 0.01, o.alpha ?? 0.99, 1e-8, 0, o.momentum ?? 0, false);
    call();
    call({ mom: f(3), avg: f(3), momentum: 0.5 });
    throws('rmspropStep', () => call({ sq: f(2) }), /sq/);
    throws('rmspropStep', () => call({ avg: f(9) }), /gradAvg/);
    throws('rmspropStep', () => call({ mom: f(2), momentum: 0.5 }), /momBuf/);
    throws('rmspropStep', () => call({ momentum: 0.5 }), /needs a momBuf/);
    throws('rmspropStep', () => call({ alpha: 1.5 }), /alpha/);
    throws('rmspropStep', () => call({ momentum: NaN }), /momentum/);
    throws('rmspropStep', () => n.rmspropStep(f(3), f(3), f(3), null, null, 0.01, 0.99, 1e-8, 0, 0, 'no' as never), /epsInSqrt.*boolean/);
  });

  it('adagradStep', () => {
    n.adagradStep(f(3), f(3), f(3), 0.01, 0, 0, 1e-10, 1, false);
    throws('adagradStep', () => n.adagradStep(f(3), f(3), f(4), 0.01, 0, 0, 1e-10, 1, false), /sum/);
    throws('adagradStep', () => n.adagradStep(f(3), f(3), f(3), 0.01, -1, 0, 1e-10, 1, false), /lrDecay/);
    throws('adagradStep', () => n.adagradStep(f(3), f(3), f(3), 0.01, 0, 0, 1e-10, 0, false), /step/);
    throws('adagradStep', () => n.adagradStep(f(3), f(3), f(3), Infinity, 0, 0, 1e-10, 1, false), /lr/);
  });

  it('adadeltaStep', () => {
    n.adadeltaStep(f(3), f(3), f(3), f(3), 1, 0.9, 1e-6, 0);
    throws('adadeltaStep', () => n.adadeltaStep(f(3), f(3), f(3), f(2), 1, 0.9, 1e-6, 0), /acc/);
    throws('adadeltaStep', () => n.adadeltaStep(f(3), f(3), f(3), f(3), 1, 1.1, 1e-6, 0), /rho/);
    throws('adadeltaStep', () => n.adadeltaStep(f(3), f(3), f(3), f(3), 1, 0.9, -1e-6, 0), /eps/);
    throws('adadeltaStep', () => n.adadeltaStep(f(3), f(3), f(3), f(3), 1, 0.9, 1e-6, NaN), /weightDecay/);
  });

  it('sumSquares and scale', () => {
    expect(n.sumSquares(new Float32Array([1, 2, 3]))).toBe(14);
    expect(n.sumSquares(new Float32Array(0))).toBe(0);
    throws('sumSquares', () => n.sumSquares([1, 2] as never), /Float32Array/);
    throws('sumSquares', () => (n.sumSquares as (...a: unknown[]) => number)(), /expected 1 arguments/);
    const x = new Float32Array([1, -2]);
    n.scale(x, 3);
    expect(Array.from(x)).toEqual([3, -6]);
    throws('scale', () => n.scale(x, NaN), /alpha/);
    throws('scale', () => n.scale(new Int32Array(2) as never, 2), /Float32Array/);
  });

  it('empty parameters are a no-op', () => {
    const e = new Float32Array(0);
    n.sgdStep(e, e, e, 0.1, 0.9, 0, 0, true, false);
    n.adamStep(e, e, e, e, e, 0.1, 0.9, 0.99, 1e-8, 0.1, true, 3);
    n.rmspropStep(e, e, e, e, e, 0.1, 0.9, 1e-8, 0, 0.5, true);
    n.adagradStep(e, e, e, 0.1, 0, 0, 1e-8, 1, false);
    n.adadeltaStep(e, e, e, e, 1, 0.9, 1e-6, 0);
  });
});

describe('native optimizer kernels compute the documented update', () => {
  it('adamStep, one element, step 3 with AdamW decay and AMSGrad', () => {
    const p = new Float32Array([2]), g = new Float32Array([0.5]);
    const m = new Float32Array([0.1]), v = new Float32Array([0.04]), vmax = new Float32Array([0.05]);
    native().adamStep(p, g, m, v, vmax, 0.1, 0.9, 0.99, 1e-3, 0.5, true, 3);
    const pw = 2 * (1 - 0.1 * 0.5);
    const mw = 0.9 * 0.1 + 0.1 * 0.5, vw = 0.99 * 0.04 + 0.01 * 0.25, vmw = Math.max(0.05, vw);
    const want = pw - (0.1 / (1 - 0.9 ** 3)) * mw / (Math.sqrt(vmw) / Math.sqrt(1 - 0.99 ** 3) + 1e-3);
    expect(m[0]).toBeCloseTo(mw, 6);
    expect(v[0]).toBeCloseTo(vw, 6);
    expect(vmax[0]).toBeCloseTo(vmw, 6);
    expect(p[0]).toBeCloseTo(want, 5);
  });

  it('sgdStep, large buffer (parallel path) equals the serial formula', () => {
    const n = 100_003;
    const p = new Float32Array(n), g = new Float32Array(n), b = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      p[i] = Math.sin(i);
      g[i] = Math.cos(i);
      b[i] = 0.1 * (i % 7);
    }
    const p0 = p.slice(), b0 = b.slice();
    native().sgdStep(p, g, b, 0.1, 0.9, 0.2, 0.01, false, false);
    for (let i = 0; i < n; i += 997) {
      const gi = g[i]! + 0.01 * p0[i]!;
      const bi = 0.9 * b0[i]! + 0.8 * gi;
      expect(b[i]).toBeCloseTo(bi, 5);
      expect(p[i]).toBeCloseTo(p0[i]! - 0.1 * bi, 5);
    }
  });

  it('centered rmsprop never takes the square root of a negative variance', () => {
    // gradAvg² slightly above sq (possible after rounding) must not give NaN.
    const p = new Float32Array([1]), g = new Float32Array([1]);
    const sq = new Float32Array([1]), avg = new Float32Array([1.0000001]);
    native().rmspropStep(p, g, sq, null, avg, 0.01, 0.9, 1e-8, 0, 0, false);
    expect(Number.isFinite(p[0])).toBe(true);
  });
});
