// Reductions: sum, mean, max, min, prod over any set of axes (with gradients), argMax/argMin, and
// sumToShape, which folds a broadcast gradient back onto an operand's shape.
//
// The native kernel reduces the middle axis of an (outer, dim, inner) view. Reduced axes that form
// one run (ignoring size-1 axes) map onto that view directly; any other set is first permuted so
// the kept axes lead and the reduced ones trail, then reduced as one merged axis. Either way a
// max/min gradient goes to the first extremum in row-major order of the reduced block.
import { ArgReduceOp, ReduceOp, type ReduceOpName } from '../native/opcodes.js';
import { record } from '../tensor/autograd.js';
import { TensorboltError, fmtShape, fmtValue } from '../tensor/errors.js';
import { checkShape, normAxes, normAxis, outerDimInner, shapesEqual, sizeOf, type Shape } from '../tensor/shape.js';
import { Tensor, empty, view } from '../tensor/tensor.js';
import { inversePerm, permuteInto } from './strided.js';
import { maxArgs, requireFloat, tensorArg } from './util.js';

/** One axis, several axes, or every axis (undefined/null). */
export type ReduceAxis = number | number[] | null | undefined;

interface Plan {
  outer: number;
  dim: number;
  inner: number;
  /** Permutation applied to x first (kept axes, then reduced axes); null when none is needed. */
  perm: number[] | null;
  permShape: number[];
}

function planReduce(shape: Shape, axes: number[]): Plan {
  const reduced = new Set(axes);
  const big = shape.map((_, i) => i).filter((i) => shape[i] !== 1);
  const pos = big.flatMap((ax, k) => (reduced.has(ax) ? [k] : []));
  if (pos.length === 0 || pos[pos.length - 1]! - pos[0]! === pos.length - 1) {
    let outer = 1, dim = 1, inner = 1;
    if (pos.length === 0) outer = sizeOf(shape);
    else
      big.forEach((ax, k) => {
        if (k < pos[0]!) outer *= shape[ax]!;
        else if (k <= pos[pos.length - 1]!) dim *= shape[ax]!;
        else inner *= shape[ax]!;
      });
    return { outer, dim, inner, perm: null, permShape: shape.slice() };
  }
  const kept = shape.map((_, i) => i).filter((i) => !reduced.has(i));
  const perm = [...kept, ...axes];
  return {
    outer: sizeOf(kept.map((i) => shape[i]!)),
    dim: sizeOf(axes.map((i) => shape[i]!)),
    inner: 1,
    perm,
    permShape: perm.map((i) => shape[i]!),
  };
}

function keptShape(shape: Shape, axes: number[], keepDims: boolean): number[] {
  const r = new Set(axes);
  return keepDims ? shape.map((d, i) => (r.has(i) ? 1 : d)) : shape.filter((_, i) => !r.has(i));
}

/** Reduces x over axes (sorted, distinct) into a tensor of outShape (same size as the kept shape). */
function reduceCore(name: ReduceOpName, op: string, x: Tensor, axes: number[], outShape: number[]): Tensor {
  const p = planReduce(x.shape, axes);
  if ((name === 'max' || name === 'min') && p.dim === 0 && p.outer * p.inner > 0)
    throw new TensorboltError(op, `${name} over an empty axis is undefined: x ${fmtShape(x.shape)}, axes ${fmtValue(axes)}`);
  const be = x._be;
  const inShape = x.shape.slice();
  // Nothing to compute (and the extents of an empty tensor may be anything): no kernel call.
  if (p.outer * p.inner === 0) return record(op, empty(be, outShape), [x], () => [empty(be, inShape)]);
  checkExtents(op, x, p.outer, p.dim, p.inner);
  const code = ReduceOp[name];
  let xp: Tensor | null = null;
  if (p.perm) {
    xp = empty(be, p.permShape);
    permuteInto(be, x.f32(op), x.shape, p.perm, xp.f32(op));
  }
  const out = empty(be, outShape);
  be.reduce(code, (xp ?? x).f32(op), out.f32(op), p.outer, p.dim, p.inner);
  // Only max/min/prod read x in backward; sum and mean need nothing but dy.
  if (xp && name !== 'max' && name !== 'min' && name !== 'prod') {
    xp.dispose();
    xp = null;
  }
  return record(op, out, [x], (dy) => {
    const dxp = empty(be, p.permShape);
    // x's own buffer has the right length for sum/mean, whose gradient does not read it.
    be.reduceBackward(code, (xp ?? x).f32(op), out.f32(op), dy.f32(op), dxp.f32(op), p.outer, p.dim, p.inner);
    if (!p.perm) return [dxp];
    const dx = empty(be, inShape);
    permuteInto(be, dxp.f32(op), p.permShape, inversePerm(p.perm), dx.f32(op));
    dxp.dispose();
    return [dx];
  }, xp ? [xp] : []);
}

