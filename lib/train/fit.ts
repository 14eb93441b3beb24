// The fit() loop: shuffled mini-batches, one tidy() per step (no tensor outlives its step), the
// event loop served between batches, callbacks, validation, a NaN guard and the progress display.
// Batches are gathered on the data's device (host data: on a worker thread, ahead of time) and
// moved to the model's (model.to / compile's device); metrics read predictions back once a batch.
import { TensorboltError, fmtValue } from '../tensor/errors.js';
import { noGrad } from '../tensor/autograd.js';
import { tidy } from '../tensor/tidy.js';
import { Random, globalRandom } from '../tensor/random.js';
import { copyTo, type Tensor } from '../tensor/tensor.js';
import { backendFor } from '../tensor/device.js';
import { History, type Callback, type Logs } from './callbacks.js';
import { Progress, type ProgressSink } from './progress.js';
import { checkBatchSize, checkXY, takeRows, takeRowsPairAsync, toDevice } from './batches.js';
import { metricValue } from './batch_metrics.js';
import type { Sequential } from './sequential.js';

export interface FitArgs {
  batchSize?: number;
  epochs?: number;
  /** Shuffle the training samples every epoch (default true). */
  shuffle?: boolean;
  validationData?: [Tensor, Tensor];
  /** Fraction of the samples, taken from the end before shuffling (as Keras), held out for validation. */
  validationSplit?: number;
  callbacks?: Callback[] | Callback;
  /** 0 silent, 1 progress bar (or plain lines when not a TTY), 2 one line per epoch. */
  verbose?: 0 | 1 | 2;
  /** Index of the first epoch (to resume). */
  initialEpoch?: number;
  /** Seed for the shuffling order (default: the global generator, see tb.setSeed). */
  seed?: number;
  /** Where progress goes (default process.stdout). */
  output?: ProgressSink;
  /** Yield to the event loop every this many batches (default 1). */
  yieldEvery?: number;
}

const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

// Batches of at least this many bytes of x are gathered ahead, on a worker thread, while the previous
// batch trains (shuffled rows of a large data set come from DRAM: ~0.1 ms for MNIST's 128 x 784
// floats); smaller ones are copied in line, where a thread hop would cost more than the copy.
const PREFETCH_MIN_BYTES = 64 * 1024;

/** Waits for a pair gathered ahead (if any) and frees it; a failed gather left nothing to free. */
async function discardPair(p: Promise<[Tensor, Tensor]> | null): Promise<void> {
  if (p) await p.then(([a, b]) => { a.dispose(); b.dispose(); }, () => {});
}

