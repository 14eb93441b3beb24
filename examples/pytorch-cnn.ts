// PyTorch-style CNN (pytorch/examples mnist): conv 32 -> conv 64 -> max-pool -> dropout -> fc 9216->128
// -> dropout -> fc 10 -> logSoftmax + nllLoss, SGD lr 0.01 momentum 0.5; reports test accuracy.
// Run: node dist/examples/pytorch-cnn.js [--epochs 1] [--limit 60000]
import * as tb from '../lib/index.js';
import { argInt } from './common.js';

const epochs = argInt('epochs', 1);
const limit = argInt('limit', 60000);
const testLimit = Math.min(10000, limit);
tb.setSeed(3);
const { nn } = tb;
const F = nn.functional;

class Net extends nn.Module {
  conv1 = new nn.Conv2d(1, 32, 3);
  conv2 = new nn.Conv2d(32, 64, 3);
  dropout1 = new nn.Dropout(0.25);
  dropout2 = new nn.Dropout(0.5);
  fc1 = new nn.Linear(9216, 128);
  fc2 = new nn.Linear(128, 10);
  forward(x: tb.Tensor): tb.Tensor {
    let h = F.relu(this.conv1.forward(x));
    h = F.relu(this.conv2.forward(h));
    h = F.maxPool2d(h, 2);
    h = this.dropout1.forward(h).flatten();
    h = F.relu(this.fc1.forward(h));
    h = this.fc2.forward(this.dropout2.forward(h));
    return F.logSoftmax(h, 1);
  }
}

// MNIST ships as NHWC (N, 28, 28, 1); PyTorch layers take NCHW (N, 1, 28, 28): same memory order for C = 1.
const { train, test } = await tb.datasets.mnist();
const toNchw = (x: tb.Tensor) => x.reshape([x.shape[0]!, 1, 28, 28]);
const trainSet = new tb.TensorDataset(toNchw(train.images.slice([0, 0, 0, 0], [limit, -1, -1, -1])), train.labels.slice([0], [limit]));
const net = new Net();
const opt = new tb.optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.5 });
for (let epoch = 1; epoch <= epochs; epoch++) {
  net.train();
  let b = 0;
  for (const [x, y] of new tb.DataLoader(trainSet, { batchSize: 64, shuffle: true })) {
    const l = tb.tidy(() => {
      opt.zeroGrad();
      const loss = F.nllLoss(net.forward(x), y);
      loss.backward();
      opt.step();
      return loss.item();
    });
    if (b++ % 100 === 0) console.log(`epoch ${epoch} batch ${b}: loss ${l.toFixed(4)}`);
    x.dispose();
    y.dispose();
  }
}
net.eval();
const xTest = toNchw(test.images.slice([0, 0, 0, 0], [testLimit, -1, -1, -1]));
const yTest = test.labels.slice([0], [testLimit]).dataSync();
let correct = 0;
for (let i = 0; i < testLimit; i += 500) {
  const pred = tb.tidy(() => tb.noGrad(() => net.forward(xTest.slice([i, 0, 0, 0], [Math.min(500, testLimit - i), -1, -1, -1]))).argMax(1).dataSync());
  pred.forEach((p, j) => { if (p === yTest[i + j]) correct++; });
}
console.log(`test accuracy: ${((correct / testLimit) * 100).toFixed(2)}%`);
