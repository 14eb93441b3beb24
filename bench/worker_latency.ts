// npm run bench:latency: how responsive the main thread's event loop stays while a model trains.
// The event-loop delay (perf_hooks, 5 ms resolution) on the main thread, in one run: idle; while the
// Keras MNIST-style CNN of the worker tests trains in a worker_thread (all cores but one); and while
// it trains on the main thread itself (fit yields between batches). Medians of the windows' p50, p99
// and max. Timing belongs here, not in npm test: on a shared machine another tenant's load shows up
// in every figure (a plain busy loop in a worker gives 45-150 ms spikes on a busy 2-core box).
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as tb from '../lib/index.js';
import { median } from './stats.js';

const EPOCHS = 60;

async function trainCnn(threads: number): Promise<number> {
  tb.setNumThreads(threads);
  tb.setSeed(11);
  const x = tb.randn([128, 12, 12, 1]);
  const labels = tb.randint(0, 10, [128]);
  const y = tb.toCategorical(labels, 10);
  const model = tb.sequential([
    tb.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', inputShape: [12, 12, 1] }),
    tb.layers.maxPooling2d({ poolSize: 2 }),
    tb.layers.flatten(),
    tb.layers.dense({ units: 10, activation: 'softmax' }),
  ]);
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  const h = await model.fit(x, y, { batchSize: 16, epochs: EPOCHS, verbose: 0, seed: 11 });
  tb.dispose([x, y, labels]);
  model.dispose();
  return h.history.loss.at(-1)!;
}

interface Window { p50: number; p99: number; max: number; seconds: number }

async function measure(run: () => Promise<unknown>): Promise<Window> {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const t0 = performance.now();
  await run();
  const seconds = (performance.now() - t0) / 1000;
  h.disable();
  return { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6, seconds };
}

function inWorker(threads: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: { threads } });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 3);
  const cores = availableParallelism();
  const rows: [string, Window[]][] = [['idle (2 s of timers)', []], [`CNN in a worker (${Math.max(1, cores - 1)} threads)`, []], [`CNN on the main thread (${cores} threads)`, []]];
  for (let r = 0; r < rounds; r++) {
    rows[0]![1].push(await measure(() => new Promise((res) => setTimeout(res, 2000))));
    rows[1]![1].push(await measure(() => inWorker(Math.max(1, cores - 1))));
    rows[2]![1].push(await measure(() => trainCnn(cores)));
  }
  const f = (ws: Window[], k: keyof Window) => median(ws.map((w) => w[k])).toFixed(1);
  console.log(`event-loop delay on the main thread, ${rounds} rounds (medians), ${cores} cores, node ${process.version}`);
  console.log('| while | seconds | p50 ms | p99 ms | max ms |\n| --- | --- | --- | --- | --- |');
  for (const [name, ws] of rows) console.log(`| ${name} | ${f(ws, 'seconds')} | ${f(ws, 'p50')} | ${f(ws, 'p99')} | ${f(ws, 'max')} |`);
}

if (isMainThread) await main();
else parentPort!.postMessage(await trainCnn((workerData as { threads: number }).threads));
