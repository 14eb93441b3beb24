// One seeded training run, shared by the worker_threads tests: the same function runs in a worker,
// in two workers at once, or one after the other. Returns a SHA-256 of the trained weights.
// Optional shared memory (Int32Array over a SharedArrayBuffer), so tests need no clock:
//   barrier   every run adds 1 to [0] and waits until [0] reaches [1] before training: runs that
//             all pass it were alive at once
//   progress  [0] counts the batches trained; training goes on, epoch after epoch, until [1] is set
import { createHash } from 'node:crypto';

export async function train(tb, { seed, kind, epochs, threads, barrier, progress }) {
  const start = Date.now();
  if (barrier) {
    Atomics.add(barrier, 0, 1);
    Atomics.notify(barrier, 0);
    for (let v; (v = Atomics.load(barrier, 0)) < barrier[1];) Atomics.wait(barrier, 0, v);
  }
  tb.setNumThreads(threads);
  tb.setSeed(seed);
  const n = 128;
  const x = kind === 'cnn' ? tb.randn([n, 12, 12, 1]) : tb.randn([n, 64]);
  const labels = tb.randint(0, 10, [n]);
  const y = tb.toCategorical(labels, 10);
  labels.dispose();
  const model = kind === 'cnn'
    ? tb.sequential([
      tb.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', inputShape: [12, 12, 1] }),
      tb.layers.maxPooling2d({ poolSize: 2 }),
      tb.layers.flatten(),
      tb.layers.dropout({ rate: 0.25, seed: seed + 1 }),
      tb.layers.dense({ units: 10, activation: 'softmax' }),
    ])
    : tb.sequential([
      tb.layers.dense({ units: 64, activation: 'relu', inputShape: [64] }),
      tb.layers.dropout({ rate: 0.25, seed: seed + 1 }),
      tb.layers.dense({ units: 10, activation: 'softmax' }),
    ]);
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  const callbacks = progress ? {
    onBatchEnd: () => {
      Atomics.add(progress, 0, 1);
      if (Atomics.load(progress, 1)) model.stopTraining = true;
    },
  } : undefined;
  let h;
  do h = await model.fit(x, y, { batchSize: 16, epochs, verbose: 0, seed, callbacks });
  while (progress && !Atomics.load(progress, 1));
  const hash = createHash('sha256');
  for (const l of model.layers) for (const [, t] of l.weightsWithNames()) hash.update(Buffer.from(t.dataSync().buffer));
  model.dispose();
  model.optimizer.dispose();
  x.dispose();
  y.dispose();
  return { hash: hash.digest('hex'), loss: h.history.loss.at(-1), start, end: Date.now() };
}
