// One rank of the data-parallel benchmark (bench/distributed.ts): the MNIST CNN of the main
// benchmark (tb.models.mnistCnn, Adam, batch 128 per rank) in nn.DistributedDataParallel, batches
// from a DataLoader over a DistributedSampler, the loss through the model's fused softmax-cross-
// entropy as fit uses it. Every step is timed alone (batch, forward, loss read back, backward with
// the gradient all-reduce, update). Run as a plain process it trains alone (no DDP work at all).
// Rank 0 prints the result line.
import * as tb from '../lib/index.js';
import { RESULT_TAG } from './protocol.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as { warmup: number; steps: number; batch: number; seed: number };
const world = tb.distributed.init();
tb.setSeed(spec.seed);
const { train } = await tb.datasets.mnist();
const data = { images: train.images, labels: tb.toCategorical(train.labels, 10) };
const model = tb.models.mnistCnn();
model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
model.build();
const ddp = process.env.TB_BENCH_NO_DDP ? model : new tb.nn.DistributedDataParallel(model);
const opt = model.ensureOptimizer();
const loader = new tb.data.DataLoader(data, { batchSize: spec.batch, dropLast: true, sampler: new tb.data.DistributedSampler(data.images.shape[0]!, { seed: spec.seed, dropLast: true }) });
const stepMs: number[] = [];
// CPU time of the whole process (every thread: the communication thread's too) per step: what a
// step costs, apart from how much of the machine others leave us
const cpuMs: number[] = [];
let b = 0;
for (const [x, y] of loader) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  tb.tidy(() => {
    opt.zeroGrad();
    const { loss } = model.lossAndPred(x, y, true);
    loss.item();
    loss.backward();
    opt.step();
  });
  const dt = performance.now() - t0;
  const c = process.cpuUsage(c0);
  x.dispose();
  y.dispose();
  if (b >= spec.warmup) {
    stepMs.push(dt);
    cpuMs.push((c.user + c.system) / 1000);
  }
  if (++b >= spec.warmup + spec.steps) break;
}
if (world.rank === 0) console.log(RESULT_TAG + JSON.stringify({ stepMs, cpuMs, size: world.size, threads: tb.backendInfo().threads, buckets: (ddp as unknown as { _reducer: { buckets: unknown[] } | null })._reducer?.buckets.length ?? 0 }));
