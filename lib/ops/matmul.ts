// Matrix products on GEMM: matmul (2-D and batched, with transposes and broadcasting of a 2-D
// operand over the other's batch) and its gradients.
import type { F32Buf } from '../native/backend.js';
import { ReduceOp } from '../native/opcodes.js';
import { record } from '../tensor/autograd.js';
import { TensorboltError, fmtShape, checkOptions } from '../tensor/errors.js';
import { shapesEqual, sizeOf } from '../tensor/shape.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { reshape } from './reshape.js';
import { backendOf, requireFloat, tensorArg, type OpBackend } from './util.js';

export interface MatmulOptions {
  transposeA?: boolean;
  transposeB?: boolean;
}

/**
 * out (batch, m, n) = op(x) @ op(y). x is (bx, r, c) with bx = batch or 1 (stride 0), same for y.
 * Batches of a broadcast operand reuse its one matrix.
 */
function gemmBatched(be: OpBackend, x: F32Buf, y: F32Buf, out: F32Buf, tx: boolean, ty: boolean,
                     m: number, n: number, k: number, batch: number, xBatched: boolean, yBatched: boolean): void {
  be.gemm(x, y, out, tx, ty, m, n, k, 1, 0, batch, xBatched ? m * k : 0, yBatched ? k * n : 0, m * n);
}

/**
 * The sum over the batch of op(x_b) @ op(y_b) into a single (m, n) out: the gradient of a 2-D operand
 * broadcast over the other's batch. When both are batched, x is read transposed and y is not, the
 * batch joins the reduction axis of one GEMM ((batch·k, m)ᵀ @ (batch·k, n)); otherwise the products
 * go to a (batch, m, n) scratch that one reduction sums.
 */
function gemmSumBatch(be: OpBackend, x: F32Buf, y: F32Buf, out: F32Buf, tx: boolean, ty: boolean,
                      m: number, n: number, k: number, batch: number, xBatched: boolean, yBatched: boolean): void {
  if (xBatched && yBatched && tx && !ty) {
    be.gemm(x, y, out, true, false, m, n, batch * k, 1, 0, 1, 0, 0, 0);
    return;
  }
  const parts = be.alloc(batch * m * n, 'float32') as F32Buf;
  try {
    gemmBatched(be, x, y, parts, tx, ty, m, n, k, batch, xBatched, yBatched);
    be.reduce(ReduceOp.sum, parts, out, 1, batch, m * n);
  } finally {
    be.free(parts);
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
  const be = backendOf(op, a, b);
  const out = empty(be, [...batchShape, m, n]);
  gemmBatched(be, a.f32(op), b.f32(op), out.f32(op), tA, tB, m, n, k, batch, aB, bB);
  return record(op, out, [a, b], (dy) => {
    const g = dy.f32(op);
    let da: Tensor | null = null;
    let db: Tensor | null = null;
    if (a.requiresGrad) {
      // dA = dY @ op(B)ᵀ, laid out as A is stored (transposed back when tA).
      da = empty(be, a.shape);
      const A = da.f32(op);
      const B = b.f32(op);
      const [r, c] = tA ? [k, m] : [m, k];
      const fn = aB ? gemmBatched : gemmSumBatch;
      if (!tA) fn(be, g, B, A, false, !tB, r, c, n, batch, true, bB); // (m,n)@(n,k)
      else fn(be, B, g, A, tB, true, r, c, n, batch, bB, true); // (k,n)@(n,m)
    }
    if (b.requiresGrad) {
      db = empty(be, b.shape);
      const Bd = db.f32(op);
      const A = a.f32(op);
      const [r, c] = tB ? [n, k] : [k, n];
      const fn = bB ? gemmBatched : gemmSumBatch;
      if (!tB) fn(be, A, g, Bd, !tA, false, r, c, m, batch, aB, true); // (k,m)@(m,n)
      else fn(be, g, A, Bd, true, tA, r, c, m, batch, true, aB); // (n,m)@(m,k)
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
