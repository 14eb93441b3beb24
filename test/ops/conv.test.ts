import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { conv2d, conv2dOutputShape, convOutputSize, type Conv2dOptions } from '../../lib/ops/conv.js';
import { backends, checkOp, expectOpError, makeInputs, withBackend, type Ref } from '../helpers/opcheck.js';

type Fmt = 'NHWC' | 'NCHW';
type Pad = 'valid' | 'same' | number;

// TensorFlow's window arithmetic, written out independently of lib/ops/conv.ts.
function axis(inS: number, k: number, s: number, pad: Pad): [number, number] {
  if (pad === 'valid') return [Math.floor((inS - k) / s) + 1, 0];
  if (pad === 'same') {
    const out = Math.ceil(inS / s);
    return [out, Math.floor(Math.max((out - 1) * s + k - inS, 0) / 2)];
  }
  return [Math.floor((inS + 2 * pad - k) / s) + 1, pad];
}

interface Geo {
  n: number; c: number; h: number; w: number; oc: number; kh: number; kw: number;
  oh: number; ow: number; sh: number; sw: number; pt: number; pl: number; nhwc: boolean;
}

function geometry(xs: number[], ws: number[], fmt: Fmt, strides: [number, number], pad: [Pad, Pad]): Geo {
  const nhwc = fmt === 'NHWC';
  const [n, c, h, w] = nhwc ? [xs[0]!, xs[3]!, xs[1]!, xs[2]!] : [xs[0]!, xs[1]!, xs[2]!, xs[3]!];
  const [kh, kw, oc] = nhwc ? [ws[0]!, ws[1]!, ws[3]!] : [ws[2]!, ws[3]!, ws[0]!];
  const [oh, pt] = axis(h, kh, strides[0], pad[0]);
  const [ow, pl] = axis(w, kw, strides[1], pad[1]);
  return { n, c, h, w, oc, kh, kw, oh, ow, sh: strides[0], sw: strides[1], pt, pl, nhwc };
}

/**
 * Direct convolution in float64. Returns y; when dy is given also the exact gradients of
 * sum(dy * y) with respect to x, w and b.
 */
function naiveConv(g: Geo, x: Float64Array, w: Float64Array, b: Float64Array | null, dy?: Float64Array) {
  const { n, c, h, w: W, oc, kh, kw, oh, ow, sh, sw, pt, pl, nhwc } = g;
  const xi = (ni: number, ci: number, y: number, xx: number) => (nhwc ? ((ni * h + y) * W + xx) * c + ci : ((ni * c + ci) * h + y) * W + xx);
  const wi = (o: number, ci: number, ky: number, kx: number) => (nhwc ? ((ky * kw + kx) * c + ci) * oc + o : ((o * c + ci) * kh + ky) * kw + kx);
  const yi = (ni: number, o: number, y: number, xx: number) => (nhwc ? ((ni * oh + y) * ow + xx) * oc + o : ((ni * oc + o) * oh + y) * ow + xx);
  const y = new Float64Array(n * oc * oh * ow);
  const dx = new Float64Array(x.length), dw = new Float64Array(w.length), db = new Float64Array(oc);
  for (let ni = 0; ni < n; ni++)
    for (let o = 0; o < oc; o++)
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++) {
          let s = b ? b[o]! : 0;
          const g2 = dy ? dy[yi(ni, o, oy, ox)]! : 0;
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * sh - pt + ky;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * sw - pl + kx;
              if (ix < 0 || ix >= W) continue;
              for (let ci = 0; ci < c; ci++) {
                const a = xi(ni, ci, iy, ix), k = wi(o, ci, ky, kx);
                s += x[a]! * w[k]!;
                if (dy) {
                  dx[a] += g2 * w[k]!;
                  dw[k] += g2 * x[a]!;
                }
              }
            }
          }
          y[yi(ni, o, oy, ox)] = s;
          db[o] += g2;
        }
  return { y, dx, dw, db, shape: nhwc ? [n, oh, ow, oc] : [n, oc, oh, ow] };
}

interface Case {
  name: string;
  n: number; c: number; h: number; w: number; oc: number; kh: number; kw: number;
  strides?: number | [number, number];
  padding?: Pad | [number, number];
  bias?: boolean;
  xGrad?: boolean;
  wGrad?: boolean;
}

