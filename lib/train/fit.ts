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
import { DistributedFit } from '../distributed/keras.js';

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
  /**
   * Train data-parallel over the ranks of tb.distributed (default: true under a launcher such as
   * `tensorbolt launch` or mpirun). Every rank passes the same x and y: each global batch of
   * batchSize samples is split across the ranks, gradients are summed by sample count, logs and
   * validation are averaged over all ranks, and only rank 0 prints progress.
   */
  distributed?: boolean;
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

  const cbs: Callback[] = Array.isArray(args.callbacks) ? args.callbacks.slice() : args.callbacks !== undefined ? [args.callbacks] : [];
  cbs.forEach((c, i) => {
    if (!c || typeof c !== 'object')
      throw new TensorboltError(op, `callbacks${Array.isArray(args.callbacks) ? `[${i}]` : ''} must be a callback object (e.g. tb.callback({ onEpochEnd })), got ${fmtValue(c)}`);
  });
  const history = new History();
  cbs.push(history);
  for (const c of cbs) c.setModel?.(model);
  // after every check of the arguments: from here its grad hooks are on the model until finally
  const dist = DistributedFit.start(model, x, y, args.distributed, cbs);
  const verbose = dist && dist.rank !== 0 ? 0 : args.verbose ?? 1;
  const batches = Math.ceil(n / batchSize);
  const sink: ProgressSink = args.output ?? { isTTY: !!process.stdout.isTTY, write: (s) => void process.stdout.write(s) };
  const progress = verbose === 1 ? new Progress(sink, epochs, batches) : null;
  const labels = model.metricLabels;
  const yieldEvery = Math.max(1, args.yieldEvery ?? 1);
  model.stopTraining = false;
  model.train();
  const order = new Int32Array(n);
  // The worker gathers host rows; data already on a device is gathered there, by a kernel. Only
  // memory the library owns goes to the worker thread: the caller can transfer (detach) the
  // ArrayBuffer behind a tb.tensor(theirArray) from a callback while the worker reads it, and N-API
  // cannot keep that memory alive. Their data is gathered in line (x.clone() makes it ours).
  const prefetch = x.device === 'cpu' && y.device === 'cpu' && !x._store.shared && !y._store.shared &&
    batchSize * (x.size / Math.max(1, x.shape[0]!)) * 4 >= PREFETCH_MIN_BYTES;
  const dev = model.device;
  const devBe = backendFor(op, dev);
  // The next batch, being gathered while this one trains (never across epochs: the order changes).
  let pending: Promise<[Tensor, Tensor]> | null = null;
  try {
    const rng = args.seed !== undefined ? new Random(args.seed) : dist ? new Random(await dist.sharedSeed()) : globalRandom;
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
        const gFrom = b * batchSize;
        const gTo = Math.min(n, gFrom + batchSize);
        // this rank's share of the global batch (all of it when training alone)
        const [from, to] = dist ? dist.share(gFrom, gTo) : [gFrom, gTo];
        for (const c of cbs) await c.onBatchBegin?.(b);
        let xb: Tensor | null = null, yb: Tensor | null = null;
        if (pending) {
          [xb, yb] = await pending;
          pending = null;
          try {
            // a callback may have disposed x or y while their rows were being copied
            x.buf(op);
            y.buf(op);
          } catch (e) {
            xb.dispose();
            yb.dispose();
            throw e;
          }
        } else {
          x.buf(op); // errors name fit, not the gather inside it
          y.buf(op);
        }
        if (!xb && to > from) {
          xb = takeRows(x, order, from, to);
          yb = takeRows(y, order, from, to);
        }
        const [nextFrom, nextTo] = dist ? dist.share(gTo, Math.min(n, gTo + batchSize)) : [gTo, Math.min(n, gTo + batchSize)];
        if (prefetch && b + 1 < batches && nextTo > nextFrom) {
          pending = takeRowsPairAsync(x, y, order, nextFrom, nextTo);
          pending.catch(() => {}); // awaited with the next batch (or in finally); not an unhandled rejection meanwhile
        }
        let step: { loss: number; metrics: number[] };
        // On the model's device; the metrics read the targets where they came from (no read-back of y).
        let xd: Tensor | null = null;
        let yd: Tensor | null = null;
        try {
          if (xb && yb) {
            xd = toDevice(xb, dev, op);
            yd = yb.device === dev ? yb : copyTo(yb, devBe, op);
          }
          const [xs, ys, yh] = [xd, yd, yb];
          step = tidy(() => {
            opt.zeroGrad();
            // a rank with no sample in a short last batch still joins the gradient sum (with zeros)
            if (!xs || !ys || !yh) return { loss: 0, metrics: labels.map(() => 0) };
            dist?.weigh(to - from, gTo - gFrom);
            const { loss, pred } = model.lossAndPred(xs, ys, true);
            const lv = loss.item();
            if (!Number.isFinite(lv)) return { loss: lv, metrics: [] as number[] };
            loss.backward();
            if (!dist) opt.step();
            const metrics = noGrad(() => model.metricNames.map((m) => metricValue(m, yh, pred)));
            return { loss: lv, metrics };
          });
        } finally {
          (xd ?? xb)?.dispose();
          if (yd && yd !== yb) yd.dispose();
          yb?.dispose();
        }
        if (!Number.isFinite(step.loss))
          throw new TensorboltError(op, `the loss became ${step.loss} at epoch ${epoch + 1}, batch ${b + 1} of ${batches}; training stopped (lower the learning rate, check the inputs for NaN/Inf, or normalize the data)`);
        if (dist) {
          await dist.reduceGradients();
          tidy(() => opt.step());
        }
        const cnt = to - from;
        lossSum += step.loss * cnt;
        step.metrics.forEach((v, i) => (sums[i]! += v * cnt));
        seen += cnt;
        const logs: Logs = { loss: lossSum / seen };
        labels.forEach((l, i) => (logs[l] = sums[i]! / seen));
        progress?.batchEnd(b, logs);
        for (const c of cbs) await c.onBatchEnd?.(b, { ...logs, batch: b, size: cnt });
        if (dist?.perBatchCallbacks) model.stopTraining = await dist.agreeStop(model.stopTraining);
        // A callback may stop training mid-epoch, as in Keras and TensorFlow.js: the epoch ends here
        // (its logs cover the batches seen) and no other starts.
        if (model.stopTraining) break;
        if ((b + 1) % yieldEvery === 0) await yieldToEventLoop();
      }
      // gathered ahead for a batch that will not run (the next epoch reshuffles)
      await discardPair(pending);
      pending = null;
      let logs: Logs = { loss: lossSum / seen };
      labels.forEach((l, i) => (logs[l] = sums[i]! / seen));
      if (dist) logs = await dist.averageLogs(lossSum, sums, seen, labels);
      if (valX && valY) {
        model.eval();
        const vb = Math.max(batchSize, 256);
        const v = dist ? await dist.evaluate(model, valX, valY, vb) : model.evaluateDict(valX, valY, { batchSize: vb });
        model.train();
        for (const [k, val] of Object.entries(v)) logs[`val_${k}`] = val;
      }
      if (progress) progress.epochEnd(epoch, logs);
      else if (verbose === 2) sink.write(`Epoch ${epoch + 1}/${epochs} - ${Object.entries(logs).map(([k, v]) => `${k}: ${v.toFixed(4)}`).join(' - ')}\n`);
      for (const c of cbs) await c.onEpochEnd?.(epoch, logs);
      if (dist) model.stopTraining = await dist.agreeStop(model.stopTraining);
    }
    for (const c of cbs) await c.onTrainEnd?.();
  } finally {
    // a batch still being gathered (a callback threw, or training stopped) is waited for, then freed
    await discardPair(pending);
    model.eval();
    dist?.end();
    for (const t of owned) t.dispose();
  }
  return history;
}