function reduceOp(name: ReduceOpName, x: Tensor, axis: ReduceAxis, keepDims: boolean): Tensor {
  const op = name;
  tensorArg(op, x, 'x');
  requireFloat(op, x, 'x');
  if (axis !== undefined && axis !== null && typeof axis !== 'number' && !Array.isArray(axis))
    throw new TensorboltError(op, `axis must be a number, an array of numbers or undefined, got ${typeof axis}`);
  if (typeof keepDims !== 'boolean') throw new TensorboltError(op, `keepDims must be a boolean, got ${typeof keepDims}`);
  const axes = normAxes(op, axis, x.rank);
  return reduceCore(name, op, x, axes, keptShape(x.shape, axes, keepDims));
}

/** Sum over axis (all axes by default). keepDims keeps reduced axes as size 1 (tf.sum). */
export function sum(x: Tensor, axis?: ReduceAxis, keepDims = false): Tensor {
  return reduceOp('sum', x, axis, keepDims);
}

/** Mean over axis (all axes by default); an empty axis gives NaN. */
export function mean(x: Tensor, axis?: ReduceAxis, keepDims = false): Tensor {
  return reduceOp('mean', x, axis, keepDims);
}

/** What max and min over one dim return, as torch.max(x, dim): a pair that also has names. */
export type ValuesIndices = [values: Tensor, indices: Tensor] & { values: Tensor; indices: Tensor };

/**
 * Maximum over axis; NaN if the slice holds a NaN. The gradient goes to the first maximum.
 * Over one dim (a number), as torch.max(x, dim): the maxima and their int32 indices,
 * `const [values, indices] = tb.max(x, 1)` or `tb.max(x, 1).indices`. Over every axis (no axis) or
 * a list of axes (tf.max): the maxima alone.
 */
export function max(x: Tensor, dim: number, keepDims?: boolean): ValuesIndices;
export function max(x: Tensor, axis?: number[] | null, keepDims?: boolean): Tensor;
export function max(x: Tensor, axis?: ReduceAxis, keepDims?: boolean): Tensor | ValuesIndices;
export function max(x: Tensor, axis?: ReduceAxis, keepDims = false): Tensor | ValuesIndices {
  maxArgs('max', arguments, 3, 'x, axis?, keepDims?');
  if (typeof axis === 'number') return withIndices('max', x, axis, keepDims);
  return reduceOp('max', x, axis, keepDims);
}

/** Minimum over axis, as max: over one dim (a number) the minima and their indices (torch.min). */
export function min(x: Tensor, dim: number, keepDims?: boolean): ValuesIndices;
export function min(x: Tensor, axis?: number[] | null, keepDims?: boolean): Tensor;
export function min(x: Tensor, axis?: ReduceAxis, keepDims?: boolean): Tensor | ValuesIndices;
export function min(x: Tensor, axis?: ReduceAxis, keepDims = false): Tensor | ValuesIndices {
  maxArgs('min', arguments, 3, 'x, axis?, keepDims?');
  if (typeof axis === 'number') return withIndices('min', x, axis, keepDims);
  return reduceOp('min', x, axis, keepDims);
}

// Two existing kernels: the reduction (which carries the gradient) and the arg-reduction.
function withIndices(name: 'max' | 'min', x: Tensor, dim: number, keepDims: boolean): ValuesIndices {
  const values = reduceOp(name, x, dim, keepDims);
  let indices: Tensor;
  try {
    indices = argOp(name === 'max' ? 'argMax' : 'argMin', x, dim);
    if (keepDims) {
      const kept = view(indices, values.shape);
      indices.dispose(); // the view keeps the memory
      indices = kept;
    }
  } catch (e) {
    values.dispose();
    throw e;
  }
  return Object.assign([values, indices] as [Tensor, Tensor], { values, indices });
}

/** Product over axis (all axes by default); an empty axis gives 1. */
export function prod(x: Tensor, axis?: ReduceAxis, keepDims = false): Tensor {
  return reduceOp('prod', x, axis, keepDims);
}

