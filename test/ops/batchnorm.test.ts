import { afterEach, describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { batchNorm, type BatchNormOptions, type BatchNormParams } from '../../lib/ops/batchnorm.js';
import { checkOp, expectOpError, makeInputs, type InputSpec, type Ref } from '../helpers/opcheck.js';

// ---- float64 references ----

interface Layout {
  outer: number;
  c: number;
  inner: number;
}

function layoutOf(shape: number[], axis: number): Layout {
  const a = axis < 0 ? axis + shape.length : axis;
  const outer = shape.slice(0, a).reduce((p, d) => p * d, 1);
  const inner = shape.slice(a + 1).reduce((p, d) => p * d, 1);
  return { outer, c: shape[a]!, inner };
}

/** Per-channel mean and biased variance of x (outer, c, inner). */
function batchStats(x: Ref, l: Layout): { mean: Float64Array; variance: Float64Array } {
  const mean = new Float64Array(l.c);
  const variance = new Float64Array(l.c);
  const m = l.outer * l.inner;
  for (let c = 0; c < l.c; c++) {
    let s = 0;
    for (let o = 0; o < l.outer; o++) for (let i = 0; i < l.inner; i++) s += x.data[(o * l.c + c) * l.inner + i]!;
    const mu = s / m;
    let v = 0;
    for (let o = 0; o < l.outer; o++)
      for (let i = 0; i < l.inner; i++) v += (x.data[(o * l.c + c) * l.inner + i]! - mu) ** 2;
    mean[c] = mu;
    variance[c] = v / m;
  }
  return { mean, variance };
}

/** The whole function of x: in training the statistics are recomputed from x (so FD goes through them). */
function refBatchNorm(x: Ref, gamma: Ref | null, beta: Ref | null, rm: Ref, rv: Ref, training: boolean, eps: number, axis: number): Ref {
  const l = layoutOf(x.shape, axis);
  const { mean, variance } = training ? batchStats(x, l) : { mean: rm.data, variance: rv.data };
  const out = new Float64Array(x.data.length);
  for (let o = 0; o < l.outer; o++)
    for (let c = 0; c < l.c; c++) {
      const k = (gamma ? gamma.data[c]! : 1) / Math.sqrt(variance[c]! + eps);
      const b = beta ? beta.data[c]! : 0;
      for (let i = 0; i < l.inner; i++) {
        const j = (o * l.c + c) * l.inner + i;
        out[j] = (x.data[j]! - mean[c]!) * k + b;
      }
    }
  return { shape: x.shape.slice(), data: out };
}

const pos = (_i: number, rnd: () => number) => 0.3 + rnd() * 1.5; // running variances

// ---- forward + finite-difference gradients ----

interface Case {
  name: string;
  shape: number[];
  axis: number;
  affine?: boolean;
  xGrad?: boolean;
  eps?: number;
}

const cases: Case[] = [
  { name: '(N, C)', shape: [6, 4], axis: -1 },
  { name: '(N, C) axis 1', shape: [5, 3], axis: 1 },
  { name: 'NCHW', shape: [2, 3, 4, 5], axis: 1 },
  { name: 'NHWC', shape: [2, 4, 5, 3], axis: -1 },
  { name: 'odd (N, C, L)', shape: [3, 5, 7], axis: 1 },
  { name: 'odd NCHW', shape: [3, 7, 3, 1], axis: 1 },
  { name: 'N=1 NCHW', shape: [1, 3, 4, 4], axis: 1 },
  { name: 'N=1 NHWC', shape: [1, 3, 5, 2], axis: 3 },
  { name: 'C=1', shape: [4, 1, 3], axis: 1 },
  { name: 'no gamma/beta', shape: [3, 4, 2], axis: 1, affine: false },
  { name: 'x without grad (dgamma/dbeta only)', shape: [5, 4], axis: -1, xGrad: false },
  { name: 'eps 0.5', shape: [4, 3], axis: -1, eps: 0.5 },
];

function runCase(k: Case, training: boolean): void {
  const { shape, axis } = k;
  const c = shape[axis < 0 ? axis + shape.length : axis]!;
  const affine = k.affine !== false;
  const eps = k.eps ?? 1e-5;
  const inputs: InputSpec[] = [{ shape, grad: k.xGrad !== false }];
  if (affine) inputs.push({ shape: [c] }, { shape: [c] });
  inputs.push({ shape: [c], grad: false }, { shape: [c], gen: pos, grad: false });
  checkOp({
    name: `batchNorm ${k.name} ${training ? 'training' : 'eval'}`,
    inputs,
    fn: (...t) => {
      const [x, gamma, beta, rm, rv] = affine ? t : [t[0]!, null, null, t[1]!, t[2]!];
      return batchNorm(x!, { gamma, beta, runningMean: rm!, runningVar: rv! }, { training, axis, eps });
    },
    ref: (...r) => {
      const [x, gamma, beta, rm, rv] = affine ? r : [r[0]!, null, null, r[1]!, r[2]!];
      return refBatchNorm(x!, gamma, beta, rm!, rv!, training, eps, axis);
    },
    atol: 2e-5,
    gradTol: 3e-3,
  });
}

describe('batchNorm', () => {
  afterEach(() => tb.setNumThreads(tb.backendInfo().threads));

  for (const k of cases) {
    it(`${k.name} ${JSON.stringify(k.shape)} training`, () => runCase(k, true));
    it(`${k.name} ${JSON.stringify(k.shape)} eval`, () => runCase(k, false));
  }

  it('keeps precision when |mean| >> std', () => {
    checkOp({
      name: 'batchNorm offset',
      inputs: [{ shape: [64, 3], gen: (i, rnd) => 1000 + (i % 3) * 500 + rnd() * 2 - 1 }, { shape: [3], grad: false }, { shape: [3], gen: pos, grad: false }],
      fn: (x, rm, rv) => batchNorm(x, { gamma: null, beta: null, runningMean: rm, runningVar: rv }, { training: true }),
      ref: (x, rm, rv) => refBatchNorm(x, null, null, rm, rv, true, 1e-5, -1),
      atol: 2e-4,
      noGrad: true,
    });
  });

  it('running statistics after two training steps match PyTorch\'s update', () => {
    const shape = [3, 4, 2, 3];
    const axis = 1;
    const momentum = 0.3;
    const [x1, x2, g, b] = makeInputs([{ shape }, { shape, gen: (_i, r) => 2 + 3 * r() }, { shape: [4] }, { shape: [4] }], 5);
    const rm = tb.zeros([4]);
    const rv = tb.ones([4]);
    const params = { gamma: tb.tensor(Float32Array.from(g!.data)), beta: tb.tensor(Float32Array.from(b!.data)), runningMean: rm, runningVar: rv };
    const expMean = new Float64Array(4);
    const expVar = new Float64Array(4).fill(1);
    const m = 3 * 2 * 3;
    for (const x of [x1!, x2!]) {
      const y = batchNorm(tb.tensor(Float32Array.from(x.data), shape), params, { training: true, momentum, axis });
      y.dispose();
      const s = batchStats(x, layoutOf(shape, axis));
      for (let c = 0; c < 4; c++) {
        expMean[c] = (1 - momentum) * expMean[c]! + momentum * s.mean[c]!;
        expVar[c] = (1 - momentum) * expVar[c]! + momentum * s.variance[c]! * m / (m - 1);
      }
    }
    const gotMean = rm.dataSync();
    const gotVar = rv.dataSync();
    for (let c = 0; c < 4; c++) {
      expect(gotMean[c]).toBeCloseTo(expMean[c]!, 5);
      expect(gotVar[c]).toBeCloseTo(expVar[c]!, 5);
    }
    // Eval leaves them alone; the default momentum is 0.1; momentum 1 copies the batch statistics.
    batchNorm(tb.tensor(Float32Array.from(x1!.data), shape), params, { training: false, axis }).dispose();
    expect(rm.dataSync()).toEqual(gotMean);
    expect(rv.dataSync()).toEqual(gotVar);
    const s1 = batchStats(x1!, layoutOf(shape, axis));
    tb.noGrad(() => batchNorm(tb.tensor(Float32Array.from(x1!.data), shape), params, { training: true, axis }).dispose());
    for (let c = 0; c < 4; c++) expect(rm.dataSync()[c]).toBeCloseTo(0.9 * gotMean[c]! + 0.1 * s1.mean[c]!, 5);
    batchNorm(tb.tensor(Float32Array.from(x1!.data), shape), params, { training: true, axis, momentum: 1 }).dispose();
    for (let c = 0; c < 4; c++) {
      expect(rm.dataSync()[c]).toBeCloseTo(s1.mean[c]!, 5);
      expect(rv.dataSync()[c]).toBeCloseTo(s1.variance[c]! * m / (m - 1), 5);
    }
  });

  it('an empty batch gives an empty output and leaves the running statistics alone', () => {
    const rm = tb.tensor([1, 2, 3]);
    const rv = tb.tensor([4, 5, 6]);
    const y = batchNorm(tb.zeros([0, 3]), { gamma: null, beta: null, runningMean: rm, runningVar: rv }, { training: true });
    expect(y.shape).toEqual([0, 3]);
    expect(Array.from(rm.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(rv.dataSync())).toEqual([4, 5, 6]);
  });

  it('large inputs: gradients match the analytic reference, bit-identical on any thread count', () => {
    // Big enough for the chunked parallel accumulation (65536 values, NCHW and NHWC).
    for (const [shape, axis] of [[[16, 16, 16, 16], 1], [[16, 16, 16, 16], -1]] as [number[], number][]) {
      const c = 16;
      const [xr, gr, br, dyr] = makeInputs([{ shape, gen: (_i, r) => 3 + 2 * r() }, { shape: [c] }, { shape: [c] }, { shape }], 9);
      const run = (threads: number) => {
        tb.setNumThreads(threads);
        const x = tb.tensor(Float32Array.from(xr!.data), shape).requiresGrad_();
        const gamma = tb.tensor(Float32Array.from(gr!.data)).requiresGrad_();
        const beta = tb.tensor(Float32Array.from(br!.data)).requiresGrad_();
        const rm = tb.zeros([c]);
        const rv = tb.ones([c]);
        const y = batchNorm(x, { gamma, beta, runningMean: rm, runningVar: rv }, { training: true, axis });
        const dy = tb.tensor(Float32Array.from(dyr!.data), shape);
        y.backward(dy);
        const out = [y, x.grad!, gamma.grad!, beta.grad!, rm, rv].map((t) => t.dataSync() as Float32Array);
        for (const t of [x, gamma, beta, rm, rv, y, dy]) t.dispose();
        return out;
      };
      const one = run(1);
      const three = run(3);
      for (let k = 0; k < one.length; k++)
        for (let i = 0; i < one[k]!.length; i++)
          if (!Object.is(one[k]![i], three[k]![i])) throw new Error(`output ${k}[${i}] differs between 1 and 3 threads`);
      // Analytic float64 gradients: dx = g*invstd*(dy - mean(dy) - xhat*mean(dy*xhat)).
      const l = layoutOf(shape, axis);
      const { mean, variance } = batchStats(xr!, l);
      const m = l.outer * l.inner;
      const sdy = new Float64Array(c), sdyx = new Float64Array(c);
      const at = (o: number, ch: number, i: number) => (o * c + ch) * l.inner + i;
      for (let o = 0; o < l.outer; o++)
        for (let ch = 0; ch < c; ch++)
          for (let i = 0; i < l.inner; i++) {
            const j = at(o, ch, i);
            sdy[ch] += dyr!.data[j]!;
            sdyx[ch] += dyr!.data[j]! * (xr!.data[j]! - mean[ch]!) / Math.sqrt(variance[ch]! + 1e-5);
          }
      for (let ch = 0; ch < c; ch++) {
        expect(Math.abs(one[3]![ch]! - sdy[ch]!)).toBeLessThan(1e-3);
        expect(Math.abs(one[2]![ch]! - sdyx[ch]!)).toBeLessThan(1e-3);
      }
      for (let o = 0; o < l.outer; o++)
        for (let ch = 0; ch < c; ch++)
          for (let i = 0; i < l.inner; i++) {
            const j = at(o, ch, i);
            const is = 1 / Math.sqrt(variance[ch]! + 1e-5);
            const xhat = (xr!.data[j]! - mean[ch]!) * is;
            const e = gr!.data[ch]! * is * (dyr!.data[j]! - sdy[ch]! / m - xhat * sdyx[ch]! / m);
            if (!(Math.abs(one[1]![j]! - e) < 1e-4)) throw new Error(`dx[${j}] = ${one[1]![j]}, expected ${e}`);
          }
    }
  });

  it('frees its saved statistics after backward', () => {
    const x = tb.randn([4, 3], 0, 1, { seed: 2 }).requiresGrad_();
    const rm = tb.zeros([3]);
    const rv = tb.ones([3]);
    const dy = tb.ones([4, 3]);
    const before = tb.memory().numTensors;
    const y = batchNorm(x, { gamma: null, beta: null, runningMean: rm, runningVar: rv }, { training: true });
    y.backward(dy);
    y.dispose();
    x.grad!.dispose();
    x.grad = null;
    expect(tb.memory().numTensors).toBe(before);
  });

  it('rejects bad shapes, types and options', () => {
    const op = 'batchNorm';
    const x = tb.zeros([4, 3, 2, 2]);
    const ok = () => ({ gamma: tb.ones([3]), beta: tb.zeros([3]), runningMean: tb.zeros([3]), runningVar: tb.ones([3]) });
    const nchw = { training: true, axis: 1 };
    expectOpError(() => batchNorm(x, ok(), { training: true }), op, /gamma has shape \[3\], expected \[2\].*axis 3.*\[4,3,2,2\]/);
    expectOpError(() => batchNorm(x, { ...ok(), beta: tb.zeros([4]) }, nchw), op, /beta has shape \[4\], expected \[3\]/);
    expectOpError(() => batchNorm(x, { ...ok(), runningMean: tb.zeros([3, 1]) }, nchw), op, /runningMean has shape \[3,1\]/);
    expectOpError(() => batchNorm(x, { ...ok(), runningVar: undefined as unknown as tb.Tensor }, nchw), op, /runningVar must be a Tensor/);
    expectOpError(() => batchNorm(x, { ...ok(), runningVar: tb.ones([3], 'int32') }, nchw), op, /runningVar must be float32/);
    expectOpError(() => batchNorm(tb.zeros([4, 3], 'int32'), ok(), { training: true }), op, /x must be float32.*\[4,3\]/);
    expectOpError(() => batchNorm(tb.zeros([3]), ok(), { training: true }), op, /rank >= 2.*\[3\]/);
    expectOpError(() => batchNorm('x' as unknown as tb.Tensor, ok(), nchw), op, /Tensor/);
    expectOpError(() => batchNorm(x, null as unknown as BatchNormParams, nchw), op, /params/);
    expectOpError(() => batchNorm(x, ok(), { axis: 1 } as BatchNormOptions), op, /training must be a boolean/);
    expectOpError(() => batchNorm(x, ok(), { ...nchw, momentum: 1.5 }), op, /momentum/);
    expectOpError(() => batchNorm(x, ok(), { ...nchw, eps: 0 }), op, /eps/);
    expectOpError(() => batchNorm(x, ok(), { ...nchw, eps: NaN }), op, /eps/);
    expectOpError(() => batchNorm(x, ok(), { training: true, axis: 4 }), op, /axis 4 is out of range/);
    expectOpError(() => batchNorm(tb.zeros([1, 3]), ok(), { training: true }), op, /more than one value per channel.*\[1,3\]/);
    expectOpError(() => batchNorm(tb.zeros([1, 3, 1, 1]), ok(), nchw), op, /more than one value per channel/);
    expectOpError(() => batchNorm(x, { ...ok(), runningVar: tb.tensor([1, -1, 1]) }, { training: false, axis: 1 }), op,
      /runningVar\[1\].*\[4,3,2,2\]/);
    // N=1 is fine in eval mode.
    batchNorm(tb.zeros([1, 3]), ok(), { training: false }).dispose();
  });
});
