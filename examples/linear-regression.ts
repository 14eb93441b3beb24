// Linear regression y = x through autograd: two linear layers (Dense(1) -> Dense(1)), mean squared
// error and plain SGD (lr 0.01) for 1000 epochs on x = [0, 1, 2, 3]. Prints the loss falling and the
// prediction for x = 4, which ends close to 4.
import * as tb from '../lib/index.js';
import { argInt } from './common.js';

tb.setSeed(42);
const x = tb.tensor([[0], [1], [2], [3]]);
const y = tb.tensor([[0], [1], [2], [3]]);

// Two Dense(1)-like layers: weight (1, 1) with Glorot-uniform init (limit sqrt(6/2)), zero bias.
const w1 = tb.rand([1, 1], -Math.sqrt(3), Math.sqrt(3)).requiresGrad_();
const b1 = tb.zeros([1]).requiresGrad_();
const w2 = tb.rand([1, 1], -Math.sqrt(3), Math.sqrt(3)).requiresGrad_();
const b2 = tb.zeros([1]).requiresGrad_();
const params = [w1, b1, w2, b2];
const predict = (input: tb.Tensor): tb.Tensor => tb.matmul(tb.matmul(input, w1).add(b1), w2).add(b2);

const opt = new tb.optim.SGD(params, { lr: 0.01 });
const epochs = argInt('epochs', 1000);
let loss = NaN;
for (let epoch = 1; epoch <= epochs; epoch++) {
  loss = tb.tidy(() => {
    opt.zeroGrad();
    const l = tb.mean(tb.square(predict(x).sub(y)));
    l.backward();
    opt.step();
    return l.item();
  });
  if (epoch === 1 || epoch % 100 === 0) console.log(`epoch ${String(epoch).padStart(4)}  loss ${loss.toFixed(6)}`);
}
const p = tb.noGrad(() => predict(tb.tensor([[4]])));
const pred = p.item();
console.log(`prediction for x = 4: ${pred.toFixed(4)}`);
if (!(Math.abs(pred - 4) < 0.1)) {
  console.error('linear regression did not converge');
  process.exitCode = 1;
}
