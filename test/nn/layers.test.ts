// PyTorch-style layers against plain float64 references: each layer's parameters are swapped for the
// checker's input tensors, so checkOp verifies the layer's forward and the gradients reaching them.
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { checkOp, expectOpError, refMatmul, refUnary, type Ref } from '../helpers/opcheck.js';

const { nn } = tb;

// ---- float64 references ----

function refLinear(x: Ref, w: Ref, b?: Ref): Ref {
  const y = refMatmul(x, w, false, true);
  const o = w.shape[0]!;
  if (b) for (let i = 0; i < y.data.length; i++) y.data[i]! += b.data[i % o]!;
  return y;
}

/** NCHW convolution, weight (OC, C, KH, KW), zero padding p each side, stride s. */
function refConv(x: Ref, w: Ref, b: Ref | null, s: [number, number], p: [number, number]): Ref {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [oc, , kh, kw] = w.shape as [number, number, number, number];
  const oh = Math.floor((h + 2 * p[0] - kh) / s[0]) + 1;
  const ow = Math.floor((wd + 2 * p[1] - kw) / s[1]) + 1;
  const out = new Float64Array(n * oc * oh * ow);
  for (let ni = 0; ni < n; ni++)
    for (let o = 0; o < oc; o++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          let acc = b ? b.data[o]! : 0;
          for (let ci = 0; ci < c; ci++)
            for (let u = 0; u < kh; u++)
              for (let v = 0; v < kw; v++) {
                const yy = i * s[0] - p[0] + u;
                const xx = j * s[1] - p[1] + v;
                if (yy < 0 || yy >= h || xx < 0 || xx >= wd) continue;
                acc += x.data[((ni * c + ci) * h + yy) * wd + xx]! * w.data[((o * c + ci) * kh + u) * kw + v]!;
              }
          out[((ni * oc + o) * oh + i) * ow + j] = acc;
        }
  return { shape: [n, oc, oh, ow], data: out };
}

/** NCHW pooling; padded cells are skipped (never the max, not counted in the mean). */
function refPool(x: Ref, k: number, s: number, p: number, kind: 'max' | 'avg'): Ref {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const oh = Math.floor((h + 2 * p - k) / s) + 1;
  const ow = Math.floor((w + 2 * p - k) / s) + 1;
  const out = new Float64Array(n * c * oh * ow);
  for (let nc = 0; nc < n * c; nc++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        let m = -Infinity, sum = 0, cnt = 0;
        for (let u = 0; u < k; u++)
          for (let v = 0; v < k; v++) {
            const yy = i * s - p + u, xx = j * s - p + v;
            if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
            const val = x.data[(nc * h + yy) * w + xx]!;
            m = Math.max(m, val);
            sum += val;
            cnt++;
          }
        out[(nc * oh + i) * ow + j] = kind === 'max' ? m : sum / cnt;
      }
  return { shape: [n, c, oh, ow], data: out };
}

/** Batch norm over axis 1 with batch statistics (biased variance), or with given running statistics. */
function refBatchNorm(x: Ref, g: Ref, b: Ref, eps: number, running?: { mean: number[]; var: number[] }): Ref {
  const [n, c] = x.shape as [number, number];
  const inner = x.shape.slice(2).reduce((a, d) => a * d, 1);
  const out = new Float64Array(x.data.length);
  for (let ch = 0; ch < c; ch++) {
    const idx: number[] = [];
    for (let ni = 0; ni < n; ni++) for (let k = 0; k < inner; k++) idx.push((ni * c + ch) * inner + k);
    let mu: number, v: number;
    if (running) {
      mu = running.mean[ch]!;
      v = running.var[ch]!;
    } else {
      mu = idx.reduce((a, i) => a + x.data[i]!, 0) / idx.length;
      v = idx.reduce((a, i) => a + (x.data[i]! - mu) ** 2, 0) / idx.length;
    }
    for (const i of idx) out[i] = ((x.data[i]! - mu) / Math.sqrt(v + eps)) * g.data[ch]! + b.data[ch]!;
  }
  return { shape: x.shape.slice(), data: out };
}

