// Binary classification on a generated two-class data set (two Gaussian blobs in 2-D): a small MLP
// with a sigmoid output trained with binary cross-entropy; reports accuracy on held-out points.
import * as tb from '../lib/index.js';
import { argInt } from './common.js';

const epochs = argInt('epochs', 30);
const n = 1000;
const rng = new tb.Random(11);
const xs = new Float32Array(n * 2);
const ys = new Float32Array(n);
for (let i = 0; i < n; i++) {
  const cls = i % 2;
  const cx = cls ? 1.5 : -1.5;
  xs[2 * i] = cx + rng.normal();
  xs[2 * i + 1] = (cls ? -1 : 1) + rng.normal();
  ys[i] = cls;
}
const x = tb.tensor(xs, [n, 2]);
const y = tb.tensor(ys, [n, 1]);
tb.setSeed(5);
const model = tb.sequential([
  tb.layers.dense({ units: 16, activation: 'relu', inputShape: [2] }),
  tb.layers.dense({ units: 1, activation: 'sigmoid' }),
]);
model.compile({ optimizer: 'adam', loss: 'binaryCrossentropy', metrics: ['accuracy'] });
const h = await model.fit(x, y, { epochs, batchSize: 32, validationSplit: 0.2, verbose: 0 });
const valAcc = h.history.val_accuracy!;
console.log(`validation accuracy after ${epochs} epochs: ${(valAcc[valAcc.length - 1]! * 100).toFixed(1)}%`);
