// tensorbolt's PyTorch-style side of the benchmark: the same networks as torch_bench.py, built from
// tb.nn modules (nn.Conv2d on NCHW images for the CNN) and trained by a hand-written loop (DataLoader,
// zeroGrad, forward, crossEntropy, backward, step, reading back the loss and the accuracy), each
// step timed alone as PyTorch's are.
import * as tb from '../lib/index.js';
import { peakRssMb, type TrainResult, type TrainSpec } from './protocol.js';
import { timeInference } from './tb_workloads.js';

function build(model: TrainSpec['model']): tb.nn.Sequential {
  const nn = tb.nn;
  if (model === 'lstm') throw new Error('the PyTorch-style loop has the MLP and the CNN only');
  if (model === 'mlp') return new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 10));
  return new nn.Sequential(
    new nn.Conv2d(1, 32, 3), new nn.ReLU(), new nn.Conv2d(32, 64, 3), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Dropout(0.25),
    new nn.Flatten(), new nn.Linear(9216, 128), new nn.ReLU(), new nn.Dropout(0.5), new nn.Linear(128, 10));
}

// MNIST ships NHWC (N, 28, 28, 1); with one channel that is NCHW (N, 1, 28, 28) as it is.
const nchw = (x: tb.Tensor): tb.Tensor => x.reshape([x.shape[0]!, 1, 28, 28]);

export async function tbTrainTorchStyle(spec: TrainSpec): Promise<TrainResult> {
  if (spec.threads !== undefined) tb.setNumThreads(spec.threads);
  const threads = tb.backendInfo().threads;
  tb.setSeed(spec.seed);
  const { train, test } = await tb.datasets.mnist();
  const net = build(spec.model);
  const opt = new tb.optim.Adam(net.parameters(), { lr: 1e-3 });
  const F = tb.nn.functional;

  // one training step on a batch the loader made; the batch is freed with everything else
  const step = (x: tb.Tensor, y: tb.Tensor): void => {
    tb.tidy(() => {
      opt.zeroGrad();
      const out = net.forward(spec.model === 'cnn' ? nchw(x) : x);
      const loss = F.crossEntropy(out, y);
      loss.backward();
      opt.step();
      loss.item();
      out.argMax(-1).eq(y).mean().item();
    });
    x.dispose();
    y.dispose();
  };

  const trainStepMs: number[] = [];
  const nSteps = spec.warmup + spec.steps;
  net.train();
  if (nSteps > 0) {
    const it = new tb.data.DataLoader(train, { batchSize: spec.batch, shuffle: true })[Symbol.iterator]();
    for (let b = 0; b < nSteps; b++) {
      const t = performance.now();
      const r = it.next();
      if (r.done) break;
      step(r.value[0], r.value[1]);
      if (b >= spec.warmup) trainStepMs.push(performance.now() - t);
    }
  }

  net.eval();
  const inferStepMs = timeInference(spec, test.images, (xb) =>
    tb.noGrad(() => tb.tidy(() => { net.forward(spec.model === 'cnn' ? nchw(xb) : xb).argMax(-1).dataSync(); })));
  const nTest = test.images.shape[0]!;

  const res: TrainResult = { trainStepMs, inferStepMs, threads, version: tb.version, peakRssMb: 0 };
  if (spec.epoch) {
    net.train();
    const t = performance.now();
    for (const [x, y] of new tb.data.DataLoader(train, { batchSize: spec.batch, shuffle: true })) step(x, y);
    res.epochS = (performance.now() - t) / 1000;
    net.eval();
    let correct = 0;
    for (let lo = 0; lo < nTest; lo += 1000) {
      const n = Math.min(1000, nTest - lo);
      const xb = test.images.slice([lo, 0, 0, 0], [n, -1, -1, -1]);
      const yb = test.labels.slice([lo], [n]);
      correct += tb.noGrad(() => tb.tidy(() => net.forward(spec.model === 'cnn' ? nchw(xb) : xb).argMax(-1).eq(yb).sum().item()));
      tb.dispose([xb, yb]);
    }
    res.testAccuracy = correct / nTest;
  }
  res.peakRssMb = peakRssMb();
  return res;
}
