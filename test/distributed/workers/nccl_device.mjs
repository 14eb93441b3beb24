// Collectives on 'cuda' tensors under init({ nccl: true }): the tensors' own device memory goes to
// the NCCL engine (in test:cuda-emu, NCCL emulated over MPI: test/cuda/emu/nccl_emu.cc), host
// tensors still go over MPI in between, and DDP still trains. One JSON line per rank.
import * as tb from '../../../dist/lib/index.js';
import { native } from '../../../dist/lib/native/load.js';
import { fitOnCuda } from './fit_on_cuda.mjs';

const { rank, size, deviceBackend } = tb.distributed.init({ timeout: 60, nccl: true });
const out = { rank, size, deviceBackend };
const dev = (values, dtype = 'float32') => tb.tensor(values, [values.length], dtype).to('cuda');
const read = (t) => ({ values: Array.from(t.dataSync()), device: t.device });

const jobs = () => {
  const s = native().dist.state();
  return [s.mpiJobs, s.ncclJobs];
};
out.sum = read(await tb.distributed.allReduce(dev([rank + 1, -2, 0.5]), 'sum'));
out.ncclStarted = native().dist.state().ncclStarted;
// which engine each kind of tensor went to: [MPI jobs, NCCL jobs] added by one device and one host all-reduce
const j0 = jobs();
await tb.distributed.allReduce(dev([1]), 'sum');
const j1 = jobs();
await tb.distributed.allReduce(tb.tensor([1]), 'sum');
const j2 = jobs();
out.routed = { device: [j1[0] - j0[0], j1[1] - j0[1]], host: [j2[0] - j1[0], j2[1] - j1[1]] };
out.mean = read(await tb.distributed.allReduce(dev([rank + 1, 4]), 'mean'));
out.max = read(await tb.distributed.allReduce(dev([rank, -rank]), 'max'));
out.min = read(await tb.distributed.allReduce(dev([rank, -rank]), 'min'));
out.intSum = read(await tb.distributed.allReduce(dev([rank, 1], 'int32'), 'sum'));
// a host tensor between two device ones: MPI's queue and NCCL's side by side
out.host = read(await tb.distributed.allReduce(tb.tensor([rank + 1]), 'sum'));
const b = dev([rank, 10 * rank]);
await tb.distributed.broadcast(b, size - 1);
out.broadcast = read(b);
const g = await tb.distributed.allGather(tb.tensor([[rank, rank + 0.5]]).to('cuda'));
out.gather = { ...read(g), shape: g.shape };
// Started together without awaiting: each queue keeps the call order.
const ts = [0, 1, 2].map((k) => dev([rank + k]));
await Promise.all(ts.map((t) => tb.distributed.allReduce(t, 'sum')));
out.together = ts.map((t) => t.dataSync()[0]);
// A tensor disposed while its collective is under way: a clear error or a result nobody reads,
// never a crash (the job holds the device memory).
const gone = dev([1, 2, 3]);
const pending = tb.distributed.allReduce(gone, 'sum');
gone.dispose();
try {
  await pending;
  out.disposed = 'resolved';
} catch (e) {
  out.disposed = e.message;
}

// DDP on 'cuda' under NCCL: device buckets all-reduced by NCCL; rank 0 checks the result against
// one CPU process trained on the same global batches.
class Net extends tb.nn.Module {
  fc1 = new tb.nn.Linear(6, 8);
  fc2 = new tb.nn.Linear(8, 3);
  forward(x) { return this.fc2.forward(tb.relu(this.fc1.forward(x))); }
}
const PER_RANK = 4;
const K = 3;
function batch(step) {
  const rng = new tb.Random(900 + step);
  return tb.tensor(Float32Array.from({ length: PER_RANK * size * 6 }, () => rng.normal()), [PER_RANK * size, 6]);
}
function train(model, opt, share, device) {
  for (let s = 0; s < K; s++) {
    const x = batch(s);
    tb.tidy(() => {
      opt.zeroGrad();
      tb.mean(tb.square(model.forward(share(x).to(device)))).backward();
      opt.step();
    });
    x.dispose();
  }
}
tb.setSeed(rank === 0 ? 3 : 50 + rank);
const net = new Net().to('cuda');
const model = new tb.nn.DistributedDataParallel(net, { firstBucketMB: 0.0002 });
out.ddpOnDevice = model._reducer.onDevice;
out.buckets = model._reducer.buckets.length;
const before = jobs();
train(model, new tb.optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }), (x) => x.slice([rank * PER_RANK, 0], [PER_RANK, 6]), 'cuda');
const after = jobs();
out.ddpJobs = { mpi: after[0] - before[0], nccl: after[1] - before[1] };
const weights = net.parameters().flatMap((p) => Array.from(p.dataSync()));
if (rank === 0) {
  tb.setSeed(3);
  const ref = new Net();
  train(ref, new tb.optim.SGD(ref.parameters(), { lr: 0.1, momentum: 0.9 }), (x) => x, 'cpu');
  const other = ref.parameters().flatMap((p) => Array.from(p.dataSync()));
  out.diff = Math.max(...weights.map((v, i) => Math.abs(v - other[i])));
}
// Keras-style fit of a model on 'cuda' under NCCL: its gradient buckets on the device too.
const fitBefore = jobs();
const fit = await fitOnCuda(tb, rank);
out.fitNcclJobs = jobs()[1] - fitBefore[1];
out.fitDiff = fit.diff;
weights.push(...fit.weights);

// a hash of the weights' bits, not the weights: mpirun splits long lines of output
let h = 2166136261;
for (const v of new Uint32Array(Float32Array.from(weights).buffer)) h = Math.imul(h ^ v, 16777619) >>> 0;
out.hash = h.toString(16);
console.log(JSON.stringify(out));
