// PyTorch-style data-parallel training for the tests: a small CNN in nn.DistributedDataParallel, its
// batches from a DataLoader over a DistributedSampler. Rank 0 then trains a fresh copy of the same
// model alone on the same global batches (a DataLoader with batchSize x size over a sampler of one
// replica: the same permutation) and reports how far the two ended apart. One JSON line per rank.
// Environment:
//   STEPS (6), PER_RANK (8)        steps and per-rank batch size
//   SAVE=file                      save a checkpoint at the end (rank 0 writes it)
//   RESUME=file                    start from that checkpoint (every rank loads it)
//   FAULT=kill|hang, FAULT_STEP    rank 1 dies (SIGKILL) or stops answering before that step
//   MISMATCH=1                     rank 1 builds a wider layer (DDP construction must fail)
//   ACCUM=k                        gradients accumulate over k batches (zeroGrad(false) before the
//                                  first, a step after the last), in the reference too
import * as tb from '../../../dist/lib/index.js';

const K = Number(process.env.STEPS ?? 6);
const PER_RANK = Number(process.env.PER_RANK ?? 8);
const ACCUM = Number(process.env.ACCUM ?? 0);
const world = tb.distributed.init();
const { rank, size } = world;

class Net extends tb.nn.Module {
  constructor(hidden = 16) {
    super();
    this.conv = new tb.nn.Conv2d(1, 4, 3);
    this.fc1 = new tb.nn.Linear(4 * 6 * 6, hidden);
    this.fc2 = new tb.nn.Linear(hidden, 10);
  }
  forward(x) {
    const h = tb.maxPool2d(tb.relu(this.conv.forward(x)), { poolSize: 2 }).reshape([x.shape[0], 4 * 6 * 6]);
    return this.fc2.forward(tb.relu(this.fc1.forward(h)));
  }
}

// A fixed data set: K global batches' worth of samples.
const N = K * PER_RANK * size;
const rng = new tb.Random(42);
const ds = new tb.TensorDataset(
  tb.tensor(Float32Array.from({ length: N * 14 * 14 }, () => rng.normal()), [N, 1, 14, 14]),
  tb.tensor(Int32Array.from({ length: N }, () => Math.floor(rng.uniform() * 10)), [N], 'int32'),
);

function train(net, loader, opt, hook) {
  let s = 0;
  for (const [x, y] of loader) {
    hook?.(s);
    tb.tidy(() => {
      if (!ACCUM) opt.zeroGrad();
      else if (s % ACCUM === 0) opt.zeroGrad(false); // in place: the gradients stay the same tensors
      tb.nn.functional.crossEntropy(net.forward(x), y).backward();
      if (!ACCUM || (s + 1) % ACCUM === 0) opt.step();
    });
    x.dispose();
    y.dispose();
    s++;
  }
  return s;
}

function fresh(seed) {
  tb.setSeed(seed);
  const net = new Net(process.env.MISMATCH && rank === 1 ? 24 : 16);
  const opt = new tb.optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });
  if (process.env.RESUME) tb.loadCheckpoint(process.env.RESUME, { model: net, optimizer: opt });
  return { net, opt };
}

const flat = (net) => net.parameters().flatMap((p) => Array.from(p.dataSync()));
function hash(a) {
  let h = 2166136261;
  for (const v of new Uint32Array(Float32Array.from(a).buffer)) h = Math.imul(h ^ v, 16777619) >>> 0;
  return h.toString(16);
}

// Ranks start from different weights on purpose (unless resuming): DDP must copy rank 0's.
const { net, opt } = fresh(rank === 0 ? 7 : 100 + rank);
const loadedHash = hash(flat(net));
let model;
try {
  model = new tb.nn.DistributedDataParallel(net, { bucketCapMB: 0.004, firstBucketMB: 0.001 });
} catch (e) {
  console.log(JSON.stringify({ rank, size, error: e.message }));
  process.exit(0);
}
const sampler = new tb.data.DistributedSampler(ds, { seed: 5 });
const loader = new tb.data.DataLoader(ds, { batchSize: PER_RANK, sampler });
const steps = train(model, loader, opt, (s) => {
  if (rank !== 1 || s !== Number(process.env.FAULT_STEP ?? 3)) return;
  if (process.env.FAULT === 'kill') process.kill(process.pid, 'SIGKILL');
  if (process.env.FAULT === 'hang') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600_000);
});
const mine = flat(net);
// gradients left as views of their bucket slots (no copy back), counted for the test
const bucketMemory = new Set(model._reducer?.buckets.map((b) => b.data?.buffer) ?? []);
const gradViews = net.parameters().filter((p) => p.grad && bucketMemory.has(p.grad._buf?.buffer)).length;
if (process.env.SAVE) {
  tb.saveCheckpoint(process.env.SAVE, { model, optimizer: opt, epoch: 1 });
  await tb.distributed.barrier(); // the file exists for everyone once this resolves
}

let diff = null;
if (rank === 0) {
  const ref = fresh(7);
  const refLoader = new tb.data.DataLoader(ds, { batchSize: PER_RANK * size, sampler: new tb.data.DistributedSampler(ds, { seed: 5, numReplicas: 1, rank: 0 }) });
  train(ref.net, refLoader, ref.opt);
  const other = flat(ref.net);
  let maxDiff = 0, maxAbs = 0;
  for (let i = 0; i < mine.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(mine[i] - other[i]));
    maxAbs = Math.max(maxAbs, Math.abs(other[i]));
  }
  diff = { maxDiff, maxAbs };
}
console.log(JSON.stringify({ rank, size, steps, loadedHash, hash: hash(mine), diff, buckets: model._reducer?.buckets.length ?? 0, gradViews, params: net.parameters().length }));
