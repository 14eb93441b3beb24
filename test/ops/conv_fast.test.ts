// The implicit-GEMM conv2d kernels (stride 1, channels in blocks of 16; NHWC, and NCHW through the
// same kernels with the layout changed per image) against a float64 reference: forward, input and
// weight gradients, with and without padding, odd kernels, every tile width, several images per
// weight-gradient group, small windows, Winograd's shapes, and a fused ReLU, under every instruction
// set present.
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { conv2d, type Conv2dOptions } from '../../lib/ops/conv.js';
import { backends, makeInputs, withBackend } from '../helpers/opcheck.js';

interface Geo { n: number; h: number; w: number; c: number; oc: number; kh: number; kw: number; oh: number; ow: number; pt: number; pl: number; pad: 'valid' | 'same' | number }

function geo(n: number, h: number, w: number, c: number, oc: number, kh: number, kw: number, pad: 'valid' | 'same' | number): Geo {
  const axis = (i: number, k: number): [number, number] => {
    if (pad === 'valid') return [i - k + 1, 0];
    if (pad === 'same') return [i, Math.floor((k - 1) / 2)];
    return [i + 2 * pad - k + 1, pad];
  };
  const [oh, pt] = axis(h, kh);
  const [ow, pl] = axis(w, kw);
  return { n, h, w, c, oc, kh, kw, oh, ow, pt, pl, pad };
}

/** y = conv(x, w) + b; dx, dw, db for the upstream gradient g (all float64, NHWC). */
function reference(G: Geo, x: Float64Array, w: Float64Array, b: Float64Array, g: Float64Array) {
  const y = new Float64Array(G.n * G.oh * G.ow * G.oc);
  const dx = new Float64Array(x.length), dw = new Float64Array(w.length), db = new Float64Array(G.oc);
  for (let n = 0; n < G.n; n++)
    for (let oy = 0; oy < G.oh; oy++)
      for (let ox = 0; ox < G.ow; ox++)
        for (let o = 0; o < G.oc; o++) {
          const yi = ((n * G.oh + oy) * G.ow + ox) * G.oc + o;
          let s = b[o]!;
          for (let ky = 0; ky < G.kh; ky++)
            for (let kx = 0; kx < G.kw; kx++) {
              const iy = oy + ky - G.pt, ix = ox + kx - G.pl;
              if (iy < 0 || iy >= G.h || ix < 0 || ix >= G.w) continue;
              for (let c = 0; c < G.c; c++) {
                const xi = ((n * G.h + iy) * G.w + ix) * G.c + c, wi = ((ky * G.kw + kx) * G.c + c) * G.oc + o;
                s += x[xi]! * w[wi]!;
                dx[xi] += g[yi]! * w[wi]!;
                dw[wi] += g[yi]! * x[xi]!;
              }
            }
          y[yi] = s;
          db[o] += g[yi]!;
        }
  return { y, dx, dw, db };
}

function close(got: Float32Array, want: Float64Array, what: string): void {
  expect(got.length, what).toBe(want.length);
  let scale = 1;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < want.length; i++)
    if (!(Math.abs(got[i]! - want[i]!) <= 2e-5 * scale)) throw new Error(`${what}[${i}]: got ${got[i]}, expected ${want[i]}`);
}

