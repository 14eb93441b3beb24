// Keras-style layers (tb.layers.*): output shapes, parameter counts and forward/backward against
// float64 references (NHWC images, kernels (KH, KW, C, F), TensorFlow's 'same' padding).
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { checkOp, expectOpError, refMatmul, type Ref } from '../helpers/opcheck.js';

const L = tb.layers;

/** Padding before, output size of one axis: TensorFlow's rule for 'same', none for 'valid'. */
function axisPlan(size: number, k: number, s: number, padding: 'valid' | 'same'): [number, number] {
  if (padding === 'valid') return [0, Math.floor((size - k) / s) + 1];
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + k - size, 0);
  return [Math.floor(total / 2), out];
}

/** NHWC convolution, kernel (KH, KW, C, F). */
function refConvNhwc(x: Ref, k: Ref, b: Ref | null, s: [number, number], padding: 'valid' | 'same'): Ref {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [kh, kw, , f] = k.shape as [number, number, number, number];
  const [ph, oh] = axisPlan(h, kh, s[0], padding);
  const [pw, ow] = axisPlan(w, kw, s[1], padding);
  const out = new Float64Array(n * oh * ow * f);
  for (let ni = 0; ni < n; ni++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let o = 0; o < f; o++) {
          let acc = b ? b.data[o]! : 0;
          for (let u = 0; u < kh; u++)
            for (let v = 0; v < kw; v++) {
              const yy = i * s[0] - ph + u, xx = j * s[1] - pw + v;
              if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
              for (let ci = 0; ci < c; ci++) acc += x.data[((ni * h + yy) * w + xx) * c + ci]! * k.data[((u * kw + v) * c + ci) * f + o]!;
            }
          out[((ni * oh + i) * ow + j) * f + o] = acc;
        }
  return { shape: [n, oh, ow, f], data: out };
}

function refPoolNhwc(x: Ref, k: number, s: number, padding: 'valid' | 'same', kind: 'max' | 'avg'): Ref {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [ph, oh] = axisPlan(h, k, s, padding);
  const [pw, ow] = axisPlan(w, k, s, padding);
  const out = new Float64Array(n * oh * ow * c);
  for (let ni = 0; ni < n; ni++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let ci = 0; ci < c; ci++) {
          let m = -Infinity, sum = 0, cnt = 0;
          for (let u = 0; u < k; u++)
            for (let v = 0; v < k; v++) {
              const yy = i * s - ph + u, xx = j * s - pw + v;
              if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
              const val = x.data[((ni * h + yy) * w + xx) * c + ci]!;
              m = Math.max(m, val);
              sum += val;
              cnt++;
            }
          out[((ni * oh + i) * ow + j) * c + ci] = kind === 'max' ? m : sum / cnt;
        }
  return { shape: [n, oh, ow, c], data: out };
}

const distinct = (i: number): number => (((i * 7919) % 1009) / 1009) * 4 - 2;
const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

