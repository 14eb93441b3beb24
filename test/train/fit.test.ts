// model.fit(): History, validation, callbacks, early stopping, seeded shuffling, event-loop
// friendliness, progress output, and the fused softmax-cross-entropy path.
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';

const L = tb.layers;

/** Two classes split by a random hyperplane through the origin: learnable by a small MLP. */
function toyData(n: number, seed = 1): { x: tb.Tensor; y: tb.Tensor; labels: Int32Array } {
  const rng = new tb.Random(seed);
  const w = [0.8, -1.2, 0.5, 1.0];
  const xs = new Float32Array(n * 4);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < 4; j++) {
      xs[i * 4 + j] = rng.normal();
      s += w[j]! * xs[i * 4 + j]!;
    }
    labels[i] = s > 0 ? 1 : 0;
  }
  return { x: tb.tensor(xs, [n, 4]), y: tb.toCategorical(labels, 2), labels };
}

function toyModel(seed = 5, lr = 0.02): tb.Sequential {
  tb.setSeed(seed);
  const m = tb.sequential([L.dense({ units: 8, activation: 'relu', inputShape: [4] }), L.dense({ units: 2, activation: 'softmax' })]);
  m.compile({ optimizer: tb.optim.optimizerFromName('adam', { learningRate: lr }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return m;
}

const weights = (m: tb.Sequential): number[] => m.parameters().flatMap((p) => Array.from(p.dataSync()));

describe('fit: History and learning', () => {
  it('returns loss and metrics per epoch, and the loss falls on a learnable problem', async () => {
    const { x, y } = toyData(256);
    const m = toyModel();
    const h = await m.fit(x, y, { epochs: 6, batchSize: 32, verbose: 0 });
    expect(h).toBeInstanceOf(tb.History);
    expect(h.epoch).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Object.keys(h.history).sort()).toEqual(['accuracy', 'loss']);
    const loss = h.history.loss!;
    expect(loss.length).toBe(6);
    expect(loss.every(Number.isFinite)).toBe(true);
    expect(loss[5]!).toBeLessThan(loss[0]! * 0.6);
    expect(h.history.accuracy![5]!).toBeGreaterThan(0.9);
    const [, acc] = m.evaluate(x, y);
    expect(acc).toBeGreaterThan(0.9);
  });

  it('reports val_ keys with validationData, computed in inference mode', async () => {
    const { x, y } = toyData(128);
    const v = toyData(40, 2);
    const m = toyModel();
    const h = await m.fit(x, y, { epochs: 2, batchSize: 16, verbose: 0, validationData: [v.x, v.y] });
    expect(Object.keys(h.history).sort()).toEqual(['accuracy', 'loss', 'val_accuracy', 'val_loss']);
    expect(h.history.val_loss!.length).toBe(2);
    // the last epoch's validation figures are those of evaluate() on the final weights
    const [vl, va] = m.evaluate(v.x, v.y);
    expect(h.history.val_loss![1]).toBeCloseTo(vl!, 5);
    expect(h.history.val_accuracy![1]).toBeCloseTo(va!, 10);
  });

  it('validationSplit holds out the last fraction of the samples, before shuffling', async () => {
    const { x, y } = toyData(100);
    const m = toyModel();
    let seen = 0;
    const h = await m.fit(x, y, {
      epochs: 2, batchSize: 16, verbose: 0, validationSplit: 0.25,
      callbacks: { onBatchEnd: (_b, logs) => void (seen += logs!.size!) },
    });
    expect(seen).toBe(2 * 75);
    const [vl] = m.evaluate(x.slice([75, 0], [25, 4]), y.slice([75, 0], [25, 2]));
    expect(h.history.val_loss![1]).toBeCloseTo(vl!, 5);
  });

  it('epochs 0 trains nothing; initialEpoch resumes the count', async () => {
    const { x, y } = toyData(32);
    const m = toyModel();
    const w0 = weights(m);
    const h0 = await m.fit(x, y, { epochs: 0, verbose: 0 });
    expect(h0.epoch).toEqual([]);
    expect(weights(m)).toEqual(w0);
    const h = await m.fit(x, y, { epochs: 4, initialEpoch: 2, verbose: 0 });
    expect(h.epoch).toEqual([2, 3]);
  });

  it('does not leak tensors across epochs', async () => {
    const { x, y } = toyData(64);
    const v = toyData(16, 3);
    const m = toyModel();
    await m.fit(x, y, { epochs: 1, batchSize: 8, verbose: 0, validationData: [v.x, v.y] });
    const before = tb.memory().numTensors;
    await m.fit(x, y, { epochs: 2, batchSize: 8, verbose: 0, validationData: [v.x, v.y] });
    expect(tb.memory().numTensors).toBe(before);
  });
});

describe('fit: callbacks', () => {
  it('calls each hook the right number of times, in order, awaiting async hooks', async () => {
    const { x, y } = toyData(50);
    const m = toyModel();
    const events: string[] = [];
    let pending = 0;
    const cb: tb.Callback = {
      onTrainBegin: () => void events.push('trainBegin'),
      onTrainEnd: () => void events.push('trainEnd'),
      onEpochBegin: (e) => void events.push(`epochBegin ${e}`),
      onEpochEnd: async (e, logs) => {
        pending++;
        await new Promise((r) => setTimeout(r, 2));
        pending--;
        events.push(`epochEnd ${e} ${Object.keys(logs!).join(',')}`);
      },
      onBatchBegin: (b) => void events.push(`batchBegin ${b}`),
      onBatchEnd: (b, logs) => {
        expect(pending).toBe(0);
        events.push(`batchEnd ${b} ${logs!.size}`);
      },
    };
    await m.fit(x, y, { epochs: 3, batchSize: 16, verbose: 0, callbacks: [cb] });
    const count = (p: string) => events.filter((e) => e.startsWith(p)).length;
    expect(count('trainBegin')).toBe(1);
    expect(count('trainEnd')).toBe(1);
    expect(count('epochBegin')).toBe(3);
    expect(count('epochEnd')).toBe(3);
    expect(count('batchBegin')).toBe(12); // ceil(50 / 16) = 4 per epoch
    expect(count('batchEnd')).toBe(12);
    expect(events.slice(0, 3)).toEqual(['trainBegin', 'epochBegin 0', 'batchBegin 0']);
    expect(events.filter((e) => e.startsWith('batchEnd')).slice(0, 4)).toEqual(['batchEnd 0 16', 'batchEnd 1 16', 'batchEnd 2 16', 'batchEnd 3 2']);
    expect(events).toContain('epochEnd 2 loss,accuracy');
    expect(events[events.length - 1]).toBe('trainEnd');
  });

  it('accepts a single callback object (tb.callback)', async () => {
    const { x, y } = toyData(20);
    let n = 0;
    await toyModel().fit(x, y, { epochs: 2, batchSize: 10, verbose: 0, callbacks: tb.callback({ onEpochEnd: () => void n++ }) });
    expect(n).toBe(2);
  });

  it('a callback setting stopTraining mid-epoch ends fit after that batch; the epoch ends with the batches seen', async () => {
    const { x, y } = toyData(100);
    const m = toyModel();
    const batches: number[] = [];
    const epochs: number[] = [];
    const h = await m.fit(x, y, {
      epochs: 3, batchSize: 10, verbose: 0,
      callbacks: {
        onBatchEnd: (b: number) => { batches.push(b); if (b === 3) m.stopTraining = true; },
        onEpochEnd: (e: number) => void epochs.push(e),
      },
    });
    expect(batches).toEqual([0, 1, 2, 3]);
    expect(epochs).toEqual([0]);
    expect(h.epoch).toEqual([0]);
    expect(Number.isFinite(h.history.loss![0]!)).toBe(true);
    tb.dispose([x, y]);
  });

  it('earlyStopping stops once the monitored value stops improving for `patience` epochs', async () => {
    const { x, y } = toyData(32);
    const m = toyModel();
    // lr 0: the loss never improves after the first epoch
    m.compile({ optimizer: new tb.optim.SGD([], { lr: 0 }), loss: 'categoricalCrossentropy' });
    const es = tb.earlyStopping({ monitor: 'loss', patience: 2 });
    const h = await m.fit(x, y, { epochs: 20, batchSize: 32, verbose: 0, shuffle: false, callbacks: [es] });
    expect(h.epoch).toEqual([0, 1, 2]);
    expect(es.stoppedEpoch).toBe(2);
    // a fresh fit trains again (stopTraining is reset)
    const h2 = await m.fit(x, y, { epochs: 2, verbose: 0 });
    expect(h2.epoch).toEqual([0, 1]);
  });

  it('earlyStopping on a learning model with minDelta, and restoreBestWeights', async () => {
    const { x, y } = toyData(64);
    const m = toyModel(5, 0.05);
    const es = new tb.EarlyStopping({ monitor: 'loss', minDelta: 10 });
    const h = await m.fit(x, y, { epochs: 10, verbose: 0, callbacks: [es] });
    expect(h.epoch).toEqual([0, 1]); // no improvement can beat a delta of 10

    // restoreBestWeights: after stopping, the weights are those of the best epoch
    const m2 = toyModel(6, 0.05);
    let best = Infinity;
    let bestW: number[] = [];
    let lastW: number[] = [];
    const track: tb.Callback = { onEpochEnd: (_e, logs) => { lastW = weights(m2); if (logs!.val_loss! < best) { best = logs!.val_loss!; bestW = lastW; } } };
    const v = toyData(30, 9);
    // a huge learning rate makes validation loss bounce, so the best epoch is rarely the last
    m2.compile({ optimizer: tb.optim.optimizerFromName('sgd', { learningRate: 5 }), loss: 'categoricalCrossentropy' });
    const es2 = tb.earlyStopping({ monitor: 'val_loss', patience: 1, restoreBestWeights: true });
    await m2.fit(x, y, { epochs: 30, batchSize: 4, verbose: 0, validationData: [v.x, v.y], callbacks: [track, es2] });
    expect(es2.stoppedEpoch).toBeGreaterThan(0);
    expect(weights(m2)).not.toEqual(lastW);
    expect(weights(m2)).toEqual(bestW);
  });
});

describe('fit: determinism and the event loop', () => {
  it('the same seed gives the same shuffles and weights; another seed does not', async () => {
    const { x, y } = toyData(64);
    const run = async (seed: number) => {
      const m = toyModel(1);
      await m.fit(x, y, { epochs: 2, batchSize: 8, verbose: 0, seed });
      return weights(m);
    };
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
  });

  it('shuffle: false visits samples in order', async () => {
    const { x, y } = toyData(12);
    const m = tb.sequential([L.dense({ units: 2, activation: 'softmax', inputShape: [4] })]);
    m.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    // record the first feature of each batch's first row through a custom loss
    const firsts: number[] = [];
    m.compile({ optimizer: 'sgd', loss: (yt, yp) => { firsts.push(yt.dataSync()[0]!); return tb.losses.categoricalCrossentropy(yt, yp); } });
    await m.fit(x, y, { epochs: 1, batchSize: 3, verbose: 0, shuffle: false });
    const yd = y.dataSync();
    expect(firsts).toEqual([0, 3, 6, 9].map((i) => yd[i * 2]));
  });

  it('yields to the event loop between batches: timers and immediates run during fit', async () => {
    const { x, y } = toyData(40);
    const m = toyModel();
    let timerTicks = 0;
    let immediates = 0;
    let running = true;
    const iv = setInterval(() => timerTicks++, 1);
    const spin = () => { immediates++; if (running) setImmediate(spin); };
    setImmediate(spin);
    const busy = () => { const t = performance.now(); while (performance.now() - t < 2); };
    await m.fit(x, y, { epochs: 2, batchSize: 4, verbose: 0, callbacks: { onBatchEnd: busy } });
    const ticks = timerTicks, imm = immediates;
    running = false;
    clearInterval(iv);
    // 20 batches of > 2 ms each: a fit that never yielded would show no ticks at all
    expect(ticks).toBeGreaterThanOrEqual(10);
    expect(imm).toBeGreaterThanOrEqual(10);
  });
});

describe('fit: progress output', () => {
  const capture = (isTTY: boolean) => {
    const chunks: string[] = [];
    return { sink: { isTTY, write: (s: string) => void chunks.push(s) }, text: () => chunks.join('') };
  };

  it('writes plain lines, one per epoch, when the output is not a TTY', async () => {
    const { x, y } = toyData(40);
    const out = capture(false);
    await toyModel().fit(x, y, { epochs: 3, batchSize: 10, verbose: 1, output: out.sink });
    const text = out.text();
    expect(text).not.toMatch(/[\r\x1b]/);
    const lines = text.trimEnd().split('\n');
    expect(lines.length).toBe(3);
    lines.forEach((l, i) => expect(l).toMatch(new RegExp(`^Epoch ${i + 1}/3 - [\\d.]+s - loss: \\d+\\.\\d{4} - accuracy: \\d\\.\\d{4}$`)));
  });

  it('adds a few batch lines per epoch for long epochs, still without control characters', async () => {
    const { x, y } = toyData(100);
    const out = capture(false);
    await toyModel().fit(x, y, { epochs: 1, batchSize: 2, verbose: 1, output: out.sink, validationSplit: 0.2 });
    const lines = out.text().trimEnd().split('\n');
    expect(out.text()).not.toMatch(/[\r\x1b]/);
    // about four per epoch: after the first batch (an early ETA) and at each quarter
    expect(lines.filter((l) => /^ {2}batch \d+\/40 - ETA/.test(l)).map((l) => l.split(' ')[3])).toEqual(['1/40', '10/40', '20/40', '30/40']);
    expect(lines[lines.length - 1]).toMatch(/^Epoch 1\/1 - .* - val_loss: \d+\.\d{4} - val_accuracy: \d\.\d{4}$/);
  });

  it('redraws a bar on a TTY; verbose 2 prints one line per epoch; verbose 0 prints nothing', async () => {
    const { x, y } = toyData(40);
    const tty = capture(true);
    await toyModel().fit(x, y, { epochs: 2, batchSize: 10, verbose: 1, output: tty.sink });
    expect(tty.text()).toContain('Epoch 1/2\n');
    expect(tty.text()).toMatch(/\r\x1b\[K4\/4 - /);
    const v2 = capture(false);
    await toyModel().fit(x, y, { epochs: 2, batchSize: 10, verbose: 2, output: v2.sink });
    expect(v2.text().trimEnd().split('\n')).toEqual([expect.stringMatching(/^Epoch 1\/2 - loss: /), expect.stringMatching(/^Epoch 2\/2 - loss: /)]);
    const v0 = capture(false);
    await toyModel().fit(x, y, { epochs: 1, verbose: 0, output: v0.sink });
    expect(v0.text()).toBe('');
  });
});

describe('fit: softmax output with categorical cross-entropy uses the fused kernel', () => {
  /** A model whose logits are ±1e4 on the first sample: kernel rows push class 0 up, class 1 down. */
  function saturated(loss: 'categoricalCrossentropy' | 'sparseCategoricalCrossentropy') {
    const m = tb.sequential([L.dense({ units: 2, activation: 'softmax', inputShape: [2] })]);
    m.compile({ optimizer: tb.optim.optimizerFromName('sgd', { learningRate: 1e-5 }), loss, metrics: ['accuracy'] });
    const d = m.layers[0] as unknown as { kernel: tb.Tensor; bias: tb.Tensor };
    d.kernel.buf().set([1e4, -1e4, 0, 0]);
    return { m, d };
  }
  const x = tb.tensor([[1, 0], [0, 1]]);

  it('loss and gradients stay finite (and exact) for logits of ±1e4', () => {
    const { m, d } = saturated('categoricalCrossentropy');
    const y = tb.tensor([[0, 1], [1, 0]]); // the first sample is confidently wrong
    const { loss, pred } = m.lossAndPred(x, y, true);
    // through probabilities clipped at 1e-7 the loss would be at most ~8; the fused loss is exact
    expect(loss.item()).toBeCloseTo((2e4 + Math.log(2)) / 2, 0);
    loss.backward();
    const g = d.kernel.grad!.dataSync();
    expect(Array.from(g).every(Number.isFinite)).toBe(true);
    expect(Array.from(g)).toEqual([0.5, -0.5, -0.25, 0.25]);
    // predictions of the training path are probabilities, as predict() gives
    expect(Array.from(pred.dataSync())).toEqual(Array.from(m.predict(x).dataSync()));
  });

  it('fit trains through it: finite History, finite weights that moved', async () => {
    for (const lossName of ['categoricalCrossentropy', 'sparseCategoricalCrossentropy'] as const) {
      const { m, d } = saturated(lossName);
      const y = lossName === 'categoricalCrossentropy' ? tb.tensor([[0, 1], [1, 0]]) : tb.tensor(Int32Array.of(1, 0));
      const before = Array.from(d.kernel.dataSync());
      const h = await m.fit(x, y, { epochs: 3, batchSize: 2, verbose: 0 });
      expect(h.history.loss!.every((v) => Number.isFinite(v) && v > 1000), lossName).toBe(true);
      const after = Array.from(d.kernel.dataSync());
      expect(after.every(Number.isFinite)).toBe(true);
      expect(after).not.toEqual(before);
    }
  });

  it('metrics that read values (mse) see probabilities, not logits', () => {
    tb.setSeed(3);
    const m = tb.sequential([L.dense({ units: 3, activation: 'softmax', inputShape: [4] })]);
    m.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy', metrics: ['mse', 'accuracy'] });
    const xs = tb.randn([10, 4], 0, 3, { seed: 4 });
    const ys = tb.toCategorical(Int32Array.from({ length: 10 }, (_, i) => i % 3), 3);
    const p = m.predict(xs).dataSync();
    const yd = ys.dataSync();
    let mse = 0;
    for (let i = 0; i < p.length; i++) mse += (p[i]! - yd[i]!) ** 2 / p.length;
    const [, gotMse] = m.evaluate(xs, ys);
    expect(gotMse).toBeCloseTo(mse, 5);
  });
});
