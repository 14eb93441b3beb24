// Recurrent layers on 'cuda' against the same seeded runs on the CPU (run where a CUDA device is
// usable: a GPU, or the host emulator; skipped elsewhere). The per-op checks (forward against the
// float64 reference, gradients against finite differences) run on 'cuda' through test/ops/rnn.test.ts
// and embedding.test.ts; these tests cover the layers, training, Module.to, fit and memory. Sizes
// are small: the emulator runs kernels one block at a time.
// Tolerances as in training.test.ts (training_helpers.ts).
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { close, expectDeviceMemoryFlat, trainLoop } from './training_helpers.js';

const available = tb.cuda.isAvailable();

const V = 7, T = 4, B = 3;

/** Embedding -> 2-layer bidirectional LSTM (time-major) -> Linear on the last step. */
class Tagger extends tb.nn.Module {
  emb = new tb.nn.Embedding(V, 4, { paddingIdx: 0 });
  lstm = new tb.nn.LSTM(4, 5, { numLayers: 2, bidirectional: true });
  head = new tb.nn.Linear(10, 3);
  forward(idx: tb.Tensor): tb.Tensor {
    const [y] = this.lstm.forward(this.emb.forward(idx));
    return this.head.forward(tb.reshape(y.slice([T - 1, 0, 0], [1, B, 10]), [B, 10]));
  }
}

/** A seeded PyTorch-style run; `moveAt` steps in, the model moves to `device` (the optimizer was made before). */
function trainTagger(device: tb.DeviceName, steps: number, moveAt = 0): { losses: number[]; weights: Float32Array[] } {
  tb.setSeed(21);
  const net = new Tagger();
  const opt = new tb.optim.SGD(net.parameters(), { lr: 0.2, momentum: 0.9 });
  const idx = tb.randint(0, V, [T, 4 * B], { seed: 1 });
  const y = tb.randint(0, 3, [4 * B], { seed: 2 });
  const r = trainLoop(net, opt, device, steps, moveAt, (s) => [idx.slice([0, (s % 4) * B], [T, B]), y.slice([(s % 4) * B], [B])]);
  tb.dispose([idx, y]);
  return r;
}

/** Keras style: a reset-after GRU with input and recurrent dropout, then a SimpleRNN, fitted with a seed. */
async function fitGru(device: tb.DeviceName): Promise<{ loss: number[]; weights: Float32Array[]; predicted: Float32Array }> {
  tb.setSeed(5);
  const model = tb.sequential([
    tb.layers.gru({ units: 4, returnSequences: true, dropout: 0.2, recurrentDropout: 0.3, seed: 9, inputShape: [T, 3] }),
    tb.layers.simpleRNN({ units: 3, goBackwards: true }),
    tb.layers.dense({ units: 2, activation: 'softmax' }),
  ]);
  const optimizer = new tb.optim.SGD([], { lr: 0.1, momentum: 0.9 });
  model.compile({ optimizer, loss: 'categoricalCrossentropy', device });
  const x = tb.randn([12, T, 3], 0, 1, { seed: 3 });
  const y = tb.toCategorical(tb.randint(0, 2, [12], { seed: 4 }), 2);
  const h = await model.fit(x, y, { batchSize: 4, epochs: 2, verbose: 0, seed: 6 });
  for (const p of model.parameters()) expect(p.device).toBe(device);
  const pred = model.predict(x, { batchSize: 6 });
  const out = {
    loss: h.history.loss!, predicted: pred.dataSync() as Float32Array,
    weights: model.layers.flatMap((l) => l.weightsWithNames()).map(([, w]) => w.dataSync() as Float32Array),
  };
  tb.dispose([x, y, pred]);
  model.dispose();
  return out;
}

