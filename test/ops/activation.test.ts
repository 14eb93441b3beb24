import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { checkOp, expectOpError, refUnary, type Ref } from '../helpers/opcheck.js';

// ---- float64 references ----

/** erf by the all-positive series erf(x) = 2/√π e^{-x²} Σ (2x²)^n x / (1·3·…·(2n+1)): no cancellation. */
function erf(x: number): number {
  const a = Math.abs(x);
  if (a > 6) return Math.sign(x);
  let term = a;
  let sum = a;
  for (let n = 1; n < 200 && term > 1e-17 * sum; n++) {
    term *= (2 * a * a) / (2 * n + 1);
    sum += term;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-a * a) * sum;
}

const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;

const refs: Record<string, (x: number) => number> = {
  relu: (x) => Math.max(x, 0),
  leakyRelu: (x) => (x > 0 ? x : 0.2 * x),
  leakyRelu001: (x) => (x > 0 ? x : 0.01 * x),
  elu: (x) => (x > 0 ? x : Math.expm1(x)),
  elu05: (x) => (x > 0 ? x : 0.5 * Math.expm1(x)),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  tanh: Math.tanh,
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  geluTanh: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  softplus: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
  relu6: (x) => Math.min(Math.max(x, 0), 6),
  selu: (x) => SELU_SCALE * (x > 0 ? x : SELU_ALPHA * Math.expm1(x)),
};

const ops: Record<string, (x: tb.Tensor) => tb.Tensor> = {
  relu: tb.relu,
  leakyRelu: (x) => tb.leakyRelu(x),
  leakyRelu001: (x) => tb.leakyRelu(x, 0.01),
  elu: (x) => tb.elu(x),
  elu05: (x) => tb.elu(x, 0.5),
  sigmoid: tb.sigmoid,
  tanh: tb.tanh,
  gelu: (x) => tb.gelu(x),
  geluTanh: (x) => tb.gelu(x, { approximate: true }),
  softplus: tb.softplus,
  relu6: tb.relu6,
  selu: tb.selu,
};

// Values in (-8, 8) but at least 0.05 from the kinks at 0 and 6, so central differences (step 1e-3)
// never straddle one.
const awayFromKinks = (_: number, rnd: () => number): number => {
  for (;;) {
    const v = (rnd() * 2 - 1) * 8;
    if (Math.abs(v) > 0.05 && Math.abs(v - 6) > 0.05) return v;
  }
};
const wide = (_: number, rnd: () => number): number => (rnd() * 2 - 1) * 5;
const kinked = new Set(['relu', 'leakyRelu', 'leakyRelu001', 'relu6', 'elu', 'elu05', 'selu']);

const shapes: number[][] = [[3, 5], [2, 3, 7], [1], [], [0, 4]];

describe('activations: forward vs float64, gradients vs finite differences', () => {
  for (const name of Object.keys(refs)) {
    for (const shape of shapes) {
      it(`${name} ${JSON.stringify(shape)}`, () => {
        checkOp({
          name: `${name} ${JSON.stringify(shape)}`,
          inputs: [{ shape, gen: kinked.has(name) ? awayFromKinks : wide }],
          fn: ops[name]!,
          ref: (x: Ref) => refUnary(x, refs[name]!),
          atol: 1e-6,
          rtol: 2e-6,
        });
      });
    }
  }

  it('large tensors (threaded path) match the reference', () => {
    const n = 70001;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.sin(i * 0.37) * 9;
    const x = tb.tensor(data);
    for (const name of Object.keys(refs)) {
      const y = ops[name]!(x).dataSync();
      for (let i = 0; i < n; i += 7) {
        const e = refs[name]!(data[i]!);
        expect(Math.abs(y[i]! - e), `${name} at x=${data[i]}`).toBeLessThanOrEqual(2e-6 + 2e-6 * Math.abs(e));
      }
    }
  });
});

describe('activations: extreme inputs', () => {
  const ext = (): tb.Tensor => tb.tensor([1e4, -1e4, 50, -50, 0]).requiresGrad_();

  it('sigmoid(±1e4) is exactly 1 and 0 with finite gradients', () => {
    const x = ext();
    const y = tb.sigmoid(x);
    const v = y.dataSync();
    expect([v[0], v[1], v[2], v[4]]).toEqual([1, 0, 1, 0.5]);
    const tiny = refs.sigmoid!(-50); // 1.9e-22: relative accuracy holds far into the tail
    expect(Math.abs(v[3]! - tiny) / tiny).toBeLessThan(1e-6);
    y.backward(tb.onesLike(y));
    const g = x.grad!.dataSync();
    expect([g[0], g[1], g[2], g[4]]).toEqual([0, 0, 0, 0.25]);
    expect(Math.abs(g[3]! - tiny) / tiny).toBeLessThan(1e-6);
  });

  it('softplus(±1e4) = [1e4, 0] with gradients [1, 0]', () => {
    const x = ext();
    const y = tb.softplus(x);
    const v = y.dataSync();
    expect(v[0]).toBe(1e4);
    expect(v[1]).toBe(0);
    expect(v[2]).toBe(50);
    expect(v[4]).toBeCloseTo(Math.LN2, 6);
    y.backward(tb.onesLike(y));
    const g = x.grad!.dataSync();
    expect([g[0], g[1], g[2], g[4]]).toEqual([1, 0, 1, 0.5]);
  });

  it('tanh, gelu, elu, selu stay finite and saturate at ±1e4', () => {
    for (const [name, lo, hi] of [['tanh', -1, 1], ['gelu', 0, 1e4], ['geluTanh', 0, 1e4], ['elu', -1, 1e4],
      ['selu', -SELU_SCALE * SELU_ALPHA, SELU_SCALE * 1e4]] as [string, number, number][]) {
      const x = tb.tensor([1e4, -1e4]).requiresGrad_();
      const y = ops[name]!(x);
      const v = y.dataSync();
      expect(v[0], name).toBeCloseTo(hi, 2);
      expect(v[1], name).toBeCloseTo(lo, 5);
      y.backward(tb.onesLike(y));
      for (const g of x.grad!.dataSync()) expect(Number.isFinite(g), name).toBe(true);
    }
  });

  it('NaN propagates through every activation', () => {
    for (const name of Object.keys(ops)) {
      const y = ops[name]!(tb.tensor([NaN, 1])).dataSync();
      expect(Number.isNaN(y[0]), name).toBe(true);
    }
  });
});

