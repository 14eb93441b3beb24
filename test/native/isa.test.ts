// The instruction sets of the CPU kernels (native/cpu/isa.h): the load's choice and its override,
// and, per set, the kernels whose code differs by set at sizes past every cache block (the GEMM's
// packing blocks, the convolutions at the MNIST CNN's shapes in both layouts, the zero-skipping
// products) against float64 references, and bf16. A set this machine cannot run is reported as
// skipped. The small shapes of every op run under every set through test/helpers/opcheck.ts.
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { native } from '../../lib/native/load.js';
import { conv2d } from '../../lib/ops/conv.js';
import { ALL_ISAS, expectOpError, mulberry, withIsa } from '../helpers/opcheck.js';
import { cleanBundles, scriptFile } from '../reliability/bundle.js';

afterAll(cleanBundles);

const info = tb.backendInfo();
const supported = info.isaSupported;

function rand(n: number, seed: number, density = 1): Float32Array {
  const r = mulberry(seed);
  return Float32Array.from({ length: n }, () => (r() < density ? r() * 2 - 1 : 0));
}

/** max |got - want| / max(1, max |want|) */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let e = 0, s = 1;
  for (let i = 0; i < want.length; i++) {
    e = Math.max(e, Math.abs(got[i]! - want[i]!));
    s = Math.max(s, Math.abs(want[i]!));
  }
  return Number.isNaN(e) ? Infinity : e / s;
}

// C = alpha * op(A) @ op(B) + beta * C0, float64
function refGemm(tA: boolean, tB: boolean, m: number, n: number, k: number, alpha: number, a: Float32Array, b: Float32Array,
                 beta: number, c0: Float32Array): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += (tA ? a[p * m + i]! : a[i * k + p]!) * (tB ? b[j * k + p]! : b[p * n + j]!);
      c[i * n + j] = alpha * s + beta * c0[i * n + j]!;
    }
  return c;
}

// NCHW conv, weight (OC, C, 3, 3), valid, stride 1: y and, for upstream g, dx and dw (float64)
function refConv(n: number, c: number, h: number, w: number, oc: number, x: Float32Array, wt: Float32Array, g: Float32Array) {
  const oh = h - 2, ow = w - 2;
  const y = new Float64Array(n * oc * oh * ow), dx = new Float64Array(x.length), dw = new Float64Array(wt.length);
  for (let i = 0; i < n; i++)
    for (let o = 0; o < oc; o++)
      for (let yy = 0; yy < oh; yy++)
        for (let xx = 0; xx < ow; xx++) {
          const yi = ((i * oc + o) * oh + yy) * ow + xx;
          let s = 0;
          for (let k = 0; k < c; k++)
            for (let ky = 0; ky < 3; ky++)
              for (let kx = 0; kx < 3; kx++) {
                const xi = ((i * c + k) * h + yy + ky) * w + xx + kx, wi = ((o * c + k) * 3 + ky) * 3 + kx;
                s += x[xi]! * wt[wi]!;
                dx[xi] += g[yi]! * wt[wi]!;
                dw[wi] += g[yi]! * x[xi]!;
              }
          y[yi] = s;
        }
  return { y, dx, dw };
}
// (N, C, H, W) <-> (N, H, W, C) and (OC, C, KH, KW) <-> (KH, KW, C, OC)
function nchwToNhwc(a: ArrayLike<number>, n: number, c: number, hw: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) for (let p = 0; p < hw; p++) out[(i * hw + p) * c + k] = a[(i * c + k) * hw + p]!;
  return out;
}
function oihwToHwio(a: ArrayLike<number>, oc: number, c: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let o = 0; o < oc; o++) for (let k = 0; k < c; k++) for (let t = 0; t < 9; t++) out[(t * c + k) * oc + o] = a[(o * c + k) * 9 + t]!;
  return out;
}

/**
 * The MNIST CNN's convolutions (batch 2) in both layouts: y, dx, dw against the reference, within
 * tol; and a 100 x 100 image, whose weight gradient is summed in several blocks of rows (the last
 * one shorter), where MNIST's fits in one.
 */
