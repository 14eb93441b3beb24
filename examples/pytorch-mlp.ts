// PyTorch-style MLP: an nn.Module subclass 784 -> hidden -> 10, crossEntropy on logits, Adam, own loop.
// Run: node dist/examples/pytorch-mlp.js [--epochs 3] [--limit 60000]
import * as tb from '../lib/index.js';
import { argInt } from './common.js';

const epochs = argInt('epochs', 3);
const limit = argInt('limit', 60000);
const hidden = 128;
tb.setSeed(2);

class Net extends tb.nn.Module {
  fc1 = new tb.nn.Linear(784, hidden);
  fc2 = new tb.nn.Linear(hidden, 10);
  forward(x: tb.Tensor): tb.Tensor {
    return this.fc2.forward(tb.relu(this.fc1.forward(x.reshape([x.shape[0]!, 784]))));
  }
}

const { train, test } = await tb.datasets.mnist();
const trainSet = new tb.TensorDataset(train.images.slice([0, 0, 0, 0], [limit, -1, -1, -1]), train.labels.slice([0], [limit]));
const net = new Net();
const opt = new tb.optim.Adam(net.parameters(), { lr: 1e-3 });
for (let epoch = 1; epoch <= epochs; epoch++) {
  net.train();
  let total = 0;
  let count = 0;
  for (const [x, y] of new tb.DataLoader(trainSet, { batchSize: 128, shuffle: true })) {
    const l = tb.tidy(() => {
      opt.zeroGrad();
      const loss = tb.nn.functional.crossEntropy(net.forward(x), y);
      loss.backward();
      opt.step();
      return loss.item();
    });
    total += l * x.shape[0]!;
    count += x.shape[0]!;
    x.dispose();
    y.dispose();
  }
  net.eval();
  const acc = tb.tidy(() => {
    const pred = tb.noGrad(() => net.forward(test.images)).argMax(-1).dataSync();
    const labels = test.labels.dataSync();
    let ok = 0;
    for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) ok++;
    return ok / labels.length;
  });
  console.log(`epoch ${epoch}: train loss ${(total / count).toFixed(4)}, test accuracy ${(acc * 100).toFixed(2)}%`);
}
