// Shape-only ops that share memory with their input: reshape, flatten, squeeze, expandDims.
import { record } from '../tensor/autograd.js';
import { TensorboltError, fmtShape, fmtValue } from '../tensor/errors.js';
import { checkShape, normAxis, sizeOf } from '../tensor/shape.js';
import { Tensor, view } from '../tensor/tensor.js';
import { maxArgs, tensorArg } from './util.js';

/** Reshape (one entry may be -1). The result shares memory with x. */
export function reshape(x: Tensor, shape: number[]): Tensor {
  const op = 'reshape';
  maxArgs(op, arguments, 2, 'x, shape');
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

/**
 * Merges axes startDim..endDim (inclusive) into one, as torch.flatten. Without startDim: (N, ...) ->
 * (N, prod(...)), as nn.Flatten and Keras's Flatten (torch.flatten's own default startDim is 0).
 */
export function flatten(x: Tensor, startDim?: number, endDim = -1): Tensor {
  const op = 'flatten';
  maxArgs(op, arguments, 3, 'x, startDim?, endDim?');
  tensorArg(op, x);
  if (startDim === undefined) {
    if (x.rank === 0) return reshape(x, [1]);
    if (endDim === -1) return reshape(x, [x.shape[0]!, sizeOf(x.shape.slice(1))]);
    startDim = 1;
  }
  // a scalar flattens to one value, as in torch (its dims 0 and -1 both name the scalar)
  if (x.rank === 0) {
    for (const d of [startDim, endDim]) if (d !== 0 && d !== -1) normAxis(op, d, 1);
    return reshape(x, [1]);
  }
  const s = normAxis(op, startDim, x.rank);
  const e = normAxis(op, endDim, x.rank);
  if (s > e) throw new TensorboltError(op, `startDim ${startDim} comes after endDim ${endDim} for ${fmtShape(x.shape)}`);
  return reshape(x, [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

export function squeeze(x: Tensor, axis?: number | number[]): Tensor {
  const op = 'squeeze';
  maxArgs(op, arguments, 2, 'x, axis?');
  tensorArg(op, x);
  const axes = axis === undefined ? null : (Array.isArray(axis) ? axis : [axis]).map((a) => normAxis(op, a, x.rank));
  if (axes) for (const a of axes) if (x.shape[a] !== 1) throw new TensorboltError(op, `axis ${a} of ${fmtShape(x.shape)} has size ${x.shape[a]}, not 1`);
  const s = x.shape.filter((d, i) => (axes ? !axes.includes(i) : d !== 1));
  return reshape(x, s);
}

export function expandDims(x: Tensor, axis = 0): Tensor {
  const op = 'expandDims';
  maxArgs(op, arguments, 2, 'x, axis?');
  tensorArg(op, x);
  const a = normAxis(op, axis, x.rank + 1);
  const s = x.shape.slice();
  s.splice(a, 0, 1);
  return reshape(x, s);
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    reshape(shape: number[]): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    squeeze(axis?: number | number[]): Tensor;
    expandDims(axis?: number): Tensor;
  }
}
// Spread, not named parameters: extra arguments reach the functions' arity checks.
const methods = { reshape, flatten, squeeze, expandDims } as Record<string, (x: Tensor, ...a: unknown[]) => Tensor>;
for (const [name, fn] of Object.entries(methods))
  Object.defineProperty(Tensor.prototype, name, {
    value: function (this: Tensor, ...a: unknown[]) { return fn(this, ...a); }, writable: true, configurable: true,
  });
