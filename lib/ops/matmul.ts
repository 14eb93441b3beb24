// Matrix products on GEMM: matmul (2-D and batched, with transposes and broadcasting of a 2-D
// operand over the other's batch) and its gradients.
import { native } from '../native/load.js';
import { record } from '../tensor/autograd.js';
import { TensorboltError, fmtShape, checkOptions } from '../tensor/errors.js';
import { shapesEqual, sizeOf } from '../tensor/shape.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { reshape } from './reshape.js';
import { requireFloat, tensorArg } from './util.js';

export interface MatmulOptions {
  transposeA?: boolean;
  transposeB?: boolean;
}

/**
 * out (batch, m, n) = op(x) @ op(y). x is (bx, r, c) with bx = batch or 1 (stride 0), same for y.
 * When accumulate, out += instead of =. Batches of a broadcast operand reuse its one matrix.
 */
function gemmBatched(x: Float32Array, y: Float32Array, out: Float32Array, tx: boolean, ty: boolean,
                     m: number, n: number, k: number, batch: number, xBatched: boolean, yBatched: boolean, beta = 0): void {
  native().gemm(x, y, out, tx, ty, m, n, k, 1, beta, batch, xBatched ? m * k : 0, yBatched ? k * n : 0, m * n);
}

/** Sum over the batch of op(x_b) @ op(y_b) into a single (m, n) out. */
function gemmSumBatch(x: Float32Array, y: Float32Array, out: Float32Array, tx: boolean, ty: boolean,
                      m: number, n: number, k: number, batch: number, xBatched: boolean, yBatched: boolean): void {
  const g = native();
  for (let b = 0; b < batch; b++) {
    const xb = xBatched ? x.subarray(b * m * k, (b + 1) * m * k) : x;
    const yb = yBatched ? y.subarray(b * k * n, (b + 1) * k * n) : y;
    g.gemm(xb, yb, out, tx, ty, m, n, k, 1, b === 0 ? 0 : 1, 1, 0, 0, 0);
  }
}

/** Matrix product. Ranks >= 2 multiply the last two axes and batch the rest; a 1-D operand is a vector. */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const op = 'matmul';
  checkOptions(op, opts);
  tensorArg(op, a, 'a');
  tensorArg(op, b, 'b');
  requireFloat(op, a, 'a');
  requireFloat(op, b, 'b');
  if (a.rank === 0 || b.rank === 0) throw new TensorboltError(op, `operands must have rank >= 1, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  // Vectors: (k) @ (..., k, n) and (..., m, k) @ (k), as in NumPy/PyTorch.
  if (a.rank === 1 || b.rank === 1) {
    const a2 = a.rank === 1 ? reshape(a, [1, a.shape[0]!]) : a;
    const b2 = b.rank === 1 ? reshape(b, [b.shape[0]!, 1]) : b;
    const r = matmul(a2, b2, { transposeA: a.rank === 1 ? false : opts.transposeA, transposeB: b.rank === 1 ? false : opts.transposeB });
    const s = r.shape.slice();
    if (b.rank === 1) s.splice(s.length - 1, 1);
    if (a.rank === 1) s.splice(s.length - (b.rank === 1 ? 1 : 2), 1);
    return reshape(r, s);
  }
  const tA = !!opts.transposeA;
  const tB = !!opts.transposeB;
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const m = tA ? ac : ar;
  const k = tA ? ar : ac;
  const kb = tB ? bc : br;
  const n = tB ? br : bc;
  if (k !== kb)
    throw new TensorboltError(op, `inner dimensions differ: ${fmtShape(a.shape)}${tA ? 'ᵀ' : ''} @ ${fmtShape(b.shape)}${tB ? 'ᵀ' : ''} (${k} vs ${kb})`);
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  let batchShape: number[];
  if (aBatch.length === 0) batchShape = bBatch;
  else if (bBatch.length === 0 || shapesEqual(aBatch, bBatch)) batchShape = aBatch;
  else
    throw new TensorboltError(op, `batch dimensions differ: ${fmtShape(a.shape)} @ ${fmtShape(b.shape)} (batch dims must match, or one operand must be 2-D)`);
  const batch = sizeOf(batchShape);
  const aB = aBatch.length > 0;
  const bB = bBatch.length > 0;
  const out = empty([...batchShape, m, n]);
  gemmBatched(a.f32(op), b.f32(op), out.f32(op), tA, tB, m, n, k, batch, aB, bB);
  return record(op, out, [a, b], (dy) => {
    const g = dy.f32(op);
    let da: Tensor | null = null;
    let db: Tensor | null = null;
    if (a.requiresGrad) {
      // dA = dY @ op(B)ᵀ, laid out as A is stored (transposed back when tA).
      da = empty(a.shape);
      const A = da.f32(op);
      const B = b.f32(op);
      const [r, c] = tA ? [k, m] : [m, k];
      const fn = aB ? gemmBatched : gemmSumBatch;
      if (!tA) fn(g, B, A, false, !tB, r, c, n, batch, true, bB); // (m,n)@(n,k)
      else fn(B, g, A, tB, true, r, c, n, batch, bB, true); // (k,n)@(n,m)
    }
    if (b.requiresGrad) {
      db = empty(b.shape);
      const Bd = db.f32(op);
      const A = a.f32(op);
      const [r, c] = tB ? [n, k] : [k, n];
      const fn = bB ? gemmBatched : gemmSumBatch;
      if (!tB) fn(A, g, Bd, !tA, false, r, c, m, batch, aB, true); // (k,m)@(m,n)
      else fn(g, A, Bd, true, tA, r, c, m, batch, true, aB); // (n,m)@(m,k)
    }
    return [da, db];
  });
}

/** Dot product of two vectors, or matmul for matrices (tf.dot). */
export function dot(a: Tensor, b: Tensor): Tensor {
  return matmul(a, b);
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    matmul(b: Tensor, opts?: MatmulOptions): Tensor;
  }
}
Tensor.prototype.matmul = function (b: Tensor, opts?: MatmulOptions) { return matmul(this, b, opts); };
