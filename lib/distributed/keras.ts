// Data parallelism for the Keras-style fit(): one global batch per step, as one process would take
// it from the (same-seeded) shuffled order, split into a contiguous share per rank; the gradient of
// each share weighted by its size and summed across ranks (so the update is the one process's, up to
// float rounding); epoch logs and validation averaged over all samples of all ranks. A model on
// 'cuda' under init({ nccl: true }) has its gradients summed by NCCL in device buckets. Used by
// lib/train/fit.ts when `distributed` is on (or under a launcher).
import type { DistBinding } from '../native/dist_binding.js';
import { TensorboltError } from '../tensor/errors.js';
import { globalRandom } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Sequential } from '../train/sequential.js';
import type { Callback, Logs } from '../train/callbacks.js';
import { takeRows } from '../train/batches.js';
import { distError } from './collectives.js';
import { GradReducer, bucketsOnDevice } from './reducer.js';
import { broadcastFromRoot, checkSameShapes } from './sync.js';
import { init, mpi, underLauncher } from './world.js';

export class DistributedFit {
  readonly rank: number;
  readonly size: number;
  private readonly reducer: GradReducer;
  private val: [Tensor, Tensor] | null = null;
  private stopFlag: Int32Array;
  /** Whether a callback acts per batch, so ranks must agree after every batch on stopping. */
  readonly perBatchCallbacks: boolean;

  /** The distributed state for this fit, or null when it trains alone (not asked, or a world of one). */
  static start(model: Sequential, x: Tensor, y: Tensor, distributed: boolean | undefined, cbs: Callback[]): DistributedFit | null {
    if (distributed !== undefined && typeof distributed !== 'boolean')
      throw new TensorboltError('fit', `distributed must be a boolean, got ${typeof distributed}`);
    if (!(distributed ?? underLauncher())) return null;
    const w = init();
    const d = mpi('fit');
    return d ? new DistributedFit(d, w.rank, w.size, model, x, y, cbs) : null;
  }

  private constructor(private readonly d: DistBinding, rank: number, size: number, model: Sequential, x: Tensor, y: Tensor, cbs: Callback[]) {
    this.rank = rank;
    this.size = size;
    const op = 'fit';
    // The same model and the same data on every rank (shapes; the data's values are the user's to keep equal).
    const named: [string, Tensor][] = model.layers.flatMap((l, i) => l.weightsWithNames().map(([k, t]): [string, Tensor] => [`layers.${i}.${k}`, t]));
    checkSameShapes(op, d, rank, size, [...named, ['x (the training data)', x], ['y (the training targets)', y]]);
    broadcastFromRoot(op, d, named.map(([, t]) => t));
    const params = model.parameters().filter((p) => p.requiresGrad);
    this.reducer = new GradReducer(d, params, op, {}, 1, null, bucketsOnDevice(op, d, params));
    this.perBatchCallbacks = cbs.some((c) => c.onBatchBegin || c.onBatchEnd);
    this.stopFlag = d.alloc(1, 'int32') as Int32Array;
  }

  /** A shuffling seed drawn by rank 0 (from the global generator) and shared, so all ranks shuffle alike. */
  async sharedSeed(): Promise<number> {
    const a = this.d.alloc(1, 'float64');
    a[0] = Math.floor(globalRandom.uniform() * 2 ** 31);
    await this.run(this.d.broadcast(a, 0, 'fit: the shuffling seed'));
    return a[0]!;
  }

  /** This rank's positions [lo, hi) within the global batch [from, to). */
  share(from: number, to: number): [number, number] {
    const m = to - from;
    return [from + Math.floor((this.rank * m) / this.size), from + Math.floor(((this.rank + 1) * m) / this.size)];
  }

  /** Before backward: this rank's gradient counts for local of the global samples. */
  weigh(local: number, global: number): void {
    this.reducer.preScale = local / global;
  }

  /** Waits for the summed gradients (started during backward) and writes them into .grad. */
  async reduceGradients(): Promise<void> {
    await this.reducer.finish();
  }

  /** loss and metric means over every rank's samples, from this rank's sums over `seen` samples. */
  async averageLogs(lossSum: number, sums: number[], seen: number, labels: string[]): Promise<Logs> {
    const a = this.d.alloc(2 + sums.length, 'float64');
    a[0] = seen;
    a[1] = lossSum;
    a.set(sums, 2);
    await this.run(this.d.allReduce(a, 0, 1, 'fit: epoch logs'));
    const logs: Logs = { loss: a[1]! / a[0]! };
    labels.forEach((l, i) => (logs[l] = a[2 + i]! / a[0]!));
    return logs;
  }

  /** Validation over every rank's slice of (x, y), averaged over all samples. */
  async evaluate(model: Sequential, x: Tensor, y: Tensor, batchSize: number): Promise<Record<string, number>> {
    if (!this.val) {
      const [lo, hi] = this.share(0, x.shape[0]!);
      this.val = [takeRows(x, null, lo, hi), takeRows(y, null, lo, hi)];
    }
    const [vx, vy] = this.val;
    const n = vx.shape[0]!;
    const local = n > 0 ? model.evaluateDict(vx, vy, { batchSize }) : null;
    const keys = ['loss', ...model.metricLabels];
    const sums = keys.map((k) => (local ? local[k]! * n : 0));
    const logs = await this.averageLogs(sums[0]!, sums.slice(1), n, model.metricLabels);
    return logs;
  }

  /** True on every rank when any rank's callbacks asked to stop. */
  async agreeStop(stop: boolean): Promise<boolean> {
    this.stopFlag[0] = stop ? 1 : 0;
    await this.run(this.d.allReduce(this.stopFlag, 1, 1, 'fit: stop training?'));
    return this.stopFlag[0] === 1;
  }

  private async run(p: Promise<void>): Promise<void> {
    try {
      await p;
    } catch (e) {
      throw distError('fit', e);
    }
  }

  end(): void {
    this.reducer.detach();
    if (this.val) for (const t of this.val) t.dispose();
    this.val = null;
  }
}
