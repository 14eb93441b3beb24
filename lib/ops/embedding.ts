// Embedding lookup: rows of a table picked by integer indices, and its gradient, a per-row sum
// written as a gather (native/cpu/embedding.cc) so that repeated indices add up in the same order
// on any thread count. Keras's Embedding and PyTorch's nn.Embedding use it.
import { native } from '../native/load.js';
import { needsGrad, record } from '../tensor/autograd.js';
import { TensorboltError, fmtShape, fmtValue } from '../tensor/errors.js';
import { Tensor, empty } from '../tensor/tensor.js';
import { requireFloat, tensorArg } from './util.js';

// ---- the native kernels of this op family ----
const kernels = {
  /** The table's rows idx into out; throws (RangeError) on an index outside [0, rows). */
  lookup: (table: Float32Array, idx: Int32Array, out: Float32Array, rows: number, dim: number): void =>
    native().gather(table, idx, out, 1, rows, dim),
  backward: (dy: Float32Array, idx: Int32Array, dw: Float32Array, rows: number, dim: number, paddingIdx: number,
    ws: Int32Array): void => native().embeddingBackward(dy, idx, dw, rows, dim, paddingIdx, ws),
};

export interface EmbeddingOptions {
  /** A row that gets no gradient (PyTorch's padding_idx); negative counts from the end. */
  paddingIdx?: number | null;
  /** Names the caller (a layer) in errors. */
  name?: string;
}

/**
 * Rows of weight (numEmbeddings, dim) at int32 indices of any shape: the result is
 * indices.shape + [dim]. Differentiable with respect to weight.
 */
export function embedding(weight: Tensor, indices: Tensor, opts: EmbeddingOptions = {}): Tensor {
  if (opts === null || typeof opts !== 'object') throw new TensorboltError('embedding', `options must be an object, got ${fmtValue(opts)}`);
  const op = typeof opts.name === 'string' ? opts.name : 'embedding';
  tensorArg(op, weight, 'weight');
  requireFloat(op, weight, 'weight');
  tensorArg(op, indices, 'indices');
  if (weight.rank !== 2) throw new TensorboltError(op, `weight must be (numEmbeddings, dim), got ${fmtShape(weight.shape)}`);
  if (indices.dtype !== 'int32')
    throw new TensorboltError(op, `indices must be int32, got ${indices.dtype} ${fmtShape(indices.shape)} (use .cast('int32'))`);
  const [V, D] = weight.shape as [number, number];
  let pad = -1;
  const p = opts.paddingIdx;
  if (p !== undefined && p !== null) {
    if (!Number.isInteger(p) || p < -V || p >= V)
      throw new TensorboltError(op, `paddingIdx must be an integer in [${-V}, ${V}) for ${V} rows, got ${fmtValue(p)}`);
    pad = p < 0 ? p + V : p;
  }
  const idx = indices.i32(op);
  const out = empty([...indices.shape, D]);
  try {
    kernels.lookup(weight.f32(op), idx, out.f32(op), V, D);
  } catch (e) {
    out.dispose();
    const why = (e as Error).message.replace(/^tensorbolt\.gather: /, '').replace(/ of dim$/, '');
    throw new TensorboltError(op, `indices ${fmtShape(indices.shape)} into a table of ${V} rows ${fmtShape(weight.shape)}: ${why}`);
  }
  if (!needsGrad(weight)) return out;
  // The backward reads the indices later: its own copy, so a caller reusing the array is safe.
  const saved = empty(indices.shape, 'int32');
  saved.i32(op).set(idx);
  return record(op, out, [weight], (dy) => {
    const dw = empty(weight.shape);
    const ws = empty([V + 1 + saved.size], 'int32');
    try {
      kernels.backward(dy.f32(op), saved.i32(op), dw.f32(op), V, D, pad, ws.i32(op));
    } finally {
      ws.dispose();
    }
    return [dw];
  }, [saved]);
}
