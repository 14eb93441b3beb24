// Ops that move data without arithmetic: transpose/permute, slice, concat, stack, gather, oneHot,
// broadcastTo, pad. All run on the native strided copy or gather kernels; each gradient is the
// reverse movement (a gather's is a scatter-add). They work on int32 tensors too (no gradient).
import { needsGrad, record } from '../tensor/autograd.js';
import { tensor } from '../tensor/creation.js';
import { TensorboltError, fmtShape, fmtValue } from '../tensor/errors.js';
import { checkShape, normAxis, outerDimInner, shapesEqual, sizeOf, stridesOf, type Shape } from '../tensor/shape.js';
import { Tensor, copyTo, empty, type NestedArray } from '../tensor/tensor.js';
import { sumToShape } from './reduce.js';
import { inversePerm, permuteInto, stridesI32 } from './strided.js';
import { backendOf, backendOfAll, describe, numberArg, tensorArg, type OpBackend } from './util.js';

function intList(op: string, v: unknown, name: string): number[] {
  if (!Array.isArray(v) || v.some((d) => typeof d !== 'number' || !Number.isInteger(d)))
    throw new TensorboltError(op, `${name} must be an array of integers, got ${Array.isArray(v) ? fmtValue(v) : describe(v)}`);
  return v.slice();
}

function zerosOf(be: OpBackend, shape: Shape, dtype: Tensor['dtype'] = 'float32'): Tensor {
  const t = empty(be, shape, dtype);
  be.fill(t.buf(), 0);
  return t;
}

/** Permutes the axes: output axis i is input axis perm[i]. perm defaults to reversing the axes. */
export function transpose(x: Tensor, perm?: number[]): Tensor {
  return permuteOp('transpose', x, perm);
}

/** PyTorch's name for transpose with an explicit permutation. */
export function permute(x: Tensor, perm: number[]): Tensor {
  if (perm === undefined) throw new TensorboltError('permute', 'perm is required (use transpose() to reverse the axes)');
  return permuteOp('permute', x, perm);
}

function permuteOp(op: string, x: Tensor, perm: number[] | undefined): Tensor {
  tensorArg(op, x, 'x');
  let p: number[];
  if (perm === undefined) p = x.shape.map((_, i) => x.rank - 1 - i);
  else {
    const raw = intList(op, perm, 'perm');
    if (raw.length !== x.rank)
      throw new TensorboltError(op, `perm ${fmtValue(perm)} has ${raw.length} entries but x ${fmtShape(x.shape)} has rank ${x.rank}`);
    p = raw.map((a) => (a < 0 ? a + x.rank : a));
    if (p.some((a) => a < 0 || a >= x.rank) || new Set(p).size !== p.length)
      throw new TensorboltError(op, `perm ${fmtValue(perm)} is not a permutation of the ${x.rank} axes of x ${fmtShape(x.shape)}`);
  }
  const outShape = p.map((a) => x.shape[a]!);
  const be = x._be;
  const out = empty(be, outShape, x.dtype);
  permuteInto(be, x.buf(op), x.shape, p, out.buf(op));
  const inv = inversePerm(p);
  return record(op, out, [x], (dy) => {
    const dx = empty(be, x.shape);
    permuteInto(be, dy.f32(op), outShape, inv, dx.f32(op));
    return [dx];
  });
}

/**
 * tf.slice: the block starting at `begin` with `size` (an entry of -1, or a missing entry, runs to
 * the end of that axis; missing begin entries are 0). A number is shorthand for a 1-entry array.
 */
