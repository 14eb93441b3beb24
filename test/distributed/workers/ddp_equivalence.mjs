// DDP against one process: every rank trains a small CNN with DDP on its slice of the same global
// batches for K steps; rank 0 then trains a fresh copy of the same model alone on the whole global
// batches. Prints one JSON line per rank: the weights' checksum, the largest difference from the
// single process (rank 0 only) and the first weights.
import * as tb from '../../../dist/lib/index.js';

const K = Number(process.env.STEPS ?? 6);
const PER_RANK = Number(process.env.PER_RANK ?? 8);
const world = tb.distributed.init({ timeout: 60 });
const { rank, size } = world;
const GLOBAL = PER_RANK * size;

class Net extends tb.nn.Module {
  conv = new tb.nn.Conv2d(1, 4, 3);
  fc1 = new tb.nn.Linear(4 * 6 * 6, 16);
  fc2 = new tb.nn.Linear(16, 10);
  forward(x) {
    const h = tb.maxPool2d(tb.relu(this.conv.forward(x)), { poolSize: 2 }).reshape([x.shape[0], 4 * 6 * 6]);
    return this.fc2.forward(tb.relu(this.fc1.forward(h)));
  }
}

function data(step) {
  // the same global batch on every rank, from a seed per step
  const rng = new tb.Random(1000 + step);
  const x = tb.tensor(Float32Array.from({ length: GLOBAL * 14 * 14 }, () => rng.normal()), [GLOBAL, 1, 14, 14]);
  const y = tb.tensor(Int32Array.from({ length: GLOBAL }, () => Math.floor(rng.uniform() * 10)), [GLOBAL], 'int32');
  return [x, y];
}

// Ranks start from different weights on purpose: DDP must copy rank 0's.
tb.setSeed(rank === 0 ? 7 : 100 + rank);
const net = new Net();
const model = new tb.nn.DistributedDataParallel(net, { bucketCapMB: 0.004, firstBucketMB: 0.001 });
const opt = new tb.optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
for (let s = 0; s < K; s++) {
  const [x, y] = data(s);
  tb.tidy(() => {
    const xs = x.slice([rank * PER_RANK, 0, 0, 0], [PER_RANK, 1, 14, 14]);
    const ys = y.slice([rank * PER_RANK], [PER_RANK]);
    opt.zeroGrad();
    const loss = tb.nn.functional.crossEntropy(model.forward(xs), ys);
    loss.backward();
    opt.step();
  });
  x.dispose();
  y.dispose();
}
const weights = net.parameters().map((p) => Array.from(p.dataSync()));
const flat = weights.flat();
let maxDiff = null;
if (rank === 0) {
  tb.setSeed(7);
  const ref = new Net();
  const ropt = new tb.optim.SGD(ref.parameters(), { lr: 0.05, momentum: 0.9 });
  for (let s = 0; s < K; s++) {
    const [x, y] = data(s);
    tb.tidy(() => {
      ropt.zeroGrad();
      tb.nn.functional.crossEntropy(ref.forward(x), y).backward();
      ropt.step();
    });
    x.dispose();
    y.dispose();
  }
  const rflat = ref.parameters().flatMap((p) => Array.from(p.dataSync()));
  maxDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < flat.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(flat[i] - rflat[i]));
    maxAbs = Math.max(maxAbs, Math.abs(rflat[i]));
  }
  maxDiff = { maxDiff, maxAbs };
}
const buckets = model._reducer ? model._reducer.buckets.length : 0;
console.log(JSON.stringify({ rank, size, buckets, bits: Buffer.from(Float32Array.from(flat).buffer).toString('base64').length, hash: hash(flat), maxDiff, first: flat.slice(0, 3) }));

function hash(a) {
  const u = new Uint32Array(Float32Array.from(a).buffer);
  let h = 2166136261;
  for (const v of u) h = Math.imul(h ^ v, 16777619) >>> 0;
  return h.toString(16);
}