describe('Dense', () => {
  for (const [activation, f] of [['linear', (v: number) => v], ['tanh', Math.tanh], ['sigmoid', sigmoid]] as const) {
    it(`forward and gradients, activation ${activation}`, () => {
      const d = L.dense({ units: 3, activation, inputShape: [4] });
      d.build([4]);
      checkOp({
        name: `Dense ${activation}`,
        inputs: [{ shape: [5, 4] }, { shape: [4, 3] }, { shape: [3] }],
        fn: (x, k, b) => {
          d.kernel = k!;
          d.bias = b!;
          return d.apply(x!);
        },
        ref: (x, k, b) => {
          const y = refMatmul(x!, k!);
          for (let i = 0; i < y.data.length; i++) y.data[i] = f(y.data[i]! + b!.data[i % 3]!);
          return y;
        },
      });
    });
  }

  it('builds lazily from its first input: kernel (in, units), zero bias, Glorot-uniform bound', () => {
    tb.setSeed(3);
    const d = L.dense({ units: 50 });
    expect(d.built).toBe(false);
    const y = d.apply(tb.ones([2, 30]));
    expect(y.shape).toEqual([2, 50]);
    expect(d.kernel!.shape).toEqual([30, 50]);
    expect(Array.from(d.bias!.dataSync()).every((v) => v === 0)).toBe(true);
    const limit = Math.sqrt(6 / 80);
    expect(d.kernel!.dataSync().every((v) => Math.abs(v) <= limit)).toBe(true);
    expect(d.countParams()).toBe(30 * 50 + 50);
    expect(L.dense({ units: 4, useBias: false, inputShape: [3] }).computeOutputShape([3])).toEqual([4]);
    expect(d.weightsWithNames().map(([k]) => k)).toEqual([`${d.name}/kernel`, `${d.name}/bias`]);
  });

  it('applies to the last axis of rank-3 input', () => {
    const d = L.dense({ units: 2 });
    expect(d.apply(tb.ones([4, 3, 5])).shape).toEqual([4, 3, 2]);
    expect(d.countParams()).toBe(12);
  });

  it('rejects bad arguments and a changed input shape, naming the layer', () => {
    expectOpError(() => L.dense({ units: 0, name: 'd0' }), 'd0', /units/);
    expectOpError(() => L.dense({ units: 2, activation: 'swish' as 'relu', name: 'dsw' }), 'dsw', /unknown activation 'swish'; valid names: .*'relu'/);
    const d = L.dense({ units: 2, name: 'dx' });
    d.apply(tb.ones([1, 3]));
    expectOpError(() => d.apply(tb.ones([1, 4])), 'dx', /\[null,3\].*\[1,4\]/);
  });
});

describe('Conv2D (NHWC)', () => {
  const cases: { k: number | [number, number]; s: number | [number, number]; padding: 'valid' | 'same'; shape: number[] }[] = [
    { k: 3, s: 1, padding: 'valid', shape: [2, 6, 5, 2] },
    { k: 3, s: 1, padding: 'same', shape: [1, 5, 5, 3] },
    { k: 3, s: 2, padding: 'same', shape: [2, 6, 7, 2] }, // even input: TF pads more after than before
    { k: [2, 3], s: [2, 1], padding: 'valid', shape: [1, 7, 6, 1] },
    { k: 2, s: 3, padding: 'same', shape: [1, 8, 8, 2] },
  ];
  for (const c of cases) {
    it(`kernel ${JSON.stringify(c.k)} strides ${JSON.stringify(c.s)} ${c.padding}`, () => {
      const [kh, kw] = Array.isArray(c.k) ? c.k : [c.k, c.k];
      const s: [number, number] = Array.isArray(c.s) ? c.s : [c.s, c.s];
      const cin = c.shape[3]!;
      const layer = L.conv2d({ filters: 4, kernelSize: c.k, strides: c.s, padding: c.padding, activation: 'relu' });
      const sample = c.shape.slice(1);
      const expectShape = refConvNhwc({ shape: c.shape, data: new Float64Array(c.shape.reduce((a, b) => a * b, 1)) },
        { shape: [kh, kw, cin, 4], data: new Float64Array(kh * kw * cin * 4) }, null, s, c.padding).shape;
      expect(layer.computeOutputShape(sample)).toEqual(expectShape.slice(1));
      layer.build(sample);
      expect(layer.kernel!.shape).toEqual([kh, kw, cin, 4]);
      expect(layer.countParams()).toBe(kh * kw * cin * 4 + 4);
      checkOp({
        name: `Conv2D ${JSON.stringify(c)}`,
        // values bounded away from 0 after the conv are not guaranteed, so check relu on a shifted bias
        inputs: [{ shape: c.shape }, { shape: [kh, kw, cin, 4] }, { shape: [4], gen: (i) => [3, -3, 2.5, 4][i]! }],
        fn: (x, k, b) => {
          layer.kernel = k!;
          layer.bias = b!;
          return layer.apply(x!);
        },
        ref: (x, k, b) => {
          const y = refConvNhwc(x!, k!, b!, s, c.padding);
          for (let i = 0; i < y.data.length; i++) y.data[i] = Math.max(0, y.data[i]!);
          return y;
        },
      });
    });
  }

  it('the MNIST CNN shapes: 28x28x1 -> 26x26x32 -> 24x24x64', () => {
    const a = L.conv2d({ filters: 32, kernelSize: 3, inputShape: [28, 28, 1] });
    const b = L.conv2d({ filters: 64, kernelSize: 3 });
    expect(a.computeOutputShape([28, 28, 1])).toEqual([26, 26, 32]);
    expect(b.computeOutputShape([26, 26, 32])).toEqual([24, 24, 64]);
    a.build([28, 28, 1]);
    b.build([26, 26, 32]);
    expect(a.countParams()).toBe(320);
    expect(b.countParams()).toBe(18496);
  });

  it('rejects a kernel larger than the input, NCHW requests and rank errors, naming the layer', () => {
    expectOpError(() => L.conv2d({ filters: 2, kernelSize: 5, name: 'c5' }).computeOutputShape([3, 3, 1]), 'c5', /5x5.*3x3/);
    expectOpError(() => L.conv2d({ filters: 2, kernelSize: 3, name: 'c3' }).apply(tb.ones([2, 8, 8])), 'c3', /\(batch, height, width, channels\)/);
    expectOpError(() => L.conv2d({ filters: 2, kernelSize: 3, name: 'cf', dataFormat: 'channelsFirst' as 'channelsLast' }), 'cf', /channelsLast/);
    expectOpError(() => L.conv2d({ filters: 2, kernelSize: 3, strides: 0, name: 'cs' }), 'cs', /strides/);
    expectOpError(() => L.conv2d({ filters: 2, kernelSize: 3, padding: 'full' as 'same', name: 'cp' }), 'cp', /padding/);
  });
});

