// Model files both ways against the real TensorFlow.js (cpu backend): a model trained and saved by
// tensorbolt loads in tfjs and predicts the same, and a model built, trained and saved by tfjs loads
// in tensorbolt and predicts the same (max error <= 1e-5 of the output's scale).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { cleanTempDirs, relErr, tempDir, tf, tfjsLoad, tfjsSave, useCpu } from './tfjs_helpers.js';

beforeAll(useCpu);
afterAll(cleanTempDirs);

const TOL = 1e-5;

function tfPredict(m: tf.LayersModel, x: tb.Tensor): Float32Array {
  return tf.tidy(() => (m.predict(tf.tensor(x.dataSync() as Float32Array, x.shape.slice())) as tf.Tensor).dataSync() as Float32Array);
}

function cnn(): tb.Sequential {
  return tb.sequential([
    tb.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu', inputShape: [10, 10, 3] }),
    tb.layers.batchNormalization(),
    tb.layers.maxPooling2d({ poolSize: 2 }),
    tb.layers.conv2d({ filters: 4, kernelSize: [2, 3], strides: [1, 2], padding: 'same', activation: 'tanh' }),
    tb.layers.averagePooling2d({ poolSize: 2, strides: 1 }),
    tb.layers.dropout({ rate: 0.3 }),
    tb.layers.flatten(),
    tb.layers.dense({ units: 12, activation: 'elu' }),
    tb.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-2 }),
    tb.layers.dense({ units: 5, activation: 'softmax' }),
  ]);
}

describe('tensorbolt -> TensorFlow.js', () => {
  it('a trained CNN (Conv2D, BatchNormalization, pooling, Dropout, Flatten, Dense) predicts the same in tfjs', async () => {
    tb.setSeed(11);
    const model = cnn();
    model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
    const x = tb.randn([64, 10, 10, 3]);
    const y = tb.toCategorical(tb.randint(0, 5, [64]), 5);
    await model.fit(x, y, { epochs: 2, batchSize: 16, verbose: 0 });
    const dir = tempDir();
    await model.save(`file://${dir}`);
    const m = await tfjsLoad(dir);
    expect(m.layers.map((l) => l.getClassName())).toEqual(model.layers.map((l) => l.className));
    const xt = tb.randn([8, 10, 10, 3]);
    const ours = model.predict(xt).dataSync();
    const theirs = tfPredict(m, xt);
    // trained: the moving statistics moved away from 0/1, so they matter for the comparison
    const mm = model.layers[1]!.weightsWithNames().find(([n]) => n.endsWith('moving_mean'))![1].dataSync();
    expect(Math.max(...Array.from(mm, Math.abs))).toBeGreaterThan(1e-3);
    expect(relErr(ours, theirs)).toBeLessThanOrEqual(TOL);
  });

  const acts: tb.ActivationName[] = ['linear', 'relu', 'elu', 'sigmoid', 'tanh', 'gelu', 'softplus', 'relu6', 'selu', 'softmax', 'logSoftmax'];
  it.each(acts)('activation %s, in Dense and in an Activation layer, predicts the same in tfjs', async (a) => {
    tb.setSeed(3);
    const model = tb.sequential([
      tb.layers.dense({ units: 7, activation: a, inputShape: [5] }),
      tb.layers.activation({ activation: a }),
    ]);
    const dir = tempDir();
    await model.save(`file://${dir}`);
    const m = await tfjsLoad(dir);
    const x = tb.randn([16, 5], 0, 2);
    expect(relErr(model.predict(x).dataSync(), tfPredict(m, x))).toBeLessThanOrEqual(TOL);
  });
});

describe('GlobalAveragePooling2D and Reshape', () => {
  it('tensorbolt -> tfjs', async () => {
    tb.setSeed(8);
    const model = tb.sequential([
      tb.layers.reshape({ targetShape: [4, 4, 2], inputShape: [32] }),
      tb.layers.conv2d({ filters: 3, kernelSize: 2, activation: 'relu' }),
      tb.layers.globalAveragePooling2d(),
      tb.layers.dense({ units: 2 }),
    ]);
    const dir = tempDir();
    await model.save(`file://${dir}`);
    const m = await tfjsLoad(dir);
    const x = tb.randn([5, 32]);
    expect(relErr(model.predict(x).dataSync(), tfPredict(m, x))).toBeLessThanOrEqual(TOL);
  });

  it('tfjs -> tensorbolt', async () => {
    const m = tf.sequential();
    m.add(tf.layers.reshape({ targetShape: [3, 4, 2], inputShape: [24] }));
    m.add(tf.layers.conv2d({ filters: 4, kernelSize: 2, padding: 'same' }));
    m.add(tf.layers.globalAveragePooling2d({}));
    m.add(tf.layers.dense({ units: 3, activation: 'tanh' }));
    const dir = tempDir();
    await tfjsSave(m, dir);
    const model = await tb.loadModel(`file://${dir}`);
    const x = tb.randn([5, 24]);
    expect(relErr(model.predict(x).dataSync(), tfPredict(m, x))).toBeLessThanOrEqual(TOL);
  });
});

describe('TensorFlow.js -> tensorbolt', () => {
  it('a tfjs-trained CNN loads in tensorbolt and predicts the same', async () => {
    const m = tf.sequential();
    m.add(tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [9, 9, 2] }));
    m.add(tf.layers.batchNormalization());
    m.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
    m.add(tf.layers.averagePooling2d({ poolSize: [2, 2], strides: [1, 1] }));
    m.add(tf.layers.conv2d({ filters: 3, kernelSize: 2, strides: 2, activation: 'sigmoid' }));
    m.add(tf.layers.dropout({ rate: 0.25 }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 8, activation: 'selu' }));
    m.add(tf.layers.dense({ units: 4, activation: 'softmax' }));
    m.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    const xs = tf.randomNormal([32, 9, 9, 2], 0, 1, 'float32', 5);
    const ys = tf.oneHot(tf.tensor1d([...Array(32).keys()].map((i) => i % 4), 'int32'), 4).toFloat();
    await m.fit(xs, ys, { epochs: 2, batchSize: 8, verbose: 0 });
    const dir = tempDir();
    await tfjsSave(m, dir);
    const model = await tb.loadModel(`file://${dir}/model.json`);
    expect(model.layers.map((l) => l.className)).toEqual(m.layers.map((l) => l.getClassName()));
    const x = tb.randn([6, 9, 9, 2]);
    expect(relErr(model.predict(x).dataSync(), tfPredict(m, x))).toBeLessThanOrEqual(TOL);
  });

  it.each(['linear', 'relu', 'elu', 'sigmoid', 'tanh', 'gelu', 'softplus', 'relu6', 'selu', 'softmax', 'logSoftmax'])(
    'tfjs activation %s loads and predicts the same', async (a) => {
      const m = tf.sequential();
      m.add(tf.layers.dense({ units: 6, activation: a as never, inputShape: [4], biasInitializer: 'randomNormal' }));
      m.add(tf.layers.activation({ activation: a as never }));
      const dir = tempDir();
      await tfjsSave(m, dir);
      const model = await tb.loadModel(`file://${dir}`);
      const x = tb.randn([10, 4]);
      expect(relErr(model.predict(x).dataSync(), tfPredict(m, x))).toBeLessThanOrEqual(TOL);
    });
});