function argOp(name: 'argMax' | 'argMin', x: Tensor, axis: number): Tensor {
  const op = name;
  tensorArg(op, x, 'x');
  requireFloat(op, x, 'x');
  if (x.rank === 0) throw new TensorboltError(op, `x must have rank >= 1, got a scalar ${fmtShape(x.shape)}`);
  if (typeof axis !== 'number') throw new TensorboltError(op, `axis must be a number, got ${typeof axis}`);
  const a = normAxis(op, axis, x.rank);
  const [outer, dim, inner] = outerDimInner(x.shape, a);
  if (dim === 0 && outer * inner > 0)
    throw new TensorboltError(op, `${name} over an empty axis is undefined: x ${fmtShape(x.shape)}, axis ${axis}`);
  const out = empty(x._be, x.shape.filter((_, i) => i !== a), 'int32');
  if (out.size === 0) return out;
  checkExtents(op, x, outer, dim, inner);
  x._be.argReduce(ArgReduceOp[name], x.f32(op), out.i32(op), outer, dim, inner);
  return out;
}

const MAX_EXTENT = 2 ** 31 - 1;

/** The kernel reduces an (outer, dim, inner) view with each extent below 2^31. */
function checkExtents(op: string, x: Tensor, outer: number, dim: number, inner: number): void {
  if (outer <= MAX_EXTENT && dim <= MAX_EXTENT && inner <= MAX_EXTENT) return;
  throw new TensorboltError(op, `x ${fmtShape(x.shape)} (${x.size} elements) is reduced as (outer ${outer}, reduced ${dim}, inner ${inner}), and one reduction handles at most ${MAX_EXTENT} along each; reduce in parts (reshape to [k, n / k], reduce axis 1, then axis 0)`);
}

/** Index (int32) of the first maximum along axis (default: the last); a NaN counts as the maximum. */
export function argMax(x: Tensor, axis = -1): Tensor {
  return argOp('argMax', x, axis);
}

/** Index (int32) of the first minimum along axis (default: the last); a NaN counts as the minimum. */
export function argMin(x: Tensor, axis = -1): Tensor {
  return argOp('argMin', x, axis);
}

/**
 * Sums a gradient of a broadcast result back onto an operand's shape: leading axes x has beyond
 * shape are summed away, and axes where shape has 1 are summed keeping the 1. Returns x itself
 * when the shapes already agree. Differentiable.
 */
export function sumToShape(x: Tensor, shape: Shape): Tensor {
  const op = 'sumToShape';
  tensorArg(op, x, 'x');
  requireFloat(op, x, 'x');
  const target = checkShape(op, shape as number[]);
  if (shapesEqual(x.shape, target)) return x;
  const lead = x.rank - target.length;
  const bad = (): TensorboltError => new TensorboltError(op, `x ${fmtShape(x.shape)} is not a broadcast of shape ${fmtShape(target)}`);
  if (lead < 0) throw bad();
  const axes: number[] = [];
  for (let i = 0; i < x.rank; i++) {
    if (i < lead) axes.push(i);
    else if (target[i - lead] === 1 && x.shape[i] !== 1) axes.push(i);
    else if (target[i - lead] !== x.shape[i]) throw bad();
  }
  return reduceCore('sum', op, x, axes, target);
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    sum(axis?: ReduceAxis, keepDims?: boolean): Tensor;
    mean(axis?: ReduceAxis, keepDims?: boolean): Tensor;
    max(dim: number, keepDims?: boolean): ValuesIndices;
    max(axis?: number[] | null, keepDims?: boolean): Tensor;
    min(dim: number, keepDims?: boolean): ValuesIndices;
    min(axis?: number[] | null, keepDims?: boolean): Tensor;
    prod(axis?: ReduceAxis, keepDims?: boolean): Tensor;
    argMax(axis?: number): Tensor;
    argMin(axis?: number): Tensor;
  }
}
Tensor.prototype.sum = function (axis?: ReduceAxis, keepDims?: boolean) { return sum(this, axis, keepDims); };
Tensor.prototype.mean = function (axis?: ReduceAxis, keepDims?: boolean) { return mean(this, axis, keepDims); };
Tensor.prototype.max = function (this: Tensor, ...a: [ReduceAxis?, boolean?]) { return max(this, ...a); } as Tensor['max'];
Tensor.prototype.min = function (this: Tensor, ...a: [ReduceAxis?, boolean?]) { return min(this, ...a); } as Tensor['min'];
Tensor.prototype.prod = function (axis?: ReduceAxis, keepDims?: boolean) { return prod(this, axis, keepDims); };
Tensor.prototype.argMax = function (axis?: number) { return argMax(this, axis); };
Tensor.prototype.argMin = function (axis?: number) { return argMin(this, axis); };
