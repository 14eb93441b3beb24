// Creating tensors: from nested arrays, typed arrays (zero-copy on the CPU), constants and random
// draws, on the device asked for (default: tb.getDefaultDevice()). Values are made on the host and
// uploaded, so one seed draws the same numbers whatever the device.
import type { OpBackend } from '../native/backend.js';
import type { DType } from './engine.js';
import { backendFor, type CreateOptions } from './device.js';
import { TensorboltError, fmtShape, fmtValue } from './errors.js';
import { Random, globalRandom } from './random.js';
import { MAX_RANK, checkShape, sizeOf } from './shape.js';
import { Tensor, copyTo, empty, hostEmpty, wrap, type NestedArray } from './tensor.js';

export type TensorLike = Tensor | number | NestedArray | Float32Array | Int32Array;

function inferShape(op: string, v: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = v;
  while (Array.isArray(cur)) {
    // checked while walking: arrays nested 100,000 deep must not reach the recursive flatten
    if (shape.length === MAX_RANK)
      throw new TensorboltError(op, `the nested array is more than ${MAX_RANK} levels deep; tensors have at most ${MAX_RANK} dimensions`);
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0]!;
  }
  return shape;
}

function flatten(op: string, v: NestedArray, shape: number[], out: Float32Array | Int32Array): void {
  let k = 0;
  const walk = (x: NestedArray, dim: number): void => {
    if (dim === shape.length) {
      if (typeof x !== 'number')
        throw new TensorboltError(op, `ragged or non-numeric nested array: expected a number at depth ${dim}, got ${Array.isArray(x) ? 'an array' : typeof x}`);
      out[k++] = x;
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[dim])
      throw new TensorboltError(op, `ragged nested array: expected ${shape[dim]} entries at depth ${dim} for shape ${fmtShape(shape)}`);
    for (const e of x) walk(e, dim + 1);
  };
  walk(v, 0);
}

/** The dtype and backend from a creation function's dtype-or-options argument. */
function creationArgs(op: string, arg: DType | CreateOptions | undefined): { dtype: DType | undefined; be: OpBackend } {
  if (arg !== null && typeof arg === 'object') return { dtype: arg.dtype, be: backendFor(op, arg.device) };
  return { dtype: arg, be: backendFor(op) };
}

/** t (a fresh host tensor) on backend be: t itself on the CPU, else an upload (t is disposed). */
function onBackend(t: Tensor, be: OpBackend, op: string): Tensor {
  if (be === t._be) return t;
  try {
    return copyTo(t, be, op);
  } finally {
    t.dispose();
  }
}

/**
 * tb.tensor(values, shape?, dtype?). On the CPU a Float32Array/Int32Array is used without copying
 * (the tensor shares its memory; one over a resizable buffer is refused); nested arrays and numbers
 * are copied, as is anything put on a GPU or cast to the other dtype.
 * The last argument may be { dtype, device } instead of a dtype.
 */