const cases: Case[] = [
  { name: '3x3 valid', n: 2, c: 2, h: 5, w: 5, oc: 3, kh: 3, kw: 3, bias: true },
  { name: '3x3 same', n: 2, c: 2, h: 5, w: 5, oc: 3, kh: 3, kw: 3, padding: 'same', bias: true },
  { name: 'stride 2 valid, odd non-square image', n: 2, c: 2, h: 7, w: 5, oc: 3, kh: 3, kw: 3, strides: 2, bias: true },
  { name: 'stride 2 same, padding extra at the bottom', n: 2, c: 2, h: 6, w: 5, oc: 2, kh: 3, kw: 3, strides: 2, padding: 'same' },
  { name: 'integer padding 1', n: 2, c: 2, h: 5, w: 4, oc: 3, kh: 3, kw: 3, padding: 1, bias: true },
  { name: 'padding [1, 0], 3x2 kernel', n: 1, c: 3, h: 4, w: 5, oc: 2, kh: 3, kw: 2, padding: [1, 0], bias: true },
  { name: 'strides [2, 1], padding [2, 1], 5x3 kernel', n: 2, c: 2, h: 6, w: 5, oc: 2, kh: 5, kw: 3, strides: [2, 1], padding: [2, 1] },
  { name: '1x1 kernel (no im2col)', n: 2, c: 3, h: 4, w: 3, oc: 4, kh: 1, kw: 1, bias: true },
  { name: '1x1 kernel, stride 2', n: 2, c: 3, h: 5, w: 4, oc: 2, kh: 1, kw: 1, strides: 2 },
  { name: 'C=1, OC=1, N=1', n: 1, c: 1, h: 5, w: 6, oc: 1, kh: 3, kw: 2, bias: true },
  { name: 'N=3, same, 2x2 kernel', n: 3, c: 2, h: 4, w: 4, oc: 2, kh: 2, kw: 2, padding: 'same', bias: true },
  { name: 'kernel covers the image', n: 2, c: 2, h: 3, w: 4, oc: 2, kh: 3, kw: 4, bias: true },
  { name: 'same, kernel larger than the image', n: 1, c: 2, h: 2, w: 2, oc: 2, kh: 3, kw: 3, padding: 'same' },
  { name: 'stride 3 leaves input rows unused', n: 1, c: 2, h: 7, w: 8, oc: 2, kh: 2, kw: 2, strides: 3 },
  { name: 'x without grad', n: 2, c: 2, h: 4, w: 4, oc: 2, kh: 3, kw: 3, bias: true, xGrad: false },
  { name: 'weight without grad', n: 2, c: 2, h: 4, w: 4, oc: 2, kh: 3, kw: 3, bias: true, wGrad: false },
  { name: 'empty batch', n: 0, c: 2, h: 4, w: 4, oc: 2, kh: 3, kw: 3, bias: true },
  // channels in whole vectors and an even output: the AVX-512 set's Winograd path, forward and input gradient
  { name: 'Winograd F(2x2, 3x3): 32 -> 32 channels, same, 2x2', n: 1, c: 32, h: 2, w: 2, oc: 32, kh: 3, kw: 3, padding: 'same', bias: true },
];

function shapesFor(k: Case, fmt: Fmt): [number[], number[]] {
  return fmt === 'NHWC'
    ? [[k.n, k.h, k.w, k.c], [k.kh, k.kw, k.c, k.oc]]
    : [[k.n, k.c, k.h, k.w], [k.oc, k.c, k.kh, k.kw]];
}

function pairOf<T>(v: T | [T, T] | undefined, dflt: T): [T, T] {
  if (v === undefined) return [dflt, dflt];
  return Array.isArray(v) ? v : [v, v];
}

describe('conv2d forward and gradients', () => {
  for (const fmt of ['NHWC', 'NCHW'] as const)
    for (const k of cases) {
      it(`${fmt} ${k.name}`, () => {
        const [xs, ws] = shapesFor(k, fmt);
        const opts: Conv2dOptions = { strides: k.strides, padding: k.padding, dataFormat: fmt };
        const geo = geometry(xs, ws, fmt, pairOf(k.strides, 1), pairOf<Pad>(k.padding as Pad | [Pad, Pad], 'valid'));
        const inputs = [{ shape: xs, grad: k.xGrad }, { shape: ws, grad: k.wGrad }];
        if (k.bias) inputs.push({ shape: [k.oc], grad: undefined });
        checkOp({
          name: `conv2d ${fmt} ${k.name}`,
          inputs,
          fn: (x, w, b) => conv2d(x, w, b ?? null, opts),
          ref: (x, w, b) => {
            const r = naiveConv(geo, x.data, w.data, b ? b.data : null);
            return { shape: r.shape, data: r.y };
          },
          atol: 1e-5,
        });
      });
    }
});

