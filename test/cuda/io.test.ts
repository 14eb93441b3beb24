// Saving from and loading onto the GPU (run where a CUDA device is usable: a GPU, or the host
// emulator; skipped elsewhere): state dicts, checkpoints with optimizer state, and Keras model files
// move between devices without changing a value.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';

const available = tb.cuda.isAvailable();
const dir = mkdtempSync(join(tmpdir(), 'tb-cuda-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// No bias before the batch norm: its gradient is zero up to rounding, which Adam would blow up into
// device-dependent steps (the CPU and the GPU round differently).
class Net extends tb.nn.Module {
  fc1 = new tb.nn.Linear(6, 8, { bias: false });
  bn = new tb.nn.BatchNorm1d(8);
  fc2 = new tb.nn.Linear(8, 3);
  forward(x: tb.Tensor): tb.Tensor {
    return this.fc2.forward(tb.relu(this.bn.forward(this.fc1.forward(x))));
  }
}

const values = (m: tb.nn.Module): number[][] => Object.values(m.stateDict()).map((t) => Array.from(t.dataSync()));

/** Across devices: equal up to the rounding of sums taken in another order. */
function close(got: number[], want: number[], what: string): void {
  expect(got.length, what).toBe(want.length);
  got.forEach((v, i) => {
    if (!(Math.abs(v - want[i]!) <= 1e-5 + 1e-4 * Math.abs(want[i]!))) throw new Error(`${what}[${i}]: ${v} vs ${want[i]}`);
  });
}

function train(net: Net, opt: tb.optim.Optimizer, steps: number, seed: number): void {
  for (let s = 0; s < steps; s++) {
    const x = tb.randn([10, 6], 0, 1, { seed: seed + s, device: net.device });
    const y = tb.randint(0, 3, [10], { seed: seed + 100 + s, device: net.device });
    opt.zeroGrad();
    const loss = tb.nn.functional.crossEntropy(net.forward(x), y);
    loss.backward();
    opt.step();
    tb.dispose([x, y, loss]);
  }
}

describe.skipIf(!available)('saving and loading across devices', () => {
  it('a state dict saved from the GPU loads onto the CPU and back (tb.save / tb.load / loadStateDict)', () => {
    tb.setSeed(1);
    const a = new Net().to('cuda');
    train(a, new tb.optim.SGD(a.parameters(), { lr: 0.1 }), 3, 10);
    const file = join(dir, 'net.safetensors');
    tb.save(a.stateDict(), file);
    tb.setSeed(2);
    const b = new Net(); // on the CPU, other weights
    const sd = tb.load(file, { device: 'cpu' });
    for (const t of Object.values(sd)) expect(t.device).toBe('cpu');
    b.loadStateDict(sd);
    expect(values(b)).toEqual(values(a));
    tb.setSeed(3);
    const c = new Net().to('cuda');
    c.loadStateDict(b.stateDict()); // CPU tensors into a GPU module
    for (const t of Object.values(c.stateDict())) expect(t.device).toBe('cuda');
    expect(values(c)).toEqual(values(a));
    const onGpu = tb.load(file, { device: 'cuda' });
    expect(Object.values(onGpu).every((t) => t.device === 'cuda')).toBe(true);
    tb.dispose([sd, onGpu]);
    for (const m of [a, b, c]) m.dispose();
  });

  it('a checkpoint of a GPU model and its Adam state resumes on the GPU exactly where training left off', () => {
    tb.setSeed(4);
    const a = new Net().to('cuda');
    const optA = new tb.optim.Adam(a.parameters(), { lr: 0.01 });
    train(a, optA, 3, 20);
    const file = join(dir, 'ckpt.safetensors');
    tb.saveCheckpoint(file, { model: a, optimizer: optA, epoch: 3 });
    train(a, optA, 2, 30);

    tb.setSeed(5);
    const b = new Net().to('cuda');
    const optB = new tb.optim.Adam(b.parameters(), { lr: 0.01 });
    expect(tb.loadCheckpoint(file, { model: b, optimizer: optB }).epoch).toBe(3);
    for (const p of b.parameters()) expect(p.device).toBe('cuda');
    train(b, optB, 2, 30);
    expect(values(b)).toEqual(values(a));
    for (const p of b.parameters()) for (const t of Object.values(optB.getState(p)!.buffers)) expect(t.device).toBe('cuda');

    // the same file resumes on the CPU too
    tb.setSeed(6);
    const c = new Net();
    const optC = new tb.optim.Adam(c.parameters(), { lr: 0.01 });
    tb.loadCheckpoint(file, { model: c, optimizer: optC });
    train(c, optC, 2, 30);
    close(values(c).flat(), values(a).flat(), 'resumed on the CPU');
    for (const m of [a, b, c]) m.dispose();
  });

  it('a Keras model trained on the GPU saves (with its optimizer) and loads onto either device', async () => {
    tb.setSeed(7);
    const model = tb.sequential([
      tb.layers.dense({ units: 5, activation: 'relu', inputShape: [4] }),
      tb.layers.dense({ units: 2, activation: 'softmax' }),
    ]);
    model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', device: 'cuda' });
    const x = tb.randn([12, 4], 0, 1, { seed: 1 });
    const y = tb.toCategorical(tb.randint(0, 2, [12], { seed: 2 }), 2);
    await model.fit(x, y, { batchSize: 4, epochs: 1, verbose: 0, seed: 3 });
    await model.save(`file://${join(dir, 'keras')}`, { includeOptimizer: true });
    const want = model.predict(x);
    const onCpu = await tb.loadModel(`file://${join(dir, 'keras', 'model.json')}`);
    const onGpu = await tb.loadModel(`file://${join(dir, 'keras', 'model.json')}`, { device: 'cuda' });
    expect(onCpu.device).toBe('cpu');
    expect(onGpu.parameters().every((p) => p.device === 'cuda')).toBe(true);
    const [pc, pg] = [onCpu.predict(x), onGpu.predict(x)];
    expect(Array.from(pg.dataSync())).toEqual(Array.from(want.dataSync()));
    close(Array.from(pc.dataSync()), Array.from(want.dataSync()), 'predict on the CPU');
    tb.dispose([pc, pg]);
    // the restored optimizer state trains on, on the GPU
    await onGpu.fit(x, y, { batchSize: 4, epochs: 1, verbose: 0, seed: 4 });
    await model.fit(x, y, { batchSize: 4, epochs: 1, verbose: 0, seed: 4 });
    const a = model.parameters().map((p) => Array.from(p.dataSync())).flat();
    const b = onGpu.parameters().map((p) => Array.from(p.dataSync())).flat();
    expect(b).toEqual(a);
    tb.dispose([x, y, want]);
    for (const m of [model, onCpu, onGpu]) m.dispose();
  });
});