export function tensor(values: TensorLike, shape?: number[], dtypeOrOptions?: DType | CreateOptions): Tensor {
  const op = 'tensor';
  const { dtype, be } = creationArgs(op, dtypeOrOptions);
  if (values instanceof Tensor) return values;
  if (dtype !== undefined && dtype !== 'float32' && dtype !== 'int32')
    throw new TensorboltError(op, `dtype must be 'float32' or 'int32', got ${fmtValue(dtype)}`);
  if (values instanceof Float32Array || values instanceof Int32Array) {
    const s = shape ? checkShape(op, shape) : [values.length];
    if (sizeOf(s) !== values.length)
      throw new TensorboltError(op, `${values.length} values do not fit shape ${fmtShape(s)}`);
    const natural: DType = values instanceof Float32Array ? 'float32' : 'int32';
    // Shared memory must keep its size: a resizable buffer shrunk under a tensor gave short reads.
    // (A copy, to a device or another dtype, is made here and now, so any buffer will do.)
    const ab = values.buffer as ArrayBuffer & { resizable?: boolean; growable?: boolean };
    if (be.device === 'cpu' && (dtype === undefined || dtype === natural) && (ab.resizable === true || ab.growable === true))
      throw new TensorboltError(op, `values is a view of a ${ab.growable ? 'growable SharedArrayBuffer' : 'resizable ArrayBuffer'}, which could change size under the tensor; pass a copy (values.slice())`);
    const w = wrap(values, s, natural);
    if (dtype && dtype !== natural) {
      const t = empty(be, s, dtype);
      const src = be === w._be ? w : copyTo(w, be, op);
      be.cast(src.buf(op), t.buf(op));
      if (src !== w) src.dispose();
      w.dispose();
      return t;
    }
    return onBackend(w, be, op);
  }
  if (typeof values === 'number' || Array.isArray(values)) {
    const inferred = inferShape(op, values);
    const s = shape ? checkShape(op, shape) : inferred;
    const n = sizeOf(inferred);
    if (sizeOf(s) !== n)
      throw new TensorboltError(op, `${n} values (shape ${fmtShape(inferred)}) do not fit shape ${fmtShape(s)}`);
    const t = hostEmpty(s, dtype ?? 'float32');
    try {
      flatten(op, values, inferred, t.host(op));
    } catch (e) {
      t.dispose();
      throw e;
    }
    return onBackend(t, be, op);
  }
  throw new TensorboltError(op, `cannot make a tensor from ${values === null ? 'null' : typeof values}`);
}

export function scalar(value: number, dtypeOrOptions: DType | CreateOptions = 'float32'): Tensor {
  return tensor(value, [], dtypeOrOptions);
}

function dtypeArg(op: string, dtype: unknown): DType {
  if (dtype !== 'float32' && dtype !== 'int32')
    throw new TensorboltError(op, `dtype must be 'float32' or 'int32', got ${typeof dtype === 'string' ? `'${dtype}'` : fmtValue(dtype)}`);
  return dtype;
}

export function full(shape: number[], value: number, dtypeOrOptions: DType | CreateOptions = 'float32'): Tensor {
  if (typeof value !== 'number') throw new TensorboltError('full', `value must be a number, got ${typeof value}`);
  const { dtype: d, be } = creationArgs('full', dtypeOrOptions);
  const dtype = dtypeArg('full', d ?? 'float32');
  const t = empty(be, checkShape('full', shape), dtype);
  be.fill(t.buf(), value);
  return t;
}

export function zeros(shape: number[], dtypeOrOptions: DType | CreateOptions = 'float32'): Tensor {
  return full(shape, 0, dtypeOrOptions);
}

export function ones(shape: number[], dtypeOrOptions: DType | CreateOptions = 'float32'): Tensor {
  return full(shape, 1, dtypeOrOptions);
}

function likeArg(op: string, t: unknown): Tensor {
  if (!(t instanceof Tensor)) throw new TensorboltError(op, `expects a Tensor, got ${t === null ? 'null' : typeof t}`);
  t.buf(op); // throws on a disposed tensor
  return t;
}

/** Zeros of t's shape and dtype, on t's device. */
export function zerosLike(t: Tensor): Tensor {
  likeArg('zerosLike', t);
  return full(t.shape.slice(), 0, { dtype: t.dtype, device: t.device });
}

/** Ones of t's shape and dtype, on t's device. */
export function onesLike(t: Tensor): Tensor {
  likeArg('onesLike', t);
  return full(t.shape.slice(), 1, { dtype: t.dtype, device: t.device });
}

export interface RandomOptions {
  /** A seed for this draw only; without it the global generator (tb.setSeed) is used. */
  seed?: number;
  dtype?: DType;
  /** Default: tb.getDefaultDevice(). The numbers are drawn on the host, so a seed gives the same ones on every device. */
  device?: CreateOptions['device'];
}

