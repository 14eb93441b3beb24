// 100 seeded CPU training steps (Keras fit with shuffling, conv, batch norm, dropout, Adam) and a
// PyTorch-style loop; prints a SHA-256 of every weight's bytes and the final loss bits.
//   node determinism.mjs <library bundle> <threads> <gemm: openblas|portable>
// (TENSORBOLT_ISA in the environment picks the instruction set.)
import { createHash } from 'node:crypto';
const [libPath, threads, gemm] = process.argv.slice(2);
const tb = await import(libPath);
tb.setNumThreads(Number(threads));
if (gemm === 'portable' || tb.backendInfo().openblas) tb.setGemmBackend(gemm);
tb.setSeed(1234);

const hash = createHash('sha256');
const x = tb.randn([256, 16, 16, 1]); // large enough that the threaded paths run (>= 32K elements)
const labels = tb.randint(0, 4, [256]);
const y = tb.toCategorical(labels, 4);
const model = tb.sequential([
  // 16 filters: channel blocks the implicit-GEMM kernels take (a small window, then 16 -> 16)
  tb.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [16, 16, 1] }),
  tb.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu' }),
  tb.layers.batchNormalization(),
  tb.layers.maxPooling2d({ poolSize: 2 }),
  tb.layers.flatten(),
  tb.layers.dropout({ rate: 0.3 }),
  tb.layers.dense({ units: 32, activation: 'relu' }),
  tb.layers.dense({ units: 4, activation: 'softmax' }),
]);
model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
const h = await model.fit(x, y, { batchSize: 64, epochs: 25, verbose: 0 }); // 4 batches x 25 epochs = 100 steps
for (const l of model.layers) for (const [, t] of l.weightsWithNames()) hash.update(Buffer.from(t.dataSync().buffer));

// and the PyTorch-style API: 100 steps of an MLP with SGD + momentum on the same data
const net = new tb.nn.Sequential(new tb.nn.Flatten(), new tb.nn.Linear(256, 32), new tb.nn.ReLU(), new tb.nn.Dropout(0.2), new tb.nn.Linear(32, 4));
const opt = new tb.optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });
let last = 0;
for (let step = 0; step < 100; step++) {
  last = tb.tidy(() => {
    opt.zeroGrad();
    const loss = tb.nn.functional.crossEntropy(net.forward(x), labels);
    loss.backward();
    opt.step();
    return loss.item();
  });
}
for (const p of net.parameters()) hash.update(Buffer.from(p.dataSync().buffer));
console.log(JSON.stringify({ hash: hash.digest('hex'), kerasLoss: h.history.loss.at(-1), torchLoss: last, threads: tb.backendInfo().threads, gemm: tb.backendInfo().gemm }));
