// Each optimizer's native step against the float64 PyTorch rules in reference.ts, over several steps
// with non-trivial hyper-parameters, parameter groups, skipped (grad-less) parameters, and the
// multi-threaded path (a parameter above the OpenMP grain).
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import * as optim from '../../lib/optim/index.js';
import { refAdadelta, refAdagrad, refAdam, refRMSprop, refSGD, type RefState, type Vec } from './reference.js';
import { ALL_ISAS, supportedIsas, withIsa } from '../helpers/opcheck.js';

type Make = (params: tb.Tensor[]) => optim.Optimizer;
type RefStep = (p: Vec, g: Vec, st: RefState) => void;

function param(shape: number[], seed: number): tb.Tensor {
  const p = tb.randn(shape, 0, 1, { seed });
  p.requiresGrad = true;
  return p;
}

/**
 * Runs `steps` updates of the optimizer and of the reference on the same gradients and compares
 * after every step. The last parameter gets a gradient only on odd steps, so skipping is checked.
 */
function compare(make: Make, ref: RefStep, opts: { steps?: number; shapes?: number[][]; rtol?: number } = {}): void {
  const shapes = opts.shapes ?? [[3, 5], [7], [1], [2, 3]];
  const steps = opts.steps ?? 6;
  const rtol = opts.rtol ?? 1e-5;
  const params = shapes.map((s, j) => param(s, 11 + j));
  const objs = params.slice();
  const bufs = params.map((p) => p.f32('test'));
  const refs = params.map((p) => Float64Array.from(p.dataSync()));
  const states: RefState[] = params.map(() => ({ step: 0 }));
  const opt = make(params);
  for (let s = 0; s < steps; s++) {
    params.forEach((p, j) => {
      p.grad?.dispose();
      p.grad = null;
      if (j === params.length - 1 && s % 2 === 0) return;
      // Gradients of changing scale (and sign mix) so moment estimates are exercised.
      p.grad = tb.randn(p.shape.slice(), 0, 0.2 + s * 0.7, { seed: 1000 + 31 * s + j });
      states[j]!.step++;
      ref(refs[j]!, Float64Array.from(p.grad.dataSync()), states[j]!);
    });
    opt.step();
    params.forEach((p, j) => {
      const got = p.dataSync();
      const want = refs[j]!;
      for (let i = 0; i < got.length; i++) {
        const tol = 1e-6 + rtol * Math.abs(want[i]!);
        if (!(Math.abs(got[i]! - want[i]!) <= tol))
          expect.fail(`step ${s + 1}, param ${j} [${i}]: got ${got[i]}, want ${want[i]}`);
      }
    });
  }
  // Updated in place: same tensor objects, same buffers.
  params.forEach((p, j) => {
    expect(p).toBe(objs[j]);
    expect(p.f32('test')).toBe(bufs[j]);
  });
  opt.dispose();
  for (const p of params) p.dispose();
}

const sgdCases: [string, Partial<optim.SGDOptions>][] = [
  ['plain', { lr: 0.1 }],
  ['momentum + dampening + weight decay', { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }],
  ['nesterov + weight decay', { lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.1 }],
];
const sgdFull = (o: Partial<optim.SGDOptions>): optim.SGDOptions => ({ lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...o });

const adamCases: [string, boolean, Partial<optim.AdamOptions>][] = [
  ['Adam, betas + weight decay', false, { lr: 0.01, betas: [0.8, 0.95], eps: 1e-6, weightDecay: 0.05 }],
  ['Adam, amsgrad', false, { lr: 0.02, amsgrad: true }],
  // eps comparable to sqrt(v̂), so where eps enters the denominator shows.
  ['Adam, large eps', false, { lr: 0.05, eps: 0.3, betas: [0.5, 0.6] }],
  ['AdamW, amsgrad + decay', true, { lr: 0.02, weightDecay: 0.1, amsgrad: true, betas: [0.7, 0.9] }],
  ['AdamW defaults', true, {}],
];

