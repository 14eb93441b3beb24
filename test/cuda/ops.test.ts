// Every CUDA kernel against the CPU kernel of the same name, on the same inputs (helpers.ts). Runs
// only where a CUDA build of the addon is loaded and a GPU is visible; elsewhere it is skipped.
//
// Tolerances (|gpu - cpu| <= atol + rtol * |cpu|), and why:
//   exact     comparisons, copies, gathers, casts, argmax/argmin, max/min, max-pool, dropout masks,
//             one-hot: no rounding happens, so the bits must agree.
//   1e-6/1e-5 pointwise math (unary, activations, optimizer updates): CUDA's expf/logf/tanhf/erff and
//             the CPU's FastExp/FastTanh/libm are each within a few ulp; FMA contraction differs.
//   1e-5/1e-5 softmax, cross-entropy, batch norm, broadcast gradients, reductions, average pooling:
//             sums in a different order (double on both sides for reductions and batch norm).
//   2e-5 * k  FP32 GEMM and convolution (k = the reduction length): cuBLAS and OpenBLAS order the k
//             products differently; each ordering is within k * eps of the exact sum.
//   1e-2      TF32 GEMM: 10-bit mantissas, so errors near 2^-11 per product.
import { describe, expect, it } from 'vitest';
import type { CudaBinding, NativeBinding } from '../../lib/native/binding.js';
import { cudaBinding, native } from '../../lib/native/load.js';
import { ActivationOp, ArgReduceOp, BinaryOp, ReduceOp, UnaryOp } from '../../lib/native/opcodes.js';
import { EXACT, compareKernel, download, rand, randInt, upload, yieldBetweenTests, type Tol } from './helpers.js';

const cuda = cudaBinding();
const cpu = native();
yieldBetweenTests();

const POINTWISE: Tol = { atol: 1e-6, rtol: 1e-5 };
const SUMS: Tol = { atol: 1e-5, rtol: 1e-5 };
const gemmTol = (k: number): Tol => ({ atol: 2e-5 * Math.max(k, 1), rtol: 1e-5 });
const i32 = (...v: number[]) => Int32Array.from(v);

// Runs one kernel on both backends and compares the outputs (see helpers.ts).
function same(fn: string, args: unknown[], data: number[], outs: number[], tol: Tol | Tol[]): void {
  compareKernel(cpu as NativeBinding, cuda as CudaBinding, fn, args, data, outs, tol);
}

