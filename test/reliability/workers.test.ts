// Threads and workers: the addon is context-aware (N-API, no process-global JS handles: each
// native/napi/*_napi.cc registers plain function pointers and keeps no JS values; scratch buffers
// are thread_local) and loads in worker_threads; a model training in a worker leaves the main
// thread's event loop turning (its latency is measured by npm run bench:latency, not asserted);
// two models training at once, in two workers or interleaved on one thread, give the same weights
// as when trained one after the other.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { cleanBundles, libraryBundle, ROOT } from './bundle.js';

afterAll(cleanBundles);

const entry = join(ROOT, 'test', 'reliability', 'children', 'train-worker.mjs');
const task = join(ROOT, 'test', 'reliability', 'children', 'train-task.mjs');

interface TrainResult { hash: string; loss: number; start: number; end: number }

function inWorker<T>(data: Record<string, unknown>): { done: Promise<T>; worker: Worker } {
  const worker = new Worker(entry, { workerData: { lib: libraryBundle(), task, ...data } });
  const done = new Promise<T>((resolve, reject) => {
    worker.once('message', (m: T) => resolve(m));
    worker.once('error', reject);
    worker.once('exit', (code) => { if (code !== 0) reject(new Error(`worker exited with code ${code}`)); });
  });
  return { done, worker };
}

const opts = (seed: number, kind: 'mlp' | 'cnn', epochs: number) => ({ op: 'train', seed, kind, epochs, threads: 1 });

