import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { avgPool2d, globalAvgPool2d, globalMaxPool2d, maxPool2d, type Pool2dOptions } from '../../lib/ops/pool.js';
import { backends, checkOp, expectOpError, mulberry, withBackend, type Ref } from '../helpers/opcheck.js';

type Fmt = 'NHWC' | 'NCHW';
type Pad = 'valid' | 'same' | number;

// TensorFlow's window arithmetic, written out independently of lib/ops.
function axis(inS: number, k: number, s: number, pad: Pad): [number, number] {
  if (pad === 'valid') return [Math.floor((inS - k) / s) + 1, 0];
  if (pad === 'same') {
    const out = Math.ceil(inS / s);
    return [out, Math.floor(Math.max((out - 1) * s + k - inS, 0) / 2)];
  }
  return [Math.floor((inS + 2 * pad - k) / s) + 1, pad];
}

/** Direct pooling in float64 over the window cells inside the input. */
function naivePool(kind: 'max' | 'avg', x: Ref, fmt: Fmt, k: [number, number], s: [number, number], pad: [Pad, Pad]): Ref {
  const nhwc = fmt === 'NHWC';
  const [n, c, h, w] = nhwc ? [x.shape[0]!, x.shape[3]!, x.shape[1]!, x.shape[2]!] : (x.shape as [number, number, number, number]);
  const [oh, pt] = axis(h, k[0], s[0], pad[0]);
  const [ow, pl] = axis(w, k[1], s[1], pad[1]);
  const xi = (ni: number, ci: number, y: number, xx: number) => (nhwc ? ((ni * h + y) * w + xx) * c + ci : ((ni * c + ci) * h + y) * w + xx);
  const shape = nhwc ? [n, oh, ow, c] : [n, c, oh, ow];
  const data = new Float64Array(n * c * oh * ow);
  for (let ni = 0; ni < n; ni++)
    for (let ci = 0; ci < c; ci++)
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++) {
          let acc = kind === 'max' ? -Infinity : 0;
          let count = 0;
          for (let iy = oy * s[0] - pt; iy < oy * s[0] - pt + k[0]; iy++)
            for (let ix = ox * s[1] - pl; ix < ox * s[1] - pl + k[1]; ix++) {
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              const v = x.data[xi(ni, ci, iy, ix)]!;
              acc = kind === 'max' ? Math.max(acc, v) : acc + v;
              count++;
            }
          const o = nhwc ? ((ni * oh + oy) * ow + ox) * c + ci : ((ni * c + ci) * oh + oy) * ow + ox;
          data[o] = kind === 'max' ? acc : acc / count;
        }
  return { shape, data };
}