describe.skipIf(!cuda)('CUDA kernels against the CPU kernels', () => {
  const g = cuda as CudaBinding;

  describe('gemm', () => {
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      it(`single, transA=${tA} transB=${tB}, alpha/beta`, () => {
        const m = 37, n = 53, k = 71;
        same('gemm', [rand(m * k, 1), rand(k * n, 2), rand(m * n, 3), tA, tB, m, n, k, 0.5, 0.25, 1, 0, 0, 0],
          [0, 1, 2], [2], gemmTol(k));
      });
    }
    it('strided batch with a shared A (stride 0), beta 0 overwrites NaN', () => {
      const m = 16, n = 24, k = 40, batch = 5;
      const c = new Float32Array(batch * m * n).fill(NaN);
      same('gemm', [rand(m * k, 4), rand(batch * k * n, 5), c, false, false, m, n, k, 1, 0, batch, 0, k * n, m * n],
        [0, 1, 2], [2], gemmTol(k));
    });
    it('k = 0 scales C by beta', () => {
      same('gemm', [new Float32Array(0), new Float32Array(0), rand(12, 6), false, false, 3, 4, 0, 1, 2, 1, 0, 0, 0],
        [0, 1, 2], [2], EXACT);
    });
    it('TF32 stays within TF32 accuracy, and FP32 comes back when switched off', () => {
      const m = 64, n = 64, k = 256;
      g.setTf32(true);
      try {
        same('gemm', [rand(m * k, 7), rand(k * n, 8), new Float32Array(m * n), false, false, m, n, k, 1, 0, 1, 0, 0, 0],
          [0, 1, 2], [2], { atol: 1e-2 * Math.sqrt(k), rtol: 1e-2 });
      } finally {
        g.setTf32(false);
      }
      same('gemm', [rand(m * k, 7), rand(k * n, 8), new Float32Array(m * n), false, false, m, n, k, 1, 0, 1, 0, 0, 0],
        [0, 1, 2], [2], gemmTol(k));
    });
  });

  describe('elementwise', () => {
    const n = 1000;
    // Inputs inside each op's domain (log, sqrt, rsqrt need positives; reciprocal stays off 0).
    const positive = (seed: number) => rand(n, seed, 0.1, 3);
    const domain: Record<string, Float32Array> = {
      log: positive(11), sqrt: positive(12), rsqrt: positive(13), reciprocal: positive(14), powScalar: positive(15),
    };
    for (const [name, op] of Object.entries(UnaryOp)) {
      it(`unary ${name} forward and backward`, () => {
        const x = domain[name] ?? rand(n, 10, -3, 3);
        const [p1, p2] = name === 'clip' ? [-0.5, 0.7] : name === 'powScalar' ? [2.5, 0] : [0, 0];
        same('unary', [op, x, new Float32Array(n), p1, p2], [1, 2], [2], POINTWISE);
        const y = new Float32Array(n);
        cpu.unary(op, x, y, p1, p2);
        same('unaryBackward', [op, x, y, rand(n, 16), new Float32Array(n), p1, p2], [1, 2, 3, 4], [4], POINTWISE);
      });
    }
    // a (4, 1, 5) and b (3, 1) broadcast to (4, 3, 5).
    const shape = i32(4, 3, 5), aSt = i32(5, 0, 1), bSt = i32(0, 1, 0);
    for (const [name, op] of Object.entries(BinaryOp)) {
      it(`binary ${name} with broadcasting${op <= BinaryOp.minimum ? ', and its reduced gradients' : ''}`, () => {
        const a = name === 'pow' ? rand(20, 21, 0.2, 2) : rand(20, 21, -2, 2);
        const b = name === 'div' ? rand(3, 22, 0.5, 2) : rand(3, 22, -2, 2);
        if (name === 'equal' || name === 'notEqual') a[3] = b[1]!;  // some equal pairs
        same('binary', [op, a, aSt, b, bSt, new Float32Array(60), shape], [1, 3, 5], [5],
          op > BinaryOp.minimum ? EXACT : POINTWISE);
        if (op <= BinaryOp.minimum)
          same('binaryBackward', [op, a, aSt, b, bSt, rand(60, 23), shape, new Float32Array(20), new Float32Array(3)],
            [1, 3, 5, 7, 8], [7, 8], SUMS);
      });
    }
    it('binary on a 5-d permuted (non-contiguous) operand', () => {
      // a is stored (2, 3, 4, 5, 6) and read transposed on its last two axes.
      const sh = i32(2, 3, 4, 6, 5);
      same('binary', [BinaryOp.mul, rand(720, 24), i32(360, 120, 30, 1, 6), rand(720, 25), i32(180, 60, 15, 5, 1),
        new Float32Array(720), sh], [1, 3, 5], [5], POINTWISE);
    });
    it('where and whereBackward with broadcasting', () => {
      const cond = Float32Array.from(rand(5, 26), (v) => (v > 0 ? 1 : 0));
      // cond (1, 5), a (4, 5), b scalar -> (4, 5)
      const sh = i32(4, 5), cSt = i32(0, 1), aSt2 = i32(5, 1), bSt2 = i32(0, 0);
      same('where', [cond, cSt, rand(20, 27), aSt2, rand(1, 28), bSt2, new Float32Array(20), sh], [0, 2, 4, 6], [6], EXACT);
      same('whereBackward', [cond, cSt, rand(20, 29), sh, new Float32Array(20), aSt2, new Float32Array(1), bSt2],
        [0, 2, 4, 6], [4, 6], SUMS);
    });
    it('sumToStrides over leading, trailing and middle axes', () => {
      same('sumToStrides', [rand(4 * 300 * 7, 30), i32(4, 300, 7), new Float32Array(7), i32(0, 0, 1)], [0, 2], [2], SUMS);
      same('sumToStrides', [rand(4 * 300 * 7, 31), i32(4, 300, 7), new Float32Array(4), i32(1, 0, 0)], [0, 2], [2], SUMS);
      same('sumToStrides', [rand(4 * 300 * 7, 32), i32(4, 300, 7), new Float32Array(28), i32(7, 0, 1)], [0, 2], [2], SUMS);
    });
  });

  describe('memory', () => {
    it('fill, cast both ways, axpy', () => {
      same('fill', [new Float32Array(1000), 2.5], [0], [0], EXACT);
      same('fill', [new Int32Array(1000), -7], [0], [0], EXACT);
      const f = Float32Array.from([1.9, -1.9, NaN, 1e20, -1e20, 0.5, 3e9]);
      same('cast', [f, new Int32Array(f.length)], [0, 1], [1], EXACT);
      same('cast', [randInt(100, 33, -1000, 1000), new Float32Array(100)], [0, 1], [1], EXACT);
      same('axpy', [0.3, rand(1000, 34), rand(1000, 35)], [1, 2], [2], POINTWISE);
    });
  });

  describe('activations', () => {
    const n = 4096;
    for (const [name, op] of Object.entries(ActivationOp)) {
      it(`${name} forward and backward`, () => {
        const x = rand(n, 40, -8, 8);
        x[0] = 0;
        x[1] = 6;
        const alpha = name === 'leakyRelu' ? 0.1 : name === 'elu' ? 1.3 : 0;
        same('activation', [op, x, new Float32Array(n), alpha], [1, 2], [2], POINTWISE);
        const y = new Float32Array(n);
        cpu.activation(op, x, y, alpha);
        same('activationBackward', [op, x, y, rand(n, 41), new Float32Array(n), alpha], [1, 2, 3, 4], [4], POINTWISE);
      });
    }
  });

  describe('softmax and cross-entropy', () => {
    const views: [number, number, number][] = [[7, 10, 1], [3, 5, 4], [2, 3000, 1], [2, 40, 300]];
    for (const [outer, dim, inner] of views)
      for (const log of [false, true])
        it(`${log ? 'log-' : ''}softmax (${outer}, ${dim}, ${inner}) forward and backward`, () => {
          const total = outer * dim * inner;
          const x = rand(total, 50, -20, 20);
          same('softmax', [x, new Float32Array(total), outer, dim, inner, log], [0, 1], [1], SUMS);
          const y = new Float32Array(total);
          cpu.softmax(x, y, outer, dim, inner, log);
          same('softmaxBackward', [y, rand(total, 51), new Float32Array(total), outer, dim, inner, log], [0, 1, 2], [2], SUMS);
        });
    for (const smoothing of [0, 0.1])
      it(`softmaxXent with labels and with targets, smoothing ${smoothing}`, () => {
        const n = 100, c = 10;
        const logits = rand(n * c, 52, -10, 10);
        const labels = randInt(n, 53, 0, c);
        const targets = rand(n * c, 54, 0, 1);
        for (const [lab, tgt] of [[labels, null], [null, targets]] as const) {
          same('softmaxXent', [logits, n, c, lab, tgt, smoothing, new Float32Array(n * c), new Float32Array(n)],
            [0, 3, 4, 6, 7], [6, 7], SUMS);
          const probs = new Float32Array(n * c);
          cpu.softmaxXent(logits, n, c, lab, tgt, smoothing, probs, new Float32Array(n));
          same('softmaxXentBackward', [probs, n, c, lab, tgt, smoothing, rand(n, 55), new Float32Array(n * c)],
            [0, 3, 4, 6, 7], [7], SUMS);
        }
      });
    it('a label out of range is reported by the next download, naming the op, the sample and the label', () => {
      const n = 4, c = 3;
      const bufs = [upload(g, rand(n * c, 56)), upload(g, i32(0, 1, 7, 2)), g.alloc(n * c, 'float32'), g.alloc(n, 'float32')];
      g.softmaxXent(bufs[0]!, n, c, bufs[1]!, null, 0, bufs[2]!, bufs[3]!);
      expect(() => download(g, bufs[3]!)).toThrow(/softmaxXent.*label 7 of sample 2 is outside \[0, 3\)/);
      expect(download(g, bufs[3]!).length).toBe(n);  // reported once; the next call is clean
      for (const b of bufs) g.free(b);
    });
  });

  describe('reductions', () => {
    // warp rows, block rows (long dim), chunked dim, columns, chunked columns
    const views: [number, number, number][] = [[5, 7, 3], [6, 300, 1], [2, 5000, 1], [1, 100000, 1], [3, 1000, 37], [1, 20000, 3]];
    for (const [outer, dim, inner] of views)
      for (const [name, op] of Object.entries(ReduceOp))
        it(`${name} over (${outer}, ${dim}, ${inner}) forward and backward`, () => {
          const total = outer * dim * inner, out = outer * inner;
          // prod of many values under/overflows float: keep them near 1 for prod.
          const x = name === 'prod' ? rand(total, 60, 0.999, 1.001) : rand(total, 60, -5, 5);
          x[3] = x[7]!;  // a tie for max/min routing
          const tol = name === 'max' || name === 'min' ? EXACT : SUMS;
          same('reduce', [op, x, new Float32Array(out), outer, dim, inner], [1, 2], [2], tol);
          const y = new Float32Array(out);
          cpu.reduce(op, x, y, outer, dim, inner);
          same('reduceBackward', [op, x, y, rand(out, 61), new Float32Array(total), outer, dim, inner], [1, 2, 3, 4], [4], tol);
        });
    it('prod with zeros: exact gradients', () => {
      const x = Float32Array.from([2, 0, 3, 4, 0, 5, 1, 2, 3, 4, 5, 6]);
      const y = new Float32Array(4);
      cpu.reduce(ReduceOp.prod, x, y, 4, 3, 1);
      same('reduceBackward', [ReduceOp.prod, x, y, rand(4, 62), new Float32Array(12), 4, 3, 1], [1, 2, 3, 4], [4], SUMS);
    });
    it('NaN propagates through max/min and wins argmax/argmin', () => {
      const x = rand(4 * 50 * 3, 63);
      x[10] = NaN;
      x[400] = NaN;
      for (const [outer, dim, inner] of [[4, 50, 3], [12, 50, 1]] as const) {
        same('reduce', [ReduceOp.max, x, new Float32Array(outer * inner), outer, dim, inner], [1, 2], [2], EXACT);
        same('reduce', [ReduceOp.min, x, new Float32Array(outer * inner), outer, dim, inner], [1, 2], [2], EXACT);
        for (const op of Object.values(ArgReduceOp))
          same('argReduce', [op, x, new Int32Array(outer * inner), outer, dim, inner], [1, 2], [2], EXACT);
      }
    });
    for (const [outer, dim, inner] of [[9, 1000, 1], [3, 17, 40]] as const)
      it(`argMax/argMin over (${outer}, ${dim}, ${inner}) with ties`, () => {
        const x = Float32Array.from(randInt(outer * dim * inner, 64, -3, 3));  // many ties
        for (const op of Object.values(ArgReduceOp))
          same('argReduce', [op, x, new Int32Array(outer * inner), outer, dim, inner], [1, 2], [2], EXACT);
      });
  });

  describe('layout', () => {
    it('copyStrided: permute, slice with offsets, accumulate, int32', () => {
      // (2, 3, 4) permuted to (4, 2, 3)
      same('copyStrided', [rand(24, 70), 0, i32(1, 12, 4), new Float32Array(24), 0, i32(6, 3, 1), i32(4, 2, 3), false],
        [0, 3], [3], EXACT);
      // a (3, 2) window at offset 5 of a (4, 6) source into offset 2 of a (5, 4) destination, accumulating
      same('copyStrided', [rand(24, 71), 5, i32(6, 1), rand(20, 72), 2, i32(4, 1), i32(3, 2), true], [0, 3], [3], POINTWISE);
      same('copyStrided', [randInt(24, 73, -50, 50), 0, i32(1, 12, 4), new Int32Array(24), 0, i32(6, 3, 1), i32(4, 2, 3), false],
        [0, 3], [3], EXACT);
    });
    it('copyStrided into a broadcast (non-injective) destination, accumulating in index order', () => {
      same('copyStrided', [rand(12, 74), 0, i32(4, 1), new Float32Array(4), 0, i32(0, 1), i32(3, 4), true], [0, 3], [3], EXACT);
    });
    it('gather (float32 and int32) and gatherBackward with repeated indices', () => {
      const idx = i32(3, 0, 3, 1, 3);
      same('gather', [rand(2 * 4 * 6, 75), idx, new Float32Array(2 * 5 * 6), 2, 4, 6], [0, 1, 2], [2], EXACT);
      same('gather', [randInt(2 * 4, 76, 0, 9), idx, new Int32Array(2 * 5), 2, 4, 1], [0, 1, 2], [2], EXACT);
      same('gatherBackward', [rand(2 * 5 * 6, 77), idx, new Float32Array(2 * 4 * 6), 2, 4, 6], [0, 1, 2], [2], POINTWISE);
    });
    it('oneHot', () => {
      same('oneHot', [randInt(50, 78, 0, 10), new Float32Array(500), 10, 0.9, 0.01], [0, 1], [1], EXACT);
    });
    it('an index out of range is reported by the next download', () => {
      const x = upload(g, rand(12, 79)), idx = upload(g, i32(0, 6)), y = g.alloc(2 * 2, 'float32');
      g.gather(x, idx, y, 2, 6, 1);
      expect(() => g.synchronize()).toThrow(/an earlier cuda\.gather call failed: index 6 at position 1 is outside \[0, 6\)/);
      g.synchronize();  // reported once
      for (const b of [x, idx, y]) g.free(b);
    });
  });

  describe('conv2d', () => {
    // [n, c, h, w, oc, kh, kw, oh, ow, strideH, strideW, padTop, padLeft, layout]
    const cases: [string, number[]][] = [
      ['3x3 stride 1 valid', [4, 3, 12, 10, 8, 3, 3, 10, 8, 1, 1, 0, 0]],
      ['3x3 stride 2 pad 1', [3, 5, 11, 9, 6, 3, 3, 6, 5, 2, 2, 1, 1]],
      ['5x3 stride (2, 1) pad (2, 1)', [2, 4, 9, 8, 7, 5, 3, 5, 8, 2, 1, 2, 1]],
      ['1x1 stride 1 (direct in NHWC)', [5, 16, 7, 7, 12, 1, 1, 7, 7, 1, 1, 0, 0]],
    ];
    for (const [label, d] of cases)
      for (const layout of [0, 1])
        for (const [withBias, act] of [[true, 0], [false, 0], [true, 1]] as const)
          it(`${label}, ${layout ? 'NHWC' : 'NCHW'}, ${withBias ? 'bias' : 'no bias'}${act ? ', fused ReLU' : ''}: forward and all gradients`, () => {
            const [n, c, h, w, oc, kh, kw, oh, ow] = d as [number, number, number, number, number, number, number, number, number];
            const dims = Int32Array.from([...d, layout]);
            const xs = n * c * h * w, ws = oc * c * kh * kw, ys = n * oc * oh * ow;
            const tol = gemmTol(c * kh * kw * 4);
            const x = rand(xs, 80), wt = rand(ws, 81), bias = withBias ? rand(oc, 82) : null;
            same('conv2d', [x, wt, bias, new Float32Array(ys), dims, act], [0, 1, 2, 3], [3], tol);
            // With the fused ReLU the backward reads the forward's output (the CPU's, so both mask alike).
            const y = act ? new Float32Array(ys) : null;
            if (y) cpu.conv2d(x, wt, bias, y, dims, act);
            same('conv2dBackward', [x, wt, rand(ys, 83), new Float32Array(xs), new Float32Array(ws),
              withBias ? new Float32Array(oc) : null, dims, y, act], [0, 1, 2, 3, 4, 5, 7], withBias ? [3, 4, 5] : [3, 4],
            [tol, gemmTol(n * oh * ow), gemmTol(n * oh * ow)]);
          });
    it('fused ReLU zeroes negative outputs and their gradients (some outputs are exactly 0 before it)', () => {
      // 1x1 kernel with a zero weight row: that channel is bias only, and a negative bias there is cut to 0.
      const dims = Int32Array.from([2, 3, 4, 4, 2, 1, 1, 4, 4, 1, 1, 0, 0, 0]);
      const wt = Float32Array.from([0.5, -1, 2, 0, 0, 0]), bias = Float32Array.from([0.1, -0.3]);
      const x = rand(96, 87);
      same('conv2d', [x, wt, bias, new Float32Array(64), dims, 1], [0, 1, 2, 3], [3], gemmTol(3));
      const y = new Float32Array(64);
      cpu.conv2d(x, wt, bias, y, dims, 1);
      expect(y.slice(16, 32).every((v) => v === 0)).toBe(true);
      same('conv2dBackward', [x, wt, rand(64, 88), new Float32Array(96), new Float32Array(6), new Float32Array(2), dims, y, 1],
        [0, 1, 2, 3, 4, 5, 7], [3, 4, 5], [gemmTol(2), gemmTol(32), gemmTol(32)]);
    });
    it('no images: zero weight and bias gradients', () => {
      const dims = Int32Array.from([0, 2, 4, 4, 3, 3, 3, 2, 2, 1, 1, 0, 0, 0]);
      same('conv2dBackward', [new Float32Array(0), rand(54, 84), new Float32Array(0), null, rand(54, 85), rand(3, 86), dims, null, 0],
        [0, 1, 2, 4, 5], [4, 5], EXACT);
    });
  });

  describe('linear (GEMM with a fused bias and ReLU)', () => {
    for (const transW of [false, true])
      for (const [withBias, act] of [[true, 0], [false, 0], [true, 1], [false, 1]] as const)
        it(`transW=${transW}, ${withBias ? 'bias' : 'no bias'}, act ${act}: forward and all gradients`, () => {
          const m = 33, n = 21, k = 47;
          const x = rand(m * k, 130, -2, 2), w = rand(n * k, 131), b = withBias ? rand(n, 132) : null;
          same('linear', [x, w, b, new Float32Array(m * n), m, n, k, transW, act], [0, 1, 2, 3], [3], gemmTol(k));
          const y = new Float32Array(m * n);
          cpu.linear(x, w, b, y, m, n, k, transW, act);
          same('linearBackward', [x, w, rand(m * n, 133), act ? y : null, new Float32Array(m * k), new Float32Array(n * k),
            new Float32Array(n), m, n, k, transW, act], [0, 1, 2, 3, 4, 5, 6], [4, 5, 6],
          [gemmTol(n), gemmTol(m), gemmTol(m)]);
        });
    it('a mostly-zero input (the CPU takes its sparse path) gives the same answer', () => {
      const m = 64, n = 32, k = 256;
      const x = rand(m * k, 134).map((v) => (v > 0.6 ? v : 0));
      same('linear', [x, rand(k * n, 135), rand(n, 136), new Float32Array(m * n), m, n, k, false, 1], [0, 1, 2, 3], [3], gemmTol(k));
      same('linearBackward', [x, rand(k * n, 135), rand(m * n, 137), null, null, new Float32Array(k * n), null, m, n, k, false, 0],
        [0, 1, 2, 3, 4, 5, 6], [5], gemmTol(m));
    });
    it('k = 0 gives act(bias); m = 0 gives zero weight and bias gradients; only the gradients asked for', () => {
      same('linear', [new Float32Array(0), new Float32Array(0), Float32Array.from([1, -2, 3]), rand(6, 138), 2, 3, 0, false, 1],
        [0, 1, 2, 3], [3], EXACT);
      same('linearBackward', [new Float32Array(0), rand(12, 139), new Float32Array(0), null, new Float32Array(0),
        rand(12, 140), rand(3, 141), 0, 3, 4, true, 0], [0, 1, 2, 4, 5, 6], [5, 6], EXACT);
      same('linearBackward', [rand(20, 142), rand(12, 143), rand(15, 144), null, null, null, new Float32Array(3), 5, 3, 4, true, 0],
        [0, 1, 2, 6], [6], SUMS);
    });
  });

  describe('pooling', () => {
    // [n, c, h, w, oh, ow, kh, kw, strideH, strideW, padTop, padLeft]
    const cases: [string, number[]][] = [
      ['2x2 stride 2', [3, 4, 8, 6, 4, 3, 2, 2, 2, 2, 0, 0]],
      ['3x3 stride 2 pad 1 (overlapping windows)', [2, 3, 9, 7, 5, 4, 3, 3, 2, 2, 1, 1]],
    ];
    for (const [label, d] of cases)
      for (const layout of [0, 1])
        it(`${label}, ${layout ? 'NHWC' : 'NCHW'}: max and average, forward and backward`, () => {
          const dims = Int32Array.from([...d, layout]);
          const xs = d[0]! * d[1]! * d[2]! * d[3]!, ys = d[0]! * d[1]! * d[4]! * d[5]!;
          const x = Float32Array.from(randInt(xs, 90, -4, 4));  // ties
          x[5] = NaN;
          same('maxPool2d', [x, new Float32Array(ys), new Int32Array(ys), dims], [0, 1, 2], [1, 2], EXACT);
          const y = new Float32Array(ys), am = new Int32Array(ys);
          cpu.maxPool2d(x, y, am, dims);
          same('maxPool2dBackward', [rand(ys, 91), am, new Float32Array(xs), dims], [0, 1, 2], [2], SUMS);
          same('avgPool2d', [rand(xs, 92), new Float32Array(ys), dims], [0, 1], [1], SUMS);
          same('avgPool2dBackward', [rand(ys, 93), new Float32Array(xs), dims], [0, 1], [1], SUMS);
        });
  });

  describe('dropout', () => {
    for (const [rate, seed] of [[0.5, 1], [0.1, -7], [0, 3], [0.9, 2 ** 40]] as const)
      it(`rate ${rate}, seed ${seed}: the CPU's mask bit for bit`, () => {
        const n = 100003;
        same('dropout', [rand(n, 100), new Float32Array(n), new Float32Array(n), rate, seed], [0, 1, 2], [1, 2], EXACT);
        same('dropoutBackward', [rand(n, 101), rand(n, 102), new Float32Array(n)], [0, 1, 2], [2], EXACT);
      });
  });

  describe('batch norm', () => {
    const views: [number, number, number][] = [[16, 6, 1], [4, 5, 49], [2000, 3, 1], [3, 4, 9000]];
    for (const [outer, c, inner] of views)
      for (const affine of [true, false])
        it(`(${outer}, ${c}, ${inner})${affine ? '' : ' without gamma/beta'}: training, eval and backward`, () => {
          const total = outer * c * inner;
          const x = rand(total, 110, 3, 7);  // a mean far from 0 tests the shifted sums
          const gamma = affine ? rand(c, 111, 0.5, 1.5) : null, beta = affine ? rand(c, 112) : null;
          for (const training of [true, false])
            same('batchNorm', [x, gamma, beta, new Float32Array(total), new Float32Array(c), new Float32Array(c),
              rand(c, 113), rand(c, 114, 0.5, 2), outer, c, inner, 0.1, 1e-5, training],
            [0, 1, 2, 3, 4, 5, 6, 7], [3, 4, 5, 6, 7], SUMS);
          const mean = new Float32Array(c), invstd = new Float32Array(c);
          cpu.batchNorm(x, gamma, beta, new Float32Array(total), mean, invstd, new Float32Array(c), new Float32Array(c).fill(1),
            outer, c, inner, 0.1, 1e-5, true);
          same('batchNormBackward', [x, gamma, mean, invstd, rand(total, 115), new Float32Array(total),
            affine ? new Float32Array(c) : null, new Float32Array(c), outer, c, inner],
          [0, 1, 2, 3, 4, 5, 6, 7], affine ? [5, 6, 7] : [5, 7], SUMS);
        });
  });

  describe('optimizers (three steps each, state included)', () => {
    const n = 5000;
    const runSteps = (fn: string, argsFor: (step: number) => unknown[], data: number[], outs: number[]) => {
      // The same buffers carry state across steps on both sides.
      const host = argsFor(1).map((a) => (a instanceof Float32Array ? a.slice() : a));
      const dev = host.map((a, i) => (data.includes(i) && a ? upload(g, a as Float32Array) : a));
      try {
        for (let step = 1; step <= 3; step++) {
          const scal = argsFor(step);
          const h = scal.map((a, i) => (data.includes(i) ? host[i] : a));
          const d = scal.map((a, i) => (data.includes(i) ? dev[i] : a));
          (cpu as any)[fn](...h);  // eslint-disable-line @typescript-eslint/no-explicit-any
          (g as any)[fn](...d);  // eslint-disable-line @typescript-eslint/no-explicit-any
        }
        for (const i of outs) {
          const got = download(g, dev[i] as never) as Float32Array;
          const want = host[i] as Float32Array;
          for (let k = 0; k < want.length; k++)
            if (!(Math.abs(got[k]! - want[k]!) <= 1e-6 + 1e-5 * Math.abs(want[k]!)))
              throw new Error(`${fn} output ${i}[${k}]: gpu ${got[k]}, cpu ${want[k]}`);
        }
      } finally {
        for (const i of data) if (dev[i]) g.free(dev[i] as never);
      }
    };
    const p = () => rand(n, 120), gr = () => rand(n, 121), z = () => new Float32Array(n);
    it('sgd: plain, momentum, nesterov, weight decay', () => {
      runSteps('sgdStep', (s) => [p(), gr(), null, 0.1, 0, 0, 0.01, false, s === 1], [0, 1, 2], [0]);
      runSteps('sgdStep', (s) => [p(), gr(), z(), 0.1, 0.9, 0.1, 0, false, s === 1], [0, 1, 2], [0, 2]);
      runSteps('sgdStep', (s) => [p(), gr(), z(), 0.1, 0.9, 0, 0.01, true, s === 1], [0, 1, 2], [0, 2]);
    });
    it('adam, amsgrad, adamw', () => {
      runSteps('adamStep', (s) => [p(), gr(), z(), z(), null, 1e-3, 0.9, 0.999, 1e-8, 0, false, s], [0, 1, 2, 3, 4], [0, 2, 3]);
      runSteps('adamStep', (s) => [p(), gr(), z(), z(), z(), 1e-3, 0.9, 0.999, 1e-8, 0.01, false, s], [0, 1, 2, 3, 4], [0, 2, 3, 4]);
      runSteps('adamStep', (s) => [p(), gr(), z(), z(), null, 1e-3, 0.9, 0.999, 1e-8, 0.01, true, s], [0, 1, 2, 3, 4], [0, 2, 3]);
    });
    it('rmsprop: plain, centered with momentum, eps inside the root', () => {
      runSteps('rmspropStep', () => [p(), gr(), z(), null, null, 1e-2, 0.99, 1e-8, 0, 0, false], [0, 1, 2, 3, 4], [0, 2]);
      runSteps('rmspropStep', () => [p(), gr(), z(), z(), z(), 1e-2, 0.9, 1e-8, 0.01, 0.9, false], [0, 1, 2, 3, 4], [0, 2, 3, 4]);
      runSteps('rmspropStep', () => [p(), gr(), z(), null, null, 1e-3, 0.9, 1e-7, 0, 0, true], [0, 1, 2, 3, 4], [0, 2]);
    });
    it('adagrad and adadelta', () => {
      runSteps('adagradStep', (s) => [p(), gr(), z(), 1e-2, 0.01, 0.001, 1e-10, s, false], [0, 1, 2], [0, 2]);
      runSteps('adagradStep', (s) => [p(), gr(), z(), 1e-2, 0, 0, 1e-7, s, true], [0, 1, 2], [0, 2]);
      runSteps('adadeltaStep', () => [p(), gr(), z(), z(), 1, 0.95, 1e-6, 0.001], [0, 1, 2, 3], [0, 2, 3]);
    });
    it('sumSquares (double accumulation) and scale', () => {
      const x = rand(300001, 122);
      const d = upload(g, x);
      expect(Math.abs(g.sumSquares(d) - cpu.sumSquares(x))).toBeLessThan(1e-9 * cpu.sumSquares(x));
      g.free(d);
      same('scale', [rand(1000, 123), 0.37], [0], [0], EXACT);
    });
  });

  describe('empty inputs', () => {
    const f = (n: number) => new Float32Array(n);
    it('zero-sized launches write nothing and fail nothing', () => {
      same('unary', [UnaryOp.exp, f(0), f(0), 0, 0], [1, 2], [2], EXACT);
      same('binary', [BinaryOp.add, f(0), i32(1, 0), f(3), i32(0, 1), f(0), i32(0, 3)], [1, 3, 5], [5], EXACT);
      same('binaryBackward', [BinaryOp.mul, f(0), i32(1, 0), f(3), i32(0, 1), f(0), i32(0, 3), f(0), f(3)],
        [1, 3, 5, 7, 8], [8], EXACT);
      same('sumToStrides', [f(0), i32(0, 4), f(4), i32(0, 1)], [0, 2], [2], EXACT);
      same('reduce', [ReduceOp.sum, f(0), f(0), 0, 5, 3], [1, 2], [2], EXACT);
      same('reduce', [ReduceOp.sum, f(0), f(6), 2, 0, 3], [1, 2], [2], EXACT);
      same('reduce', [ReduceOp.mean, f(0), f(6), 2, 0, 3], [1, 2], [2], EXACT);
      same('reduce', [ReduceOp.prod, f(0), f(2), 2, 0, 1], [1, 2], [2], EXACT);
      same('softmax', [f(0), f(0), 0, 5, 1, false], [0, 1], [1], EXACT);
      same('softmaxXent', [f(0), 0, 5, new Int32Array(0), null, 0, f(0), f(0)], [0, 3, 6, 7], [6, 7], EXACT);
      same('gather', [f(12), new Int32Array(0), f(0), 2, 6, 1], [0, 1, 2], [2], EXACT);
      same('gatherBackward', [f(0), new Int32Array(0), f(12), 2, 6, 1], [0, 1, 2], [2], EXACT);
      same('oneHot', [new Int32Array(0), f(0), 4, 1, 0], [0, 1], [1], EXACT);
      same('copyStrided', [f(6), 0, i32(3, 1), f(6), 0, i32(3, 1), i32(0, 3), false], [0, 3], [3], EXACT);
      same('dropout', [f(0), f(0), f(0), 0.5, 1], [0, 1, 2], [1, 2], EXACT);
      same('sumToStrides', [f(0), i32(0), f(1), i32(0)], [0, 2], [2], EXACT);
    });
    it('batch norm over no values (training) and one image of pooling', () => {
      same('batchNorm', [f(0), null, null, f(0), f(3), f(3), f(3), f(3).fill(1), 0, 3, 4, 0.1, 1e-5, true],
        [0, 3, 4, 5, 6, 7], [4, 5, 6, 7], EXACT);
      same('batchNormBackward', [f(0), null, f(3), f(3).fill(1), f(0), f(0), f(3), f(3), 0, 3, 4],
        [0, 2, 3, 4, 5, 6, 7], [6, 7], EXACT);
      const dims = Int32Array.from([0, 2, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0]);
      same('maxPool2d', [f(0), f(0), new Int32Array(0), dims], [0, 1, 2], [1], EXACT);
      same('avgPool2dBackward', [f(0), f(0), dims], [0, 1], [1], EXACT);
    });
  });
  describe('recurrent layers (the same workspace layout on both devices) and the embedding gradient', () => {
    // 1e-4: FastTanh/StableSigmoid against tanhf/expf and two GEMM orders, carried through 5 steps.
    const RNN_TOL: Tol = { atol: 1e-4, rtol: 1e-4 };
    const f = (n: number) => new Float32Array(n);
    const [T, B, F, H] = [5, 3, 4, 3];
    // [cell, batchFirst, reverse, transW, act, recAct, resetAfter, kerasGru]
    const cases: [string, number[], boolean][] = [
      ['LSTM, batch-first, Keras layout, sigmoid gates', [1, 1, 0, 0, 0, 1, 1, 1], false],
      ['LSTM, time-major, reversed, PyTorch layout, hard_sigmoid, recurrent dropout', [1, 0, 1, 1, 0, 2, 1, 0], true],
      ['GRU reset after, PyTorch layout and order', [2, 0, 0, 1, 0, 1, 1, 0], false],
      ['GRU reset before, Keras order, reversed, recurrent dropout', [2, 1, 1, 0, 0, 2, 0, 1], true],
      ['SimpleRNN relu', [0, 1, 0, 0, 3, 1, 1, 1], false],
    ];
    cases.forEach(([name, flags, masked], k) => {
      it(`${name}: forward (outputs and workspace), then backward from the same workspace`, () => {
        const d = Int32Array.from([T, B, F, H, ...flags]);
        const lstm = flags[0] === 1;
        const G = lstm ? 4 : flags[0] === 2 ? 3 : 1;
        const [wsLen, scLen] = cpu.rnnSizes(d);
        const seed = 300 + 40 * k;
        const x = rand(T * B * F, seed), wx = rand(F * G * H, seed + 1), wh = rand(H * G * H, seed + 2);
        const bx = rand(G * H, seed + 3), bh = rand(G * H, seed + 4), h0 = rand(B * H, seed + 5);
        const c0 = lstm ? rand(B * H, seed + 6) : null;
        const rmask = masked ? Float32Array.from(rand(B * H, seed + 7), (v) => (v > 0.2 ? 1.25 : 0)) : null;
        const fwd = [x, wx, wh, bx, bh, h0, c0, rmask, f(T * B * H), f(B * H), lstm ? f(B * H) : null, f(wsLen), d];
        same('rnnForward', fwd, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], lstm ? [8, 9, 10, 11] : [8, 9, 11], RNN_TOL);
        const ws = f(wsLen);
        cpu.rnnForward(x, wx, wh, bx, bh, h0, c0, rmask, f(T * B * H), f(B * H), lstm ? f(B * H) : null, ws, d);
        const bwd = [x, wx, wh, c0, rmask, ws, rand(T * B * H, seed + 8), rand(B * H, seed + 9), lstm ? rand(B * H, seed + 10) : null,
          f(T * B * F), f(F * G * H), f(H * G * H), f(G * H), f(G * H), f(B * H), lstm ? f(B * H) : null, f(scLen), d];
        const outs = lstm ? [9, 10, 11, 12, 13, 14, 15] : [9, 10, 11, 12, 13, 14];
        same('rnnBackward', bwd, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], outs, RNN_TOL);
      });
    });
    it('an empty sequence passes the state through; embedding gradient: the same sums in the same order', () => {
      const d = Int32Array.from([0, 2, 3, 2, 1, 1, 0, 0, 0, 1, 1, 1]);
      const [wsLen] = cpu.rnnSizes(d);
      same('rnnForward', [f(0), rand(24, 401), rand(16, 402), null, null, rand(4, 403), rand(4, 404), null, f(0), f(4), f(4), f(wsLen), d],
        [0, 1, 2, 5, 6, 8, 9, 10, 11], [9, 10], EXACT);
      const idx = Int32Array.from([3, 0, 3, 1, 3, 4, 0]);
      same('embeddingBackward', [rand(7 * 5, 405), idx, f(6 * 5), 6, 5, 4, new Int32Array(6 + 1 + 7)], [0, 1, 2, 6], [2], EXACT);
    });
  });
});
