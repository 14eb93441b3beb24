// The caller's memory under fit: tb.tensor(theirArray) shares it, and they can transfer (detach) its
// ArrayBuffer from a callback at any moment. No native work off the main thread may read it (a
// gather on a worker thread read freed memory: SIGSEGV, ASan heap-use-after-free), and the next use
// is a TensorboltError, not a native RangeError or a read of zero elements.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import * as tb from '../../lib/index.js';
import { native } from '../../lib/native/load.js';
import { cleanBundles, libraryBundle, ROOT } from './bundle.js';

const dir = mkdtempSync(join(tmpdir(), 'tb-detach-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  cleanBundles();
});
afterEach(() => vi.restoreAllMocks());

const FEATURES = 1024; // 16 rows = 64 KB: batches this big are gathered ahead when they may be

function model(): tb.Sequential {
  const m = tb.sequential([tb.layers.dense({ units: 2, activation: 'softmax', inputShape: [FEATURES] })]);
  m.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
  return m;
}

describe('fit over memory the caller can detach', () => {
  it('a transfer during training ends fit with a TensorboltError in a child process (no crash) when the worker pool is held', () => {
    const r = spawnSync(process.execPath, ['--expose-gc', join(ROOT, 'test', 'reliability', 'children', 'detach-during-fit.mjs'), libraryBundle(), dir],
      { encoding: 'utf8', timeout: 60_000, env: { ...process.env, UV_THREADPOOL_SIZE: '2' } });
    expect(r.signal, `the child died: ${r.stderr.slice(-400)}`).toBeNull();
    expect(r.status, r.stderr.slice(-400)).toBe(0);
    expect(r.stdout).toMatch(/RESULT TensorboltError: fit: tensor #\d+ \[2048,4096\] lost its memory: the typed array it was made from now has 0 of its 8388608 elements/);
  });

  it('the caller\'s memory is gathered in line; library memory (mnist, clone, op results) still ahead on the worker', async () => {
    const spy = vi.spyOn(native(), 'gatherPairAsync');
    const mem = new Float32Array(64 * FEATURES).fill(0.25);
    const x = tb.tensor(mem, [64, FEATURES]);
    const y = tb.toCategorical(Int32Array.from({ length: 64 }, (_, i) => i % 2), 2);
    const m = model();
    await m.fit(x, y, { batchSize: 16, epochs: 1, verbose: 0 });
    expect(spy).not.toHaveBeenCalled();
    const own = x.clone();
    await m.fit(own, y, { batchSize: 16, epochs: 1, verbose: 0 });
    expect(spy).toHaveBeenCalledTimes(3); // batches 2..4 of 4
    // sparse labels the caller made are theirs as well: the pair is gathered in line
    spy.mockClear();
    const sparse = model();
    sparse.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
    await sparse.fit(own, tb.tensor(Int32Array.from({ length: 64 }, (_, i) => i % 2)), { batchSize: 16, epochs: 1, verbose: 0 });
    expect(spy).not.toHaveBeenCalled();
    tb.dispose([x, y, own]);
    m.dispose();
    sparse.dispose();
  });

  it('a transfer in a callback: the next batch throws a TensorboltError naming the tensor', async () => {
    const mem = new Float32Array(64 * FEATURES).fill(0.25);
    const x = tb.tensor(mem, [64, FEATURES]);
    const y = tb.toCategorical(Int32Array.from({ length: 64 }, (_, i) => i % 2), 2);
    const m = model();
    const onBatchEnd = (b: number) => { if (b === 0) structuredClone(mem.buffer, { transfer: [mem.buffer] }); };
    const err = await m.fit(x, y, { batchSize: 16, epochs: 1, verbose: 0, callbacks: { onBatchEnd } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(tb.TensorboltError);
    expect((err as Error).message).toMatch(/lost its memory: the typed array it was made from now has 0 of its 65536 elements \(its ArrayBuffer was transferred/);
    expect(() => x.dataSync()).toThrow(/dataSync: tensor #\d+ \[64,1024\] lost its memory/);
    expect(String(x)).toMatch(/memory detached/);
    tb.dispose([x, y]);
    m.dispose();
  });

  it('library memory disposed by a callback while its rows were being copied: fit stops before training on them', async () => {
    const x = tb.randn([64, FEATURES]);
    const y = tb.toCategorical(Int32Array.from({ length: 64 }, (_, i) => i % 2), 2);
    const m = model();
    let trained: number[][] = [];
    const onBatchEnd = (b: number) => {
      if (b !== 2) return;
      trained = m.parameters().map((p) => Array.from(p.dataSync()));
      x.dispose(); // batch 4's rows are being copied now
    };
    await expect(m.fit(x, y, { batchSize: 16, epochs: 1, verbose: 0, callbacks: { onBatchEnd } })).rejects.toThrow(/fit: tensor #\d+ \[64,1024\] was used after dispose/);
    expect(m.parameters().map((p) => Array.from(p.dataSync()))).toEqual(trained);
    y.dispose();
    m.dispose();
  });
});