describe('pooling layers', () => {
  const cases: [number, number | undefined, 'valid' | 'same', number[]][] = [
    [2, undefined, 'valid', [2, 6, 4, 3]],
    [2, undefined, 'same', [1, 5, 7, 2]],
    [3, 2, 'valid', [1, 7, 7, 2]],
    [3, 2, 'same', [2, 6, 5, 1]],
  ];
  for (const [k, s, padding, shape] of cases) {
    for (const kind of ['max', 'avg'] as const) {
      it(`${kind === 'max' ? 'MaxPooling2D' : 'AveragePooling2D'} pool ${k} strides ${s ?? k} ${padding}`, () => {
        const args = { poolSize: k, strides: s, padding };
        const layer = kind === 'max' ? L.maxPooling2d(args) : L.averagePooling2d(args);
        const ref = (x: Ref) => refPoolNhwc(x, k, s ?? k, padding, kind);
        expect(layer.computeOutputShape(shape.slice(1))).toEqual(ref({ shape, data: new Float64Array(shape.reduce((a, b) => a * b)) }).shape.slice(1));
        expect(layer.countParams()).toBe(0);
        checkOp({ name: `${kind} ${k} ${s} ${padding}`, inputs: [{ shape, gen: distinct }], fn: (x) => layer.apply(x!), ref: (x) => ref(x!) });
      });
    }
  }

  it('GlobalAveragePooling2D: (N, H, W, C) -> (N, C)', () => {
    const g = L.globalAveragePooling2d();
    expect(g.computeOutputShape([5, 4, 3])).toEqual([3]);
    checkOp({
      name: 'GlobalAveragePooling2D',
      inputs: [{ shape: [2, 3, 4, 5] }],
      fn: (x) => g.apply(x!),
      ref: (x) => {
        const out = new Float64Array(10);
        for (let i = 0; i < x!.data.length; i++) out[Math.floor(i / 60) * 5 + (i % 5)]! += x!.data[i]! / 12;
        return { shape: [2, 5], data: out };
      },
    });
    expectOpError(() => L.globalAveragePooling2d({ name: 'gap' }).computeOutputShape([4, 4]), 'gap', /\(batch, height, width, channels\)/);
  });

  it('reject a pool larger than the input, naming the layer', () => {
    expectOpError(() => L.maxPooling2d({ poolSize: 4, name: 'mp' }).computeOutputShape([3, 3, 1]), 'mp', /4x4.*3x3/);
  });
});

