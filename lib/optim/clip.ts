// Gradient clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_), in place on each .grad.
import { native } from '../native/load.js';
import { TensorboltError, fmtValue } from '../tensor/errors.js';
import { Tensor } from '../tensor/tensor.js';

function gradsOf(op: string, params: Tensor | Tensor[]): Float32Array[] {
  const list = params instanceof Tensor ? [params] : params;
  if (!Array.isArray(list)) throw new TensorboltError(op, 'params must be a Tensor or an array of tensors');
  const out: Float32Array[] = [];
  list.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new TensorboltError(op, `params[${i}] must be a Tensor`);
    if (p.grad) out.push(p.grad.f32(op));
  });
  return out;
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
    for (const g of grads) s += native().sumSquares(g);
    total = Math.sqrt(s);
  } else if (normType === Infinity) {
    total = 0;
    for (const g of grads)
      for (let i = 0; i < g.length; i++) {
        const a = Math.abs(g[i]!);
        if (a > total || Number.isNaN(a)) total = a;
      }
  } else {
    let s = 0;
    for (const g of grads) for (let i = 0; i < g.length; i++) s += Math.abs(g[i]!) ** normType;
    total = s ** (1 / normType);
  }
  if (!Number.isFinite(total)) {
    if (errorIfNonfinite)
      throw new TensorboltError(op, `the total norm of the gradients is ${total}; they hold NaN or infinite values`);
    if (Number.isNaN(total)) return total;
  }
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) for (const g of grads) native().scale(g, coef);
  return total;
}

/** Clamps every gradient element to [-clipValue, clipValue] (NaN stays NaN, as in PyTorch). */
export function clipGradValue(params: Tensor | Tensor[], clipValue: number): void {
  const op = 'clipGradValue';
  if (typeof clipValue !== 'number' || !(clipValue >= 0))
    throw new TensorboltError(op, `clipValue must be a number >= 0, got ${fmtValue(clipValue)}`);
  const lo = -clipValue;
  for (const g of gradsOf(op, params))
    for (let i = 0; i < g.length; i++) {
      const v = g[i]!;
      if (v > clipValue) g[i] = clipValue;
      else if (v < lo) g[i] = lo;
    }
}
