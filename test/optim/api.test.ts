// The Optimizer API: training a quadratic to its minimum, zeroGrad, state dicts, tidy scopes, the
// Keras-style names, and rejection of bad hyper-parameters and parameters with TensorboltError.
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import * as optim from '../../lib/optim/index.js';

/** loss(x) = 0.5 * ||A x - b||², A (6, 4) of full column rank; gradient A^T (A x - b) via tb.matmul. */
function quadratic() {
  const A = tb.tensor([
    [2, 0.5, 0, 1], [0, 1.5, -1, 0], [1, 0, 1, 0.5], [0.5, -1, 0, 2], [0, 0.3, 1.2, 0], [1, 1, 0, -1],
  ]);
  const b = tb.tensor([[1], [-2], [0.5], [3], [-1], [2]]);
  const bv = b.dataSync();
  const residual = (x: tb.Tensor): Float32Array => {
    const r = tb.matmul(A, x);
    const out = r.f32('test').slice();
    r.dispose();
    for (let i = 0; i < out.length; i++) out[i] = out[i]! - bv[i]!;
    return out;
  };
  const loss = (x: tb.Tensor): number => 0.5 * residual(x).reduce((s, v) => s + v * v, 0);
  const setGrad = (x: tb.Tensor): void => {
    const r = tb.tensor(residual(x), [6, 1]);
    x.grad?.dispose();
    x.grad = tb.matmul(A, r, { transposeA: true });
    r.dispose();
  };
  // The minimum: solve the normal equations A^T A x = A^T b (4x4) by Gaussian elimination.
  const a = A.arraySync() as number[][];
  const n = 4;
  const M = Array.from({ length: n }, (_, i) => [
    ...Array.from({ length: n }, (_, j) => a.reduce((s, row) => s + row[i]! * row[j]!, 0)),
    a.reduce((s, row, k) => s + row[i]! * bv[k]!, 0),
  ]);
  for (let c = 0; c < n; c++)
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r]![c]! / M[c]![c]!;
      for (let k = c; k <= n; k++) M[r]![k]! -= f * M[c]![k]!;
    }
  const xStar = M.map((row, i) => row[n]! / M[i]![i]!);
  const minLoss = loss(tb.tensor(xStar.map((v) => [v])));
  return { loss, setGrad, minLoss };
}

function train(opt: optim.Optimizer, x: tb.Tensor, steps: number, q = quadratic()): { before: number; after: number; min: number } {
  const before = q.loss(x) - q.minLoss;
  for (let s = 0; s < steps; s++) {
    opt.zeroGrad();
    q.setGrad(x);
    opt.step();
  }
  return { before, after: q.loss(x) - q.minLoss, min: q.minLoss };
}

function start(): tb.Tensor {
  const x = tb.zeros([4, 1]);
  x.requiresGrad = true;
  return x;
}

describe('end to end: each optimizer minimizes a quadratic', () => {
  const cases: [string, (x: tb.Tensor) => optim.Optimizer, number][] = [
    ['SGD', (x) => new optim.SGD([x], { lr: 0.05 }), 300],
    ['SGD nesterov', (x) => new optim.SGD([x], { lr: 0.02, momentum: 0.9, nesterov: true }), 300],
    ['Adam', (x) => new optim.Adam([x], { lr: 0.05 }), 400],
    ['AdamW amsgrad', (x) => new optim.AdamW([x], { lr: 0.05, weightDecay: 1e-4, amsgrad: true }), 400],
    ['RMSprop centered momentum', (x) => new optim.RMSprop([x], { lr: 0.005, momentum: 0.5, centered: true }), 400],
    ['Adagrad', (x) => new optim.Adagrad([x], { lr: 0.5 }), 400],
    ['Adadelta', (x) => new optim.Adadelta([x], { lr: 1 }), 1500],
  ];
  for (const [name, make, steps] of cases)
    it(name, () => {
      const x = start();
      const { before, after } = train(make(x), x, steps);
      expect(before).toBeGreaterThan(1);
      expect(after).toBeLessThan(before * 1e-2);
    });

  for (const name of optim.optimizerNames)
    it(`Keras '${name}' (parameters added after creation)`, () => {
      const lr = name === 'adadelta' ? 1 : name === 'adagrad' ? 0.5 : 0.05;
      const opt = optim.optimizerFromName(name, { learningRate: lr });
      expect(opt.paramGroups).toHaveLength(0);
      const x = start();
      opt.addParamGroup({ params: [x] });
      const { before, after } = train(opt, x, name === 'adadelta' ? 1500 : 400);
      expect(after).toBeLessThan(before * 0.05);
    });
});

