// Checkpoints: weights + optimizer state + epoch in one file; training resumed from it lands exactly
// where uninterrupted training does.
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import * as tb from '../../lib/index.js';
import { cleanTempDirs, tempDir } from './tfjs_helpers.js';

afterAll(cleanTempDirs);

const values = (m: tb.nn.Module) => Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.dataSync())]);
// Keras-style layer names differ between two models built in one process (dense, dense_1): by position
const valuesInOrder = (m: tb.nn.Module) => Object.values(m.stateDict()).map((t) => Array.from(t.dataSync()));

class Net extends tb.nn.Module {
  fc1 = new tb.nn.Linear(6, 12);
  bn = new tb.nn.BatchNorm1d(12);
  fc2 = new tb.nn.Linear(12, 3);
  forward(x: tb.Tensor): tb.Tensor {
    return this.fc2.forward(tb.relu(this.bn.forward(this.fc1.forward(x))));
  }
}

function batches(): [tb.Tensor, tb.Tensor][] {
  tb.setSeed(9);
  return Array.from({ length: 6 }, () => {
    const x = tb.randn([16, 6]);
    return [x, tb.argMax(x.slice([0, 0], [16, 3]), 1)] as [tb.Tensor, tb.Tensor];
  });
}

function trainSteps(net: Net, opt: tb.optim.Optimizer, sched: tb.optim.StepLR, data: [tb.Tensor, tb.Tensor][]): void {
  for (const [x, y] of data) {
    opt.zeroGrad();
    const loss = tb.nn.functional.crossEntropy(net.forward(x), y);
    loss.backward();
    opt.step();
    sched.step();
  }
}

describe('saveCheckpoint / loadCheckpoint', () => {
  it('PyTorch style: module + SGD (momentum, nesterov, weight decay) + scheduler in extra resume exactly', () => {
    const data = batches();
    tb.setSeed(1);
    const a = new Net();
    const optA = new tb.optim.SGD(a.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3 });
    const schedA = new tb.optim.StepLR(optA, { stepSize: 2, gamma: 0.5 });
    trainSteps(a, optA, schedA, data.slice(0, 3));
    const file = join(tempDir(), 'ckpt.safetensors');
    tb.saveCheckpoint(file, { model: a, optimizer: optA, epoch: 3, extra: { scheduler: schedA.stateDict(), best: 0.25 } });
    trainSteps(a, optA, schedA, data.slice(3));

    tb.setSeed(2); // different initial weights: everything must come from the file
    const b = new Net();
    const optB = new tb.optim.SGD(b.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3 });
    const schedB = new tb.optim.StepLR(optB, { stepSize: 2, gamma: 0.5 });
    const ck = tb.loadCheckpoint(file, { model: b, optimizer: optB });
    expect(ck.epoch).toBe(3);
    expect(ck.extra.best).toBe(0.25);
    schedB.loadStateDict(ck.extra.scheduler as tb.optim.SchedulerStateDict);
    trainSteps(b, optB, schedB, data.slice(3));
    expect(values(b)).toEqual(values(a));
    expect(optB.paramGroups[0]!.lr).toBe(optA.paramGroups[0]!.lr);
  });

  it('without the optimizer state, the same steps land elsewhere (the test above is sensitive to it)', () => {
    const data = batches();
    tb.setSeed(1);
    const a = new Net();
    const optA = new tb.optim.Adam(a.parameters(), { lr: 0.01 });
    const schedA = new tb.optim.StepLR(optA, { stepSize: 100 });
    trainSteps(a, optA, schedA, data.slice(0, 3));
    const file = join(tempDir(), 'ckpt.safetensors');
    tb.saveCheckpoint(file, { model: a, optimizer: optA, epoch: 3 });
    trainSteps(a, optA, schedA, data.slice(3));
    const b = new Net();
    const optB = new tb.optim.Adam(b.parameters(), { lr: 0.01 });
    tb.loadCheckpoint(file, { model: b, optimizer: optB });
    const c = new Net();
    const optC = new tb.optim.Adam(c.parameters(), { lr: 0.01 });
    const prefixed = tb.load(file); // the weights alone, without the optimizer state
    c.loadStateDict(Object.fromEntries(Object.entries(prefixed).filter(([k]) => k.startsWith('model.')).map(([k, t]) => [k.slice(6), t])));
    trainSteps(b, optB, new tb.optim.StepLR(optB, { stepSize: 100 }), data.slice(3));
    trainSteps(c, optC, new tb.optim.StepLR(optC, { stepSize: 100 }), data.slice(3));
    expect(values(b)).toEqual(values(a));
    expect(values(c)).not.toEqual(values(a));
  });

  it('Keras style: a compiled Sequential (AdamW, BatchNormalization, Dropout) resumes fit from the epoch saved', async () => {
    const make = () => {
      const m = tb.sequential([
        tb.layers.dense({ units: 16, activation: 'relu', inputShape: [6] }),
        tb.layers.batchNormalization(),
        tb.layers.dropout({ rate: 0.2 }),
        tb.layers.dense({ units: 3, activation: 'softmax' }),
      ]);
      m.compile({ optimizer: 'adamw', loss: 'categoricalCrossentropy' });
      return m;
    };
    tb.setSeed(4);
    const x = tb.randn([64, 6]);
    const y = tb.toCategorical(tb.argMax(x.slice([0, 0], [64, 3]), 1), 3);
    const a = make();
    await a.fit(x, y, { epochs: 2, batchSize: 16, verbose: 0, seed: 1 });
    const file = join(tempDir(), 'keras.safetensors');
    tb.saveCheckpoint(file, { model: a, epoch: 2 });
    tb.setSeed(100);
    await a.fit(x, y, { initialEpoch: 2, epochs: 4, batchSize: 16, verbose: 0, seed: 2 });

    const b = make();
    const { epoch } = tb.loadCheckpoint(file, { model: b });
    tb.setSeed(100);
    await b.fit(x, y, { initialEpoch: epoch, epochs: 4, batchSize: 16, verbose: 0, seed: 2 });
    expect(epoch).toBe(2);
    expect(valuesInOrder(b)).toEqual(valuesInOrder(a));
  });

  it('rejects a checkpoint that does not fit, naming the file, and changes nothing', () => {
    tb.setSeed(1);
    const a = new Net();
    const opt = new tb.optim.Adam(a.parameters());
    const file = join(tempDir(), 'ckpt.safetensors');
    tb.saveCheckpoint(file, { model: a, optimizer: opt, epoch: 1 });
    class Wider extends tb.nn.Module {
      fc1 = new tb.nn.Linear(6, 13);
      forward(x: tb.Tensor) { return this.fc1.forward(x); }
    }
    const w = new Wider();
    const before = values(w);
    expect(() => tb.loadCheckpoint(file, { model: w })).toThrow(new RegExp(`loadCheckpoint: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: the checkpoint does not fit the model: missing \\[\\], unexpected \\[.*bn`));
    expect(values(w)).toEqual(before);
    const b = new Net();
    expect(() => tb.loadCheckpoint(file, { model: b, optimizer: new tb.optim.SGD(b.parameters()) })).toThrow(/holds Adam optimizer state, but the optimizer given is SGD/);
    expect(() => tb.loadCheckpoint(file, { model: b })).toThrow(/pass the optimizer to restore it/);
    const plain = join(tempDir(), 'plain.safetensors');
    tb.save(a.stateDict(), plain);
    expect(() => tb.loadCheckpoint(plain, { model: b })).toThrow(/not a tensorbolt checkpoint/);
  });
});
