// Collectives on 'cuda' tensors under init({ nccl: true }): the tensors' own device memory goes to
// the NCCL engine (in test:cuda-emu, NCCL emulated over MPI: test/cuda/emu/nccl_emu.cc), host
// tensors still go over MPI in between, and DDP still trains. One JSON line per rank.
import * as tb from '../../../dist/lib/index.js';
import { native } from '../../../dist/lib/native/load.js';

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

// DDP on 'cuda' still averages (its buckets go through host memory over MPI)
class Net extends tb.nn.Module {
  fc = new tb.nn.Linear(6, 3);
  forward(x) { return this.fc.forward(x); }
}
tb.setSeed(rank === 0 ? 3 : 50 + rank);
const net = new Net().to('cuda');
const model = new tb.nn.DistributedDataParallel(net);
const opt = new tb.optim.SGD(model.parameters(), { lr: 0.1 });
for (let s = 0; s < 2; s++) {
  tb.tidy(() => {
    const rng = new tb.Random(10 * s + rank);
    const x = tb.tensor(Float32Array.from({ length: 24 }, () => rng.normal()), [4, 6]).to('cuda');
    opt.zeroGrad();
    tb.mean(tb.square(model.forward(x))).backward();
    opt.step();
  });
}
out.weights = net.parameters().flatMap((p) => Array.from(p.dataSync()));
console.log(JSON.stringify(out));
