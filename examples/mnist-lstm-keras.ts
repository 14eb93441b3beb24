// Sequential MNIST: an LSTM with 128 units reads each image as a sequence of 28 rows of 28 pixels,
// and a softmax layer classifies its last state. Adam, batch 128, validation on the test set.
// Run: node dist/examples/mnist-lstm-keras.js [--epochs 5] [--limit 60000]
import * as tb from '../lib/index.js';
import { argInt } from './common.js';

const epochs = argInt('epochs', 5);
const limit = argInt('limit', 60000);
const testLimit = Math.min(10000, limit);
const lrArg = process.argv.indexOf('--lr');
const lr = lrArg > 0 ? Number(process.argv[lrArg + 1]) : 3e-3;
const batchSize = argInt('batch-size', 128);
tb.setSeed(1);

const { train, test } = await tb.datasets.mnist();
// (N, 28, 28, 1) images -> (N, 28 steps, 28 features)
const rows = (x: tb.Tensor, n: number) => x.slice([0, 0, 0, 0], [n, -1, -1, -1]).reshape([n, 28, 28]);
const xTrain = rows(train.images, limit);
const yTrain = train.labels.slice([0], [limit]);
const xTest = rows(test.images, testLimit);
const yTest = test.labels.slice([0], [testLimit]);

const model = tb.sequential([
  tb.layers.lstm({ units: 128, inputShape: [28, 28] }),
  tb.layers.dense({ units: 10, activation: 'softmax' }),
]);
model.summary();
model.compile({ optimizer: new tb.optim.Adam(model.parameters(), { lr }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
const t0 = performance.now();
await model.fit(xTrain, yTrain, { batchSize, epochs, validationData: [xTest, yTest], verbose: 2 });
const seconds = (performance.now() - t0) / 1000;
const [loss, acc] = model.evaluate(xTest, yTest, { batchSize: 512 });
console.log(`trained ${epochs} epoch(s) in ${seconds.toFixed(1)} s`);
console.log(`Test loss: ${loss!.toFixed(4)}`);
console.log(`Test accuracy: ${acc!.toFixed(4)}`);