const rmsCases: [string, Partial<optim.RMSpropOptions>][] = [
  ['centered + momentum + weight decay', { lr: 0.01, alpha: 0.9, eps: 1e-4, weightDecay: 0.01, momentum: 0.5, centered: true }],
  ['centered', { lr: 0.01, alpha: 0.8, centered: true }],
  ['eps inside sqrt + momentum', { lr: 0.01, alpha: 0.9, eps: 1e-3, momentum: 0.9, epsInsideSqrt: true }],
  ['defaults', {}],
];
const rmsFull = (o: Partial<optim.RMSpropOptions>): optim.RMSpropOptions => ({
  lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, epsInsideSqrt: false, ...o,
});

const adagradCases: [string, Partial<optim.AdagradOptions>][] = [
  ['lr decay + weight decay + initial accumulator', { lr: 0.1, lrDecay: 0.05, weightDecay: 0.01, eps: 1e-6, initialAccumulatorValue: 0.2 }],
  ['eps inside sqrt', { lr: 0.1, eps: 1e-3, epsInsideSqrt: true }],
];
const adagradFull = (o: Partial<optim.AdagradOptions>): optim.AdagradOptions => ({
  lr: 1e-2, lrDecay: 0, weightDecay: 0, eps: 1e-10, initialAccumulatorValue: 0, epsInsideSqrt: false, ...o,
});

const adadeltaCases: [string, Partial<optim.AdadeltaOptions>][] = [
  ['rho + eps + weight decay', { lr: 0.9, rho: 0.8, eps: 1e-4, weightDecay: 0.02 }],
  ['defaults', {}],
];
const adadeltaFull = (o: Partial<optim.AdadeltaOptions>): optim.AdadeltaOptions => ({ lr: 1, rho: 0.9, eps: 1e-6, weightDecay: 0, ...o });

describe('optimizers match the PyTorch rules (float64 reference)', () => {
  for (const [name, o] of sgdCases)
    it(`SGD ${name}`, () => compare((ps) => new optim.SGD(ps, o), (p, g, st) => refSGD(p, g, st, sgdFull(o))));

  for (const [name, decoupled, o] of adamCases) {
    const full = { lr: 1e-3, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: decoupled ? 1e-2 : 0, amsgrad: false, ...o };
    it(name, () => compare(
      (ps) => (decoupled ? new optim.AdamW(ps, o) : new optim.Adam(ps, o)),
      (p, g, st) => refAdam(p, g, st, full, decoupled),
    ));
  }

  for (const [name, o] of rmsCases)
    it(`RMSprop ${name}`, () => compare((ps) => new optim.RMSprop(ps, o), (p, g, st) => refRMSprop(p, g, st, rmsFull(o))));

  for (const [name, o] of adagradCases)
    it(`Adagrad ${name}`, () => compare((ps) => new optim.Adagrad(ps, o), (p, g, st) => refAdagrad(p, g, st, adagradFull(o))));

  for (const [name, o] of adadeltaCases)
    it(`Adadelta ${name}`, () => compare((ps) => new optim.Adadelta(ps, o), (p, g, st) => refAdadelta(p, g, st, adadeltaFull(o))));

  it('every kernel on a parameter above the parallel grain (OpenMP path)', () => {
    const shapes = [[257, 131]]; // 33667 elements > 2^15
    compare((ps) => new optim.SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true }),
      (p, g, st) => refSGD(p, g, st, sgdFull({ lr: 0.05, momentum: 0.9, nesterov: true })), { shapes, steps: 3 });
    const ao = { lr: 0.01, betas: [0.9, 0.99] as [number, number], eps: 1e-8, weightDecay: 0.01, amsgrad: true };
    compare((ps) => new optim.AdamW(ps, ao), (p, g, st) => refAdam(p, g, st, ao, true), { shapes, steps: 3 });
    const ro = { lr: 0.01, momentum: 0.5, centered: true };
    compare((ps) => new optim.RMSprop(ps, ro), (p, g, st) => refRMSprop(p, g, st, rmsFull(ro)), { shapes, steps: 3 });
    const go = { lr: 0.1, lrDecay: 0.1 };
    compare((ps) => new optim.Adagrad(ps, go), (p, g, st) => refAdagrad(p, g, st, adagradFull(go)), { shapes, steps: 3 });
    compare((ps) => new optim.Adadelta(ps), (p, g, st) => refAdadelta(p, g, st, adadeltaFull({})), { shapes, steps: 3 });
  });

  it('parameter groups use their own hyper-parameters', () => {
    const a = param([4], 1), b = param([3], 2);
    const a0 = Float64Array.from(a.dataSync()), b0 = Float64Array.from(b.dataSync());
    const opt = new optim.SGD([{ params: [a] }, { params: [b], lr: 0.5, momentum: 0.9 }], { lr: 0.1 });
    expect(opt.paramGroups[0]!.lr).toBe(0.1);
    expect(opt.paramGroups[0]!.momentum).toBe(0);
    expect(opt.paramGroups[1]!.lr).toBe(0.5);
    a.grad = tb.ones([4]);
    b.grad = tb.ones([3]);
    opt.step();
    opt.step();
    // a: plain SGD, 2 * 0.1; b: momentum, 0.5 * (1 + 1.9).
    a.dataSync().forEach((v, i) => expect(v).toBeCloseTo(a0[i]! - 0.2, 6));
    b.dataSync().forEach((v, i) => expect(v).toBeCloseTo(b0[i]! - 1.45, 5));
  });
});

