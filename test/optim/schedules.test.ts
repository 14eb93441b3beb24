// LR schedules against PyTorch's closed forms, and their effect on the optimizer's steps.
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import * as optim from '../../lib/optim/index.js';

function sgd(lrs: number[]): optim.SGD {
  return new optim.SGD(lrs.map((lr) => ({ params: [tb.ones([2])], lr })), { lr: lrs[0] });
}

/** lr after each of n scheduler steps, epoch 0 (construction) first. */
function trace(s: optim.LRScheduler, n: number, group = 0): number[] {
  const out = [s.getLastLr()[group]!];
  for (let i = 0; i < n; i++) {
    s.step();
    out.push(s.getLastLr()[group]!);
  }
  return out;
}

function close(got: number[], want: number[], tol = 1e-12): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i]!), `epoch ${i}: ${g} vs ${want[i]}`).toBeLessThan(tol * Math.max(1, Math.abs(want[i]!))));
}

describe('LR schedules', () => {
  it('StepLR: lr * gamma^floor(epoch / stepSize), per group', () => {
    const opt = sgd([1, 0.2]);
    const s = new optim.StepLR(opt, { stepSize: 3, gamma: 0.5 });
    const e = Array.from({ length: 11 }, (_, i) => i);
    close(trace(s, 10), e.map((t) => 0.5 ** Math.floor(t / 3)));
    expect(opt.paramGroups[1]!.lr).toBeCloseTo(0.2 * 0.5 ** 3, 12);
    expect(opt.paramGroups[1]!.initialLr).toBe(0.2);
    expect(s.lastEpoch).toBe(10);
  });

  it('StepLR defaults gamma to 0.1', () => {
    close(trace(new optim.StepLR(sgd([1]), { stepSize: 2 }), 4), [1, 1, 0.1, 0.1, 0.01]);
  });

  it('MultiStepLR: gamma at each milestone (a repeated milestone counts twice)', () => {
    close(trace(new optim.MultiStepLR(sgd([1]), { milestones: [5, 2, 5], gamma: 0.5 }), 7), [1, 1, 0.5, 0.5, 0.5, 0.125, 0.125, 0.125]);
  });

  it('ExponentialLR: lr * gamma^epoch', () => {
    close(trace(new optim.ExponentialLR(sgd([0.3]), { gamma: 0.9 }), 8), Array.from({ length: 9 }, (_, t) => 0.3 * 0.9 ** t));
  });

  it('CosineAnnealingLR follows the closed form, also past tMax (periodic)', () => {
    const base = 0.1, eta = 0.001, T = 10;
    const want = Array.from({ length: 36 }, (_, t) => eta + ((base - eta) * (1 + Math.cos((Math.PI * t) / T))) / 2);
    close(trace(new optim.CosineAnnealingLR(sgd([base]), { tMax: T, etaMin: eta }), 35), want, 1e-9);
  });

  it('LambdaLR: initialLr * lambda(epoch)', () => {
    close(trace(new optim.LambdaLR(sgd([0.5]), { lrLambda: (e) => 1 / (1 + e) }), 4), [0.5, 0.25, 0.5 / 3, 0.125, 0.1]);
  });

  it('the optimizer steps with the scheduled lr', () => {
    const p = tb.zeros([1]);
    p.requiresGrad = true;
    const opt = new optim.SGD([p], { lr: 1 });
    const s = new optim.StepLR(opt, { stepSize: 1, gamma: 0.5 });
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      p.grad = tb.ones([1]);
      opt.step();
      s.step();
      seen.push(p.item());
    }
    close(seen, [-1, -1.5, -1.75], 1e-7);
  });

  it('state dict round trip', () => {
    const a = new optim.ExponentialLR(sgd([1]), { gamma: 0.5 });
    a.step();
    a.step();
    const opt = sgd([1]);
    const b = new optim.ExponentialLR(opt, { gamma: 0.5 });
    b.loadStateDict(a.stateDict());
    opt.paramGroups[0]!.lr = a.getLastLr()[0]!;
    expect(b.lastEpoch).toBe(2);
    a.step();
    b.step();
    expect(b.getLastLr()).toEqual(a.getLastLr());
    expect(() => b.loadStateDict({ lastEpoch: -3, baseLrs: [], lastLr: [] })).toThrowError(/ExponentialLR: loadStateDict/);
  });

  it('rejects bad arguments with TensorboltError naming the schedule', () => {
    const opt = sgd([1]);
    const bad = (f: () => unknown, re: RegExp) => {
      expect(f).toThrowError(tb.TensorboltError);
      expect(f).toThrowError(re);
    };
    bad(() => new optim.StepLR(opt, { stepSize: 0 }), /StepLR: invalid stepSize 0/);
    bad(() => new optim.StepLR(opt, { stepSize: 1.5 }), /StepLR: invalid stepSize 1.5/);
    bad(() => new optim.StepLR(opt, { stepSize: 2, gamma: -1 }), /StepLR: invalid gamma -1/);
    bad(() => new optim.CosineAnnealingLR(opt, { tMax: -1 }), /CosineAnnealingLR: invalid tMax -1/);
    bad(() => new optim.CosineAnnealingLR(opt, { tMax: 5, etaMin: NaN }), /CosineAnnealingLR: invalid etaMin/);
    bad(() => new optim.ExponentialLR({} as never, { gamma: 0.5 }), /ExponentialLR: expected an Optimizer/);
    bad(() => new optim.MultiStepLR(opt, { milestones: 3 as never }), /MultiStepLR: milestones/);
    bad(() => new optim.LambdaLR(opt, { lrLambda: (e) => (e > 0 ? NaN : 1) }).step(), /LambdaLR: computed an invalid learning rate NaN/);
  });
});