function checkConvs(tol: number): void {
  for (const [c, hw, oc] of [[1, 28, 32], [32, 26, 64], [16, 100, 32]] as const) {
    const n = 2, h = hw, w = hw;
    const x = rand(n * c * h * w, 1), wt = rand(oc * c * 9, 2), g = rand(n * oc * (h - 2) * (w - 2), 3);
    const want = refConv(n, c, h, w, oc, x, wt, g);
    for (const fmt of ['NCHW', 'NHWC'] as const) {
      const nhwc = fmt === 'NHWC';
      const xt = tb.tensor(nhwc ? nchwToNhwc(x, n, c, h * w) : x, nhwc ? [n, h, w, c] : [n, c, h, w]);
      const wtt = tb.tensor(nhwc ? oihwToHwio(wt, oc, c) : wt, nhwc ? [3, 3, c, oc] : [oc, c, 3, 3]);
      xt.requiresGrad = wtt.requiresGrad = true;
      const y = conv2d(xt, wtt, null, { dataFormat: fmt });
      y.backward(tb.tensor(nhwc ? nchwToNhwc(g, n, oc, (h - 2) * (w - 2)) : g, y.shape.slice()));
      const yv = y.dataSync(), dxv = xt.grad!.dataSync(), dwv = wtt.grad!.dataSync();
      const wy = nhwc ? nchwToNhwc(want.y, n, oc, (h - 2) * (w - 2)) : want.y;
      const wdx = nhwc ? nchwToNhwc(want.dx, n, c, h * w) : want.dx;
      const wdw = nhwc ? oihwToHwio(want.dw, oc, c) : want.dw;
      expect(relErr(yv, wy), `${fmt} ${c}->${oc} y`).toBeLessThan(tol);
      if (c > 1) expect(relErr(dxv, wdx), `${fmt} ${c}->${oc} dx`).toBeLessThan(tol);
      expect(relErr(dwv, wdw), `${fmt} ${c}->${oc} dweight`).toBeLessThan(tol);
      tb.dispose([xt, wtt, y]);
    }
  }
}

/**
 * GEMMs past the packing blocks, every transpose, alpha and beta: K > 512 (two or more slices),
 * ragged M and N; then products past the other blocks, with beta: K > 1024 (a third slice reuses
 * the first slice's packing buffers), M > 3,072 (the row blocks that bound the packed A), and
 * N > 3,072 (more than one column block).
 */
function checkGemms(tol: number): void {
  const g = native();
  const shapes: [number, number, number, [number, number][]][] = [
    [203, 171, 601, [[1, 0], [0.5, 0.25]]],
    [3100, 37, 1100, [[0.5, 0.25]]],
    [19, 3100, 45, [[0.5, 0.25]]],
  ];
  for (const [m, n, k, scales] of shapes)
    for (const tA of [false, true])
      for (const tB of [false, true]) {
        const a = rand(m * k, 4), b = rand(k * n, 5), c0 = rand(m * n, 6);
        for (const [alpha, beta] of scales) {
          const c = c0.slice();
          g.gemm(a, b, c, tA, tB, m, n, k, alpha, beta, 1, 0, 0, 0);
          const what = `gemm ${m}x${n}x${k} tA ${tA} tB ${tB} alpha ${alpha} beta ${beta}`;
          expect(relErr(c, refGemm(tA, tB, m, n, k, alpha, a, b, beta, c0)), what).toBeLessThan(tol);
        }
      }
}