export async function fit(model: Sequential, x: Tensor, y: Tensor, args: FitArgs): Promise<History> {
  const op = 'fit';
  let n = checkXY(op, x, y);
  const batchSize = checkBatchSize(op, args.batchSize ?? 32);
  const epochs = args.epochs ?? 1;
  if (!Number.isInteger(epochs) || epochs < 0) throw new TensorboltError(op, `epochs must be a non-negative integer, got ${fmtValue(epochs)}`);
  const verbose = args.verbose ?? 1;
  model.checkInput(op, x);
  model.checkTargets(op, y);
  const opt = model.ensureOptimizer();

  let valX: Tensor | null = null;
  let valY: Tensor | null = null;
  const owned: Tensor[] = [];
  if (args.validationData) {
    if (!Array.isArray(args.validationData) || args.validationData.length !== 2)
      throw new TensorboltError(op, 'validationData must be [x, y]');
    [valX, valY] = args.validationData;
    // checked now, not after the first epoch of training
    checkXY('fit (validationData)', valX, valY);
    model.checkInput('fit (validationData)', valX);
    model.checkTargets('fit (validationData)', valY);
  } else if (args.validationSplit !== undefined) {
    const f = args.validationSplit;
    if (!(typeof f === 'number' && f > 0 && f < 1)) throw new TensorboltError(op, `validationSplit must be in (0, 1), got ${fmtValue(f)}`);
    const nVal = Math.floor(n * f);
    if (nVal === 0 || nVal === n) throw new TensorboltError(op, `validationSplit ${f} of ${n} samples leaves an empty split`);
    valX = takeRows(x, null, n - nVal, n);
    valY = takeRows(y, null, n - nVal, n);
    owned.push(valX, valY);
    n -= nVal;
  }

  const rng = args.seed !== undefined ? new Random(args.seed) : globalRandom;
  const cbs: Callback[] = Array.isArray(args.callbacks) ? args.callbacks.slice() : args.callbacks ? [args.callbacks] : [];
  const history = new History();
  cbs.push(history);
  for (const c of cbs) c.setModel?.(model);
  const batches = Math.ceil(n / batchSize);
  const sink: ProgressSink = args.output ?? { isTTY: !!process.stdout.isTTY, write: (s) => void process.stdout.write(s) };
  const progress = verbose === 1 ? new Progress(sink, epochs, batches) : null;
  const labels = model.metricLabels;
  const yieldEvery = Math.max(1, args.yieldEvery ?? 1);
  model.stopTraining = false;
  model.train();
  const order = new Int32Array(n);
  // The worker gathers host rows; data already on a device is gathered there, by a kernel.
  const prefetch = x.device === 'cpu' && y.device === 'cpu' &&
    batchSize * (x.size / Math.max(1, x.shape[0]!)) * 4 >= PREFETCH_MIN_BYTES;
  const dev = model.device;
  const devBe = backendFor(op, dev);
  // The next batch, being gathered while this one trains (never across epochs: the order changes).
  let pending: Promise<[Tensor, Tensor]> | null = null;
  try {
    for (const c of cbs) await c.onTrainBegin?.();
    for (let epoch = args.initialEpoch ?? 0; epoch < epochs && !model.stopTraining; epoch++) {
      for (let i = 0; i < n; i++) order[i] = i;
      if (args.shuffle !== false) rng.shuffle(order);
      for (const c of cbs) await c.onEpochBegin?.(epoch);
      progress?.epochBegin(epoch);
      let lossSum = 0;
      const sums = new Array<number>(labels.length).fill(0);
      let seen = 0;
      for (let b = 0; b < batches; b++) {
        const from = b * batchSize;
        const to = Math.min(n, from + batchSize);
        for (const c of cbs) await c.onBatchBegin?.(b);
        let xb: Tensor, yb: Tensor;
        if (pending) {
          [xb, yb] = await pending;
          pending = null;
        } else {
          xb = takeRows(x, order, from, to);
          yb = takeRows(y, order, from, to);
        }
        if (prefetch && b + 1 < batches) {
          pending = takeRowsPairAsync(x, y, order, to, Math.min(n, to + batchSize));
          pending.catch(() => {}); // awaited with the next batch (or in finally); not an unhandled rejection meanwhile
        }
        let step: { loss: number; metrics: number[] };
        // On the model's device; the metrics read the targets where they came from (no read-back of y).
        let xd: Tensor | null = null;
        let yd: Tensor | null = null;
        try {
          xd = toDevice(xb, dev, op);
          yd = yb.device === dev ? yb : copyTo(yb, devBe, op);
          const [xs, ys] = [xd, yd];
          step = tidy(() => {
            opt.zeroGrad();
            const { loss, pred } = model.lossAndPred(xs, ys, true);
            const lv = loss.item();
            if (!Number.isFinite(lv)) return { loss: lv, metrics: [] as number[] };
            loss.backward();
            opt.step();
            const metrics = noGrad(() => model.metricNames.map((m) => metricValue(m, yb, pred)));
            return { loss: lv, metrics };
          });
        } finally {
          (xd ?? xb).dispose();
          if (yd && yd !== yb) yd.dispose();
          yb.dispose();
        }
        if (!Number.isFinite(step.loss))
          throw new TensorboltError(op, `the loss became ${step.loss} at epoch ${epoch + 1}, batch ${b + 1} of ${batches}; training stopped (lower the learning rate, check the inputs for NaN/Inf, or normalize the data)`);
        const cnt = to - from;
        lossSum += step.loss * cnt;
        step.metrics.forEach((v, i) => (sums[i]! += v * cnt));
        seen += cnt;
        const logs: Logs = { loss: lossSum / seen };
        labels.forEach((l, i) => (logs[l] = sums[i]! / seen));
        progress?.batchEnd(b, logs);
        for (const c of cbs) await c.onBatchEnd?.(b, { ...logs, batch: b, size: cnt });
        // A callback may stop training mid-epoch, as in Keras and TensorFlow.js: the epoch ends here
        // (its logs cover the batches seen) and no other starts.
        if (model.stopTraining) break;
        if ((b + 1) % yieldEvery === 0) await yieldToEventLoop();
      }
      // gathered ahead for a batch that will not run (the next epoch reshuffles)
      await discardPair(pending);
      pending = null;
      const logs: Logs = { loss: lossSum / seen };
      labels.forEach((l, i) => (logs[l] = sums[i]! / seen));
      if (valX && valY) {
        model.eval();
        const v = model.evaluateDict(valX, valY, { batchSize: Math.max(batchSize, 256) });
        model.train();
        for (const [k, val] of Object.entries(v)) logs[`val_${k}`] = val;
      }
      if (progress) progress.epochEnd(epoch, logs);
      else if (verbose === 2) sink.write(`Epoch ${epoch + 1}/${epochs} - ${Object.entries(logs).map(([k, v]) => `${k}: ${v.toFixed(4)}`).join(' - ')}\n`);
      for (const c of cbs) await c.onEpochEnd?.(epoch, logs);
    }
    for (const c of cbs) await c.onTrainEnd?.();
  } finally {
    // a batch still being gathered (a callback threw, or training stopped) is waited for, then freed
    await discardPair(pending);
    model.eval();
    for (const t of owned) t.dispose();
  }
  return history;
}