/** erf by its Taylor series (|x| <= 4 here): accurate to ~1e-12, and smooth for finite differences. */
function erf(x: number): number {
  let term = x, sum = x;
  for (let n = 1; n < 80; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

function refSoftmaxLast(x: Ref, log: boolean): Ref {
  const d = x.shape[x.shape.length - 1]!;
  const out = new Float64Array(x.data.length);
  for (let r = 0; r < x.data.length / d; r++) {
    let m = -Infinity;
    for (let j = 0; j < d; j++) m = Math.max(m, x.data[r * d + j]!);
    let s = 0;
    for (let j = 0; j < d; j++) s += Math.exp(x.data[r * d + j]! - m);
    for (let j = 0; j < d; j++) out[r * d + j] = log ? x.data[r * d + j]! - m - Math.log(s) : Math.exp(x.data[r * d + j]! - m) / s;
  }
  return { shape: x.shape.slice(), data: out };
}

/** Distinct values (a shuffled ramp), so max-pool windows have no ties within the FD step. */
const distinct = (i: number): number => (((i * 7919) % 1009) / 1009) * 4 - 2;

// ---- tests ----

describe('nn.Linear', () => {
  for (const bias of [true, false]) {
    it(`forward and gradients (bias ${bias}), 2-D and 3-D inputs`, () => {
      for (const xShape of [[5, 4], [2, 3, 4]]) {
        const layer = new nn.Linear(4, 3, { bias });
        checkOp({
          name: `Linear ${JSON.stringify(xShape)} bias ${bias}`,
          inputs: bias ? [{ shape: xShape }, { shape: [3, 4] }, { shape: [3] }] : [{ shape: xShape }, { shape: [3, 4] }],
          fn: (x, w, b) => {
            layer.weight = w!;
            if (bias) layer.bias = b!;
            return layer.forward(x!);
          },
          ref: (x, w, b) => refLinear(x!, w!, b),
        });
      }
    });
  }

  it('initializes weight and bias in U(-1/sqrt(in), 1/sqrt(in)) with the PyTorch shapes', () => {
    tb.setSeed(1);
    const l = new nn.Linear(100, 30);
    expect(l.weight.shape).toEqual([30, 100]);
    expect(l.bias!.shape).toEqual([30]);
    const w = l.weight.dataSync();
    const maxAbs = Array.from(w).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(maxAbs).toBeLessThanOrEqual(0.1);
    expect(maxAbs).toBeGreaterThan(0.09); // 3000 draws reach near the bound
    expect(new nn.Linear(3, 2, { bias: false }).bias).toBeNull();
  });

  it('rejects bad sizes and inputs naming the layer and shapes', () => {
    expectOpError(() => new nn.Linear(0, 3), 'Linear', /inFeatures/);
    expectOpError(() => new nn.Linear(3, 2.5), 'Linear', /outFeatures/);
    expectOpError(() => new nn.Linear(4, 3).forward(tb.zeros([2, 5])), 'Linear.forward', /\(\.\.\., 4\).*\[2,5\]/);
  });
});

describe('nn.Conv2d (NCHW)', () => {
  const cases: { k: number; stride: number | [number, number]; padding: number | [number, number]; shape: number[] }[] = [
    { k: 3, stride: 1, padding: 0, shape: [2, 2, 5, 6] },
    { k: 3, stride: 1, padding: 1, shape: [1, 2, 5, 5] },
    { k: 3, stride: 2, padding: 1, shape: [2, 3, 7, 6] },
    { k: 2, stride: [2, 1], padding: [1, 0], shape: [1, 1, 5, 4] },
  ];
  for (const c of cases) {
    it(`kernel ${c.k}, stride ${JSON.stringify(c.stride)}, padding ${JSON.stringify(c.padding)}`, () => {
      const cin = c.shape[1]!;
      const layer = new nn.Conv2d(cin, 4, c.k, { stride: c.stride, padding: c.padding });
      const s: [number, number] = Array.isArray(c.stride) ? c.stride : [c.stride, c.stride];
      const p: [number, number] = Array.isArray(c.padding) ? c.padding : [c.padding, c.padding];
      checkOp({
        name: `Conv2d ${JSON.stringify(c)}`,
        inputs: [{ shape: c.shape }, { shape: [4, cin, c.k, c.k] }, { shape: [4] }],
        fn: (x, w, b) => {
          layer.weight = w!;
          layer.bias = b!;
          return layer.forward(x!);
        },
        ref: (x, w, b) => refConv(x!, w!, b!, s, p),
        atol: 1e-5,
        rtol: 1e-4,
      });
    });
  }

  it('creates (OC, C, KH, KW) weights bounded by 1/sqrt(fanIn), and no bias when asked', () => {
    const c = new nn.Conv2d(3, 8, [3, 2], { bias: false });
    expect(c.weight.shape).toEqual([8, 3, 3, 2]);
    expect(c.bias).toBeNull();
    const bound = 1 / Math.sqrt(3 * 3 * 2);
    expect(c.weight.dataSync().every((v) => Math.abs(v) <= bound)).toBe(true);
    expect(c.numParameters()).toBe(8 * 3 * 3 * 2);
  });

  it('rejects NHWC-looking input and bad arguments', () => {
    expectOpError(() => new nn.Conv2d(3, 4, 3).forward(tb.zeros([1, 8, 8, 3])), 'Conv2d.forward', /\(N, 3, H, W\).*\[1,8,8,3\]/);
    expectOpError(() => new nn.Conv2d(3, 4, 0), 'Conv2d', /kernelSize/);
    expectOpError(() => new nn.Conv2d(3, 4, 3, { stride: 0 }), 'Conv2d', /stride/);
    expectOpError(() => new nn.Conv2d(3, 4, 3, { padding: -1 }), 'Conv2d', /padding/);
  });
});

describe('nn.MaxPool2d / nn.AvgPool2d (NCHW)', () => {
  const cases: [number, number | undefined, number, number[]][] = [
    [2, undefined, 0, [2, 3, 4, 6]],
    [3, 2, 1, [1, 2, 7, 5]],
    [3, 1, 0, [1, 1, 4, 4]],
  ];
  for (const [k, s, p, shape] of cases) {
    for (const kind of ['max', 'avg'] as const) {
      it(`${kind} kernel ${k} stride ${s ?? 'default'} padding ${p}`, () => {
        const layer = kind === 'max' ? new nn.MaxPool2d(k, s, p) : new nn.AvgPool2d(k, s, p);
        checkOp({
          name: `${kind}Pool ${k} ${s} ${p}`,
          inputs: [{ shape, gen: distinct }],
          fn: (x) => layer.forward(x!),
          ref: (x) => refPool(x!, k, s ?? k, p, kind),
        });
      });
    }
  }
  it('have no parameters', () => {
    expect(new nn.MaxPool2d(2).parameters()).toEqual([]);
    expect(new nn.AvgPool2d(2).parameters()).toEqual([]);
  });
});

describe('nn.Dropout', () => {
  it('is the identity in eval mode (and for p = 0)', () => {
    const d = new nn.Dropout(0.5).eval();
    const x = tb.randn([4, 5]);
    expect(d.forward(x)).toBe(x);
    expect(new nn.Dropout(0).forward(x)).toBe(x);
  });

  it('in training zeroes about p of the values, scales the rest by 1/(1-p), and the gradient follows the mask', () => {
    tb.setSeed(9);
    const p = 0.3;
    const d = new nn.Dropout(p);
    const x = tb.full([100, 100], 2).requiresGrad_();
    const y = d.forward(x);
    const v = y.dataSync();
    let zeros = 0;
    for (const e of v) {
      if (e === 0) zeros++;
      else expect(e).toBeCloseTo(2 / (1 - p), 5);
    }
    expect(zeros / v.length).toBeGreaterThan(p - 0.03);
    expect(zeros / v.length).toBeLessThan(p + 0.03);
    tb.sum(y).backward();
    const g = x.grad!.dataSync();
    for (let i = 0; i < v.length; i++) expect(g[i]).toBeCloseTo(v[i] === 0 ? 0 : 1 / (1 - p), 5);
  });

  it('rejects p outside [0, 1)', () => {
    expectOpError(() => new nn.Dropout(1), 'Dropout', /\[0, 1\)/);
    expectOpError(() => new nn.Dropout(-0.1), 'Dropout', /\[0, 1\)/);
  });
});

describe('nn.BatchNorm1d / nn.BatchNorm2d', () => {
  const eps = 1e-5;
  for (const [Cls, shape] of [[nn.BatchNorm1d, [6, 3]], [nn.BatchNorm1d, [4, 3, 5]], [nn.BatchNorm2d, [3, 2, 4, 3]]] as const) {
    it(`${Cls.name} ${JSON.stringify(shape)} training: batch statistics, gradients to x, weight and bias`, () => {
      const bn = new Cls(shape[1]);
      checkOp({
        name: `${Cls.name} ${JSON.stringify(shape)}`,
        inputs: [{ shape: shape.slice(), gen: (_, r) => r() * 4 - 1 }, { shape: [shape[1]], gen: (_, r) => 0.5 + r() }, { shape: [shape[1]] }],
        fn: (x, g, b) => {
          bn.weight = g!;
          bn.bias = b!;
          return bn.forward(x!);
        },
        ref: (x, g, b) => refBatchNorm(x!, g!, b!, eps),
        atol: 1e-4,
        rtol: 1e-3,
        gradTol: 5e-3,
      });
    });
  }

  it('updates running statistics in training (momentum 0.1, unbiased variance) and uses them in eval', () => {
    tb.setSeed(4);
    const bn = new nn.BatchNorm2d(2);
    const x = tb.randn([4, 2, 3, 3], 1.5, 2);
    const xd = x.dataSync();
    bn.forward(x);
    const sd = bn.stateDict();
    const rm = sd['runningMean']!.dataSync();
    const rv = sd['runningVar']!.dataSync();
    const inner = 9;
    const cnt = 4 * inner;
    const mean = [0, 0], varU = [0, 0];
    for (let ch = 0; ch < 2; ch++) {
      const vals: number[] = [];
      for (let n = 0; n < 4; n++) for (let k = 0; k < inner; k++) vals.push(xd[(n * 2 + ch) * inner + k]!);
      mean[ch] = vals.reduce((a, b) => a + b, 0) / cnt;
      varU[ch] = vals.reduce((a, b) => a + (b - mean[ch]!) ** 2, 0) / (cnt - 1);
      expect(rm[ch]).toBeCloseTo(0.1 * mean[ch]!, 5);
      expect(rv[ch]).toBeCloseTo(0.9 + 0.1 * varU[ch]!, 5);
    }
    // eval: a fixed affine map with the running statistics, and no further update
    bn.eval();
    const xe = tb.randn([2, 2, 3, 3]);
    const y = bn.forward(xe).dataSync();
    const e = refBatchNorm({ shape: [2, 2, 3, 3], data: Float64Array.from(xe.dataSync()) },
      { shape: [2], data: Float64Array.of(1, 1) }, { shape: [2], data: Float64Array.of(0, 0) }, eps,
      { mean: Array.from(rm), var: Array.from(rv) });
    for (let i = 0; i < y.length; i++) expect(y[i]).toBeCloseTo(e.data[i]!, 5);
    expect(Array.from(bn.stateDict()['runningMean']!.dataSync())).toEqual(Array.from(rm));
  });

  it('eval-mode gradients match finite differences', () => {
    const bn = new nn.BatchNorm1d(3, { momentum: 0.5 });
    bn.forward(tb.randn([8, 3], 2, 3)); // non-trivial running statistics
    bn.eval();
    const sd = bn.stateDict();
    const running = { mean: Array.from(sd['runningMean']!.dataSync()), var: Array.from(sd['runningVar']!.dataSync()) };
    checkOp({
      name: 'BatchNorm1d eval',
      inputs: [{ shape: [4, 3] }, { shape: [3] }, { shape: [3] }],
      fn: (x, g, b) => {
        bn.weight = g!;
        bn.bias = b!;
        return bn.forward(x!);
      },
      ref: (x, g, b) => refBatchNorm(x!, g!, b!, 1e-5, running),
    });
  });

  it('has weight, bias and two buffers; affine: false has no parameters', () => {
    expect(new nn.BatchNorm2d(5).namedParameters().map(([k]) => k)).toEqual(['weight', 'bias']);
    expect(Object.keys(new nn.BatchNorm2d(5).stateDict())).toEqual(['weight', 'bias', 'runningMean', 'runningVar']);
    expect(new nn.BatchNorm1d(5, { affine: false }).parameters()).toEqual([]);
  });

  it('rejects inputs of the wrong rank or channel count', () => {
    expectOpError(() => new nn.BatchNorm2d(3).forward(tb.zeros([2, 3, 4])), 'BatchNorm2d.forward', /rank 4 with 3 channels.*\[2,3,4\]/);
    expectOpError(() => new nn.BatchNorm1d(3).forward(tb.zeros([2, 4])), 'BatchNorm1d.forward', /3 channels.*\[2,4\]/);
  });
});

describe('nn.Flatten', () => {
  it('(N, C, H, W) -> (N, C*H*W), gradient reshaped back', () => {
    const f = new nn.Flatten();
    checkOp({
      name: 'Flatten',
      inputs: [{ shape: [2, 3, 2, 2] }],
      fn: (x) => f.forward(x!),
      ref: (x) => ({ shape: [2, 12], data: x!.data.slice() }),
    });
  });
});

describe('activation modules', () => {
  const sig = (v: number): number => 1 / (1 + Math.exp(-v));
  const cases: [string, () => tb.nn.Module, (r: Ref) => Ref][] = [
    ['ReLU', () => new nn.ReLU(), (r) => refUnary(r, (v) => Math.max(v, 0))],
    ['Sigmoid', () => new nn.Sigmoid(), (r) => refUnary(r, sig)],
    ['Tanh', () => new nn.Tanh(), (r) => refUnary(r, Math.tanh)],
    ['GELU', () => new nn.GELU(), (r) => refUnary(r, (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)))],
    ['ELU', () => new nn.ELU(), (r) => refUnary(r, (v) => (v > 0 ? v : Math.expm1(v)))],
    ['ELU(0.5)', () => new nn.ELU(0.5), (r) => refUnary(r, (v) => (v > 0 ? v : 0.5 * Math.expm1(v)))],
    // PyTorch's default negative slope is 0.01 (not tfjs's 0.2)
    ['LeakyReLU', () => new nn.LeakyReLU(), (r) => refUnary(r, (v) => (v > 0 ? v : 0.01 * v))],
    ['LeakyReLU(0.3)', () => new nn.LeakyReLU(0.3), (r) => refUnary(r, (v) => (v > 0 ? v : 0.3 * v))],
    ['Softplus', () => new nn.Softplus(), (r) => refUnary(r, (v) => Math.log1p(Math.exp(v)))],
    ['Softmax', () => new nn.Softmax(), (r) => refSoftmaxLast(r, false)],
    ['LogSoftmax', () => new nn.LogSoftmax(), (r) => refSoftmaxLast(r, true)],
  ];
  // Away from the kinks of ReLU/LeakyReLU/ELU so that finite differences are valid.
  const noKink = (_: number, r: () => number): number => { const v = r() * 4 - 2; return Math.abs(v) < 0.05 ? v + 0.1 : v; };
  for (const [name, make, ref] of cases) {
    it(name, () => {
      const m = make();
      expect(m.parameters()).toEqual([]);
      checkOp({ name, inputs: [{ shape: [3, 5], gen: noKink }], fn: (x) => m.forward(x!), ref: (x) => ref(x!) });
    });
  }

  it('Softmax(dim) and LogSoftmax(dim) act on the given axis', () => {
    const x = tb.randn([3, 4]);
    const a = new nn.Softmax(0).forward(x).dataSync();
    const colSums = [0, 0, 0, 0];
    for (let i = 0; i < 12; i++) colSums[i % 4]! += a[i]!;
    for (const s of colSums) expect(s).toBeCloseTo(1, 5);
    const l = new nn.LogSoftmax(0).forward(x).dataSync();
    for (let i = 0; i < 12; i++) expect(Math.exp(l[i]!)).toBeCloseTo(a[i]!, 5);
  });
});

describe('a small PyTorch-style network end to end', () => {
  it('Conv2d -> BatchNorm2d -> ReLU -> MaxPool2d -> Flatten -> Linear learns a toy task', () => {
    tb.setSeed(21);
    // class 1 when the top half of the 6x6 image is brighter than the bottom half
    const n = 64;
    const xs = new Float32Array(n * 36);
    const ys = new Int32Array(n);
    const rng = new tb.Random(5);
    for (let i = 0; i < n; i++) {
      ys[i] = i % 2;
      for (let k = 0; k < 36; k++) xs[i * 36 + k] = rng.normal() * 0.5 + ((k < 18) === (ys[i] === 1) ? 1 : 0);
    }
    const x = tb.tensor(xs, [n, 1, 6, 6]);
    const y = tb.tensor(ys, [n], 'int32');
    const net = new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(),
      new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(36, 2));
    const opt = new tb.optim.Adam(net.parameters(), { lr: 0.02 });
    const losses: number[] = [];
    for (let step = 0; step < 40; step++) {
      losses.push(tb.tidy(() => {
        opt.zeroGrad();
        const loss = nn.functional.crossEntropy(net.forward(x), y);
        loss.backward();
        opt.step();
        return loss.item();
      }));
    }
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! * 0.3);
    net.eval();
    const pred = tb.argMax(net.forward(x), 1).dataSync();
    let ok = 0;
    for (let i = 0; i < n; i++) if (pred[i] === ys[i]) ok++;
    expect(ok / n).toBeGreaterThan(0.9);
  });
});

