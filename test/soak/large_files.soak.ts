// `npm run test:soak`: a real safetensors file of 2 GiB + 64 bytes (sparse: no disk) loads through
// tb.load, its first and last values included. Before chunked reads it failed with "File size
// (2147483792) is greater than 2 GiB". Needs 2 GiB of free memory; kept out of `npm test` for the
// time reading 2 GiB takes on a busy machine (test/io/large_files.test.ts has the quick checks).
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tb-large-soak-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('files over 2 GiB', () => {
  it('a 2 GiB + 64-byte safetensors tensor loads, its last value included', () => {
    const n = 2 ** 29 + 16;
    const json = JSON.stringify({ w: { dtype: 'F32', shape: [n], data_offsets: [0, n * 4] } });
    const head = Buffer.from(json + ' '.repeat((8 - ((8 + json.length) % 8)) % 8));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(head.length));
    const f = join(dir, 'big.safetensors');
    const fd = openSync(f, 'w');
    writeSync(fd, Buffer.concat([len, head]));
    ftruncateSync(fd, 8 + head.length + n * 4);
    writeSync(fd, Buffer.from(Float32Array.of(1.5).buffer), 0, 4, 8 + head.length);
    writeSync(fd, Buffer.from(Float32Array.of(7).buffer), 0, 4, 8 + head.length + (n - 1) * 4);
    closeSync(fd);
    const started = Date.now();
    const w = tb.load(f).w!;
    console.log(`large files: ${(8 + head.length + n * 4) / 2 ** 30} GiB loaded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(w.shape).toEqual([n]);
    const d = w.f32('test');
    expect([d[0], d[1], d[n - 2], d[n - 1]]).toEqual([1.5, 0, 0, 7]);
    w.dispose();
  });
});
