// Training in a worker thread with trainInWorker / workerTask: progress events arrive on the main
// thread in order, the task's result or error comes back, stop() ends fit early, and the main
// thread stays free to compute meanwhile.
import { afterAll, describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { cleanBundles, scriptFile } from '../reliability/bundle.js';

afterAll(cleanBundles);

// The worker's script, as a user writes it (the library comes from a bundle of lib/ here).
const TASK = `
import * as tb from '__LIB__';
tb.workerTask(async ({ workerData, callbacks, post }) => {
  const { epochs, fail, samples, stopAfterEpoch } = workerData;
  if (fail) tb.tensor([1, 2]).reshape([3]);
  tb.setSeed(5);
  const x = tb.randn([samples, 4]);
  const y = tb.toCategorical(tb.argMax(tb.matmul(x, tb.randn([4, 3])), 1), 3);
  const model = tb.sequential([tb.layers.dense({ units: 16, activation: 'relu', inputShape: [4] }), tb.layers.dense({ units: 3, activation: 'softmax' })]);
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  post({ threads: tb.backendInfo().threads });
  const stopper = { onEpochEnd: (e) => { if (e === stopAfterEpoch) post('stop me'); } };
  const h = await model.fit(x, y, { epochs, batchSize: 32, verbose: 0, callbacks: [...callbacks, stopper] });
  return { epochs: h.epoch.length, loss: h.history.loss, accuracy: model.evaluate(x, y)[1] };
});
`;

describe('trainInWorker', () => {
  it('progress events on the main thread, in order, and the task\'s result', async () => {
    const job = tb.trainInWorker<{ epochs: number; loss: number[]; accuracy: number }>(scriptFile('task', TASK), { workerData: { epochs: 4, samples: 256 } });
    const seen: string[] = [];
    const epochLoss: number[] = [];
    let batches = 0;
    let mainThreadSums = 0;
    job.on('trainBegin', () => seen.push('trainBegin'));
    job.on('epochBegin', ({ epoch }) => seen.push(`epochBegin ${epoch}`));
    job.on('batchEnd', ({ logs }) => {
      batches++;
      expect(logs.loss).toBeGreaterThan(0);
      // the main thread computes with its own addon instance while the worker trains
      mainThreadSums += tb.tidy(() => tb.sum(tb.ones([10])).item());
    });
    job.on('epochEnd', ({ epoch, logs }) => {
      seen.push(`epochEnd ${epoch}`);
      epochLoss.push(logs.loss!);
      expect(logs.accuracy).toBeGreaterThanOrEqual(0);
    });
    job.on('trainEnd', () => seen.push('trainEnd'));
    const messages: unknown[] = [];
    job.on('message', (m) => messages.push(m));
    const r = await job.result;
    expect(seen).toEqual(['trainBegin', ...[0, 1, 2, 3].flatMap((e) => [`epochBegin ${e}`, `epochEnd ${e}`]), 'trainEnd']);
    expect(batches).toBe(4 * 8);
    expect(mainThreadSums).toBe(10 * batches);
    expect(r.epochs).toBe(4);
    expect(r.loss).toEqual(epochLoss);
    expect(r.loss[3]!).toBeLessThan(r.loss[0]!);
    expect(messages).toEqual([{ threads: expect.any(Number) }]);
  }, 60_000);

  it('stop() ends fit after the current batch and the task still returns', async () => {
    const job = tb.trainInWorker<{ epochs: number }>(scriptFile('task', TASK), { workerData: { epochs: 50, samples: 256, stopAfterEpoch: 1 } });
    job.on('message', (m) => { if (m === 'stop me') job.stop(); });
    const r = await job.result;
    expect(r.epochs).toBeGreaterThanOrEqual(2);
    expect(r.epochs).toBeLessThan(50);
  }, 60_000);

  it('an error in the task rejects the result with the same TensorboltError', async () => {
    const job = tb.trainInWorker(scriptFile('task', TASK), { workerData: { fail: true } });
    const e = await job.result.then(() => null, (err: unknown) => err);
    expect(e).toBeInstanceOf(tb.TensorboltError);
    expect((e as tb.TensorboltError).op).toBe('reshape');
    expect((e as Error).message).toMatch(/^reshape: cannot reshape \[2\]/);
    expect((e as Error).stack).toContain('in the training worker');
  }, 60_000);

  it('a worker that dies without a result rejects; workerTask on the main thread is an error', async () => {
    const job = tb.trainInWorker(scriptFile('exit', `import * as tb from '__LIB__'; process.exit(3);`));
    await expect(job.result).rejects.toThrow(/trainInWorker: the worker exited with code 3 before its task returned/);
    expect(() => tb.workerTask(() => 1)).toThrow(/workerTask: runs in a worker started by trainInWorker/);
    expect(() => tb.trainInWorker(42 as never)).toThrow(/script must be a path or a file URL/);
    // Worker itself throws a TypeError for 'x' (neither absolute nor ./-relative); found by the fuzzer
    expect(() => tb.trainInWorker('x')).toThrow(tb.TensorboltError);
    expect(() => tb.trainInWorker('x')).toThrow(/trainInWorker: script ".*x" does not exist/);
    expect(() => tb.trainInWorker(new URL('https://example.com/t.js'))).toThrow(/trainInWorker: script must be a path or a file: URL, got a https: URL/);
    expect(() => tb.trainInWorker(scriptFile('exit', ''), { workerOptions: { argv: 5 as never } })).toThrow(/trainInWorker: cannot start the worker/);
  }, 60_000);
});