const cases: [string, Geo][] = [
  ['MNIST conv2 shape, 3 images', geo(3, 26, 26, 32, 64, 3, 3, 'valid')],
  ['same padding, 17 images (groups of 2), widths 1..6 in tiles', geo(17, 5, 13, 16, 16, 3, 3, 'same')],
  ['5x3 kernel, integer padding 2 x 2 (pad < kernel)', geo(2, 9, 7, 16, 32, 5, 3, 2)],
  ['even 4x4 kernel, same (extra padding after)', geo(2, 8, 8, 16, 16, 4, 4, 'same')],
  ['one output pixel wide', geo(2, 4, 3, 16, 16, 3, 3, 'valid')],
  // 3x3 with whole channel vectors and an even output: Winograd under AVX-512 (forward; the input
  // gradient too where C is a multiple of 32); an odd output falls back to the implicit GEMM
  ['Winograd forward, same, 16 -> 32, 10 x 12 (30 tiles: chunks across rows, a short last one)', geo(2, 10, 12, 16, 32, 3, 3, 'same')],
  ['Winograd both ways, padding 1, 32 -> 32, 6 x 8', geo(3, 6, 8, 32, 32, 3, 3, 1)],
  ['odd output (no Winograd), 32 -> 32, 7 x 9', geo(2, 9, 11, 32, 32, 3, 3, 'valid')],
  // small windows (a first layer): the AVX-512 set takes them, the others use the direct kernels
  ['one channel -> 32, odd width', geo(2, 10, 9, 1, 32, 3, 3, 'valid')],
  ['three channels -> 16, same padding', geo(3, 7, 6, 3, 16, 3, 3, 'same')],
];

// NHWC <-> NCHW for the NCHW runs: x (N, H, W, C) -> (N, C, H, W), weight (KH, KW, C, OC) -> (OC, C, KH, KW).
function toNchw(a: ArrayLike<number>, n: number, h: number, w: number, c: number): Float64Array {
  const out = new Float64Array(n * c * h * w);
  for (let i = 0; i < n; i++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) out[((i * c + k) * h + y) * w + x] = a[((i * h + y) * w + x) * c + k]!;
  return out;
}
function toOihw(a: ArrayLike<number>, kh: number, kw: number, c: number, oc: number): Float64Array {
  const out = new Float64Array(kh * kw * c * oc);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let k = 0; k < c; k++)
        for (let o = 0; o < oc; o++) out[((o * c + k) * kh + y) * kw + x] = a[((y * kw + x) * c + k) * oc + o]!;
  return out;
}

describe('conv2d implicit-GEMM kernels (stride 1; NHWC, and NCHW with the layout changed per image)', () => {
  for (const [name, G] of cases)
    for (const relu of [false, true])
    for (const fmt of ['NHWC', 'NCHW'] as const)
      it(`${fmt} ${name}${relu ? ', fused ReLU' : ''}`, () => {
        const [xr, wr, br, gr] = makeInputs([
          { shape: [G.n, G.h, G.w, G.c] }, { shape: [G.kh, G.kw, G.c, G.oc] }, { shape: [G.oc] },
          { shape: [G.n * G.oh * G.ow * G.oc] },
        ], 11);
        const want = reference(G, xr!.data, wr!.data, br!.data, gr!.data);
        // With the ReLU, the reference's upstream gradient is g where y > 0 (and y itself clipped).
        let gEff = gr!.data;
        if (relu) {
          gEff = gr!.data.map((v, i) => (want.y[i]! > 0 ? v : 0));
          const masked = reference(G, xr!.data, wr!.data, br!.data, gEff);
          want.dx = masked.dx; want.dw = masked.dw; want.db = masked.db;
          want.y = want.y.map((v) => Math.max(v, 0));
        }
        const nchw = fmt === 'NCHW';
        const X = (a: ArrayLike<number>) => (nchw ? toNchw(a, G.n, G.h, G.w, G.c) : Float64Array.from(a));
        const Y = (a: ArrayLike<number>) => (nchw ? toNchw(a, G.n, G.oh, G.ow, G.oc) : Float64Array.from(a));
        const W = (a: ArrayLike<number>) => (nchw ? toOihw(a, G.kh, G.kw, G.c, G.oc) : Float64Array.from(a));
        for (const be of backends({ large: G.n * G.oh * G.ow * G.oc * G.kh * G.kw * G.c > 1e6 }))
          withBackend(be, () => {
            const x = tb.tensor(Float32Array.from(X(xr!.data)), nchw ? [G.n, G.c, G.h, G.w] : [G.n, G.h, G.w, G.c]);
            const w = tb.tensor(Float32Array.from(W(wr!.data)), nchw ? [G.oc, G.c, G.kh, G.kw] : [G.kh, G.kw, G.c, G.oc]);
            const b = tb.tensor(Float32Array.from(br!.data), [G.oc]);
            for (const t of [x, w, b]) t.requiresGrad = true;
            const opts: Conv2dOptions = { padding: G.pad, activation: relu ? 'relu' : 'linear', dataFormat: fmt };
            const y = conv2d(x, w, b, opts);
            close(y.dataSync() as Float32Array, Y(want.y), `${be} y`);
            y.backward(tb.tensor(Float32Array.from(Y(gr!.data)), y.shape.slice()));
            close(x.grad!.dataSync() as Float32Array, X(want.dx), `${be} dx`);
            close(w.grad!.dataSync() as Float32Array, W(want.dw), `${be} dweight`);
            close(b.grad!.dataSync() as Float32Array, want.db, `${be} dbias`);
            tb.dispose([x, w, b, y]);
          });
      });
});

