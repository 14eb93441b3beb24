// DistributedSampler: which samples this rank visits in an epoch (torch.utils.data's, for
// tb.data.DataLoader's `sampler` option). One permutation of the data set per epoch, the same on
// every rank (seeded by seed + epoch), dealt out like cards: rank r takes positions r, r + size,
// r + 2·size, ... So every sample is visited exactly once per epoch by exactly one rank, and batch k
// of every rank together is the k-th slice of the permutation, as one process would take it.
// Without padding the shards differ by at most one sample; the DataLoader checks that every rank
// still gets the same number of batches (data-parallel training needs the same number of steps).
import { TensorboltError, fmtValue } from '../tensor/errors.js';
import { Random } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { init, isInitialized, rank as worldRank, size as worldSize, underLauncher } from './world.js';

/** What DataLoader's `sampler` option takes: the indices of the next pass over the data set. */
export interface Sampler {
  /** Samples in the next pass (this rank's share). */
  readonly length: number;
  /** The indices to visit in the next pass, each in [0, dataset length). */
  indices(): Int32Array;
  /** Throws when this batching would give the ranks different numbers of batches. */
  checkBatches?(batchSize: number, dropLast: boolean): void;
}

export interface DistributedSamplerOptions {
  /** Ranks sharing the data (default: the world's size). */
  numReplicas?: number;
  /** This rank (default: the world's rank). */
  rank?: number;
  /** A new permutation each epoch (default true); otherwise samples in order, dealt the same way. */
  shuffle?: boolean;
  /** Same on every rank (default 0). */
  seed?: number;
  /** Drop the last n mod numReplicas samples of each epoch's order so the shards are equal (default false). */
  dropLast?: boolean;
}

export class DistributedSampler implements Sampler {
  readonly numReplicas: number;
  readonly rank: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  /** The data set's size. */
  readonly total: number;
  /** The epoch whose order indices() returns next; it then moves on by one. */
  epoch = 0;

  /** dataset: what DataLoader takes (a Dataset, or { images, labels } tensors), or its length. */
  constructor(dataset: { length: number } | { images: Tensor } | number, opts: DistributedSamplerOptions = {}) {
    const op = 'DistributedSampler';
    const n = typeof dataset === 'number' ? dataset
      : dataset && typeof dataset === 'object' && 'images' in dataset && dataset.images instanceof Tensor ? dataset.images.shape[0]
      : (dataset as { length: number } | null)?.length;
    if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0)
      throw new TensorboltError(op, `expects a data set (or its length), got ${fmtValue(n)} samples`);
    if (opts === null || typeof opts !== 'object') throw new TensorboltError(op, `options must be an object, got ${fmtValue(opts)}`);
    if ((opts.numReplicas === undefined || opts.rank === undefined) && (isInitialized() || underLauncher())) init();
    const size = opts.numReplicas ?? (isInitialized() ? worldSize() : 1);
    const rank = opts.rank ?? (isInitialized() ? worldRank() : 0);
    if (!Number.isInteger(size) || size < 1) throw new TensorboltError(op, `numReplicas must be a positive integer, got ${fmtValue(size)}`);
    if (!Number.isInteger(rank) || rank < 0 || rank >= size) throw new TensorboltError(op, `rank must be in [0, ${size}), got ${fmtValue(rank)}`);
    const seed = opts.seed ?? 0;
    if (!Number.isInteger(seed)) throw new TensorboltError(op, `seed must be an integer, got ${fmtValue(seed)}`);
    this.total = n;
    this.numReplicas = size;
    this.rank = rank;
    this.shuffle = opts.shuffle ?? true;
    this.seed = seed;
    this.dropLast = opts.dropLast ?? false;
    if (this.dropLast && n < size) throw new TensorboltError(op, `dropLast with ${n} samples over ${size} ranks leaves nothing`);
  }

  /** Samples rank r visits per epoch. */
  shardLength(r = this.rank): number {
    const used = this.dropLast ? this.total - (this.total % this.numReplicas) : this.total;
    return Math.max(0, Math.ceil((used - r) / this.numReplicas));
  }

  get length(): number {
    return this.shardLength();
  }

  /** Sets the epoch whose order the next pass takes (PyTorch's set_epoch). */
  setEpoch(epoch: number): void {
    if (!Number.isInteger(epoch) || epoch < 0) throw new TensorboltError('DistributedSampler.setEpoch', `epoch must be a non-negative integer, got ${fmtValue(epoch)}`);
    this.epoch = epoch;
  }

  indices(): Int32Array {
    const order = new Int32Array(this.total);
    for (let i = 0; i < this.total; i++) order[i] = i;
    if (this.shuffle) new Random(this.seed + this.epoch).shuffle(order);
    this.epoch++;
    const out = new Int32Array(this.length);
    for (let k = 0; k < out.length; k++) out[k] = order[this.rank + k * this.numReplicas]!;
    return out;
  }

  checkBatches(batchSize: number, dropLast: boolean): void {
    const count = (r: number) => (dropLast ? Math.floor : Math.ceil)(this.shardLength(r) / batchSize);
    for (let r = 1; r < this.numReplicas; r++) {
      if (count(r) !== count(0))
        throw new TensorboltError('DataLoader', `with a DistributedSampler of ${this.total} samples over ${this.numReplicas} ranks and batchSize ${batchSize}, ` +
          `rank 0 gets ${count(0)} batches but rank ${r} gets ${count(r)}; every rank must take the same number of steps: ` +
          'pass dropLast: true to the DataLoader or to the sampler, or choose another batch size');
    }
  }
}
