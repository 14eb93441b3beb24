// A training soak in its own process (node --expose-gc): trains an MLP with the Keras API or a CNN
// with the PyTorch-style API for a number of steps, sampling RSS, the V8 heap, array buffers and
// tb.memory() after a full GC every `every` steps. Prints one JSON line per sample and a final one.
//   node --expose-gc memory-soak.mjs <library bundle> mlp|cnn <steps> <batch> <every>
import v8 from 'node:v8';
const [libPath, mode, stepsArg, batchArg, everyArg] = process.argv.slice(2);
const tb = await import(libPath);
const steps = Number(stepsArg);
const batch = Number(batchArg);
const every = Number(everyArg);
if (typeof gc !== 'function') throw new Error('run with --expose-gc');
tb.setSeed(7);
tb.setNumThreads(1); // the soak measures memory, not speed; one thread keeps it quiet on a shared box

function sample(step) {
  gc();
  gc();
  const m = process.memoryUsage();
  const t = tb.memory();
  const h = v8.getHeapStatistics();
  const s = { step, rss: m.rss, heapTotal: h.total_heap_size, heapUsed: m.heapUsed, malloced: h.malloced_memory, arrayBuffers: m.arrayBuffers, numTensors: t.numTensors, numBytes: t.numBytes, poolBytes: t.poolBytes };
  console.log(JSON.stringify(s));
  return s;
}

const t0 = Date.now();
if (mode === 'mlp') {
  const n = batch * 20;
  const x = tb.randn([n, 64]);
  const labels = tb.randint(0, 10, [n]);
  const y = tb.toCategorical(labels, 10);
  labels.dispose();
  const model = tb.sequential([
    tb.layers.dense({ units: 128, activation: 'relu', inputShape: [64] }),
    tb.layers.dense({ units: 64, activation: 'relu' }),
    tb.layers.dense({ units: 10, activation: 'softmax' }),
  ]);
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const baseline = sample(0).numTensors;
  let step = 0;
  const sampler = tb.callback({ onBatchEnd: () => { if (++step % every === 0) sample(step); } });
  // The optimizer's state appears on the first step; baseline counts the model and data only.
  await model.fit(x, y, { batchSize: batch, epochs: Math.ceil(steps / 20), verbose: 0, callbacks: [sampler], seed: 1 });
  const end = sample(step);
  // What training added on purpose: the optimizer's state and the last step's gradients.
  model.optimizer.zeroGrad();
  model.optimizer.dispose();
  const after = sample(step);
  console.log(JSON.stringify({ done: true, mode, steps: step, batch, seconds: (Date.now() - t0) / 1000, baselineTensors: baseline, endTensors: end.numTensors, finalTensors: after.numTensors }));
} else {
  class Net extends tb.nn.Module {
    conv1 = new tb.nn.Conv2d(1, 8, 3);
    conv2 = new tb.nn.Conv2d(8, 16, 3);
    pool = new tb.nn.MaxPool2d(2);
    fc = new tb.nn.Linear(16 * 5 * 5, 10);
    forward(x) {
      let h = this.pool.forward(tb.relu(this.conv1.forward(x)));
      h = this.pool.forward(tb.relu(this.conv2.forward(h)));
      return this.fc.forward(tb.flatten(h));
    }
  }
  const net = new Net();
  const opt = new tb.optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = tb.randn([batch, 1, 28, 28]);
  const y = tb.randint(0, 10, [batch]);
  const baseline = sample(0).numTensors;
  for (let step = 1; step <= steps; step++) {
    tb.tidy(() => {
      opt.zeroGrad();
      const loss = tb.nn.functional.crossEntropy(net.forward(x), y);
      loss.backward();
      opt.step();
    });
    if (step % every === 0) sample(step);
  }
  const end = sample(steps);
  opt.zeroGrad();
  opt.dispose();
  const after = sample(steps);
  console.log(JSON.stringify({ done: true, mode, steps, batch, seconds: (Date.now() - t0) / 1000, baselineTensors: baseline, endTensors: end.numTensors, finalTensors: after.numTensors }));
}
