// Datasets: an indexable collection of (x, y) samples, as in PyTorch's torch.utils.data.Dataset.
// A sample part is a flat typed array (its shape given by the dataset's sampleShape) or a number.
// TensorDataset (and subsets of it) also let the DataLoader copy whole rows at once.
import type { DType } from '../tensor/engine.js';
import { TensorboltError, fmtShape } from '../tensor/errors.js';
import { Tensor } from '../tensor/tensor.js';

export type SampleValue = Float32Array | Int32Array | number;
export type Sample = [SampleValue, SampleValue];

export interface Dataset {
  /** Number of samples. */
  readonly length: number;
  /** The i-th sample (0 <= i < length). */
  get(i: number): Sample;
  /**
   * Per-sample shapes of x and y. When absent the DataLoader takes them from sample 0: a typed array
   * of n values is shape [n], a number is a scalar (shape []).
   */
  readonly sampleShape?: readonly [readonly number[], readonly number[]];
  /**
   * Per-sample dtypes of x and y. When absent: a Float32Array is float32, an Int32Array int32, and a
   * number float32 (declare 'int32' for class labels returned as numbers).
   */
  readonly sampleDtype?: readonly [DType, DType];
}

/** @internal What the DataLoader's fast path needs: rows of two contiguous buffers. */
export interface RowSource {
  readonly xBuf: Float32Array | Int32Array;
  readonly yBuf: Float32Array | Int32Array;
  readonly xRow: number;
  readonly yRow: number;
  /** Maps a dataset index to a row of the buffers (identity for a TensorDataset). */
  row(i: number): number;
}

function checkIndex(op: string, i: number, n: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= n)
    throw new TensorboltError(op, `index ${i} is out of range for a dataset of ${n} samples`);
}

/**
 * Samples are the rows (first axis) of x and y, as in torch.utils.data.TensorDataset. The tensors
 * are referenced, not copied; get(i) returns a copy of the row, which stays valid whatever happens
 * to the tensors (a view kept after dispose() read whichever tensor reused the memory next).
 */
export class TensorDataset implements Dataset {
  readonly x: Tensor;
  readonly y: Tensor;
  readonly length: number;
  readonly sampleShape: readonly [readonly number[], readonly number[]];
  readonly sampleDtype: readonly [DType, DType];
  private readonly xRow: number;
  private readonly yRow: number;

  constructor(x: Tensor, y: Tensor) {
    const op = 'TensorDataset';
    if (!(x instanceof Tensor) || !(y instanceof Tensor))
      throw new TensorboltError(op, `x and y must be Tensors, got ${describe(x)} and ${describe(y)}`);
    x.buf(op);
    y.buf(op);
    if (x.rank === 0 || y.rank === 0)
      throw new TensorboltError(op, `x and y need a sample axis first; got shapes ${fmtShape(x.shape)} and ${fmtShape(y.shape)}`);
    if (x.shape[0] !== y.shape[0])
      throw new TensorboltError(op, `x has ${x.shape[0]} samples but y has ${y.shape[0]} (shapes ${fmtShape(x.shape)} and ${fmtShape(y.shape)})`);
    this.x = x;
    this.y = y;
    this.length = x.shape[0]!;
    this.sampleShape = [x.shape.slice(1), y.shape.slice(1)];
    this.sampleDtype = [x.dtype, y.dtype];
    this.xRow = x.shape.slice(1).reduce((a, b) => a * b, 1);
    this.yRow = y.shape.slice(1).reduce((a, b) => a * b, 1);
  }

  get(i: number): Sample {
    checkIndex('TensorDataset.get', i, this.length);
    const xb = this.x.host('TensorDataset.get');
    const yb = this.y.host('TensorDataset.get');
    const xs = this.x.rank === 1 ? xb[i]! : xb.slice(i * this.xRow, (i + 1) * this.xRow);
    const ys = this.y.rank === 1 ? yb[i]! : yb.slice(i * this.yRow, (i + 1) * this.yRow);
    return [xs, ys];
  }

  /** @internal */
  rows(): RowSource {
    return {
      xBuf: this.x.host('DataLoader'),
      yBuf: this.y.host('DataLoader'),
      xRow: this.xRow,
      yRow: this.yRow,
      row: (i) => i,
    };
  }
}

/** A view of some samples of a dataset, in the given order (torch.utils.data.Subset). */
export class Subset implements Dataset {
  readonly dataset: Dataset;
  readonly indices: Int32Array;
  readonly sampleShape?: readonly [readonly number[], readonly number[]];
  readonly sampleDtype?: readonly [DType, DType];

  constructor(dataset: Dataset, indices: ArrayLike<number>) {
    const op = 'subset';
    if (!dataset || typeof dataset.get !== 'function' || typeof dataset.length !== 'number')
      throw new TensorboltError(op, `expected a Dataset (length and get(i)), got ${describe(dataset)}`);
    const idx = Int32Array.from(indices as ArrayLike<number>);
    for (let k = 0; k < idx.length; k++) {
      const v = (indices as ArrayLike<number>)[k]!;
      if (!Number.isInteger(v) || v < 0 || v >= dataset.length)
        throw new TensorboltError(op, `indices[${k}] = ${v} is out of range for a dataset of ${dataset.length} samples`);
    }
    this.dataset = dataset;
    this.indices = idx;
    if (dataset.sampleShape) this.sampleShape = dataset.sampleShape;
    if (dataset.sampleDtype) this.sampleDtype = dataset.sampleDtype;
  }

  get length(): number {
    return this.indices.length;
  }

  get(i: number): Sample {
    checkIndex('Subset.get', i, this.indices.length);
    return this.dataset.get(this.indices[i]!);
  }

  /** @internal */
  rows(): RowSource | null {
    const inner = rowSource(this.dataset);
    if (!inner) return null;
    const idx = this.indices;
    return { ...inner, row: (i) => inner.row(idx[i]!) };
  }
}

/** The samples of ds at the given indices. */
export function subset(ds: Dataset, indices: ArrayLike<number>): Subset {
  return new Subset(ds, indices);
}

/** @internal The row view of a dataset when it has one (TensorDataset or a Subset of one). */
export function rowSource(ds: Dataset): RowSource | null {
  if (ds instanceof TensorDataset) return ds.rows();
  if (ds instanceof Subset) return ds.rows();
  return null;
}

/** @internal */
export function describe(x: unknown): string {
  if (x instanceof Tensor) return `Tensor ${fmtShape(x.shape)} ${x.dtype}`;
  if (x === null) return 'null';
  if (Array.isArray(x)) return `array(${x.length})`;
  if (ArrayBuffer.isView(x)) return `${x.constructor.name}(${(x as unknown as ArrayLike<number>).length})`;
  return typeof x;
}
