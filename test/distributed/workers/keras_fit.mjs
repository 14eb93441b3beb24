// Keras-style fit on MNIST, single process (plain node) or under a launcher (data-parallel by
// default there). Rank 0 prints progress (verbose 2) and saves the model; every rank prints one
// JSON line with its test accuracy and the weights' checksum.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tb from '../../../dist/lib/index.js';

const LIMIT = Number(process.env.LIMIT ?? 20000);
const EPOCHS = Number(process.env.EPOCHS ?? 2);
const OUT = process.env.OUT_DIR ?? mkdtempSync(join(tmpdir(), 'tb-fit-'));
tb.setSeed(1);
const { train, test } = await tb.datasets.mnist();
const n = Math.min(LIMIT, train.images.shape[0]);
const x = train.images.slice([0, 0, 0, 0], [n, 28, 28, 1]).reshape([n, 784]);
const y = tb.toCategorical(train.labels.slice([0], [n]), 10);
const tx = test.images.reshape([test.images.shape[0], 784]);
const ty = tb.toCategorical(test.labels, 10);
const model = tb.sequential([
  tb.layers.dense({ units: 128, activation: 'relu', inputShape: [784] }),
  tb.layers.dense({ units: 10, activation: 'softmax' }),
]);
model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
const t0 = Date.now();
const h = await model.fit(x, y, { batchSize: 128, epochs: EPOCHS, seed: 3, verbose: 2, validationData: [tx, ty] });
const seconds = (Date.now() - t0) / 1000;
const [loss, acc] = model.evaluate(tx, ty, { batchSize: 1000 });
const world = tb.distributed.worldInfo() ?? { rank: 0, size: 1 };
await model.save(`file://${join(OUT, `rank${world.rank}`)}`);
const flat = model.parameters().flatMap((p) => Array.from(p.dataSync()));
let hsh = 2166136261;
for (const v of new Uint32Array(Float32Array.from(flat).buffer)) hsh = Math.imul(hsh ^ v, 16777619) >>> 0;
console.log(JSON.stringify({ rank: world.rank, size: world.size, acc, loss, valAcc: h.history.val_accuracy, trainLoss: h.history.loss, hash: hsh.toString(16), seconds, out: OUT }));
