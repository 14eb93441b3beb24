// fit gathers the next batch on a worker thread while the current one trains (batches of x of at
// least 64 KB): the native gatherPairAsync behind it, and fit's results and cleanup with it on.
import { describe, expect, it, vi } from 'vitest';
import * as tb from '../../lib/index.js';
import { native } from '../../lib/native/load.js';

const L = tb.layers;

// 1,024 features: a batch of 16 rows is 64 KB, so every fit below gathers ahead.
const FEATURES = 1024;

function data(n: number): { x: tb.Tensor; y: tb.Tensor } {
  const rng = new tb.Random(3);
  const xs = new Float32Array(n * FEATURES).map(() => (rng.uniform() < 0.3 ? rng.normal() : 0));
  const labels = new Int32Array(n).map((_, i) => (xs[i * FEATURES]! + xs[i * FEATURES + 1]! > 0 ? 1 : 0));
  // a copy the library owns: fit gathers only such memory ahead (the caller's own array could be
  // detached under the worker thread; test/reliability/detach.test.ts)
  const mine = tb.tensor(xs, [n, FEATURES]);
  const x = mine.clone();
  mine.dispose();
  return { x, y: tb.toCategorical(labels, 2) };
}

function model(): tb.Sequential {
  tb.setSeed(11);
  const m = tb.sequential([L.dense({ units: 16, activation: 'relu', inputShape: [FEATURES] }), L.dense({ units: 2, activation: 'softmax' })]);
  m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return m;
}

const weights = (m: tb.Sequential): Float32Array[] => m.parameters().map((p) => p.dataSync() as Float32Array);

describe('native gatherPairAsync', () => {
  it('copies the same rows as gather into both outputs, float and int32 arrays, and resolves once done', async () => {
    const g = native();
    const x = Float32Array.from({ length: 50 * 7 }, (_, i) => i * 0.5 - 3);
    const labels = Int32Array.from({ length: 50 }, (_, i) => i * 3);
    const idx = Int32Array.from([49, 0, 7, 7, 23]);
    const want = new Float32Array(5 * 7);
    g.gather(x, idx, want, 1, 50, 7);
    const got = new Float32Array(5 * 7);
    const gotLabels = new Int32Array(5);
    await expect(g.gatherPairAsync(x, got, 7, labels, gotLabels, 1, idx, 50)).resolves.toBeUndefined();
    expect(got).toEqual(want);
    expect(Array.from(gotLabels)).toEqual([147, 0, 21, 21, 69]);
    const y2 = Float32Array.from({ length: 50 * 2 }, (_, i) => i);
    const got2 = new Float32Array(5 * 2);
    await g.gatherPairAsync(labels, gotLabels, 1, y2, got2, 2, idx, 50);
    expect(Array.from(got2)).toEqual([98, 99, 0, 1, 14, 15, 14, 15, 46, 47]);
  });

  it('checks everything before it starts: a bad index, length, type or overlap throws at the call, nothing is queued', () => {
    const g = native();
    const x = new Float32Array(10 * 2), y = new Float32Array(10);
    const ok = Int32Array.from([0, 1]);
    expect(() => g.gatherPairAsync(x, new Float32Array(4), 2, y, new Float32Array(2), 1, Int32Array.from([0, 10]), 10)).toThrow(/gatherPairAsync.*index 10 at position 1/);
    expect(() => g.gatherPairAsync(x, new Float32Array(3), 2, y, new Float32Array(2), 1, ok, 10)).toThrow(/gatherPairAsync.*ya has 3 elements/);
    expect(() => g.gatherPairAsync(x, new Float32Array(4), 2, y, new Float32Array(5), 1, ok, 10)).toThrow(/gatherPairAsync.*yb has 5 elements/);
    expect(() => g.gatherPairAsync(x, new Float32Array(4), 2, new Int32Array(10), new Float32Array(2), 1, ok, 10)).toThrow(/gatherPairAsync.*xb and yb must both/);
    const shared = new Float32Array(6);
    expect(() => g.gatherPairAsync(x, shared.subarray(0, 4), 2, y, shared.subarray(3, 5), 1, ok, 10)).toThrow(/gatherPairAsync.*share memory/);
  });
});

describe('fit with the next batch gathered ahead', () => {
  it('trains to the same bits as one fit call per batch (which gathers in line)', async () => {
    const { x, y } = data(96);
    const ahead = model();
    const spy = vi.spyOn(native(), 'gatherPairAsync');
    await ahead.fit(x, y, { epochs: 2, batchSize: 16, shuffle: false, verbose: 0 });
    expect(spy).toHaveBeenCalledTimes(2 * 5); // every batch but each epoch's first
    spy.mockRestore();
    const inline = model();
    for (let e = 0; e < 2; e++)
      for (let b = 0; b < 96; b += 16) {
        const xb = x.slice([b, 0], [16, -1]);
        const yb = y.slice([b, 0], [16, -1]);
        await inline.fit(xb, yb, { epochs: 1, batchSize: 16, shuffle: false, verbose: 0 });
        tb.dispose([xb, yb]);
      }
    const a = weights(ahead), b = weights(inline);
    expect(a.length).toBe(b.length);
    a.forEach((w, i) => expect(w).toEqual(b[i]));
    tb.dispose([x, y]);
  });

  it('shuffled training is unchanged by the seed path: two runs give the same bits', async () => {
    const { x, y } = data(80);
    const m1 = model();
    await m1.fit(x, y, { epochs: 2, batchSize: 16, seed: 4, verbose: 0 });
    const m2 = model();
    await m2.fit(x, y, { epochs: 2, batchSize: 16, seed: 4, verbose: 0 });
    const a = weights(m1), b = weights(m2);
    a.forEach((w, i) => expect(w).toEqual(b[i]));
    tb.dispose([x, y]);
  });

  it('a callback that throws mid-epoch stops fit with its error; the batch in flight is freed', async () => {
    const { x, y } = data(96);
    const m = model();
    await m.fit(x, y, { epochs: 1, batchSize: 16, verbose: 0 }); // optimizer state exists from here on
    const before = tb.memory().numTensors;
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(m.fit(x, y, {
        epochs: 1, batchSize: 16, verbose: 0,
        callbacks: { onBatchEnd: (b: number) => { if (b === 2) throw new Error('stop here'); } },
      })).rejects.toThrow('stop here');
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
    expect(tb.memory().numTensors).toBe(before);
    tb.dispose([x, y]);
  });
});
