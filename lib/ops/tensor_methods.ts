// Methods on Tensor that belong to autograd rather than to one op family.
import { backward, type BackwardOptions } from '../tensor/autograd.js';
import { TensorboltError, fmtValue } from '../tensor/errors.js';
import { Tensor, copyTo, empty } from '../tensor/tensor.js';
import { tensorArg } from './util.js';

/** A new tensor with the same values, no graph history and requiresGrad false. */
export function detach(x: Tensor): Tensor {
  tensorArg('detach', x);
  return copyTo(x, x._be, 'detach');
}

/** A copy of x that stays connected to the graph (gradient passes straight through). */
export function clone(x: Tensor): Tensor {
  tensorArg('clone', x);
  const out = detach(x);
  if (x.requiresGrad) {
    // imported lazily to avoid a cycle with autograd's record()
    out.requiresGrad = true;
    out._node = { op: 'clone', inputs: [x], backward: (dy) => [dy], saved: [] };
  }
  return out;
}

export function cast(x: Tensor, dtype: 'float32' | 'int32'): Tensor {
  tensorArg('cast', x);
  if (dtype !== 'float32' && dtype !== 'int32') throw new TensorboltError('cast', `dtype must be 'float32' or 'int32', got ${fmtValue(dtype)}`);
  if (x.dtype === dtype) return clone(x);
  const out = empty(x._be, x.shape, dtype);
  // The native cast, as tb.tensor(values, shape, dtype) uses: it truncates toward zero, maps NaN to 0
  // and saturates. (A JS store into an Int32Array wraps modulo 2^32: 3e9 became -1294967296.)
  x._be.cast(x.buf('cast'), out.buf('cast'));
  return out;
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    backward(dy?: Tensor, opts?: BackwardOptions): void;
    detach(): Tensor;
    clone(): Tensor;
    cast(dtype: 'float32' | 'int32'): Tensor;
    /** Sets requiresGrad and returns this (PyTorch's requires_grad_). */
    requiresGrad_(flag?: boolean): Tensor;
  }
}
Tensor.prototype.backward = function (dy?: Tensor, opts?: BackwardOptions) { backward(this, dy, opts); };
Tensor.prototype.detach = function () { return detach(this); };
Tensor.prototype.clone = function () { return clone(this); };
Tensor.prototype.cast = function (dtype: 'float32' | 'int32') { return cast(this, dtype); };
Tensor.prototype.requiresGrad_ = function (flag = true) {
  if (flag && this.dtype !== 'float32') throw new TensorboltError('requiresGrad', 'only float32 tensors can require grad');
  this.requiresGrad = flag;
  return this;
};