/** Distinct values 0.05 apart in random order, so finite differences never cross a max. */
function distinct(size: number, seed: number): (i: number) => number {
  const rnd = mulberry(seed);
  const perm = Array.from({ length: size }, (_, i) => i);
  for (let i = size - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  return (i) => (perm[i]! - size / 2) * 0.05;
}

interface Case {
  name: string;
  n: number; c: number; h: number; w: number;
  pool: number | [number, number];
  strides?: number | [number, number];
  padding?: Pad;
}

const cases: Case[] = [
  { name: '2x2', n: 2, c: 2, h: 4, w: 4, pool: 2 },
  { name: '2x2 on odd 5x7 drops the last row and column', n: 2, c: 2, h: 5, w: 7, pool: 2 },
  { name: '3x3 stride 2 overlapping', n: 2, c: 2, h: 7, w: 6, pool: 3, strides: 2 },
  { name: '2x2 same (stride 2) on 5x5', n: 2, c: 3, h: 5, w: 5, pool: 2, padding: 'same' },
  { name: '3x3 same stride 1 on 4x5', n: 1, c: 2, h: 4, w: 5, pool: 3, strides: 1, padding: 'same' },
  { name: '3x3 stride 2 padding 1', n: 2, c: 2, h: 6, w: 5, pool: 3, strides: 2, padding: 1 },
  { name: 'non-square 2x3 window, strides [1, 2]', n: 2, c: 2, h: 5, w: 7, pool: [2, 3], strides: [1, 2] },
  { name: 'N=1, C=1', n: 1, c: 1, h: 4, w: 6, pool: 2 },
  { name: '2x2 on 4x41: 20 output columns (a whole vector and a tail)', n: 1, c: 2, h: 4, w: 41, pool: 2 },
  { name: 'N=3, 1x1 window', n: 3, c: 2, h: 3, w: 3, pool: 1 },
  { name: 'window covers the image', n: 2, c: 3, h: 3, w: 4, pool: [3, 4] },
  { name: 'empty batch', n: 0, c: 2, h: 4, w: 4, pool: 2 },
];

function pairOf(v: number | [number, number]): [number, number] {
  return Array.isArray(v) ? v : [v, v];
}

describe('pooling forward and gradients', () => {
  for (const kind of ['max', 'avg'] as const)
    for (const fmt of ['NHWC', 'NCHW'] as const)
      for (const k of cases) {
        it(`${kind} ${fmt} ${k.name}`, () => {
          const shape = fmt === 'NHWC' ? [k.n, k.h, k.w, k.c] : [k.n, k.c, k.h, k.w];
          const size = k.n * k.c * k.h * k.w;
          const opts: Pool2dOptions = { poolSize: k.pool, strides: k.strides, padding: k.padding, dataFormat: fmt };
          const kk = pairOf(k.pool);
          const pad = k.padding ?? 'valid';
          checkOp({
            name: `${kind}Pool2d ${fmt} ${k.name}`,
            inputs: [{ shape, gen: kind === 'max' ? distinct(size, 5) : undefined }],
            fn: (x) => (kind === 'max' ? maxPool2d(x, opts) : avgPool2d(x, opts)),
            ref: (x) => naivePool(kind, x, fmt, kk, pairOf(k.strides ?? kk), [pad, pad]),
          });
        });
      }
});

describe('pooling semantics', () => {
  it('max pooling never selects padding, even when every input is negative', () => {
    const x = tb.tensor([-5, -4, -3, -2, -1, -6, -7, -8, -9], [1, 3, 3, 1]);
    const y = maxPool2d(x, { poolSize: 2, padding: 'same', strides: 1 });
    expect(Array.from(y.dataSync())).toEqual([-1, -1, -3, -1, -1, -6, -7, -8, -9]);
  });

  it('max pooling routes the gradient to the first of tied maxima and propagates NaN', () => {
    const x = tb.tensor([1, 3, 3, 0], [1, 1, 2, 2]);
    x.requiresGrad = true;
    const y = maxPool2d(x, { poolSize: 2, dataFormat: 'NCHW' });
    y.backward(tb.ones([1, 1, 1, 1]));
    expect(Array.from(x.grad!.dataSync())).toEqual([0, 1, 0, 0]);
    const nan = maxPool2d(tb.tensor([1, NaN, 3, 0], [1, 2, 2, 1]), { poolSize: 2 });
    expect(Number.isNaN(nan.dataSync()[0]!)).toBe(true);
  });

  it('2x2 NCHW max pooling over whole vectors of columns: ties go to the first cell, NaN wins', () => {
    for (const be of backends())
      withBackend(be, () => {
        const w = 36; // 18 output columns
        const xv = new Float32Array(2 * w).fill(2); // every window a four-way tie
        xv[2 * 17 + 1] = NaN; // window 17: its second cell
        xv[w + 2 * 5 + 1] = 3; // window 5: its last cell is the largest
        const x = tb.tensor(xv, [1, 1, 2, w]);
        x.requiresGrad = true;
        const y = maxPool2d(x, { poolSize: 2, dataFormat: 'NCHW' });
        const yv = y.dataSync();
        y.backward(tb.ones([1, 1, 1, w / 2]));
        const g = x.grad!.dataSync();
        for (let o = 0; o < w / 2; o++) {
          const at = o === 17 ? 2 * o + 1 : o === 5 ? w + 2 * o + 1 : 2 * o;
          expect(g[at], `[${be}] window ${o}`).toBe(1);
          if (o === 17) expect(Number.isNaN(yv[o]!)).toBe(true);
          else expect(yv[o], `[${be}] window ${o}`).toBe(o === 5 ? 3 : 2);
        }
        tb.dispose([x, y]);
      });
  });

  it('average pooling with same padding divides by the cells inside the input', () => {
    const x = tb.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    const y = avgPool2d(x, { poolSize: 2, padding: 'same' });
    expect(Array.from(y.dataSync())).toEqual([3, 4.5, 7.5, 9]);
  });

  for (const fmt of ['NHWC', 'NCHW'] as const) {
    it(`global pooling ${fmt}`, () => {
      const shape = fmt === 'NHWC' ? [2, 3, 4, 5] : [2, 5, 3, 4];
      const ref = (kind: 'max' | 'avg') => (x: Ref): Ref => {
        const r = naivePool(kind, x, fmt, [3, 4], [3, 4], ['valid', 'valid']);
        return { shape: [2, 5], data: r.data };
      };
      checkOp({ name: `globalAvgPool2d ${fmt}`, inputs: [{ shape }], fn: (x) => globalAvgPool2d(x, fmt), ref: ref('avg') });
      checkOp({ name: `globalMaxPool2d ${fmt}`, inputs: [{ shape, gen: distinct(120, 3) }], fn: (x) => globalMaxPool2d(x, fmt), ref: ref('max') });
    });
  }

  it('Tensor methods', () => {
    const x = tb.tensor([1, 2, 3, 4], [1, 2, 2, 1]);
    expect(x.maxPool2d({ poolSize: 2 }).arraySync()).toEqual([[[[4]]]]);
    expect(x.avgPool2d({ poolSize: 2 }).arraySync()).toEqual([[[[2.5]]]]);
  });
});

describe('pooling errors', () => {
  const x = tb.zeros([2, 4, 4, 3]);
  for (const [op, fn] of [['maxPool2d', maxPool2d], ['avgPool2d', avgPool2d]] as const) {
    it(`${op} rejects bad shapes, types and options`, () => {
      expectOpError(() => fn(tb.zeros([4, 4, 3]), { poolSize: 2 }), op, /rank 4.*\[4,4,3\]/);
      expectOpError(() => fn(tb.zeros([2, 4, 4, 3], 'int32'), { poolSize: 2 }), op, /float32/);
      expectOpError(() => fn('x' as unknown as tb.Tensor, { poolSize: 2 }), op, /Tensor/);
      expectOpError(() => fn(x, {} as Pool2dOptions), op, /poolSize/);
      expectOpError(() => fn(x, undefined as unknown as Pool2dOptions), op, /poolSize/);
      expectOpError(() => fn(x, { poolSize: 0 }), op, /poolSize/);
      expectOpError(() => fn(x, { poolSize: 2, strides: -1 }), op, /strides/);
      expectOpError(() => fn(x, { poolSize: 2, padding: 2 }), op, /at most half/);
      expectOpError(() => fn(x, { poolSize: 2, padding: 'full' as 'same' }), op, /padding/);
      expectOpError(() => fn(x, { poolSize: 5 }), op, /larger than the padded input.*\[2,4,4,3\]/);
      expectOpError(() => fn(x, { poolSize: 2, dataFormat: 'nhwc' as 'NHWC' }), op, /dataFormat/);
      expectOpError(() => fn(tb.zeros([2, 4, 4, 0]), { poolSize: 2 }), op, /non-zero/);
    });
  }
  it('global pooling rejects bad input', () => {
    expectOpError(() => globalAvgPool2d(tb.zeros([2, 3])), 'globalAvgPool2d', /rank 4/);
    expectOpError(() => globalMaxPool2d(tb.zeros([2, 3, 3, 1], 'int32')), 'globalMaxPool2d', /float32/);
    expectOpError(() => globalAvgPool2d(x, 'HWC' as 'NHWC'), 'globalAvgPool2d', /dataFormat/);
  });
});
