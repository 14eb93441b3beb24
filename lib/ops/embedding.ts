// Embedding lookup: rows of a table picked by integer indices, and its gradient, a per-row sum
// written as a gather (embeddingBackward: native/cpu/embedding.cc, native/cuda/rnn.cu) so that repeated indices add up in the same order
// on any thread count. Keras's Embedding and PyTorch's nn.Embedding use it.
import { needsGrad, record } from '../tensor/autograd.js';
import { TensorboltError, fmtShape, fmtValue } from '../tensor/errors.js';
import { Tensor, copyTo, empty } from '../tensor/tensor.js';
import { tidy } from '../tensor/tidy.js';
import { notEqual } from './elementwise.js';
import { argMax, max } from './reduce.js';
import { reshape } from './reshape.js';
import { cast } from './tensor_methods.js';
import { backendOf, requireFloat, tensorArg } from './util.js';

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
  const be = backendOf(op, weight, indices);
  const out = empty(be, [...indices.shape, D]);
  try {
    // The gather kernel checks the indices: on the CPU at once, on a GPU at the next read of a result.
    be.gather(weight.f32(op), indices.i32(op), out.f32(op), 1, V, D);
  } catch (e) {
    out.dispose();
    const why = (e as Error).message.replace(/^tensorbolt\.gather: /, '').replace(/ of dim$/, '');
    throw new TensorboltError(op, `indices ${fmtShape(indices.shape)} into a table of ${V} rows ${fmtShape(weight.shape)}: ${why}`);
  }
  // Through record() even without a gradient: debug mode checks every op's output there.
  if (!needsGrad(weight)) return record(op, out, [weight], () => []);
  // The backward reads the indices later: its own copy, so a caller reusing the tensor is safe.
  const saved = copyTo(indices, be, op);
  return record(op, out, [weight], (dy) => {
    const dw = empty(be, weight.shape);
    if (dw.size === 0) return [dw]; // an empty table (or rows of width 0): nothing to add up
    const ws = empty(be, [V + 1 + saved.size], 'int32');
    try {
      be.embeddingBackward(dy.f32(op), saved.i32(op), dw.f32(op), V, D, pad, ws.i32(op));
    } catch (e) {
      dw.dispose();
      throw e;
    } finally {
      ws.dispose();
    }
    return [dw];
  }, [saved]);
}

/**
 * x as int32 indices (the caller disposes the result when it is not x): a float x, as Keras models
 * are fed, is cast when every value is a whole number in int32's range. Keras truncates instead, so
 * that 2.5 picks row 2 and NaN row 0 (the cast maps NaN to 0) without a word; here the first such
 * value is an error.
 */
export function indicesOf(op: string, x: Tensor): Tensor {
  tensorArg(op, x, 'indices');
  if (x.dtype === 'int32') return x;
  const idx = cast(x, 'int32');
  // [flat index, value] of the first value that is not a whole number
  const bad = x.size === 0 ? null : tidy(() => {
    const flat = reshape(x, [x.size]);
    const off = notEqual(cast(reshape(idx, [x.size]), 'float32'), flat);
    if (max(off).item() === 0) return null;
    const k = argMax(off).item();
    return [k, flat.dataSync()[k]!];
  });
  if (!bad) return idx;
  idx.dispose();
  const [k, v] = bad;
  throw new TensorboltError(op, `float indices must be whole numbers in int32's range, got ${v} at flat index ${k} of ${fmtShape(x.shape)}`);
}
