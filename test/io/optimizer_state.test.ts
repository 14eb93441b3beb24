// includeOptimizer: the compile arguments and the optimizer state travel with model.json, so training
// resumes where it stopped, in tensorbolt or in TensorFlow.js, in either direction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tb from '../../lib/index.js';
import { cleanTempDirs, relErr, tempDir, tf, tfjsLoad, tfjsSave, useCpu } from './tfjs_helpers.js';

beforeAll(useCpu);
afterAll(cleanTempDirs);

type OptName = 'adam' | 'momentum' | 'sgd';
const tbOptimizer = (o: OptName) =>
  o === 'adam' ? new tb.optim.Adam([], { lr: 0.01, eps: 1e-7 }) : new tb.optim.SGD([], { lr: 0.05, momentum: o === 'momentum' ? 0.9 : 0 });
const tfOptimizer = (o: OptName) => (o === 'adam' ? tf.train.adam(0.01) : o === 'momentum' ? tf.train.momentum(0.05, 0.9) : tf.train.sgd(0.05));

function tbMlp(): tb.Sequential {
  return tb.sequential([
    tb.layers.dense({ units: 16, activation: 'relu', inputShape: [6] }),
    tb.layers.batchNormalization(),
    tb.layers.dense({ units: 3, activation: 'softmax' }),
  ]);
}
function tfMlp(): tf.Sequential {
  const m = tf.sequential();
  m.add(tf.layers.dense({ units: 16, activation: 'relu', inputShape: [6] }));
  m.add(tf.layers.batchNormalization());
  m.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
  return m;
}
function data(seed: number, n = 48): { x: tb.Tensor; y: tb.Tensor } {
  tb.setSeed(seed);
  const x = tb.randn([n, 6]);
  return { x, y: tb.toCategorical(tb.argMax(x.slice([0, 0], [n, 3]), 1), 3) };
}
const trainable = (m: tb.Sequential) => m.layers.flatMap((l) => l.weightsWithNames()).filter(([n]) => !/moving_/.test(n));
const flat = (ts: ArrayLike<number>[]) => Float32Array.from(ts.flatMap((t) => Array.from(t)));

describe('includeOptimizer within tensorbolt', () => {
  it.each(['adam', 'momentum'] as OptName[])('%s: resuming from the file trains exactly as not stopping', async (o) => {
    const { x, y } = data(1);
    const a = tbMlp();
    a.compile({ optimizer: tbOptimizer(o), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    await a.fit(x, y, { epochs: 2, batchSize: 16, verbose: 0, seed: 1 });
    const dir = tempDir();
    await a.save(`file://${dir}`, { includeOptimizer: true });
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    expect(json.trainingConfig.loss).toBe('categorical_crossentropy');
    expect(json.trainingConfig.metrics).toEqual(['accuracy']);
    const b = await tb.loadModel(`file://${dir}`);
    expect(b.optimizer).not.toBeNull();
    await a.fit(x, y, { epochs: 1, batchSize: 16, verbose: 0, seed: 2 });
    await b.fit(x, y, { epochs: 1, batchSize: 16, verbose: 0, seed: 2 });
    const wa = flat(trainable(a).map(([, t]) => t.dataSync()));
    const wb = flat(trainable(b).map(([, t]) => t.dataSync()));
    expect(Array.from(wb)).toEqual(Array.from(wa));
    // without the state, the same step lands elsewhere: the comparison above is sensitive to it
    const c = await tb.loadModel(`file://${dir}`, { includeOptimizer: false });
    c.compile({ optimizer: tbOptimizer(o), loss: 'categoricalCrossentropy' });
    await c.fit(x, y, { epochs: 1, batchSize: 16, verbose: 0, seed: 2 });
    expect(relErr(flat(trainable(c).map(([, t]) => t.dataSync())), wa)).toBeGreaterThan(1e-4);
  });

  it('refuses optimizers TensorFlow.js cannot express, pointing to saveCheckpoint', async () => {
    const m = tbMlp();
    m.compile({ optimizer: 'adamw', loss: 'categoricalCrossentropy' });
    const dir = tempDir();
    await expect(m.save(`file://${dir}`, { includeOptimizer: true })).rejects.toThrow(/save: includeOptimizer: AdamW .*tb\.saveCheckpoint/);
    const u = tbMlp();
    await expect(u.save(`file://${dir}`, { includeOptimizer: true })).rejects.toThrow(/save: includeOptimizer needs a model compiled/);
  });
});

/** One training step on (x, y) in both libraries; returns both libraries' trainable weights. */
async function stepBoth(ours: tb.Sequential, theirs: tf.LayersModel, x: tb.Tensor, y: tb.Tensor): Promise<[Float32Array, Float32Array]> {
  await ours.fit(x, y, { epochs: 1, batchSize: x.shape[0]!, shuffle: false, verbose: 0 });
  await theirs.trainOnBatch(tf.tensor(x.dataSync() as Float32Array, x.shape.slice()), tf.tensor(y.dataSync() as Float32Array, y.shape.slice()));
  const tw = theirs.trainableWeights.map((w) => w.read().dataSync() as Float32Array);
  return [flat(trainable(ours).map(([, t]) => t.dataSync())), flat(tw)];
}

describe('includeOptimizer across libraries', () => {
  it.each(['adam', 'momentum', 'sgd'] as OptName[])('%s: tensorbolt-trained, resumed in TensorFlow.js, takes the same next step', async (o) => {
    const { x, y } = data(2);
    const a = tbMlp();
    a.compile({ optimizer: tbOptimizer(o), loss: 'categoricalCrossentropy' });
    await a.fit(x, y, { epochs: 3, batchSize: 16, verbose: 0, seed: 3 });
    const dir = tempDir();
    await a.save(`file://${dir}`, { includeOptimizer: true });
    const m = await tfjsLoad(dir);
    expect(m.optimizer.getClassName()).toBe(o === 'adam' ? 'Adam' : o === 'momentum' ? 'Momentum' : 'SGD');
    const [w1, w2] = await stepBoth(a, m, x, y);
    expect(relErr(w1, w2)).toBeLessThanOrEqual(1e-5);
  });

  it.each(['adam', 'momentum', 'sgd'] as OptName[])('%s: TensorFlow.js-trained, resumed in tensorbolt, takes the same next step', async (o) => {
    const { x, y } = data(4);
    const m = tfMlp();
    m.compile({ optimizer: tfOptimizer(o), loss: 'categoricalCrossentropy' });
    const xs = tf.tensor(x.dataSync() as Float32Array, x.shape.slice());
    const ys = tf.tensor(y.dataSync() as Float32Array, y.shape.slice());
    await m.fit(xs, ys, { epochs: 3, batchSize: 16, verbose: 0 });
    const dir = tempDir();
    await tfjsSave(m, dir, true);
    const a = await tb.loadModel(`file://${dir}/model.json`);
    expect(a.optimizer?.name).toBe(o === 'adam' ? 'Adam' : 'SGD');
    const [w1, w2] = await stepBoth(a, m, x, y);
    expect(relErr(w1, w2)).toBeLessThanOrEqual(1e-5);
  });
});