describe('conv2d at scale', () => {
  function compare(got: ArrayLike<number>, want: Float64Array, tol: number, what: string): void {
    expect(got.length, what).toBe(want.length);
    let scale = 1;
    for (const v of want) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < want.length; i++)
      if (!(Math.abs(got[i]! - want[i]!) <= tol * scale)) throw new Error(`${what}[${i}]: got ${got[i]}, expected ${want[i]}`);
  }

  // Large enough that the column buffer is filled in several chunks: NHWC chunks cross image
  // boundaries, NCHW chunks split one image's output positions.
  for (const [fmt, n, h, w, pad] of [['NHWC', 6, 16, 16, 'same'], ['NCHW', 2, 32, 31, 'same'], ['NHWC', 3, 33, 30, 'valid']] as const) {
    it(`${fmt} gradients match the direct reference when chunked (${n}x${h}x${w}, C=64)`, () => {
      const c = 64, oc = 4, kh = 3, kw = 3;
      const [xs, ws] = shapesFor({ name: '', n, c, h, w, oc, kh, kw }, fmt);
      const geo = geometry(xs, ws, fmt, [1, 1], [pad, pad]);
      const [xr, wr, br] = makeInputs([{ shape: xs }, { shape: ws }, { shape: [oc] }], 7) as [Ref, Ref, Ref];
      const ySize = geo.n * geo.oc * geo.oh * geo.ow;
      const dyr = makeInputs([{ shape: [ySize] }], 8)[0]!;
      const want = naiveConv(geo, xr.data, wr.data, br.data, dyr.data);
      for (const be of backends({ large: true }))
        withBackend(be, () => {
          const x = tb.tensor(Float32Array.from(xr.data), xs);
          const wt = tb.tensor(Float32Array.from(wr.data), ws);
          const b = tb.tensor(Float32Array.from(br.data), [oc]);
          for (const t of [x, wt, b]) t.requiresGrad = true;
          const y = conv2d(x, wt, b, { padding: pad, dataFormat: fmt });
          compare(y.dataSync(), want.y, 1e-5, `${be} y`);
          y.backward(tb.tensor(Float32Array.from(dyr.data), y.shape.slice()));
          compare(x.grad!.dataSync(), want.dx, 1e-5, `${be} dx`);
          compare(wt.grad!.dataSync(), want.dw, 1e-5, `${be} dweight`);
          compare(b.grad!.dataSync(), want.db, 1e-5, `${be} dbias`);
          for (const t of [x, wt, b, y]) t.dispose();
        });
    });
  }

  for (const fmt of ['NHWC', 'NCHW'] as const) {
    it(`${fmt} MNIST CNN shapes (8x28x28x1 -> 32 3x3 -> 64 3x3) match the reference`, () => {
      const xs = fmt === 'NHWC' ? [8, 28, 28, 1] : [8, 1, 28, 28];
      const w1 = fmt === 'NHWC' ? [3, 3, 1, 32] : [32, 1, 3, 3];
      const w2 = fmt === 'NHWC' ? [3, 3, 32, 64] : [64, 32, 3, 3];
      const g1 = geometry(xs, w1, fmt, [1, 1], ['valid', 'valid']);
      const mid = fmt === 'NHWC' ? [8, 26, 26, 32] : [8, 32, 26, 26];
      const g2 = geometry(mid, w2, fmt, [1, 1], ['valid', 'valid']);
      checkOp({
        name: `conv2d ${fmt} MNIST`,
        inputs: [{ shape: xs, grad: false }, { shape: w1, grad: false }, { shape: [32], grad: false },
          { shape: w2, grad: false }, { shape: [64], grad: false }],
        fn: (x, a, b, c, d) => conv2d(conv2d(x, a, b, { dataFormat: fmt }), c, d, { dataFormat: fmt }),
        ref: (x, a, b, c, d) => {
          const h = naiveConv(g1, x.data, a.data, b.data).y;
          const r = naiveConv(g2, h, c.data, d.data);
          return { shape: r.shape, data: r.y };
        },
        atol: 1e-4,
        rtol: 1e-4,
        noGrad: true,
        large: true,
      });
    });
  }
});

