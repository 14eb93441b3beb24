// Shape-only ops that share memory with their input: reshape, flatten, squeeze, expandDims.
import { record } from '../tensor/autograd.js';
import { TensorboltError, fmtShape, fmtValue } from '../tensor/errors.js';
import { checkShape, normAxis, sizeOf } from '../tensor/shape.js';
import { Tensor, view } from '../tensor/tensor.js';
import { tensorArg } from './util.js';

/** Reshape (one entry may be -1). The result shares memory with x. */
export function reshape(x: Tensor, shape: number[]): Tensor {
  const op = 'reshape';
  tensorArg(op, x);
  if (!Array.isArray(shape)) throw new TensorboltError(op, `shape must be an array, got ${typeof shape}`);
  const s = shape.slice();
  const neg = s.filter((d) => d === -1).length;
  if (neg > 1) throw new TensorboltError(op, `only one dimension may be -1, got ${fmtValue(shape)}`);
  if (neg === 1) {
    const known = s.reduce((p, d) => (d === -1 ? p : p * d), 1);
    if (known === 0 || x.size % known !== 0)
      throw new TensorboltError(op, `cannot reshape ${fmtShape(x.shape)} (${x.size} values) into ${fmtValue(shape)}`);
    s[s.indexOf(-1)] = x.size / known;
  }
  checkShape(op, s);
  if (sizeOf(s) !== x.size)
    throw new TensorboltError(op, `cannot reshape ${fmtShape(x.shape)} (${x.size} values) into ${fmtShape(s)} (${sizeOf(s)} values)`);
  const out = view(x, s);
  const inShape = x.shape.slice();
  return record(op, out, [x], (dy) => [view(dy, inShape)]);
}

/** (N, ...) -> (N, prod(...)) */
export function flatten(x: Tensor): Tensor {
  tensorArg('flatten', x);
  if (x.rank === 0) return reshape(x, [1]);
  return reshape(x, [x.shape[0]!, sizeOf(x.shape.slice(1))]);
}

export function squeeze(x: Tensor, axis?: number | number[]): Tensor {
  const op = 'squeeze';
  tensorArg(op, x);
  const axes = axis === undefined ? null : (Array.isArray(axis) ? axis : [axis]).map((a) => normAxis(op, a, x.rank));
  if (axes) for (const a of axes) if (x.shape[a] !== 1) throw new TensorboltError(op, `axis ${a} of ${fmtShape(x.shape)} has size ${x.shape[a]}, not 1`);
  const s = x.shape.filter((d, i) => (axes ? !axes.includes(i) : d !== 1));
  return reshape(x, s);
}

export function expandDims(x: Tensor, axis = 0): Tensor {
  const op = 'expandDims';
  tensorArg(op, x);
  const a = normAxis(op, axis, x.rank + 1);
  const s = x.shape.slice();
  s.splice(a, 0, 1);
  return reshape(x, s);
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    reshape(shape: number[]): Tensor;
    flatten(): Tensor;
    squeeze(axis?: number | number[]): Tensor;
    expandDims(axis?: number): Tensor;
  }
}
Tensor.prototype.reshape = function (shape: number[]) { return reshape(this, shape); };
Tensor.prototype.flatten = function () { return flatten(this); };
Tensor.prototype.squeeze = function (axis?: number | number[]) { return squeeze(this, axis); };
Tensor.prototype.expandDims = function (axis?: number) { return expandDims(this, axis); };