export function slice(x: Tensor, begin: number | number[], size?: number | number[]): Tensor {
  const op = 'slice';
  tensorArg(op, x, 'x');
  const b = intList(op, typeof begin === 'number' ? [begin] : begin, 'begin');
  const s = size === undefined ? [] : intList(op, typeof size === 'number' ? [size] : size, 'size');
  if (b.length > x.rank || s.length > x.rank)
    throw new TensorboltError(op, `begin ${fmtValue(begin)} / size ${fmtValue(size)} have more entries than x ${fmtShape(x.shape)} has axes`);
  const start: number[] = [];
  const outShape: number[] = [];
  for (let i = 0; i < x.rank; i++) {
    const d = x.shape[i]!;
    const bi = b[i] ?? 0;
    const si = (s[i] ?? -1) === -1 ? d - bi : s[i]!;
    if (bi < 0 || si < 0 || bi + si > d)
      throw new TensorboltError(op, `begin ${fmtValue(begin)}, size ${fmtValue(size)} is out of bounds for x ${fmtShape(x.shape)} on axis ${i} (begin ${bi}, size ${si}, axis size ${d})`);
    start.push(bi);
    outShape.push(si);
  }
  const st = stridesOf(x.shape);
  const offset = start.reduce((acc, bi, i) => acc + bi * st[i]!, 0);
  const be = x._be;
  const out = empty(be, outShape, x.dtype);
  if (out.size > 0)
    be.copyStrided(x.buf(op), offset, Int32Array.from(st), out.buf(op), 0, stridesI32(outShape), Int32Array.from(outShape), false);
  return record(op, out, [x], (dy) => {
    const dx = zerosOf(be, x.shape);
    if (dy.size > 0)
      be.copyStrided(dy.f32(op), 0, stridesI32(outShape), dx.f32(op), offset, Int32Array.from(st), Int32Array.from(outShape), false);
    return [dx];
  });
}

/** Joins tensors viewed as (outer, dims[k], inner) along the middle axis into outShape. */
function joinMiddle(op: string, ts: Tensor[], outer: number, dims: number[], inner: number, outShape: number[]): Tensor {
  const total = dims.reduce((a, d) => a + d, 0);
  const be = backendOfAll(op, ts);
  const out = empty(be, outShape, ts[0]!.dtype);
  const offsets: number[] = [];
  let off = 0;
  for (let k = 0; k < ts.length; k++) {
    offsets.push(off);
    const n = dims[k]! * inner;
    if (outer * n > 0)
      be.copyStrided(ts[k]!.buf(op), 0, Int32Array.of(n, 1), out.buf(op), off * inner, Int32Array.of(total * inner, 1), Int32Array.of(outer, n), false);
    off += dims[k]!;
  }
  return record(op, out, ts, (dy) =>
    ts.map((t, k) => {
      if (!t.requiresGrad) return null;
      const g = empty(be, t.shape);
      const n = dims[k]! * inner;
      if (outer * n > 0)
        be.copyStrided(dy.f32(op), offsets[k]! * inner, Int32Array.of(total * inner, 1), g.f32(op), 0, Int32Array.of(n, 1), Int32Array.of(outer, n), false);
      return g;
    }));
}

function tensorList(op: string, tensors: unknown): Tensor[] {
  if (!Array.isArray(tensors) || tensors.length === 0)
    throw new TensorboltError(op, `tensors must be a non-empty array of Tensors, got ${Array.isArray(tensors) ? 'an empty array' : describe(tensors)}`);
  const ts = tensors.map((t, i) => tensorArg(op, t, `tensors[${i}]`));
  const dt = ts[0]!.dtype;
  ts.forEach((t, i) => {
    if (t.dtype !== dt) throw new TensorboltError(op, `tensors[${i}] is ${t.dtype} but tensors[0] is ${dt}; all must share a dtype`);
  });
  return ts;
}

/** Joins tensors along an existing axis; all other dims must agree (tf.concat). */
export function concat(tensors: Tensor[], axis = 0): Tensor {
  const op = 'concat';
  const ts = tensorList(op, tensors);
  const first = ts[0]!;
  if (first.rank === 0) throw new TensorboltError(op, 'cannot concat scalars (rank 0); use stack()');
  const a = normAxis(op, axis, first.rank);
  ts.forEach((t, i) => {
    if (t.rank !== first.rank || t.shape.some((d, j) => j !== a && d !== first.shape[j]))
      throw new TensorboltError(op, `tensors[${i}] ${fmtShape(t.shape)} does not match tensors[0] ${fmtShape(first.shape)} outside axis ${a}`);
  });
  const [outer, , inner] = outerDimInner(first.shape, a);
  const dims = ts.map((t) => t.shape[a]!);
  const outShape = first.shape.slice();
  outShape[a] = dims.reduce((s, d) => s + d, 0);
  return joinMiddle(op, ts, outer, dims, inner, outShape);
}