describe('Optimizer API', () => {
  it('zeroGrad drops gradients (disposing them) or zeroes them in place', () => {
    const p = tb.ones([3]);
    p.requiresGrad = true;
    const g = tb.tensor([1, 2, 3]);
    p.grad = g;
    const opt = new optim.SGD([p], { lr: 0.1 });
    opt.zeroGrad(false);
    expect(p.grad).toBe(g);
    expect(Array.from(g.dataSync())).toEqual([0, 0, 0]);
    opt.zeroGrad();
    expect(p.grad).toBeNull();
    expect(g.isDisposed).toBe(true);
    // A parameter without a gradient is skipped by step().
    opt.step();
    expect(Array.from(p.dataSync())).toEqual([1, 1, 1]);
    expect(opt.getState(p)).toBeUndefined();
  });

  it('state dict round trip continues the same trajectory (also through plain arrays)', () => {
    const mk = () => [tb.tensor([0.5, -1, 2]), tb.tensor([[1, 2], [3, 4]])].map((t) => ((t.requiresGrad = true), t));
    const grads = (s: number) => [tb.tensor([0.1 * s, -0.3, 1]), tb.tensor([[s, -1], [0.5, 2 - s]])];
    const run = (opt: optim.Optimizer, ps: tb.Tensor[], from: number, to: number) => {
      for (let s = from; s < to; s++) {
        opt.zeroGrad();
        grads(s).forEach((g, i) => (ps[i]!.grad = g));
        opt.step();
      }
    };
    for (const make of [
      (ps: tb.Tensor[]) => new optim.Adam(ps, { lr: 0.1, amsgrad: true }),
      (ps: tb.Tensor[]) => new optim.SGD([{ params: [ps[0]!] }, { params: [ps[1]!], lr: 0.05 }], { lr: 0.1, momentum: 0.9 }),
      (ps: tb.Tensor[]) => new optim.RMSprop(ps, { centered: true, momentum: 0.3 }),
      (ps: tb.Tensor[]) => new optim.Adagrad(ps, { lrDecay: 0.1, initialAccumulatorValue: 0.1 }),
      (ps: tb.Tensor[]) => new optim.Adadelta(ps),
    ]) {
      const a = mk(), b = mk(), c = mk();
      const oa = make(a), ob = make(b), oc = make(c);
      run(oa, a, 0, 3);
      run(ob, b, 0, 3);
      run(oc, c, 0, 3);
      const sd = oa.stateDict();
      expect(sd.state[0]!.step).toBe(3);
      // Change b's state and hyper-parameters, then restore them from a's dict.
      run(ob, b, 7, 9);
      ob.paramGroups[0]!.lr = 123;
      b.forEach((p, i) => p.f32('test').set(a[i]!.f32('test')));
      ob.loadStateDict(sd);
      expect(ob.paramGroups[0]!.lr).toBe(oa.paramGroups[0]!.lr);
      // c gets the dict as plain arrays, as a JSON file would give it.
      const plain: optim.OptimizerStateDict = {
        paramGroups: JSON.parse(JSON.stringify(sd.paramGroups)),
        state: Object.fromEntries(Object.entries(sd.state).map(([k, st]) => [k, Object.fromEntries(
          Object.entries(st).map(([n, v]) => [n, v instanceof tb.Tensor ? Array.from(v.dataSync()) : v]))])) as optim.OptimizerStateDict['state'],
      };
      c.forEach((p, i) => p.f32('test').set(a[i]!.f32('test')));
      oc.loadStateDict(plain);
      run(oa, a, 3, 6);
      run(ob, b, 3, 6);
      run(oc, c, 3, 6);
      a.forEach((p, i) => {
        expect(Array.from(b[i]!.dataSync())).toEqual(Array.from(p.dataSync()));
        expect(Array.from(c[i]!.dataSync())).toEqual(Array.from(p.dataSync()));
      });
    }
  });

  it('rejects state dicts that do not fit', () => {
    const p = tb.ones([3]);
    p.requiresGrad = true;
    p.grad = tb.ones([3]);
    const opt = new optim.Adam([p]);
    opt.step();
    const sd = opt.stateDict();
    const err = (f: () => void, re: RegExp) => expect(f).toThrowError(re);
    err(() => opt.loadStateDict({ ...sd, paramGroups: [] }), /Adam\.loadStateDict: .*0 parameter groups/);
    err(() => opt.loadStateDict({ ...sd, state: { 0: { step: 1, expAvg: [1, 2] } } }), /expAvg has 2 values/);
    err(() => opt.loadStateDict({ ...sd, state: { 0: { step: 1, exp_avg: [1, 2, 3] } } }), /unknown buffer 'exp_avg'.*expAvg/);
    err(() => opt.loadStateDict({ ...sd, state: { 5: { step: 1 } } }), /parameter 5/);
    err(() => opt.loadStateDict({ ...sd, paramGroups: [{ ...sd.paramGroups[0]!, eps: -1 }] }), /Adam: invalid eps -1/);
    // A rejected dict changed nothing.
    expect(opt.getState(p)!.step).toBe(1);
    expect(opt.paramGroups[0]!.eps).toBe(1e-8);
  });

  it('state survives tidy() scopes that step() runs in', () => {
    const p = tb.ones([100]);
    p.requiresGrad = true;
    const opt = new optim.Adam([p], { lr: 0.1 });
    tb.tidy(() => {
      p.grad = tb.ones([100]);
      opt.step();
    });
    const st = opt.getState(p)!;
    expect(st.buffers.expAvg!.isDisposed).toBe(false);
    p.grad = tb.ones([100]);
    opt.step();
    expect(st.step).toBe(2);
    const before = tb.memory().numTensors;
    opt.dispose();
    expect(tb.memory().numTensors).toBe(before - 2);
  });

  it('learningRate reads and sets every group', () => {
    const opt = optim.optimizerFromName('rmsprop');
    expect(opt.learningRate).toBe(0.001);
    const p = tb.ones([2]);
    opt.addParamGroup({ params: [p] });
    opt.learningRate = 0.02;
    expect(opt.paramGroups[0]!.lr).toBe(0.02);
    expect(opt.defaults.lr).toBe(0.02);
    expect(() => (opt.learningRate = -1)).toThrowError(/RMSprop: invalid learning rate -1/);
  });

  it('Keras names get Keras defaults', () => {
    const d = (n: string) => optim.optimizerFromName(n).defaults as unknown as Record<string, unknown>;
    expect(d('sgd')).toMatchObject({ lr: 0.01, momentum: 0, nesterov: false });
    expect(d('Adam')).toMatchObject({ lr: 0.001, betas: [0.9, 0.999], eps: 1e-7, weightDecay: 0 });
    expect(d('adamw')).toMatchObject({ lr: 0.001, eps: 1e-7, weightDecay: 0.004 });
    expect(d('rmsprop')).toMatchObject({ lr: 0.001, alpha: 0.9, eps: 1e-7, momentum: 0, epsInsideSqrt: true });
    expect(d('adagrad')).toMatchObject({ lr: 0.001, initialAccumulatorValue: 0.1, eps: 1e-7, epsInsideSqrt: true });
    expect(d('adadelta')).toMatchObject({ lr: 0.001, rho: 0.95, eps: 1e-7 });
    expect(optim.optimizerFromName('sgd', { momentum: 0.9, nesterov: true })).toBeInstanceOf(optim.SGD);
    expect(optim.optimizerFromName('adamw')).toBeInstanceOf(optim.AdamW);
  });
});