describe('shape layers', () => {
  it('Flatten: (N, ...) -> (N, prod), gradient reshaped back', () => {
    const f = L.flatten();
    expect(f.computeOutputShape([12, 12, 64])).toEqual([9216]);
    checkOp({ name: 'Flatten', inputs: [{ shape: [2, 3, 2, 2] }], fn: (x) => f.apply(x!), ref: (x) => ({ shape: [2, 12], data: x!.data.slice() }) });
  });

  it('Reshape: target shapes with and without -1', () => {
    expect(L.reshape({ targetShape: [4, 3] }).computeOutputShape([12])).toEqual([4, 3]);
    expect(L.reshape({ targetShape: [-1, 2] }).computeOutputShape([3, 4])).toEqual([6, 2]);
    const r = L.reshape({ targetShape: [2, -1, 1] });
    checkOp({ name: 'Reshape', inputs: [{ shape: [3, 6] }], fn: (x) => r.apply(x!), ref: (x) => ({ shape: [3, 2, 3, 1], data: x!.data.slice() }) });
    expectOpError(() => L.reshape({ targetShape: [5], name: 'rs' }).computeOutputShape([3, 4]), 'rs', /\[3,4\].*\[5\]/);
    expectOpError(() => L.reshape({ targetShape: [-1, 5], name: 'rs2' }).computeOutputShape([3, 4]), 'rs2', /\[3,4\].*\[-1,5\]/);
  });

  it('Activation applies the named function; unknown names list the valid ones', () => {
    const a = L.activation({ activation: 'relu' });
    expect(Array.from(a.apply(tb.tensor([[-1, 2]])).dataSync())).toEqual([0, 2]);
    const sm = L.activation({ activation: 'softmax' }).apply(tb.tensor([[1, 2, 3]])).dataSync();
    const e = [1, 2, 3].map((v) => Math.exp(v));
    const z = e[0]! + e[1]! + e[2]!;
    for (let i = 0; i < 3; i++) expect(sm[i]).toBeCloseTo(e[i]! / z, 6);
    expectOpError(() => L.activation({ activation: 'nope' as 'relu', name: 'act' }), 'act', /valid names: .*'relu'/);
  });
});

describe('Dropout', () => {
  it('is the identity at inference and drops at rate (scaled by 1/(1-rate)) in training', () => {
    tb.setSeed(2);
    const d = L.dropout({ rate: 0.4 });
    const x = tb.ones([50, 40]);
    expect(d.apply(x)).toBe(x);
    expect(d.apply(x, { training: false })).toBe(x);
    const v = d.apply(x, { training: true }).dataSync();
    const dropped = v.filter((e) => e === 0).length / v.length;
    expect(dropped).toBeGreaterThan(0.35);
    expect(dropped).toBeLessThan(0.45);
    expect(v.filter((e) => e !== 0).every((e) => Math.abs(e - 1 / 0.6) < 1e-6)).toBe(true);
    expect(d.countParams()).toBe(0);
    expectOpError(() => L.dropout({ rate: 1, name: 'dr' }), 'dr', /rate/);
  });

  it('a seeded dropout repeats under the same global seed', () => {
    const run = () => {
      tb.setSeed(8);
      return Array.from(L.dropout({ rate: 0.5, seed: 4 }).apply(tb.ones([10, 10]), { training: true }).dataSync());
    };
    expect(run()).toEqual(run());
  });
});

