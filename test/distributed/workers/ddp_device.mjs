// DDP with the model and the batches on 'cuda' (a CUDA build, or the host emulator of CUDA in
// test:cuda-emu): gradients and the rank-0 broadcast go through host memory over MPI. Rank 0 then
// trains a copy of the same model alone on the CPU on the same global batches. Then the same for
// Keras-style fit (fit_on_cuda.mjs). One JSON line per rank.
import * as tb from '../../../dist/lib/index.js';
import { fitOnCuda } from './fit_on_cuda.mjs';

const K = 4;
const PER_RANK = 8;
const { rank, size } = tb.distributed.init({ timeout: 60 });
const GLOBAL = PER_RANK * size;

class Net extends tb.nn.Module {
  fc1 = new tb.nn.Linear(12, 16);
  fc2 = new tb.nn.Linear(16, 5);
  forward(x) { return this.fc2.forward(tb.relu(this.fc1.forward(x))); }
}
function batch(step) {
  const rng = new tb.Random(500 + step);
  const x = tb.tensor(Float32Array.from({ length: GLOBAL * 12 }, () => rng.normal()), [GLOBAL, 12]);
  const y = tb.tensor(Int32Array.from({ length: GLOBAL }, () => Math.floor(rng.uniform() * 5)), [GLOBAL], 'int32');
  return [x, y];
}
const flat = (net) => net.parameters().flatMap((p) => Array.from(p.dataSync()));

// a device tensor through each collective
const t = tb.tensor([rank + 1, 2]).to('cuda');
await tb.distributed.allReduce(t, 'sum');
const g = await tb.distributed.allGather(tb.tensor([rank]).to('cuda'));
const collectives = { sum: Array.from(t.dataSync()), device: t.device, gather: Array.from(g.dataSync()), gatherDevice: g.device };

/** K steps of model on (its share of) the global batches, moved to device. */
function train(model, opt, share, device) {
  for (let s = 0; s < K; s++) {
    const [x, y] = batch(s);
    tb.tidy(() => {
      const [xs, ys] = share(x, y);
      opt.zeroGrad();
      tb.nn.functional.crossEntropy(model.forward(xs.to(device)), ys.to(device)).backward();
      opt.step();
    });
    x.dispose();
    y.dispose();
  }
}

tb.setSeed(rank === 0 ? 7 : 100 + rank);
const net = new Net().to('cuda');
const model = new tb.nn.DistributedDataParallel(net, { firstBucketMB: 0.0002 });
train(model, new tb.optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }),
  (x, y) => [x.slice([rank * PER_RANK, 0], [PER_RANK, 12]), y.slice([rank * PER_RANK], [PER_RANK])], 'cuda');
const mine = flat(net);
let diff = null;
if (rank === 0) {
  tb.setSeed(7);
  const ref = new Net();
  train(ref, new tb.optim.SGD(ref.parameters(), { lr: 0.1, momentum: 0.9 }), (x, y) => [x, y], 'cpu');
  const other = flat(ref);
  diff = Math.max(...mine.map((v, i) => Math.abs(v - other[i])));
}
// Keras-style fit of a model on 'cuda': host buckets over MPI too
const fit = await fitOnCuda(tb, rank);
mine.push(...fit.weights);
let h = 2166136261;
for (const v of new Uint32Array(Float32Array.from(mine).buffer)) h = Math.imul(h ^ v, 16777619) >>> 0;
console.log(JSON.stringify({ rank, size, device: net.parameters()[0].device, buckets: model._reducer?.buckets.length ?? 0, collectives, hash: h.toString(16), diff, fitDiff: fit.diff }));
