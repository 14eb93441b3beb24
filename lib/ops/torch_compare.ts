// PyTorch's comparison names beside TensorFlow.js's: eq ne gt ge lt le (elementwise 1/0, as
// tb.eq/notEqual/greater/...), and equal, which is torch.equal: one boolean for the whole tensors.
import { noGrad } from '../tensor/autograd.js';
import type { TensorLike } from '../tensor/creation.js';
import { shapesEqual } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/tidy.js';
import { eq, greater, greaterEqual, less, lessEqual, notEqual } from './elementwise.js';
import { min } from './reduce.js';
import { maxArgs, tensorArg } from './util.js';

/** 1 where a != b, else 0 (torch.ne; tb.notEqual). */
export const ne = notEqual;
/** 1 where a > b, else 0 (torch.gt; tb.greater). */
export const gt = greater;
/** 1 where a >= b, else 0 (torch.ge; tb.greaterEqual). */
export const ge = greaterEqual;
/** 1 where a < b, else 0 (torch.lt; tb.less). */
export const lt = less;
/** 1 where a <= b, else 0 (torch.le; tb.lessEqual). */
export const le = lessEqual;

/**
 * torch.equal: true when a and b have the same shape and the same values (NaN equals nothing).
 * int32 values are compared as float32, so beyond 2^24 neighbouring integers may compare equal.
 * For the elementwise 1/0 tensor (tf.equal), use tb.eq.
 */
export function equal(a: Tensor, b: Tensor): boolean {
  const op = 'equal';
  maxArgs(op, arguments, 2, 'a, b');
  tensorArg(op, a, 'a');
  tensorArg(op, b, 'b');
  if (!shapesEqual(a.shape, b.shape)) return false;
  if (a.size === 0) return true;
  return noGrad(() => tidy(() => min(eq(a, b)).item())) === 1;
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    ne(b: TensorLike): Tensor;
    gt(b: TensorLike): Tensor;
    ge(b: TensorLike): Tensor;
    lt(b: TensorLike): Tensor;
    le(b: TensorLike): Tensor;
    /** torch's Tensor.equal: one boolean (see tb.equal). */
    equal(b: Tensor): boolean;
  }
}
for (const [name, fn] of Object.entries({ ne, gt, ge, lt, le, equal }))
  Object.defineProperty(Tensor.prototype, name, {
    value: function (this: Tensor, ...rest: unknown[]) { return (fn as (...a: unknown[]) => unknown)(this, ...rest); },
    writable: true, configurable: true,
  });