describe('activation API', () => {
  it('leakyRelu defaults to alpha 0.2 (TensorFlow.js), elu to alpha 1', () => {
    expect(tb.leakyRelu(tb.tensor([-1, 2])).dataSync()[0]).toBeCloseTo(-0.2, 7);
    expect(tb.elu(tb.tensor([-1])).dataSync()[0]).toBeCloseTo(Math.expm1(-1), 6);
  });

  it('Tensor methods match the functions', () => {
    const x = tb.tensor([-2, -0.5, 0.5, 3, 7]);
    const pairs: [tb.Tensor, tb.Tensor][] = [
      [x.relu(), tb.relu(x)], [x.leakyRelu(0.1), tb.leakyRelu(x, 0.1)], [x.elu(2), tb.elu(x, 2)],
      [x.sigmoid(), tb.sigmoid(x)], [x.tanh(), tb.tanh(x)], [x.gelu({ approximate: true }), tb.gelu(x, { approximate: true })],
      [x.gelu(), tb.gelu(x)], [x.softplus(), tb.softplus(x)], [x.relu6(), tb.relu6(x)], [x.selu(), tb.selu(x)],
    ];
    for (const [a, b] of pairs) expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(tb.gelu(x).dataSync()).not.toEqual(tb.gelu(x, { approximate: true }).dataSync());
  });

  it('activationByName covers every name and aliases', () => {
    const x = tb.tensor([[-1, 0.5, 2], [3, -4, 0.25]]);
    expect(tb.activationByName('linear')(x)).toBe(x);
    for (const name of ['relu', 'leakyRelu', 'elu', 'sigmoid', 'tanh', 'gelu', 'softplus', 'relu6', 'selu']) {
      const f = tb.activationByName(name);
      const ref = refs[name]!;
      const y = f(x).dataSync();
      const xs = x.dataSync();
      for (let i = 0; i < xs.length; i++) expect(y[i]).toBeCloseTo(ref(xs[i]!), 5);
    }
    expect(Array.from(tb.activationByName('softmax')(x).dataSync())).toEqual(Array.from(tb.softmax(x).dataSync()));
    expect(Array.from(tb.activationByName('logSoftmax')(x).dataSync())).toEqual(Array.from(tb.logSoftmax(x).dataSync()));
    expect(Array.from(tb.activationByName('leaky_relu')(x).dataSync())).toEqual(Array.from(tb.leakyRelu(x).dataSync()));
    expect(Array.from(tb.activationByName('log_softmax')(x).dataSync())).toEqual(Array.from(tb.logSoftmax(x).dataSync()));
  });

  it('activationByName rejects unknown names, listing the valid ones', () => {
    expectOpError(() => tb.activationByName('swishy'), 'activationByName', /'swishy'.*'relu'.*'logSoftmax'/);
    expectOpError(() => tb.activationByName('constructor'), 'activationByName');
    expectOpError(() => tb.activationByName(undefined as unknown as string), 'activationByName', /valid names/);
  });

  it('rejects wrong types and bad parameters, naming the op', () => {
    const fns: [string, (x: tb.Tensor) => tb.Tensor][] = [
      ['relu', tb.relu], ['leakyRelu', (x) => tb.leakyRelu(x)], ['elu', (x) => tb.elu(x)], ['sigmoid', tb.sigmoid],
      ['tanh', tb.tanh], ['gelu', (x) => tb.gelu(x)], ['softplus', tb.softplus], ['relu6', tb.relu6], ['selu', tb.selu],
    ];
    for (const [name, f] of fns) {
      expectOpError(() => f(tb.zeros([2, 3], 'int32')), name, /float32.*\[2,3\]/);
      expectOpError(() => f([1, 2] as unknown as tb.Tensor), name, /Tensor/);
      const d = tb.zeros([2]);
      d.dispose();
      expectOpError(() => f(d), name, /dispose/);
    }
    expectOpError(() => tb.leakyRelu(tb.zeros([2]), NaN), 'leakyRelu', /alpha/);
    expectOpError(() => tb.elu(tb.zeros([2]), '1' as unknown as number), 'elu', /alpha/);
    expectOpError(() => tb.elu(tb.zeros([2]), Infinity), 'elu', /alpha/);
    expectOpError(() => tb.gelu(tb.zeros([2]), { approximate: 'tanh' as unknown as boolean }), 'gelu', /approximate/);
    expectOpError(() => tb.gelu(tb.zeros([2]), 5 as unknown as tb.GeluOptions), 'gelu', /options/);
  });

  it('frees its backward state: no tensors leak through forward + backward', () => {
    const x = tb.randn([4, 5], 0, 1, { seed: 1 }).requiresGrad_();
    const before = tb.memory().numTensors;
    for (const f of Object.values(ops)) {
      const y = f(x);
      const dy = tb.onesLike(y);
      y.backward(dy);
      dy.dispose();
      y.dispose();
    }
    x.grad?.dispose();
    x.grad = null;
    expect(tb.memory().numTensors).toBe(before);
  });
});