// The SGD and Adam updates are compiled once per instruction set (native/cpu/optim_loops.inc): each
// set this machine runs is checked, at sizes with whole vectors, tails and the threaded path; a set
// it cannot run is reported as skipped.
describe('SGD and Adam under every instruction set (float64 reference)', () => {
  const shapes = [[3, 5], [33], [1], [257, 131]];
  for (const isa of ALL_ISAS)
    it.skipIf(!supportedIsas().includes(isa))(isa, () => {
      withIsa(isa, () => {
        for (const [, o] of sgdCases) compare((ps) => new optim.SGD(ps, o), (p, g, st) => refSGD(p, g, st, sgdFull(o)), { shapes, steps: 3 });
        for (const [, decoupled, o] of adamCases) {
          const full = { lr: 1e-3, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: decoupled ? 1e-2 : 0, amsgrad: false, ...o };
          compare((ps) => (decoupled ? new optim.AdamW(ps, o) : new optim.Adam(ps, o)), (p, g, st) => refAdam(p, g, st, full, decoupled), { shapes, steps: 3 });
        }
      });
    });
});

describe('trajectories derived by hand', () => {
  it('Adam: the first step moves each parameter by lr * sign(grad)', () => {
    const p = tb.tensor([1, -2, 0.5, 3]);
    p.requiresGrad = true;
    p.grad = tb.tensor([0.3, -5, 1e-3, -2e-2]);
    new optim.Adam([p], { lr: 0.1 }).step();
    // m̂ = g and v̂ = g² after bias correction, so the update is lr * g / (|g| + eps).
    const want = [0.9, -1.9, 0.4, 3.1];
    p.dataSync().forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
  });

  it('SGD momentum 0.9 on a constant gradient: buffers 1, 1.9, 2.71', () => {
    const p = tb.tensor([1]);
    p.requiresGrad = true;
    p.grad = tb.tensor([1]);
    const opt = new optim.SGD([p], { lr: 0.1, momentum: 0.9 });
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      opt.step();
      seen.push(p.item());
    }
    expect(seen[0]).toBeCloseTo(0.9, 6);
    expect(seen[1]).toBeCloseTo(0.71, 6);
    expect(seen[2]).toBeCloseTo(0.439, 6);
    // Nesterov looks ahead: the first step uses g + momentum * buf = 1.9.
    const q = tb.tensor([1]);
    q.requiresGrad = true;
    q.grad = tb.tensor([1]);
    new optim.SGD([q], { lr: 0.1, momentum: 0.9, nesterov: true }).step();
    expect(q.item()).toBeCloseTo(0.81, 6);
  });

  it('Adagrad with a constant gradient: steps lr/sqrt(k)', () => {
    const p = tb.tensor([0]);
    p.requiresGrad = true;
    p.grad = tb.tensor([2]);
    const opt = new optim.Adagrad([p], { lr: 1, eps: 0 });
    opt.step();
    expect(p.item()).toBeCloseTo(-1, 6);
    opt.step();
    expect(p.item()).toBeCloseTo(-1 - 1 / Math.SQRT2, 6);
  });
});