describe.skipIf(!available)("recurrent layers on 'cuda' match the same seeded runs on the CPU", () => {
  it('PyTorch style: Embedding (padding row), 2-layer bidirectional LSTM, Linear, SGD with momentum', () => {
    const cpu = trainTagger('cpu', 8);
    const gpu = trainTagger('cuda', 8);
    close(gpu.losses, cpu.losses, 'losses');
    gpu.weights.forEach((w, i) => close(w, cpu.weights[i]!, `weight ${i}`));
    expect(cpu.losses.slice(4).reduce((a, b) => a + b)).toBeLessThan(cpu.losses.slice(0, 4).reduce((a, b) => a + b));
  });

  it('Module.to mid-training, the optimizer made before: the run continues as if it had stayed', () => {
    const cpu = trainTagger('cpu', 6);
    const moved = trainTagger('cuda', 6, 3);
    close(moved.losses, cpu.losses, 'losses');
    moved.weights.forEach((w, i) => close(w, cpu.weights[i]!, `weight ${i}`));
  });

  it('nn.LSTM.to: outputs and final states on the device, equal to the CPU module; (h0, c0) from the device', () => {
    tb.setSeed(2);
    const lstm = new tb.nn.LSTM(3, 4, { batchFirst: true });
    const x = tb.randn([B, T, 3], 0, 1, { seed: 1 });
    const h0 = tb.randn([1, B, 4], 0, 1, { seed: 2 }), c0 = tb.randn([1, B, 4], 0, 1, { seed: 3 });
    const [y, [hN, cN]] = lstm.forward(x, [h0, c0]);
    lstm.to('cuda');
    expect(lstm.weight_ih_l0.device).toBe('cuda');
    const [xg, h0g, c0g] = [x, h0, c0].map((t) => t.to('cuda'));
    const [yg, [hNg, cNg]] = lstm.forward(xg!, [h0g!, c0g!]);
    for (const t of [yg, hNg, cNg]) expect(t.device).toBe('cuda');
    close(yg.dataSync(), y.dataSync(), 'output');
    close(hNg.dataSync(), hN.dataSync(), 'h_n');
    close(cNg.dataSync(), cN.dataSync(), 'c_n');
    // a CPU input to the moved module names the op, both devices and the fix
    expect(() => lstm.forward(x)).toThrow(/LSTM\.forward.*cpu.*cuda|LSTM\.forward.*cuda.*cpu/);
    tb.dispose([x, h0, c0, y, hN, cN, xg!, h0g!, c0g!, yg, hNg, cNg]);
    lstm.dispose();
  });

  it('Keras style: GRU with dropout and recurrent dropout, SimpleRNN going backwards: fit and predict', async () => {
    const cpu = await fitGru('cpu');
    const gpu = await fitGru('cuda');
    close(gpu.loss, cpu.loss, 'history loss');
    close(gpu.predicted, cpu.predicted, 'predict');
    gpu.weights.forEach((w, i) => close(w, cpu.weights[i]!, `weight ${i}`));
  });

  it('an embedding index out of range is reported with the op when the result is read', () => {
    const w = tb.randn([5, 2], 0, 1, { device: 'cuda' });
    const i = tb.tensor([1, 5], undefined, { dtype: 'int32', device: 'cuda' });
    let err: unknown;
    try {
      tb.embedding(w, i).dataSync();
    } catch (e) {
      err = e;
    }
    expect(String(err)).toMatch(/gather.*index 5 at position 1 is outside \[0, 5\)/);
    tb.dispose([w, i]);
  });

  it('device memory stays flat over 60 LSTM training steps (workspaces come back to the caching allocator)', () => {
    tb.setSeed(3);
    const lstm = new tb.nn.LSTM(3, 4, { bidirectional: true }).to('cuda');
    const opt = new tb.optim.SGD(lstm.parameters(), { lr: 0.05, momentum: 0.9 });
    const x = tb.randn([T, B, 3], 0, 1, { seed: 1, device: 'cuda' });
    const step = (): void => {
      tb.tidy(() => {
        opt.zeroGrad();
        const [y, [hN, cN]] = lstm.forward(x);
        const loss = tb.add(tb.add(tb.mean(tb.mul(y, y)), tb.mean(hN)), tb.mean(cN));
        loss.backward();
        opt.step();
        loss.item();
      });
    };
    expectDeviceMemoryFlat(step, 5, 60);
    lstm.dispose();
    opt.dispose();
    x.dispose();
  });
});