describe('nn.Sequential fuses Linear/Conv2d + ReLU', () => {
  // The same network run module by module (a plain loop) and by Sequential (fused pairs): outputs
  // and every parameter's gradient must agree, and a subclass overriding forward is not fused.
  function pair(make: () => tb.nn.Module[], x: tb.Tensor): { out: Float32Array[]; grads: Float32Array[] }[] {
    return [false, true].map((viaSequential) => {
      tb.setSeed(3);
      const mods = make();
      const seq = new nn.Sequential(...mods);
      const y = viaSequential ? seq.forward(x) : mods.reduce((h, m) => m.forward(h), x);
      y.backward(tb.randn(y.shape.slice(), 0, 1, { seed: 9 }));
      const res = { out: [y.dataSync() as Float32Array], grads: seq.parameters().map((p) => p.grad!.dataSync() as Float32Array) };
      y.dispose();
      return res;
    });
  }
  const same = (a: Float32Array[], b: Float32Array[], what: string) => {
    expect(a.length).toBe(b.length);
    a.forEach((v, i) => {
      for (let j = 0; j < v.length; j++)
        if (!(Math.abs(v[j]! - b[i]![j]!) <= 1e-5 * (1 + Math.abs(b[i]![j]!)))) expect.fail(`${what} ${i}[${j}]: ${v[j]} vs ${b[i]![j]}`);
    });
  };

  it('a CNN (NCHW) and an MLP give the fused and unfused results', () => {
    const x = tb.randn([3, 2, 9, 8], 0, 1, { seed: 1 });
    const cnn = () => [new nn.Conv2d(2, 16, 3), new nn.ReLU(), new nn.Conv2d(16, 16, 3, { padding: 1 }), new nn.ReLU(),
      new nn.Flatten(), new nn.Linear(16 * 7 * 6, 20), new nn.ReLU(), new nn.Linear(20, 4)];
    const [plain, fused] = pair(cnn, x);
    same(fused!.out, plain!.out, 'output');
    same(fused!.grads, plain!.grads, 'gradient');
  });

  it('a subclass that overrides forward keeps its own forward', () => {
    class Doubled extends nn.Linear {
      override forward(x: tb.Tensor): tb.Tensor {
        return super.forward(x).mul(2);
      }
    }
    tb.setSeed(1);
    const lin = new Doubled(3, 2);
    const x = tb.tensor([[1, -2, 3]]);
    const want = tb.relu(lin.forward(x)).dataSync();
    expect(Array.from(new nn.Sequential(lin, new nn.ReLU()).forward(x).dataSync())).toEqual(Array.from(want));
  });
});