/** Stacks same-shaped tensors along a new axis (tf.stack). */
export function stack(tensors: Tensor[], axis = 0): Tensor {
  const op = 'stack';
  const ts = tensorList(op, tensors);
  const shape = ts[0]!.shape;
  ts.forEach((t, i) => {
    if (!shapesEqual(t.shape, shape))
      throw new TensorboltError(op, `tensors[${i}] ${fmtShape(t.shape)} does not match tensors[0] ${fmtShape(shape)}; stack needs equal shapes`);
  });
  const a = normAxis(op, axis, shape.length + 1);
  const outShape = shape.slice();
  outShape.splice(a, 0, ts.length);
  return joinMiddle(op, ts, sizeOf(shape.slice(0, a)), ts.map(() => 1), sizeOf(shape.slice(a)), outShape);
}

/** Indices as an int32 tensor (made on `device` from arrays); `owned` when made here (the caller disposes it). */
function indexTensor(op: string, indices: unknown, device?: Tensor['device']): { t: Tensor; owned: boolean } {
  const opts = device === undefined ? {} : { device };
  if (indices instanceof Tensor) {
    indices.buf(op);
    if (indices.dtype !== 'int32')
      throw new TensorboltError(op, `indices must be an int32 tensor, got ${indices.dtype} ${fmtShape(indices.shape)} (use .cast('int32'))`);
    return { t: indices, owned: false };
  }
  if (indices instanceof Int32Array) return { t: tensor(indices.slice(), undefined, opts), owned: true };
  if (typeof indices === 'number' || Array.isArray(indices)) {
    const bad = (v: unknown): boolean =>
      Array.isArray(v) ? v.some(bad) : typeof v !== 'number' || !Number.isInteger(v);
    if (bad(indices)) throw new TensorboltError(op, `indices must be integers, got ${fmtValue(indices)}`);
    return { t: tensor(indices as NestedArray, undefined, { dtype: 'int32', ...opts }), owned: true };
  }
  throw new TensorboltError(op, `indices must be an int32 Tensor or an array of integers, got ${describe(indices)}`);
}

/**
 * Runs a kernel that checks its indices (the kernels do: on the CPU at once, on a GPU at the next
 * read of a result), turning an index out of range into a TensorboltError naming op and `what`.
 */
function withIndexCheck(op: string, what: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    const m = /index (-?\d+) at position (\d+) is outside \[0, (\d+)\)/.exec((e as Error).message);
    if (!m) throw e;
    throw new TensorboltError(op, `indices[${m[2]}] = ${m[1]} is out of range [0, ${m[3]}) ${what}`);
  }
}

/**
 * Picks slices of x along axis (tf.gather): the output shape is
 * x.shape[:axis] + indices.shape + x.shape[axis+1:]. Differentiable with respect to x.
 */
export function gather(x: Tensor, indices: Tensor | NestedArray | Int32Array, axis = 0): Tensor {
  const op = 'gather';
  tensorArg(op, x, 'x');
  if (x.rank === 0) throw new TensorboltError(op, `x must have rank >= 1, got a scalar ${fmtShape(x.shape)}`);
  const a = normAxis(op, axis, x.rank);
  const { t: idx, owned } = indexTensor(op, indices, x.device);
  const [outer, dim, inner] = outerDimInner(x.shape, a);
  const outShape = [...x.shape.slice(0, a), ...idx.shape, ...x.shape.slice(a + 1)];
  let out: Tensor | null = null;
  let be: OpBackend;
  try {
    be = backendOf(op, x, idx);
    out = empty(be, outShape, x.dtype);
    withIndexCheck(op, `for axis ${a} of x ${fmtShape(x.shape)}`, () => be.gather(x.buf(op), idx.i32(op), out!.buf(op), outer, dim, inner));
  } catch (e) {
    out?.dispose();
    if (owned) idx.dispose();
    throw e;
  }
  // Backward reads the indices later: keep our own copy unless we already own them.
  let saved: Tensor | null = null;
  if (needsGrad(x)) saved = owned ? idx : copyTo(idx, be, op);
  else if (owned) idx.dispose();
  return record(op, out, [x], (dy) => {
    const dx = empty(be, x.shape);
    be.gatherBackward(dy.f32(op), saved!.i32(op), dx.f32(op), outer, dim, inner);
    return [dx];
  }, saved ? [saved] : []);
}

