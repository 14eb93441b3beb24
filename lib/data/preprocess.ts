// Whole-tensor preprocessing: one-hot labels and per-channel normalization. Plain data preparation,
// not recorded for autograd.
import { TensorboltError, fmtShape, fmtValue } from '../tensor/errors.js';
import { Tensor, hostEmpty, hostValues } from '../tensor/tensor.js';
import { applyNormalize, checkStats } from './channels.js';

/** The most classes toCategorical infers from the labels alone. */
export const MAX_INFERRED_CLASSES = 65_536;

/**
 * One-hot encodes integer class labels (Keras' to_categorical): labels of shape S give float32
 * (...S, numClasses); a trailing axis of size 1 in S (rank > 1) is dropped, so (N, 1) labels give (N, numClasses).
 * Without numClasses, it is the largest label + 1, up to 65536 (one wild label must not size the
 * output; pass numClasses for more).
 */
export function toCategorical(labels: Tensor | Int32Array | readonly number[], numClasses?: number): Tensor {
  const op = 'toCategorical';
  let values: ArrayLike<number>;
  let shape: number[];
  if (labels instanceof Tensor) {
    values = hostValues(labels, op);
    shape = labels.shape.slice();
  } else if (labels instanceof Int32Array || Array.isArray(labels)) {
    values = labels as ArrayLike<number>;
    shape = [labels.length];
  } else {
    throw new TensorboltError(op, `labels must be a Tensor, an Int32Array or an array of numbers, got ${labels === null ? 'null' : typeof labels}`);
  }
  const n = values.length;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (typeof v !== 'number' || !Number.isInteger(v))
      throw new TensorboltError(op, `labels[${i}] = ${fmtValue(v)} is not an integer class index`);
  }
  let k = numClasses;
  if (k === undefined) {
    let max = -1;
    let at = -1;
    for (let i = 0; i < n; i++) if (values[i]! > max) [max, at] = [values[i]!, i];
    k = max + 1;
    if (k <= 0) throw new TensorboltError(op, `cannot infer numClasses from ${n === 0 ? 'no labels' : 'negative labels'}; pass numClasses`);
    // One bad label would otherwise size the output: [2**31] asked for 8 GB of one-hot rows.
    if (k > MAX_INFERRED_CLASSES)
      throw new TensorboltError(op, `labels[${at}] = ${max} would make ${k} classes; numClasses is inferred up to ${MAX_INFERRED_CLASSES} (pass numClasses to go beyond)`);
  }
  if (!Number.isInteger(k) || k <= 0) throw new TensorboltError(op, `numClasses must be a positive integer, got ${fmtValue(k)}`);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v < 0 || v >= k) throw new TensorboltError(op, `labels[${i}] = ${v} is outside [0, ${k}) for numClasses = ${k}`);
  }
  if (shape.length > 1 && shape[shape.length - 1] === 1) shape.pop();
  const out = hostEmpty([...shape, k], 'float32');
  const b = out.host(op) as Float32Array;
  b.fill(0);
  for (let i = 0; i < n; i++) b[i * k + values[i]!] = 1;
  return out;
}

/**
 * (x - mean) / std, per channel of the last axis (arrays of length x.shape[-1]) or overall
 * (scalars). Returns a new float32 tensor.
 */
export function normalize(x: Tensor, mean: number | readonly number[], std: number | readonly number[]): Tensor {
  const op = 'normalize';
  if (!(x instanceof Tensor)) throw new TensorboltError(op, `expected a Tensor, got ${x === null ? 'null' : typeof x}`);
  const src = hostValues(x, op);
  const m = typeof mean === 'number' ? [mean] : mean;
  const s = typeof std === 'number' ? [std] : std;
  checkStats(op, m, s);
  const c = x.rank === 0 ? 1 : x.shape[x.rank - 1]!;
  if (m.length !== 1 && m.length !== c)
    throw new TensorboltError(op, `${m.length} channel statistics for input ${fmtShape(x.shape)} with ${c} channels on the last axis`);
  const out = hostEmpty(x.shape, 'float32');
  applyNormalize(src, out.host(op) as Float32Array, c, m, s);
  return out;
}
