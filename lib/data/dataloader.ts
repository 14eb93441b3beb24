// DataLoader: batches of a dataset as Tensors, optionally shuffled (seeded) and augmented, as in
// torch.utils.data.DataLoader. Each `for...of` is one epoch; a shuffled loader draws a new order
// per epoch. Batches are fresh tensors owned by the caller: dispose them (or use tidy) so their
// buffers go back to the pool and an epoch allocates nothing once warm.
import { hostGather } from '../native/backend.js';
import type { DType } from '../tensor/engine.js';
import { TensorboltError, fmtShape, fmtValue } from '../tensor/errors.js';
import { Random, globalRandom } from '../tensor/random.js';
import { Tensor, hostEmpty } from '../tensor/tensor.js';
import { TensorDataset, describe, rowSource, type Dataset, type RowSource, type SampleValue } from './dataset.js';
import type { Transform } from './transforms.js';
import type { Sampler } from '../distributed/sampler.js';

export interface DataLoaderOptions {
  batchSize: number;
  /** Visit the samples in a new random order each epoch (default false). */
  shuffle?: boolean;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /**
   * Seed of the loader's own generator (shuffling and the transforms' draws). Without it the
   * global generator is used, so tb.setSeed makes the run repeatable.
   */
  seed?: number;
  /** Applied to each sample's x (a float32 array shaped like the sample) before batching. */
  transform?: Transform;
  /** Which samples each pass visits, in which order (e.g. tb.data.DistributedSampler); not with shuffle. */
  sampler?: Sampler;
}

/** A split as returned by tb.datasets.mnist(): the loader accepts it directly. */
export interface LabeledTensors {
  images: Tensor;
  labels: Tensor;
}

export type Batch = [Tensor, Tensor];

interface Spec {
  shape: number[];
  dtype: DType;
  size: number;
}

function isLabeled(x: unknown): x is LabeledTensors {
  return !!x && typeof x === 'object' && (x as LabeledTensors).images instanceof Tensor && (x as LabeledTensors).labels instanceof Tensor;
}

function valueSpec(op: string, v: SampleValue, shape: readonly number[] | undefined, dtype: DType | undefined, what: string): Spec {
  const natural: DType = v instanceof Int32Array ? 'int32' : 'float32';
  const n = typeof v === 'number' ? 1 : v.length;
  const s = shape ? shape.slice() : typeof v === 'number' ? [] : [n];
  const size = s.reduce((a, b) => a * b, 1);
  if (size !== n) throw new TensorboltError(op, `sample 0's ${what} has ${n} values but the dataset's sampleShape says ${fmtShape(s)}`);
  return { shape: s, dtype: dtype ?? natural, size };
}

export class DataLoader implements Iterable<Batch> {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  private readonly rng: Random;
  private readonly transform: Transform | undefined;
  readonly sampler: Sampler | undefined;
  private readonly xSpec: Spec;
  private readonly ySpec: Spec;