describe('BatchNormalization', () => {
  it('has 4 weights per channel (2 trainable), uses batch statistics in training and moving ones at inference', () => {
    const bn = L.batchNormalization({ momentum: 0.9, epsilon: 1e-3 });
    const x = tb.randn([8, 3, 3, 4], 2, 3, { seed: 6 });
    const y = bn.apply(x, { training: true });
    expect(bn.countParams()).toBe(16);
    expect(bn.parameters().length).toBe(2);
    expect(bn.weightsWithNames().map(([k]) => k.split('/')[1])).toEqual(['gamma', 'beta', 'moving_mean', 'moving_variance']);
    // training output: per channel (last axis) zero mean, unit variance
    const yd = y.dataSync();
    for (let ch = 0; ch < 4; ch++) {
      let m = 0, v = 0;
      const cnt = yd.length / 4;
      for (let i = ch; i < yd.length; i += 4) m += yd[i]!;
      m /= cnt;
      for (let i = ch; i < yd.length; i += 4) v += (yd[i]! - m) ** 2;
      v /= cnt;
      expect(m).toBeCloseTo(0, 4);
      expect(v).toBeCloseTo(1, 2); // eps 1e-3 against variance ~9
    }
    // moving mean moved by (1 - momentum) toward the batch mean
    const xd = x.dataSync();
    const mm = bn.stateDict()['movingMean']!.dataSync();
    for (let ch = 0; ch < 4; ch++) {
      let m = 0;
      for (let i = ch; i < xd.length; i += 4) m += xd[i]!;
      m /= xd.length / 4;
      expect(mm[ch]).toBeCloseTo(0.1 * m, 4);
    }
    // inference: (x - movingMean) / sqrt(movingVariance + eps)
    const mv = bn.stateDict()['movingVariance']!.dataSync();
    const xi = tb.randn([2, 3, 3, 4], 0, 1, { seed: 7 });
    const yi = bn.apply(xi).dataSync();
    const xid = xi.dataSync();
    for (let i = 0; i < yi.length; i++) expect(yi[i]).toBeCloseTo((xid[i]! - mm[i % 4]!) / Math.sqrt(mv[i % 4]! + 1e-3), 4);
  });

  it('normalizes axis 1 when asked; gradients match finite differences', () => {
    const bn = L.batchNormalization({ axis: 1 });
    bn.build([3, 2]);
    checkOp({
      name: 'BatchNormalization axis 1',
      inputs: [{ shape: [4, 3, 2], gen: (_, r) => r() * 4 }],
      fn: (x) => bn.apply(x!, { training: true }),
      ref: (x) => {
        const out = new Float64Array(24);
        for (let ch = 0; ch < 3; ch++) {
          const idx: number[] = [];
          for (let n = 0; n < 4; n++) for (let k = 0; k < 2; k++) idx.push(n * 6 + ch * 2 + k);
          const m = idx.reduce((a, i) => a + x!.data[i]!, 0) / 8;
          const v = idx.reduce((a, i) => a + (x!.data[i]! - m) ** 2, 0) / 8;
          for (const i of idx) out[i] = (x!.data[i]! - m) / Math.sqrt(v + 1e-3);
        }
        return { shape: [4, 3, 2], data: out };
      },
      atol: 1e-4,
      rtol: 1e-3,
      gradTol: 5e-3,
    });
    expectOpError(() => L.batchNormalization({ axis: 3, name: 'bn3' }).computeOutputShape([4, 4]), 'bn3', /axis 3/);
  });
});

describe('layer names', () => {
  it('are unique per kind unless given', () => {
    const a = L.dense({ units: 1 });
    const b = L.dense({ units: 1 });
    expect(a.name).not.toBe(b.name);
    expect(a.name).toMatch(/^dense/);
    expect(L.dense({ units: 1, name: 'mine' }).name).toBe('mine');
  });

  it('reject a bad inputShape', () => {
    expectOpError(() => L.dense({ units: 1, inputShape: [0], name: 'bad' }), 'bad', /inputShape/);
  });
});