describe('worker_threads', () => {
  it('the addon loads and computes in several workers at once (and again after they exit)', async () => {
    const expected = tb.tidy(() => {
      const m = tb.matmul(tb.tensor([[1, 2, 3], [4, 5, 6]]), tb.tensor([[1, 0], [0, 1], [1, 1]]));
      return { matmul: Array.from(m.dataSync()), softmax: Array.from(tb.softmax(m).dataSync()), conv: Array.from(tb.conv2d(tb.ones([1, 4, 4, 1]), tb.ones([2, 2, 1, 1])).dataSync()) };
    });
    for (let round = 0; round < 2; round++) {
      const results = await Promise.all([0, 1, 2, 3].map(() => inWorker<typeof expected & { threads: number }>({ op: 'ops' }).done));
      for (const r of results) {
        expect(r.matmul).toEqual(expected.matmul);
        expect(r.softmax).toEqual(expected.softmax);
        expect(r.conv).toEqual(expected.conv);
      }
    }
    // the main thread's instance is untouched
    expect(tb.tidy(() => tb.sum(tb.ones([3])).item())).toBe(3);
  }, 60_000);

  // What holds on any machine, however busy: the main thread's event loop keeps turning, and runs
  // kernels of its own, while a worker trains, and the two make progress together. The worker trains
  // until the main thread tells it to stop, so a main thread blocked by the worker's training (a lock
  // held across kernels, work run on the main thread) could never finish its turns: the test would
  // hang, not pass. How long the turns take is a benchmark: npm run bench:latency.
  it('training in a worker leaves the main event loop turning and computing while it trains', async () => {
    const progress = new Int32Array(new SharedArrayBuffer(8)); // [batches trained, stop]
    const cores = availableParallelism();
    const { done } = inWorker<TrainResult>({ ...opts(11, 'cnn', 1), threads: Math.max(1, cores - 1), progress });
    while (Atomics.load(progress, 0) === 0) await new Promise((r) => setImmediate(r)); // training has begun
    const seen = new Set<number>();
    let turns = 0;
    const want = tb.tidy(() => tb.matmul(tb.ones([4, 8]), tb.ones([8, 2])).dataSync()[0]);
    // at least 200 turns, and until the worker has trained 5 more batches meanwhile
    const first = Atomics.load(progress, 0);
    while (turns < 200 || Atomics.load(progress, 0) < first + 5) {
      await new Promise((r) => (turns % 2 ? setImmediate(r) : setTimeout(r, 0)));
      expect(tb.tidy(() => tb.matmul(tb.ones([4, 8]), tb.ones([8, 2])).dataSync()[0])).toBe(want);
      seen.add(Atomics.load(progress, 0));
      turns++;
    }
    Atomics.store(progress, 1, 1);
    const r = await done;
    expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
    // the worker's count moved while the main thread was turning: they ran side by side
    expect(seen.size).toBeGreaterThanOrEqual(5);
    console.log(`main thread: ${turns} event-loop turns (each with a matmul) while the worker trained ${Atomics.load(progress, 0)} batches`);
  }, 120_000);

  it('two models training in two workers at once match training them one after the other', async () => {
    const a1 = await inWorker<TrainResult>(opts(1, 'mlp', 80)).done;
    const b1 = await inWorker<TrainResult>(opts(2, 'cnn', 25)).done;
    // both wait at a barrier before training, so both were running at once (no clock involved)
    const barrier = new Int32Array(new SharedArrayBuffer(8));
    barrier[1] = 2;
    const [a2, b2] = await Promise.all([inWorker<TrainResult>({ ...opts(1, 'mlp', 80), barrier }).done, inWorker<TrainResult>({ ...opts(2, 'cnn', 25), barrier }).done]);
    expect(Atomics.load(barrier, 0)).toBe(2);
    const overlap = Math.min(a2.end, b2.end) - Math.max(a2.start, b2.start);
    console.log(`two workers: ${a2.end - a2.start} ms and ${b2.end - b2.start} ms of training, ${overlap} ms of it at the same time`);
    expect(a2.hash).toBe(a1.hash);
    expect(b2.hash).toBe(b1.hash);
    expect(a1.hash).not.toBe(b1.hash);
  }, 120_000);

  it('two models fit() concurrently on one thread (interleaved batches) match sequential training', async () => {
    const make = (seed: number) => {
      tb.setSeed(seed);
      const x = tb.randn([96, 32]);
      const labels = tb.randint(0, 4, [96]);
      const y = tb.toCategorical(labels, 4);
      labels.dispose();
      const model = tb.sequential([
        tb.layers.dense({ units: 32, activation: 'relu', inputShape: [32] }),
        tb.layers.dropout({ rate: 0.3, seed: seed + 100 }),
        tb.layers.dense({ units: 4, activation: 'softmax' }),
      ]);
      model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
      return { model, x, y, seed };
    };
    const weights = (m: tb.Sequential) => m.layers.flatMap((l) => l.weightsWithNames().map(([, t]) => Array.from(t.dataSync())));
    const fit = (r: ReturnType<typeof make>) => r.model.fit(r.x, r.y, { batchSize: 8, epochs: 5, verbose: 0, seed: r.seed });
    const release = (r: ReturnType<typeof make>) => { r.model.optimizer!.dispose(); r.model.dispose(); r.x.dispose(); r.y.dispose(); };

    const s1 = make(5), s2 = make(6);
    await fit(s1);
    await fit(s2);
    const c1 = make(5), c2 = make(6);
    let interleaved = 0, last = 0;
    const note = (id: number) => tb.callback({ onBatchEnd: () => { if (last !== id) interleaved++; last = id; } });
    await Promise.all([
      c1.model.fit(c1.x, c1.y, { batchSize: 8, epochs: 5, verbose: 0, seed: 5, callbacks: [note(1)] }),
      c2.model.fit(c2.x, c2.y, { batchSize: 8, epochs: 5, verbose: 0, seed: 6, callbacks: [note(2)] }),
    ]);
    expect(interleaved).toBeGreaterThan(10); // the two really alternated
    expect(weights(c1.model)).toEqual(weights(s1.model));
    expect(weights(c2.model)).toEqual(weights(s2.model));
    for (const r of [s1, s2, c1, c2]) release(r);
  }, 60_000);
});