  constructor(dataset: Dataset | LabeledTensors, opts: DataLoaderOptions) {
    const op = 'DataLoader';
    if (isLabeled(dataset)) dataset = new TensorDataset(dataset.images, dataset.labels);
    if (!dataset || typeof (dataset as Dataset).get !== 'function' || typeof (dataset as Dataset).length !== 'number')
      throw new TensorboltError(op, `expected a Dataset (length and get(i)) or { images, labels } tensors, got ${describe(dataset)}`);
    const ds = dataset as Dataset;
    const bs = opts?.batchSize;
    if (typeof bs !== 'number' || !Number.isInteger(bs) || bs <= 0)
      throw new TensorboltError(op, `batchSize must be a positive integer, got ${fmtValue(bs)}`);
    if (!Number.isInteger(ds.length) || ds.length <= 0)
      throw new TensorboltError(op, `the dataset is empty (length ${ds.length}): nothing to batch`);
    if (opts.transform !== undefined && typeof opts.transform !== 'function')
      throw new TensorboltError(op, `transform must be a function, got ${typeof opts.transform}`);
    if (opts.seed !== undefined && !Number.isFinite(opts.seed)) throw new TensorboltError(op, `seed must be a finite number, got ${opts.seed}`);
    this.dataset = ds;
    this.batchSize = bs;
    this.shuffle = opts.shuffle ?? false;
    this.dropLast = opts.dropLast ?? false;
    this.rng = opts.seed !== undefined ? new Random(opts.seed) : globalRandom;
    this.transform = opts.transform;
    if (opts.sampler !== undefined) {
      if (!opts.sampler || typeof opts.sampler.indices !== 'function' || typeof opts.sampler.length !== 'number')
        throw new TensorboltError(op, `sampler must have indices() and length (e.g. a DistributedSampler), got ${describe(opts.sampler)}`);
      if (opts.shuffle) throw new TensorboltError(op, 'shuffle and sampler exclude each other (the sampler shuffles)');
      opts.sampler.checkBatches?.(bs, this.dropLast);
    }
    this.sampler = opts.sampler;

    const [x0, y0] = ds.get(0);
    this.xSpec = valueSpec(op, x0, ds.sampleShape?.[0], ds.sampleDtype?.[0], 'x');
    this.ySpec = valueSpec(op, y0, ds.sampleShape?.[1], ds.sampleDtype?.[1], 'y');
    if (this.transform && this.xSpec.dtype !== 'float32')
      throw new TensorboltError(op, `transforms need float32 samples, x is ${this.xSpec.dtype}`);
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.sampler ? this.sampler.length : this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** One epoch of [x, y] batches: x is (B, ...xShape), y is (B, ...yShape), dtypes kept. */
  *[Symbol.iterator](): Iterator<Batch> {
    let n = this.dataset.length;
    let order: Int32Array | null = null;
    if (this.sampler) {
      order = this.sampler.indices();
      for (let i = 0; i < order.length; i++)
        if (!(order[i]! >= 0 && order[i]! < n)) throw new TensorboltError('DataLoader', `the sampler gave index ${order[i]} at position ${i}, outside the data set's [0, ${n})`);
      n = order.length;
    } else if (this.shuffle) {
      order = new Int32Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
      this.rng.shuffle(order);
    }
    const batches = this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
    for (let b = 0; b < batches; b++) {
      const start = b * this.batchSize;
      const end = Math.min(n, start + this.batchSize);
      yield this.makeBatch(order, start, end);
    }
  }

  private makeBatch(order: Int32Array | null, start: number, end: number): Batch {
    const count = end - start;
    const xs = this.xSpec;
    const ys = this.ySpec;
    const x = hostEmpty([count, ...xs.shape], xs.dtype);
    const y = hostEmpty([count, ...ys.shape], ys.dtype);
    try {
      const src = rowSource(this.dataset);
      if (src) this.fillRows(src, order, start, end, x.host(), y.host());
      else this.fillSamples(order, start, end, x.host(), y.host());
    } catch (e) {
      x.dispose();
      y.dispose();
      throw e;
    }
    return [x, y];
  }

  /** Fast path: rows of contiguous tensors, copied whole (one copy per batch when not shuffled). */
  private fillRows(src: RowSource, order: Int32Array | null, start: number, end: number, xb: Float32Array | Int32Array, yb: Float32Array | Int32Array): void {
    const { xBuf, yBuf, xRow, yRow } = src;
    const tf = this.transform;
    if (!tf && order) {
      // A shuffled batch: one native gather per buffer (row by row in JS, a subarray and a set per
      // row were a tenth of the PyTorch-style MLP loop's time).
      const rows = new Int32Array(end - start);
      for (let k = 0; k < rows.length; k++) rows[k] = src.row(order[start + k]!);
      hostGather(xBuf, rows, xb, 1, xBuf.length / xRow, xRow);
      hostGather(yBuf, rows, yb, 1, yBuf.length / yRow, yRow);
      return;
    }
    let k = 0;
    while (start + k < end) {
      const r0 = src.row(order ? order[start + k]! : start + k);
      // Extend over consecutive source rows, so an unshuffled TensorDataset batch is one copy.
      let len = 1;
      if (!tf) while (start + k + len < end && src.row(order ? order[start + k + len]! : start + k + len) === r0 + len) len++;
      if (tf) {
        const out = (xb as Float32Array).subarray(k * xRow, (k + 1) * xRow);
        const res = tf((xBuf as Float32Array).subarray(r0 * xRow, (r0 + 1) * xRow), this.xSpec.shape, this.rng, out);
        if (res !== out) this.placeTransformed(res, out, start + k);
      } else {
        xb.set(xBuf.subarray(r0 * xRow, (r0 + len) * xRow), k * xRow);
      }
      yb.set(yBuf.subarray(r0 * yRow, (r0 + len) * yRow), k * yRow);
      k += len;
    }
  }

  /** General path: dataset.get(i) per sample, checked against the shapes of sample 0. */
  private fillSamples(order: Int32Array | null, start: number, end: number, xb: Float32Array | Int32Array, yb: Float32Array | Int32Array): void {
    const op = 'DataLoader';
    const xs = this.xSpec;
    const ys = this.ySpec;
    const tf = this.transform;
    for (let k = 0; k < end - start; k++) {
      const i = order ? order[start + k]! : start + k;
      const sample = this.dataset.get(i);
      if (!Array.isArray(sample) || sample.length !== 2)
        throw new TensorboltError(op, `dataset.get(${i}) must return [x, y], got ${describe(sample)}`);
      const [sx, sy] = sample;
      for (const [v, spec, buf, what] of [[sx, xs, xb, 'x'], [sy, ys, yb, 'y']] as const) {
        if (typeof v === 'number') {
          if (spec.size !== 1) throw new TensorboltError(op, `sample ${i}'s ${what} is a number but sample 0's has shape ${fmtShape(spec.shape)}`);
          buf[k] = v;
        } else if (v instanceof Float32Array || v instanceof Int32Array) {
          if (v.length !== spec.size)
            throw new TensorboltError(op, `sample ${i}'s ${what} has ${v.length} values but sample 0's has shape ${fmtShape(spec.shape)} (${spec.size} values)`);
          if (what === 'x' && tf) continue;
          buf.set(v, k * spec.size);
        } else {
          throw new TensorboltError(op, `sample ${i}'s ${what} must be a Float32Array, an Int32Array or a number, got ${describe(v)}`);
        }
      }
      if (tf) {
        const inp = typeof sx === 'number' ? Float32Array.of(sx) : sx instanceof Float32Array ? sx : Float32Array.from(sx);
        const out = (xb as Float32Array).subarray(k * xs.size, (k + 1) * xs.size);
        const res = tf(inp, xs.shape, this.rng, out);
        if (res !== out) this.placeTransformed(res, out, i);
      }
    }
  }

  private placeTransformed(res: Float32Array, out: Float32Array, i: number): void {
    if (!(res instanceof Float32Array) || res.length !== out.length)
      throw new TensorboltError('DataLoader', `the transform returned ${describe(res)} for sample ${i}; expected a Float32Array of ${out.length} values (same shape as x)`);
    out.set(res);
  }
}
