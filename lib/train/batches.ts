// Row selection for fit/evaluate/predict: copies the chosen samples of x and y into batch tensors
// (contiguous rows with one allocator copy, shuffled rows with one gather; no per-element work), and
// moves batches to the model's device.
import { hostGatherPairAsync } from '../native/backend.js';
import { TensorboltError, fmtShape, fmtValue } from '../tensor/errors.js';
import { Tensor, copyTo, empty, hostEmpty } from '../tensor/tensor.js';
import { backendFor, type DeviceName } from '../tensor/device.js';
import { noGrad } from '../tensor/autograd.js';
import { gather } from '../ops/layout.js';

export function numSamples(op: string, x: Tensor, name = 'x'): number {
  if (!(x instanceof Tensor)) throw new TensorboltError(op, `${name} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  x.buf(op);
  if (x.rank === 0) throw new TensorboltError(op, `${name} must have a batch axis, got a scalar`);
  return x.shape[0]!;
}

/** Rows idx[from..to) of t as a new tensor on t's device. */
export function takeRows(t: Tensor, idx: Int32Array | null, from: number, to: number): Tensor {
  // Shuffled rows: one native gather (a JS loop made two typed-array views per row, ~0.3 ms a batch).
  if (idx) return noGrad(() => gather(t, idx.subarray(from, to), 0));
  const n = to - from;
  const row = t.size / Math.max(1, t.shape[0]!);
  const out = empty(t._be, [n, ...t.shape.slice(1)], t.dtype);
  t._be.copy(t.buf('fit'), from * row, out.buf('fit'), 0, n * row);
  return out;
}

/**
 * A batch on `device`: t itself when it is there, else a copy (t, a batch the caller made, is then
 * disposed). An upload to a GPU is queued: the host goes on with the next batch meanwhile.
 */
export function toDevice(t: Tensor, device: DeviceName, op: string): Tensor {
  if (t.device === device) return t;
  try {
    return copyTo(t, backendFor(op, device), op);
  } finally {
    t.dispose();
  }
}

/**
 * Rows idx[from..to) of x and of y (CPU tensors), copied on a worker thread (see native
 * gatherPairAsync): fit gathers the next shuffled batch this way while the current one trains. x, y
 * and idx must not change until the promise settles, and x and y must be library memory (not shared
 * with the caller, who could detach it under the worker). Nothing is left behind on failure.
 */
export async function takeRowsPairAsync(x: Tensor, y: Tensor, idx: Int32Array, from: number, to: number): Promise<[Tensor, Tensor]> {
  if (x._store.shared || y._store.shared)
    throw new TensorboltError('fit', 'internal: the caller\'s memory cannot be gathered on a worker thread');
  const n = to - from;
  const rowX = x.size / Math.max(1, x.shape[0]!);
  const rowY = y.size / Math.max(1, y.shape[0]!);
  const xb = hostEmpty([n, ...x.shape.slice(1)], x.dtype);
  let yb: Tensor;
  try {
    yb = hostEmpty([n, ...y.shape.slice(1)], y.dtype);
  } catch (e) {
    xb.dispose();
    throw e;
  }
  try {
    // idx is read by the worker: the caller leaves it unchanged until the promise settles (fit
    // reshuffles only between epochs, never with a batch in flight).
    await hostGatherPairAsync(x.host('fit'), xb.host('fit'), rowX, y.host('fit'), yb.host('fit'), rowY,
                              idx.subarray(from, to), x.shape[0]!);
  } catch (e) {
    xb.dispose();
    yb.dispose();
    throw e;
  }
  return [xb, yb];
}

export function checkXY(op: string, x: Tensor, y: Tensor): number {
  const nx = numSamples(op, x, 'x');
  const ny = numSamples(op, y, 'y');
  if (nx !== ny) throw new TensorboltError(op, `x and y have different sample counts: x ${fmtShape(x.shape)} has ${nx}, y ${fmtShape(y.shape)} has ${ny}`);
  if (nx === 0) throw new TensorboltError(op, `the data set is empty (x ${fmtShape(x.shape)})`);
  return nx;
}

export function checkBatchSize(op: string, batchSize: unknown): number {
  if (typeof batchSize !== 'number' || !Number.isInteger(batchSize) || batchSize <= 0)
    throw new TensorboltError(op, `batchSize must be a positive integer, got ${fmtValue(batchSize)}`);
  return batchSize;
}
