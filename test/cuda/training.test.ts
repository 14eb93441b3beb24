// Training on 'cuda' against the same seeded run on the CPU (run where a CUDA device is usable: a
// GPU, or the host emulator; skipped elsewhere). Sizes are small: the emulator runs kernels one
// block at a time.
//
// Tolerances, and why: both runs start from the same weights (drawn on the host), the same batches
// and the same dropout masks, and every kernel pair agrees to float32 rounding (test/cuda/ops.test.ts);
// what differs is the order of sums (GEMM, reductions), about 1e-6 relative a step. Over tens of
// Adam steps that stays below 1e-4 relative on the weights and the losses, so 2e-4 (plus 1e-5
// absolute) separates a correct device path from a wrong one (a wrong gradient moves weights by 1e-3
// and more after one step).
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { close, expectDeviceMemoryFlat, trainLoop } from './training_helpers.js';

const available = tb.cuda.isAvailable();

class Mlp extends tb.nn.Module {
  fc1 = new tb.nn.Linear(12, 16);
  fc2 = new tb.nn.Linear(16, 3);
  forward(x: tb.Tensor): tb.Tensor {
    return this.fc2.forward(tb.relu(this.fc1.forward(x)));
  }
}

/**
 * A seeded PyTorch-style training run; `moveAt` steps in, the model (and then its optimizer state)
 * moves to `device`. SGD with momentum passes a wrong gradient's scale on to the weights (Adam's
 * update is blind to a gradient scaled by a constant), Adam's state tests the move.
 */
function trainMlp(device: tb.DeviceName, steps: number, moveAt = 0, optimizer: 'sgd' | 'adam' = 'sgd'): { losses: number[]; weights: Float32Array[] } {
  tb.setSeed(7);
  const net = new Mlp();
  // made before the move: it must keep working
  const opt = optimizer === 'adam' ? new tb.optim.Adam(net.parameters(), { lr: 0.01 }) : new tb.optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
  const x = tb.randn([40, 12], 0, 1, { seed: 1 });
  const y = tb.randint(0, 3, [40], { seed: 2 });
  const r = trainLoop(net, opt, device, steps, moveAt, (s) => [x.slice([(s % 5) * 8, 0], [8, 12]), y.slice([(s % 5) * 8], [8])]);
  tb.dispose([x, y]);
  return r;
}

/** A small Keras-style CNN (conv, batch norm, pooling, dropout, dense) fitted with a seed. */
function cnn(): tb.Sequential {
  return tb.sequential([
    // no bias before the batch norm: its gradient is rounding noise, which Adam would amplify
    tb.layers.conv2d({ filters: 4, kernelSize: 3, useBias: false, inputShape: [8, 8, 1] }),
    tb.layers.batchNormalization({}),
    tb.layers.activation({ activation: 'relu' }),
    tb.layers.maxPooling2d({ poolSize: 2 }),
    tb.layers.dropout({ rate: 0.25 }),
    tb.layers.flatten(),
    tb.layers.dense({ units: 3, activation: 'softmax' }),
  ]);
}

async function fitCnn(device: tb.DeviceName): Promise<{ loss: number[]; acc: number[]; weights: Float32Array[]; evaluated: number[]; predicted: Float32Array }> {
  tb.setSeed(11);
  const model = cnn();
  // SGD with momentum: a wrong gradient's scale shows in the weights (Adam would normalize it away)
  const optimizer = new tb.optim.SGD([], { lr: 0.05, momentum: 0.9 });
  model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'], device });
  const x = tb.randn([48, 8, 8, 1], 0, 1, { seed: 3 });
  const y = tb.toCategorical(tb.randint(0, 3, [48], { seed: 4 }), 3);
  const h = await model.fit(x, y, { batchSize: 16, epochs: 2, verbose: 0, seed: 5 });
  for (const p of model.parameters()) expect(p.device).toBe(device);
  const evaluated = model.evaluate(x, y, { batchSize: 20 });
  const pred = model.predict(x, { batchSize: 20 });
  expect(pred.device).toBe('cpu'); // predictions come back to the input's device
  const out = {
    loss: h.history.loss!, acc: h.history.accuracy!, evaluated, predicted: pred.dataSync() as Float32Array,
    weights: model.layers.flatMap((l) => l.weightsWithNames()).map(([, w]) => w.dataSync() as Float32Array),
  };
  tb.dispose([x, y, pred]);
  model.dispose();
  return out;
}