function rngFor(op: string, opts?: RandomOptions): { r: Random; be: OpBackend } {
  if (opts !== undefined && (opts === null || typeof opts !== 'object')) throw new TensorboltError(op, `options must be an object, got ${fmtValue(opts)}`);
  const be = backendFor(op, opts?.device);
  return { r: opts?.seed !== undefined ? new Random(opts.seed) : globalRandom, be };
}

/** Normal samples with the given mean and standard deviation. */
function numbers(op: string, a: unknown, b: unknown, names: string): void {
  if (typeof a !== 'number' || typeof b !== 'number') throw new TensorboltError(op, `${names} must be numbers, got ${fmtValue(a)} and ${fmtValue(b)}`);
}

export function randn(shape: number[], mean = 0, std = 1, opts?: RandomOptions): Tensor {
  numbers('randn', mean, std, 'mean and std');
  const { r, be } = rngFor('randn', opts);
  const t = hostEmpty(checkShape('randn', shape), 'float32');
  const b = t.host('randn');
  for (let i = 0; i < b.length; i++) b[i] = mean + std * r.normal();
  return onBackend(t, be, 'randn');
}

/** Uniform samples in [lo, hi). */
export function rand(shape: number[], lo = 0, hi = 1, opts?: RandomOptions): Tensor {
  numbers('rand', lo, hi, 'lo and hi');
  const { r, be } = rngFor('rand', opts);
  const t = hostEmpty(checkShape('rand', shape), 'float32');
  const b = t.host('rand');
  for (let i = 0; i < b.length; i++) b[i] = lo + (hi - lo) * r.uniform();
  return onBackend(t, be, 'rand');
}

/** Integers in [lo, hi) as int32 (or float32 with dtype). */
export function randint(lo: number, hi: number, shape: number[], opts?: RandomOptions): Tensor {
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi <= lo)
    throw new TensorboltError('randint', `need integers lo < hi, got lo=${fmtValue(lo)}, hi=${fmtValue(hi)}`);
  const dtype = dtypeArg('randint', opts?.dtype ?? 'int32');
  // An int32 store wraps modulo 2^32, so a wider range would give wrong values, not an error.
  if (dtype === 'int32' && (lo < -(2 ** 31) || hi > 2 ** 31))
    throw new TensorboltError('randint', `[lo, hi) = [${lo}, ${hi}) does not fit int32; use dtype 'float32'`);
  const s = checkShape('randint', shape);
  const { r, be } = rngFor('randint', opts);
  const t = hostEmpty(s, dtype);
  const b = t.host('randint');
  for (let i = 0; i < b.length; i++) b[i] = r.int(lo, hi);
  return onBackend(t, be, 'randint');
}

/** [start, stop) with step, float32 by default (like tf.range); the last argument may be { dtype, device }. */
export function arange(start: number, stop?: number, step = 1, dtypeOrOptions: DType | CreateOptions = 'float32'): Tensor {
  if (stop === undefined) {
    stop = start;
    start = 0;
  }
  if (typeof step !== 'number' || step === 0 || !Number.isFinite(step)) throw new TensorboltError('arange', `step must be finite and non-zero, got ${fmtValue(step)}`);
  if (typeof start !== 'number' || typeof stop !== 'number' || !Number.isFinite(start) || !Number.isFinite(stop))
    throw new TensorboltError('arange', `start and stop must be finite numbers, got ${fmtValue(start)} and ${fmtValue(stop)}`);
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const { dtype, be } = creationArgs('arange', dtypeOrOptions);
  const t = hostEmpty([n], dtypeArg('arange', dtype ?? 'float32'));
  const b = t.host('arange');
  for (let i = 0; i < n; i++) b[i] = start + i * step;
  return onBackend(t, be, 'arange');
}

/** Identity matrix (n, m), on the default device or opts.device. */
export function eye(n: number, m = n, opts: CreateOptions = {}): Tensor {
  const be = backendFor('eye', opts?.device);
  const t = zeros([n, m], { device: 'cpu' });
  const b = t.host('eye');
  for (let i = 0; i < Math.min(n, m); i++) b[i * m + i] = 1;
  return onBackend(t, be, 'eye');
}
