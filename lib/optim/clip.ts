// Gradient clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_), in place on each .grad, by
// kernels on the gradients' device: the norm is one number read back per call.
import { ReduceOp, UnaryOp } from '../native/opcodes.js';
import { TensorboltError, fmtValue } from '../tensor/errors.js';
import { Tensor, empty } from '../tensor/tensor.js';

function gradsOf(op: string, params: Tensor | Tensor[]): Tensor[] {
  const list = params instanceof Tensor ? [params] : params;
  if (!Array.isArray(list)) throw new TensorboltError(op, 'params must be a Tensor or an array of tensors');
  const out: Tensor[] = [];
  list.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new TensorboltError(op, `params[${i}] must be a Tensor`);
    if (p.grad) {
      p.grad.f32(op);
      out.push(p.grad);
    }
  });
  return out;
}

/** max |g| (NaN when g holds one), or sum |g|^p: an elementwise pass and one reduction on g's device. */
function gradNormTerm(op: string, g: Tensor, normType: number): number {
  const be = g._be;
  const t = empty(be, g.shape);
  const r = empty(be, []);
  try {
    be.unary(UnaryOp.abs, g.f32(op), t.f32(op), 0, 0);
    if (normType === Infinity) {
      if (g.size === 0) return 0;
      be.reduce(ReduceOp.max, t.f32(op), r.f32(op), 1, g.size, 1);
    } else {
      be.unary(UnaryOp.powScalar, t.f32(op), t.f32(op), normType, 0);
      be.reduce(ReduceOp.sum, t.f32(op), r.f32(op), 1, g.size, 1);
    }
    return r.item();
  } finally {
    t.dispose();
    r.dispose();
  }
}

/**
 * Scales every gradient by min(1, maxNorm / (totalNorm + 1e-6)), where totalNorm is the normType-norm
 * of all gradients taken together (as if concatenated). Returns totalNorm before clipping.
 * normType: any p > 0, or Infinity for the largest absolute value. With errorIfNonfinite, a NaN or
 * infinite total norm throws instead (PyTorch's flag); otherwise it is returned and, as in PyTorch,
 * an infinite norm scales the gradients by 0.
 */
export function clipGradNorm(params: Tensor | Tensor[], maxNorm: number, normType = 2, errorIfNonfinite = false): number {
  const op = 'clipGradNorm';
  if (typeof maxNorm !== 'number' || !(maxNorm >= 0) || !Number.isFinite(maxNorm))
    throw new TensorboltError(op, `maxNorm must be a finite number >= 0, got ${fmtValue(maxNorm)}`);
  if (typeof normType !== 'number' || !(normType > 0))
    throw new TensorboltError(op, `normType must be a number > 0 or Infinity, got ${fmtValue(normType)}`);
  const grads = gradsOf(op, params);
  if (grads.length === 0) return 0;
  let total: number;
  if (normType === 2) {
    let s = 0;
    for (const g of grads) s += g._be.sumSquares(g.f32(op));
    total = Math.sqrt(s);
  } else if (normType === Infinity) {
    total = 0;
    for (const g of grads) {
      const a = gradNormTerm(op, g, normType);
      if (a > total || Number.isNaN(a)) total = a;
    }
  } else {
    let s = 0;
    for (const g of grads) s += gradNormTerm(op, g, normType);
    total = s ** (1 / normType);
  }
  if (!Number.isFinite(total)) {
    if (errorIfNonfinite)
      throw new TensorboltError(op, `the total norm of the gradients is ${total}; they hold NaN or infinite values`);
    if (Number.isNaN(total)) return total;
  }
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) for (const g of grads) g._be.scale(g.f32(op), coef);
  return total;
}

/** Clamps every gradient element to [-clipValue, clipValue] (NaN stays NaN, as in PyTorch). */
export function clipGradValue(params: Tensor | Tensor[], clipValue: number): void {
  const op = 'clipGradValue';
  if (typeof clipValue !== 'number' || !(clipValue >= 0))
    throw new TensorboltError(op, `clipValue must be a number >= 0, got ${fmtValue(clipValue)}`);
  // clip in place: NaN passes through the kernel unchanged (its comparisons are false)
  for (const g of gradsOf(op, params)) g._be.unary(UnaryOp.clip, g.f32(op), g.f32(op), -clipValue, clipValue);
}
