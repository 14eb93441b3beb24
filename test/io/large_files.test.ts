// Files over 2 GiB load: readFileSync refused them ("File size is greater than 2 GiB") and one
// read(2) moves at most ~2 GiB, so files are read in chunks, straight into each tensor's memory. Here
// a tiny chunk size proves the chunk loop, for safetensors and for weights files (a weight may span
// two of them), and reads at offsets past 4 GiB work; test/soak/large_files.soak.ts loads a real
// 2 GiB + 64-byte safetensors file (2 GiB of memory and, on a busy 2-core machine, ~20 s of reading).
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';

const reads = { count: 0 };
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const readSync = ((...a: unknown[]) => {
    reads.count++;
    return (fs.readSync as (...x: unknown[]) => number)(...a);
  }) as typeof fs.readSync;
  return { ...fs, default: { ...fs, readSync }, readSync };
});

const tb = await import('../../lib/index.js');
const { closeFile, openRegular, readAt, setReadChunkBytes } = await import('../../lib/io/read_file.js');

const dir = mkdtempSync(join(tmpdir(), 'tb-large-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => void setReadChunkBytes(1 << 30));

describe('files over 2 GiB', () => {
  it('reads at offsets past 2^32 of a sparse 4 GiB file (the whole 2 GiB load: test/soak/large_files.soak.ts)', () => {
    const f = join(dir, 'sparse.bin');
    const fd = openSync(f, 'w');
    ftruncateSync(fd, 2 ** 32 + 64);
    writeSync(fd, Buffer.from(Float64Array.of(Math.PI).buffer), 0, 8, 2 ** 32 + 48);
    closeSync(fd);
    const r = openRegular('test', f);
    try {
      expect(r.size).toBe(2 ** 32 + 64);
      const out = new Float64Array(2);
      readAt('test', r, new Uint8Array(out.buffer), 2 ** 32 + 48);
      expect(Array.from(out)).toEqual([Math.PI, 0]);
      expect(() => readAt('test', r, new Uint8Array(32), 2 ** 32 + 48)).toThrow(/sparse\.bin: truncated: ended at byte 4294967360, 16 bytes short/);
    } finally {
      closeFile(r);
    }
    rmSync(f);
  });
});

describe('chunked reads', () => {
  it('safetensors tensors read in 64-byte chunks give the same values', () => {
    const f = join(dir, 'small.safetensors');
    const a = tb.randn([37, 5]);
    const b = tb.tensor(Int32Array.from({ length: 100 }, (_, i) => i * 7 - 300));
    tb.save({ a, b }, f);
    setReadChunkBytes(64);
    reads.count = 0;
    const back = tb.load(f);
    expect(reads.count).toBeGreaterThan(Math.ceil((37 * 5 * 4) / 64) + Math.ceil(400 / 64));
    expect(Array.from(back.a!.dataSync())).toEqual(Array.from(a.dataSync()));
    expect(Array.from(back.b!.dataSync())).toEqual(Array.from(b.dataSync()));
  });

  it('weights read in 16-byte chunks, split over two files in the middle of a weight', async () => {
    const d = mkdtempSync(join(dir, 'model-'));
    const m = tb.sequential([tb.layers.dense({ units: 7, inputShape: [5] }), tb.layers.dense({ units: 3 })]);
    await m.save(`file://${d}`);
    const json = JSON.parse(readFileSync(join(d, 'model.json'), 'utf8'));
    const all = readFileSync(join(d, json.weightsManifest[0].paths[0]));
    const cut = 4 * 17; // inside the first kernel (5 x 7 floats)
    writeFileSync(join(d, 'group1-shard1of2.bin'), all.subarray(0, cut));
    writeFileSync(join(d, 'group1-shard2of2.bin'), all.subarray(cut));
    json.weightsManifest[0].paths = ['group1-shard1of2.bin', 'group1-shard2of2.bin'];
    writeFileSync(join(d, 'model.json'), JSON.stringify(json));
    setReadChunkBytes(16);
    reads.count = 0;
    const back = await tb.loadModel(`file://${d}`);
    expect(reads.count).toBeGreaterThan(all.length / 16);
    const x = tb.randn([4, 5]);
    expect(Array.from(back.predict(x).dataSync())).toEqual(Array.from(m.predict(x).dataSync()));
  });
});