describe('bad input throws TensorboltError naming the optimizer', () => {
  const p = () => {
    const t = tb.ones([2]);
    t.requiresGrad = true;
    return t;
  };
  const expectErr = (f: () => unknown, op: string, re: RegExp) => {
    let e: unknown;
    try {
      f();
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(tb.TensorboltError);
    expect((e as tb.TensorboltError).op).toBe(op);
    expect((e as Error).message).toMatch(re);
  };

  it('hyper-parameters', () => {
    expectErr(() => new optim.SGD([p()], { lr: -0.1 }), 'SGD', /learning rate lr -0.1/);
    expectErr(() => new optim.SGD([p()], { lr: NaN }), 'SGD', /lr NaN/);
    expectErr(() => new optim.SGD([p()], { momentum: -0.5 }), 'SGD', /momentum -0.5.*>= 0/);
    expectErr(() => new optim.SGD([p()], { nesterov: true }), 'SGD', /nesterov needs momentum > 0/);
    expectErr(() => new optim.SGD([p()], { momentum: 0.9, dampening: 0.1, nesterov: true }), 'SGD', /dampening 0/);
    expectErr(() => new optim.SGD([p()], { momentun: 0.9 } as never), 'SGD', /unknown option key 'momentun'.*momentum/);
    expectErr(() => new optim.Adam([p()], { betas: [1, 0.999] }), 'Adam', /beta1.*< 1/);
    expectErr(() => new optim.Adam([p()], { betas: [0.9] as never }), 'Adam', /betas/);
    expectErr(() => new optim.AdamW([p()], { weightDecay: -1 }), 'AdamW', /weightDecay -1/);
    expectErr(() => new optim.Adam([p()], { amsgrad: 1 as never }), 'Adam', /amsgrad 1: must be a boolean/);
    expectErr(() => new optim.RMSprop([p()], { alpha: 1.5 }), 'RMSprop', /alpha 1.5/);
    expectErr(() => new optim.RMSprop([p()], { momentum: -1 }), 'RMSprop', /momentum/);
    expectErr(() => new optim.Adagrad([p()], { lrDecay: -1 }), 'Adagrad', /lrDecay/);
    expectErr(() => new optim.Adagrad([p()], { initialAccumulatorValue: -1 }), 'Adagrad', /initialAccumulatorValue/);
    expectErr(() => new optim.Adadelta([p()], { rho: 2 }), 'Adadelta', /rho 2/);
    expectErr(() => new optim.Adadelta([p()], { eps: -1e-6 }), 'Adadelta', /eps/);
  });

  it('hyper-parameters changed between steps are checked at step()', () => {
    const q = p();
    q.grad = tb.ones([2]);
    const opt = new optim.SGD([q], { lr: 0.1, momentum: 0.9 });
    opt.paramGroups[0]!.momentum = -2;
    expectErr(() => opt.step(), 'SGD', /momentum -2/);
  });

  it('parameters and gradients', () => {
    expectErr(() => new optim.SGD([p(), 3 as never]), 'SGD.addParamGroup', /params\[1\] must be a Tensor, got 3/);
    expectErr(() => new optim.SGD([3 as never]), 'SGD.addParamGroup', /parameter group must be an object/);
    expectErr(() => new optim.SGD([{ params: [p(), 3 as never] }]), 'SGD.addParamGroup', /params\[1\] must be a Tensor/);
    expectErr(() => new optim.SGD(p() as never), 'SGD', /array/);
    const q = p();
    expectErr(() => new optim.Adam([q, q]), 'Adam.addParamGroup', /more than once/);
    expectErr(() => new optim.Adam([{ params: [q] }, { params: [q] }]), 'Adam.addParamGroup', /more than once/);
    const w = tb.ones([2, 2]);
    w.requiresGrad = true;
    expectErr(() => new optim.Adam([tb.matmul(w, w)]), 'Adam.addParamGroup', /not a leaf/);
    expectErr(() => new optim.Adam([tb.zeros([2], 'int32')]), 'Adam.addParamGroup', /float32/);
    const r = p();
    const opt = new optim.RMSprop([r]);
    r.grad = tb.ones([3]);
    expectErr(() => opt.step(), 'RMSprop.step', /grad \[3\] does not match parameter \[2\]/);
    r.grad = tb.ones([2]);
    r.grad.dispose();
    expectErr(() => opt.step(), 'RMSprop.step', /after dispose/);
  });

  it('unknown Keras names and options', () => {
    expectErr(() => optim.optimizerFromName('adamax'), 'optimizer', /unknown optimizer 'adamax'.*sgd, adam, adamw, rmsprop, adagrad, adadelta/);
    expectErr(() => optim.optimizerFromName(42 as never), 'optimizer', /must be a string/);
    expectErr(() => optim.optimizerFromName('sgd', { beta1: 0.9 }), 'optimizer', /'sgd' has no option 'beta1'/);
    expectErr(() => optim.optimizerFromName('adam', { learningRate: -1 }), 'Adam', /learning rate/);
  });
});