describe.skipIf(!available)("training on 'cuda' matches the same seeded run on the CPU", () => {
  it('PyTorch-style MLP (Linear, ReLU, crossEntropy, SGD with momentum): losses and weights', () => {
    const cpu = trainMlp('cpu', 25);
    const gpu = trainMlp('cuda', 25);
    close(gpu.losses, cpu.losses, 'losses');
    gpu.weights.forEach((w, i) => close(w, cpu.weights[i]!, `weight ${i}`));
    expect(cpu.losses.at(-1)!).toBeLessThan(cpu.losses[0]!); // it learned
  });

  it("nn.Sequential's fused Linear/Conv2d + ReLU (NCHW): output and every gradient as on the CPU", () => {
    const nn = tb.nn;
    const run = (device: tb.DeviceName): Float32Array[] => {
      tb.setSeed(5);
      const net = new nn.Sequential(new nn.Conv2d(2, 4, 3), new nn.ReLU(), new nn.Conv2d(4, 4, 3, { padding: 1 }), new nn.ReLU(),
        new nn.Flatten(), new nn.Linear(4 * 4 * 3, 6), new nn.ReLU(), new nn.Linear(6, 3)).to(device);
      const x = tb.randn([2, 2, 6, 5], 0, 1, { seed: 1 }).to(device);
      const y = net.forward(x);
      y.backward(tb.randn(y.shape.slice(), 0, 1, { seed: 9 }).to(device));
      const out = [y.dataSync() as Float32Array, ...net.parameters().map((p) => p.grad!.dataSync() as Float32Array)];
      tb.dispose([x, y]);
      net.dispose();
      return out;
    };
    const cpu = run('cpu');
    run('cuda').forEach((v, i) => close(v, cpu[i]!, i === 0 ? 'output' : `gradient ${i - 1}`));
  });

  it('Module.to mid-training, with the optimizer made before: the run continues as if it had stayed', () => {
    const cpu = trainMlp('cpu', 16, 0, 'adam');
    const moved = trainMlp('cuda', 16, 6, 'adam');
    close(moved.losses, cpu.losses, 'losses');
    moved.weights.forEach((w, i) => close(w, cpu.weights[i]!, `weight ${i}`));
  });

  it('Keras-style CNN: fit (history), evaluate and predict on the model device', async () => {
    const cpu = await fitCnn('cpu');
    const gpu = await fitCnn('cuda');
    close(gpu.loss, cpu.loss, 'history loss');
    expect(gpu.acc).toEqual(cpu.acc);
    close(gpu.evaluated, cpu.evaluated, 'evaluate');
    close(gpu.predicted, cpu.predicted, 'predict');
    gpu.weights.forEach((w, i) => close(w, cpu.weights[i]!, `weight ${i}`));
  });

  it('a model moved before it is built gets its lazily built weights on the device', async () => {
    const model = tb.sequential([tb.layers.dense({ units: 4, activation: 'relu' }), tb.layers.dense({ units: 2 })]);
    model.to('cuda');
    model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const x = tb.randn([6, 3], 0, 1, { seed: 1 });
    const y = tb.randn([6, 2], 0, 1, { seed: 2 });
    await model.fit(x, y, { batchSize: 3, epochs: 1, verbose: 0 });
    expect(model.parameters().length).toBe(4);
    for (const p of model.parameters()) expect(p.device).toBe('cuda');
    tb.dispose([x, y]);
    model.dispose();
  });

  it('device memory stays flat over 300 steps (the caching allocator stops growing after warm-up)', () => {
    tb.setSeed(3);
    const net = new Mlp().to('cuda');
    const opt = new tb.optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });
    const x = tb.randn([8, 12], 0, 1, { seed: 1, device: 'cuda' });
    const y = tb.randint(0, 3, [8], { seed: 2, device: 'cuda' });
    const step = (): void => {
      tb.tidy(() => {
        opt.zeroGrad();
        const loss = tb.nn.functional.crossEntropy(net.forward(x), y);
        loss.backward();
        opt.step();
        loss.item();
      });
    };
    expectDeviceMemoryFlat(step, 10, 300);
    net.dispose();
    opt.dispose();
    tb.dispose([x, y]);
  });
});