describe('conv2d shapes and errors', () => {
  it('convOutputSize follows TensorFlow and PyTorch', () => {
    expect(convOutputSize(28, 3)).toBe(26);
    expect(convOutputSize(28, 3, 1, 'same')).toBe(28);
    expect(convOutputSize(5, 3, 2, 'same')).toBe(3);
    expect(convOutputSize(6, 3, 2, 'same')).toBe(3);
    expect(convOutputSize(7, 3, 2, 1)).toBe(4);
    expect(convOutputSize(8, 3, 2, 'valid')).toBe(3);
    expect(convOutputSize(2, 3)).toBe(0);
    expectOpError(() => convOutputSize(5, 0), 'convOutputSize', /kernel/);
    expectOpError(() => convOutputSize(5, 3, 0), 'convOutputSize', /stride/);
    expectOpError(() => convOutputSize(5, 3, 1, 'full' as 'same'), 'convOutputSize', /padding/);
    expectOpError(() => convOutputSize(5, 3, 1, 3), 'convOutputSize', /smaller than the kernel/);
  });

  it('conv2dOutputShape', () => {
    expect(conv2dOutputShape([8, 28, 28, 1], [3, 3, 1, 32])).toEqual([8, 26, 26, 32]);
    expect(conv2dOutputShape([2, 3, 9, 7], [5, 3, 3, 3], { dataFormat: 'NCHW', strides: 2, padding: 'same' })).toEqual([2, 5, 5, 4]);
  });

  it('padding zeros: a one-pixel image with same padding sees only the kernel center', () => {
    const x = tb.tensor([2], [1, 1, 1, 1]);
    const w = tb.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [3, 3, 1, 1]);
    expect(conv2d(x, w, tb.tensor([0.5]), { padding: 'same' }).arraySync()).toEqual([[[[10.5]]]]);
  });

  it('Tensor.conv2d method', () => {
    const x = tb.ones([1, 3, 3, 1]);
    expect(x.conv2d(tb.ones([2, 2, 1, 1])).arraySync()).toEqual([[[[4], [4]], [[4], [4]]]]);
  });

  it('rejects bad shapes, types and options', () => {
    const x = tb.zeros([2, 5, 5, 3]);
    const w = tb.zeros([3, 3, 3, 4]);
    expectOpError(() => conv2d(tb.zeros([5, 5, 3]), w), 'conv2d', /rank 4.*\[5,5,3\]/);
    expectOpError(() => conv2d(x, tb.zeros([3, 3, 4])), 'conv2d', /weight.*rank 4/);
    expectOpError(() => conv2d(x, tb.zeros([3, 3, 2, 4])), 'conv2d', /\[2,5,5,3\].*3 channels.*\[3,3,2,4\]/);
    expectOpError(() => conv2d(tb.zeros([2, 3, 5, 5]), tb.zeros([4, 2, 3, 3]), null, { dataFormat: 'NCHW' }), 'conv2d', /channels/);
    expectOpError(() => conv2d(x, w, tb.zeros([3])), 'conv2d', /bias.*\[4\].*\[3\]/);
    expectOpError(() => conv2d(tb.zeros([1, 2, 2, 3]), w), 'conv2d', /larger than the padded input/);
    expectOpError(() => conv2d(x, w, null, { strides: 0 }), 'conv2d', /strides/);
    expectOpError(() => conv2d(x, w, null, { strides: [1, 2, 3] as unknown as number }), 'conv2d', /strides/);
    expectOpError(() => conv2d(x, w, null, { padding: 'full' as 'same' }), 'conv2d', /padding/);
    expectOpError(() => conv2d(x, w, null, { padding: 3 }), 'conv2d', /smaller than the kernel/);
    expectOpError(() => conv2d(x, w, null, { padding: -1 }), 'conv2d', /padding/);
    expectOpError(() => conv2d(x, w, null, { dataFormat: 'CHWN' as 'NHWC' }), 'conv2d', /dataFormat/);
    expectOpError(() => conv2d(tb.zeros([2, 5, 5, 3], 'int32'), w), 'conv2d', /float32/);
    expectOpError(() => conv2d(x, tb.zeros([3, 3, 3, 4], 'int32')), 'conv2d', /float32/);
    expectOpError(() => conv2d([[1]] as unknown as tb.Tensor, w), 'conv2d', /Tensor/);
    expectOpError(() => conv2d(x, w, 3 as unknown as tb.Tensor), 'conv2d', /bias/);
    expectOpError(() => conv2d(tb.zeros([2, 5, 5, 0]), tb.zeros([3, 3, 0, 4])), 'conv2d', /non-zero/);
  });
});
