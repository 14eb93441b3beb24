// TensorFlow.js peers (cpu backend, wasm backend, tfjs-node when installed) running protocol.ts:
// the same models built with tf.layers, tf's own fit/predict/evaluate, the same MNIST tensors.
import { createRequire } from 'node:module';
import type * as TF from '@tensorflow/tfjs';
import * as tb from '../lib/index.js';
import { peakRssMb, type Framework, type ModelKind, type TrainResult, type TrainSpec } from './protocol.js';

type Tf = typeof TF;

const require = createRequire(import.meta.url);

/** The version of an installed package, or null when it is not installed. */
export function packageVersion(name: string): string | null {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}

/** Loads TensorFlow.js with the backend a framework name asks for; threads says what it uses. */
async function loadTf(fw: Framework): Promise<{ tf: Tf; threads: number; threadsNote: string }> {
  if (fw === 'tfjs-node') {
    // Not a dependency: imported by name so that a missing package is a runtime answer, not a build error.
    const name = '@tensorflow/tfjs-node';
    const tf = (await import(name)) as Tf;
    await tf.ready();
    return { tf, threads: 0, threadsNote: 'libtensorflow default (all cores)' };
  }
  const tf = await import('@tensorflow/tfjs');
  if (fw === 'tfjs-wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    await tf.setBackend('wasm');
    await tf.ready();
    const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const threads = wasm.getThreadsCount();
    return {
      tf, threads,
      threadsNote: `${threads} thread${threads === 1 ? '' : 's'}, SIMD ${simd ? 'on' : 'off'}; multithreading ${mt ? 'on' : 'off (tfjs-backend-wasm disables it under Node)'}`,
    };
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return { tf, threads: 1, threadsNote: 'plain JavaScript on the main thread' };
}

function buildModel(tf: Tf, kind: ModelKind): TF.Sequential {
  const L = tf.layers;
  const layers = kind === 'mlp'
    ? [L.flatten({ inputShape: [28, 28, 1] }), L.dense({ units: 128, activation: 'relu' }), L.dense({ units: 10, activation: 'softmax' })]
    : kind === 'lstm'
    ? [L.reshape({ targetShape: [28, 28], inputShape: [28, 28, 1] }), L.lstm({ units: 128, recurrentActivation: 'sigmoid' }),
      L.dense({ units: 10, activation: 'softmax' })]
    : [
      L.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
      L.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
      L.maxPooling2d({ poolSize: 2 }),
      L.dropout({ rate: 0.25 }),
      L.flatten(),
      L.dense({ units: 128, activation: 'relu' }),
      L.dropout({ rate: 0.5 }),
      L.dense({ units: 10, activation: 'softmax' }),
    ];
  const m = tf.sequential({ layers });
  m.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return m;
}

export async function tfjsTrain(spec: TrainSpec): Promise<TrainResult> {
  const { tf, threads, threadsNote } = await loadTf(spec.framework);
  const version = `tfjs ${tf.version.tfjs}${spec.framework === 'tfjs-wasm' ? `, backend-wasm ${packageVersion('@tensorflow/tfjs-backend-wasm')}` : ''}`;
  // The same pixels and labels as tensorbolt's run (its offline MNIST reader), copied into tf tensors.
  const { train, test } = await tb.datasets.mnist();
  const xTrain = tf.tensor4d(train.images.dataSync() as Float32Array, [train.images.shape[0]!, 28, 28, 1]);
  const yTrain = tf.oneHot(tf.tensor1d(train.labels.dataSync() as Int32Array, 'int32'), 10);
  const xTest = tf.tensor4d(test.images.dataSync() as Float32Array, [test.images.shape[0]!, 28, 28, 1]);
  const yTest = tf.oneHot(tf.tensor1d(test.labels.dataSync() as Int32Array, 'int32'), 10);
  for (const t of [train.images, train.labels, test.images, test.labels]) t.dispose();
  const model = buildModel(tf, spec.model);

  const res: TrainResult = { trainStepMs: [], inferStepMs: [], threads, threadsNote, version, peakRssMb: 0 };
  const n = Math.min(xTrain.shape[0], (spec.warmup + spec.steps) * spec.batch);
  const x = xTrain.slice([0, 0, 0, 0], [n, -1, -1, -1]);
  const y = yTrain.slice([0, 0], [n, -1]);
  let t0 = 0;
  let tTimed = 0;
  if (n > 0) try {
    await model.fit(x, y, {
      batchSize: spec.batch, epochs: 1, verbose: 0, shuffle: true,
      callbacks: {
        onBatchBegin: async (b: number) => { if (b === 0) t0 = performance.now(); },
        onBatchEnd: async (b: number) => {
          const t = performance.now();
          if (b >= spec.warmup) res.trainStepMs.push(t - t0);
          if (b + 1 === spec.warmup) tTimed = t;
          if (b === 0 && spec.warmup === 0) tTimed = t0;
          if (spec.maxSeconds && res.trainStepMs.length > 0 && t - tTimed > spec.maxSeconds * 1000) model.stopTraining = true;
          t0 = t;
        },
      },
    });
  } catch (e) {
    // tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter kernel: the CNN cannot train there.
    res.trainError = (e as Error).message;
  }
  x.dispose();
  y.dispose();

  const nTest = xTest.shape[0];
  for (let i = 0; i < spec.warmup + spec.inferSteps; i++) {
    const lo = (i * spec.batch) % (nTest - spec.batch);
    const xb = xTest.slice([lo, 0, 0, 0], [spec.batch, -1, -1, -1]);
    const t = performance.now();
    const p = model.predict(xb, { batchSize: spec.batch }) as TF.Tensor;
    const cls = p.argMax(-1);
    await cls.data();
    const dt = performance.now() - t;
    tf.dispose([xb, p, cls]);
    if (i >= spec.warmup) res.inferStepMs.push(dt);
  }

  if (spec.epoch && !res.trainError) {
    const t = performance.now();
    await model.fit(xTrain, yTrain, { batchSize: spec.batch, epochs: 1, verbose: 0, shuffle: true });
    res.epochS = (performance.now() - t) / 1000;
    const ev = model.evaluate(xTest, yTest, { batchSize: 1000 }) as TF.Scalar[];
    res.testAccuracy = (await ev[1]!.data())[0]!;
    tf.dispose(ev);
  }
  res.peakRssMb = peakRssMb();
  return res;
}
