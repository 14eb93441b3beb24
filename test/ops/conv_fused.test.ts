// conv2d with a fused ReLU (the Keras Conv2D layer's activation: 'relu' path) against relu(conv2d),
// through every kernel route (direct small-window kernel, im2col + GEMM in chunks and image groups,
// 1x1 without im2col, NCHW), and the thread-count independence of the gradients.
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { native } from '../../lib/native/load.js';
import { conv2d, type Conv2dOptions } from '../../lib/ops/conv.js';
import { backends, expectOpError, withBackend } from '../helpers/opcheck.js';

interface Case {
  name: string;
  fmt: 'NHWC' | 'NCHW';
  x: number[];
  w: number[];
  opts?: Conv2dOptions;
}

const cases: Case[] = [
  { name: 'NHWC C=1 3x3 (direct kernel)', fmt: 'NHWC', x: [3, 9, 8, 1], w: [3, 3, 1, 8] },
  { name: 'NHWC C=1 stride 2 same, OC=5 (direct kernel, generic width)', fmt: 'NHWC', x: [2, 7, 6, 1], w: [3, 3, 1, 5], opts: { strides: 2, padding: 'same' } },
  { name: 'NHWC C=6 3x3 valid (im2col + GEMM)', fmt: 'NHWC', x: [3, 7, 7, 6], w: [3, 3, 6, 4] },
  // 17 images in 9 groups of 2 (the last of 1), 760 rows each: two column chunks per group
  { name: 'NHWC C=32 many chunks and image groups', fmt: 'NHWC', x: [17, 20, 19, 32], w: [3, 3, 32, 8], opts: { padding: 'same' } },
  { name: 'NHWC 1x1', fmt: 'NHWC', x: [2, 4, 5, 20], w: [1, 1, 20, 3] },
  { name: 'NCHW C=3 stride 2', fmt: 'NCHW', x: [2, 3, 7, 6], w: [4, 3, 3, 3], opts: { strides: 2, padding: 1 } },
];

function randomTensor(shape: number[], seed: number): tb.Tensor {
  const t = tb.randn(shape, 0, 1, { seed });
  t.requiresGrad = true;
  return t;
}

function grads(c: Case, fused: boolean): Float32Array[] {
  const x = randomTensor(c.x, 1);
  const w = randomTensor(c.w, 2);
  const oc = c.fmt === 'NHWC' ? c.w[3]! : c.w[0]!;
  const b = randomTensor([oc], 3);
  const opts = { ...c.opts, dataFormat: c.fmt };
  const y = fused ? conv2d(x, w, b, { ...opts, activation: 'relu' }) : tb.relu(conv2d(x, w, b, opts));
  const dy = tb.randn(y.shape.slice(), 0, 1, { seed: 4 });
  y.backward(dy);
  const out = [y, x.grad!, w.grad!, b.grad!].map((t) => t.dataSync() as Float32Array);
  tb.dispose([x, w, b, y, dy]);
  return out;
}

describe('conv2d with a fused ReLU', () => {
  for (const c of cases)
    it(`${c.name}: equals relu(conv2d), gradients included`, () => {
      for (const be of backends({ large: c.x.reduce((a, d) => a * d, 1) > 4096 }))
        withBackend(be, () => {
          const want = grads(c, false);
          const got = grads(c, true);
          ['y', 'dx', 'dweight', 'dbias'].forEach((name, i) => {
            expect(got[i]!.length, `${be} ${name}`).toBe(want[i]!.length);
            expect(Array.from(got[i]!), `${be} ${name}`).toEqual(Array.from(want[i]!));
          });
          expect(want[0]!.some((v) => v === 0) && want[0]!.some((v) => v > 0)).toBe(true);
        });
    });

  it('gives the same bits with 1, 2 and 3 threads', () => {
    const c = cases[3]!;
    const before = tb.backendInfo().threads;
    const runs = [1, 2, 3].map((t) => {
      tb.setNumThreads(t);
      return grads(c, true);
    });
    tb.setNumThreads(before);
    for (const r of runs.slice(1)) r.forEach((a, i) => expect(Array.from(a)).toEqual(Array.from(runs[0]![i]!)));
  });

  it('rejects activations it cannot fuse, and the binding checks its arguments', () => {
    const x = tb.zeros([1, 4, 4, 2]);
    const w = tb.zeros([3, 3, 2, 2]);
    expectOpError(() => conv2d(x, w, null, { activation: 'sigmoid' as 'relu' }), 'conv2d', /activation must be 'relu' or 'linear'/);
    const dims = Int32Array.from([1, 2, 4, 4, 2, 3, 3, 2, 2, 1, 1, 0, 0, 1]);
    const g = native();
    const f = (n: number) => new Float32Array(n);
    expect(() => g.conv2d(f(32), f(36), null, f(8), dims, 2)).toThrow(/act/);
    expect(() => g.conv2dBackward(f(32), f(36), f(8), f(32), null, null, dims, null, 1)).toThrow(/y/);
    expect(() => g.conv2dBackward(f(32), f(36), f(8), f(32), null, null, dims, f(7), 1)).toThrow(/y/);
    const dx = f(32);
    expect(() => g.conv2dBackward(f(32), f(36), f(8), dx, null, null, dims, dx.subarray(0, 8), 1)).toThrow(/share memory/);
  });
});