/** float32 one-hot encoding: shape indices.shape + [depth] (tf.oneHot), on the indices' device. */
export function oneHot(indices: Tensor | NestedArray | Int32Array, depth: number, onValue = 1, offValue = 0): Tensor {
  const op = 'oneHot';
  if (typeof depth !== 'number' || !Number.isInteger(depth) || depth < 1)
    throw new TensorboltError(op, `depth must be a positive integer, got ${describe(depth)}`);
  numberArg(op, onValue, 'onValue');
  numberArg(op, offValue, 'offValue');
  const { t: idx, owned } = indexTensor(op, indices);
  try {
    const be = idx._be;
    const out = empty(be, [...idx.shape, depth]);
    try {
      withIndexCheck(op, `(depth ${depth})`, () => be.oneHot(idx.i32(op), out.f32(op), depth, onValue, offValue));
    } catch (e) {
      out.dispose();
      throw e;
    }
    return out;
  } finally {
    if (owned) idx.dispose();
  }
}

/** Repeats x along broadcast axes to exactly `shape` (NumPy rules, right-aligned). */
export function broadcastTo(x: Tensor, shape: number[]): Tensor {
  const op = 'broadcastTo';
  tensorArg(op, x, 'x');
  const target = checkShape(op, shape);
  const lead = target.length - x.rank;
  if (lead < 0 || x.shape.some((d, i) => d !== 1 && d !== target[i + lead]))
    throw new TensorboltError(op, `cannot broadcast x ${fmtShape(x.shape)} to ${fmtShape(target)}`);
  const src = new Int32Array(target.length);
  const st = stridesOf(x.shape);
  x.shape.forEach((d, i) => { src[i + lead] = d === 1 ? 0 : st[i]!; });
  const out = empty(x._be, target, x.dtype);
  if (out.size > 0)
    x._be.copyStrided(x.buf(op), 0, src, out.buf(op), 0, stridesI32(target), Int32Array.from(target), false);
  const inShape = x.shape.slice();
  return record(op, out, [x], (dy) => [sumToShape(dy, inShape)]);
}

/** Pads each axis with paddings[i] = [before, after] entries of `value` (tf.pad, constant mode). */
export function pad(x: Tensor, paddings: [number, number][], value = 0): Tensor {
  const op = 'pad';
  tensorArg(op, x, 'x');
  numberArg(op, value, 'value');
  if (!Array.isArray(paddings) || paddings.length !== x.rank)
    throw new TensorboltError(op, `paddings must hold one [before, after] pair per axis of x ${fmtShape(x.shape)}, got ${Array.isArray(paddings) ? fmtValue(paddings) : describe(paddings)}`);
  for (const pr of paddings)
    if (!Array.isArray(pr) || pr.length !== 2 || pr.some((v) => typeof v !== 'number' || !Number.isInteger(v) || v < 0))
      throw new TensorboltError(op, `each padding must be a pair of non-negative integers, got ${fmtValue(paddings)}`);
  const outShape = x.shape.map((d, i) => d + paddings[i]![0] + paddings[i]![1]);
  const ost = stridesOf(outShape);
  const offset = paddings.reduce((acc, pr, i) => acc + pr[0] * ost[i]!, 0);
  const be = x._be;
  const out = empty(be, outShape, x.dtype);
  be.fill(out.buf(op), value);
  const inShape = Int32Array.from(x.shape);
  if (x.size > 0)
    be.copyStrided(x.buf(op), 0, stridesI32(x.shape), out.buf(op), offset, Int32Array.from(ost), inShape, false);
  return record(op, out, [x], (dy) => {
    const dx = empty(be, x.shape);
    if (x.size > 0)
      be.copyStrided(dy.f32(op), offset, Int32Array.from(ost), dx.f32(op), 0, stridesI32(x.shape), inShape, false);
    return [dx];
  });
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    transpose(perm?: number[]): Tensor;
    permute(perm: number[]): Tensor;
    slice(begin: number | number[], size?: number | number[]): Tensor;
    gather(indices: Tensor | NestedArray | Int32Array, axis?: number): Tensor;
    broadcastTo(shape: number[]): Tensor;
    pad(paddings: [number, number][], value?: number): Tensor;
  }
}
Tensor.prototype.transpose = function (perm?: number[]) { return transpose(this, perm); };
Tensor.prototype.permute = function (perm: number[]) { return permute(this, perm); };
Tensor.prototype.slice = function (begin: number | number[], size?: number | number[]) { return slice(this, begin, size); };
Tensor.prototype.gather = function (indices: Tensor | NestedArray | Int32Array, axis?: number) { return gather(this, indices, axis); };
Tensor.prototype.broadcastTo = function (shape: number[]) { return broadcastTo(this, shape); };
Tensor.prototype.pad = function (paddings: [number, number][], value?: number) { return pad(this, paddings, value); };