describe('instruction sets', () => {
  it('the load picks the widest set this machine runs; backendInfo names it', () => {
    expect(supported.length).toBeGreaterThan(0);
    expect(supported).toContain('portable');
    expect(info.isaBest).toBe(supported[0]);
    expect(ALL_ISAS).toContain(info.isa);
    expect(info.gemmKernel.length).toBeGreaterThan(0);
  });

  it('setIsa rejects an unknown name with a clear error', () => {
    expectOpError(() => tb.setIsa('sse9' as never), 'setIsa', /'avx512', 'avx2' or 'portable'/);
  });

  for (const isa of ALL_ISAS)
    it.skipIf(supported.includes(isa))(`setIsa('${isa}') is refused on a CPU without it`, () => {
      expectOpError(() => tb.setIsa(isa), 'setIsa', /cannot run/);
    });

  it('TENSORBOLT_ISA forces a set for the process, and a set the CPU lacks (or a bad name) is an error at load', () => {
    const script = scriptFile('isa-env', `import('__LIB__').then((tb) => console.log(tb.backendInfo().isa)).catch((e) => console.log('ERR ' + e.message.split('\\n')[0]));`);
    const run = (v: string) => execFileSync(process.execPath, [script], { encoding: 'utf8', env: { ...process.env, TENSORBOLT_ISA: v } }).trim();
    expect(run('portable')).toBe('portable');
    expect(run('avx9')).toMatch(/^ERR tensorbolt: TENSORBOLT_ISA='avx9' is not one of avx512, avx2, portable/);
    const missing = ALL_ISAS.find((i) => !supported.includes(i));
    if (missing) expect(run(missing)).toMatch(/cannot run it/);
  }, 60_000);

  for (const isa of ALL_ISAS)
    it.skipIf(!supported.includes(isa))(`${isa}: GEMMs past the cache blocks, the MNIST CNN's convolutions (NCHW, NHWC) and the zero-skipping products match float64`, () => {
      withIsa(isa, () => {
        checkGemms(1e-5);
        checkConvs(1e-5);
        // (out, in) and (in, out) weights, MNIST-like sparsity, fused ReLU off
        const [m, k, n] = [128, 784, 128];
        const x = rand(m * k, 7, 0.19), w = rand(n * k, 8);
        const want = refGemm(false, true, m, n, k, 1, x, w, 0, new Float32Array(m * n));
        const y = tb.nn.functional.linear(tb.tensor(x, [m, k]), tb.tensor(w, [n, k]));
        expect(relErr(y.dataSync(), want)).toBeLessThan(1e-5);
        y.dispose();
      });
    }, 120_000);
});

describe("setMatmulPrecision('bf16')", () => {
  it.skipIf(!info.bf16)('bf16 GEMMs and convolutions stay within bf16 rounding of float64, and switch back to exact fp32', () => {
    withIsa('avx512', () => {
      tb.setMatmulPrecision('bf16');
      try {
        expect(tb.backendInfo().cpuBf16).toBe(true);
        // 8 mantissa bits per operand: a relative error near 2^-8, well above fp32's
        checkGemms(2e-2);
        checkConvs(2e-2);
        const a = rand(64 * 300, 9), b = rand(300 * 64, 10);
        const c = tb.matmul(tb.tensor(a, [64, 300]), tb.tensor(b, [300, 64])).dataSync();
        const err = relErr(c, refGemm(false, false, 64, 64, 300, 1, a, b, 0, new Float32Array(64 * 64)));
        expect(err).toBeGreaterThan(1e-5); // it did round
        expect(err).toBeLessThan(2e-2);
      } finally {
        tb.setMatmulPrecision('highest');
      }
      expect(tb.backendInfo().cpuBf16).toBe(false);
      checkGemms(1e-5);
    });
  }, 120_000);

  it.skipIf(!info.bf16 || !supported.includes('avx2'))('under another instruction set bf16 is requested but the products stay fp32', () => {
    tb.setMatmulPrecision('bf16');
    try {
      withIsa('avx2', () => {
        expect(tb.backendInfo().cpuBf16).toBe(false);
        checkGemms(1e-5);
      });
    } finally {
      tb.setMatmulPrecision('highest');
    }
  }, 60_000);

  it.skipIf(info.bf16)('a CPU without AVX512_BF16 gets a clear error and keeps fp32', () => {
    expectOpError(() => tb.setMatmulPrecision('bf16'), 'setMatmulPrecision', /AVX512_BF16/);
    expect(tb.getMatmulPrecision()).toBe('highest');
  });
});
