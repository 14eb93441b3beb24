// Keras-style linear regression y = x: Dense(1) -> Dense(1), linear, mean squared error, SGD lr 0.01,
// 1000 epochs on x = [0, 1, 2, 3]; predicts x = 4 (close to 4).
import * as tb from '../lib/index.js';
import { argInt } from './common.js';

tb.setSeed(7);
const epochs = argInt('epochs', 1000);
const model = tb.sequential([
  tb.layers.dense({ units: 1, inputShape: [1] }),
  tb.layers.dense({ units: 1 }),
]);
model.compile({ optimizer: new tb.optim.SGD(model.parameters(), { lr: 0.01 }), loss: 'meanSquaredError' });
const x = tb.tensor([[0], [1], [2], [3]]);
const y = tb.tensor([[0], [1], [2], [3]]);
const h = await model.fit(x, y, { epochs, batchSize: 4, verbose: 0, shuffle: false });
const losses = h.history.loss!;
console.log(`loss: epoch 1 ${losses[0]!.toFixed(4)} -> epoch ${epochs} ${losses[losses.length - 1]!.toExponential(2)}`);
const p = model.predict(tb.tensor([[4]]));
console.log(`prediction for x = 4: ${p.item().toFixed(4)}`);