describe('conv2d Winograd shapes with non-finite values', () => {
  // Winograd's transforms add and subtract a tile's values: an infinity meets its own negative there
  // (inf - inf = NaN) where the direct sum, with all weights positive, gives +Infinity. Such an image
  // is computed again directly, so the op's result is the direct one on every instruction set.
  for (const be of backends())
    it(`${be}: an infinity in x or dy gives +Infinity in the outputs whose window holds it, finite values elsewhere`, () => {
      withBackend(be, () => {
        const [n, h, w, c, oc] = [2, 6, 6, 32, 32];
        const xv = new Float32Array(n * h * w * c).map((_, i) => 0.1 + 0.5 * Math.abs(Math.sin(i)));
        xv[((1 * h + 3) * w + 3) * c + 3] = Infinity; // image 1, pixel (3, 3): outputs (1..3, 1..3)
        const x = tb.tensor(xv, [n, h, w, c]);
        const wt = tb.tensor(new Float32Array(9 * c * oc).map((_, i) => 0.01 + 0.1 * Math.abs(Math.cos(i))), [3, 3, c, oc]);
        x.requiresGrad = wt.requiresGrad = true;
        const y = conv2d(x, wt, null, { dataFormat: 'NHWC' });
        const yv = y.dataSync();
        const at = (img: number, py: number, px: number, o: number) => yv[((img * 4 + py) * 4 + px) * oc + o]!;
        for (let py = 0; py < 4; py++)
          for (let px = 0; px < 4; px++) {
            const inWindow = py >= 1 && px >= 1;
            expect(at(1, py, px, 7), `output (${py}, ${px})`).toBe(inWindow ? Infinity : at(1, py, px, 7));
            if (!inWindow) expect(Number.isFinite(at(1, py, px, 7)), `output (${py}, ${px}) finite`).toBe(true);
          }
        for (let i = 0; i < 4 * 4 * oc; i++) expect(Number.isFinite(yv[i]!), 'image 0 is untouched').toBe(true);
        // dy positive with an infinity at image 0, output pixel (1, 1): dx is +Infinity on input pixels (1..3, 1..3)
        const dyv = new Float32Array(y.size).map((_, i) => 0.1 + Math.abs(Math.sin(3 * i)));
        dyv[(1 * 4 + 1) * oc + 2] = Infinity;
        y.backward(tb.tensor(dyv, y.shape.slice()));
        const dx = x.grad!.dataSync();
        for (let py = 0; py < h; py++)
          for (let px = 0; px < w; px++) {
            const v = dx[(py * w + px) * c + 4]!;
            if (py >= 1 && py <= 3 && px >= 1 && px <= 3) expect(v, `dx (${py}, ${px})`).toBe(Infinity);
            else expect(Number.isFinite(v), `dx (${py}, ${px}) finite`).toBe(true);
          }
        tb.dispose([x, wt, y]);
      });
    });
});
