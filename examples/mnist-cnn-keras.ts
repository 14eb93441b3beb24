// The classic Keras MNIST CNN (keras/examples/mnist_cnn.py), ported: Adadelta at learning rate 1.0
// (that example's setting), batch 128, validation on the test set, then evaluate.
// Run: node dist/examples/mnist-cnn-keras.js [--epochs 10] [--limit 60000]
import * as tb from '../lib/index.js';
import { argInt } from './common.js';

const epochs = argInt('epochs', 10);
const limit = argInt('limit', 60000);
const testLimit = Math.min(10000, limit);
tb.setSeed(1);

const { train, test } = await tb.datasets.mnist();
const xTrain = train.images.slice([0, 0, 0, 0], [limit, -1, -1, -1]);
const yTrain = tb.toCategorical(train.labels.slice([0], [limit]), 10);
const xTest = test.images.slice([0, 0, 0, 0], [testLimit, -1, -1, -1]);
const yTest = tb.toCategorical(test.labels.slice([0], [testLimit]), 10);

const model = tb.sequential([
  tb.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
  tb.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
  tb.layers.maxPooling2d({ poolSize: 2 }),
  tb.layers.dropout({ rate: 0.25 }),
  tb.layers.flatten(),
  tb.layers.dense({ units: 128, activation: 'relu' }),
  tb.layers.dropout({ rate: 0.5 }),
  tb.layers.dense({ units: 10, activation: 'softmax' }),
]);
model.summary();
model.compile({ optimizer: new tb.optim.Adadelta(model.parameters(), { lr: 1.0, rho: 0.95, eps: 1e-7 }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
await model.fit(xTrain, yTrain, { batchSize: 128, epochs, validationData: [xTest, yTest], verbose: 1 });
const [loss, acc] = model.evaluate(xTest, yTest, { batchSize: 512 });
console.log(`Test loss: ${loss!.toFixed(4)}`);
console.log(`Test accuracy: ${acc!.toFixed(4)}`);
