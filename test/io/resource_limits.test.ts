// What a file can make us allocate is bounded by what its format promises, checked before the bytes
// are read: a gzip IDX inflates no further than its header says, model.json and a safetensors header
// have size caps, a safetensors file a tensor count cap, a file's size must match its header or
// manifest before it is read, and toCategorical does not size its output from one wild label.
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tb-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (name: string) => join(dir, `${n++}-${name}`);

/** A file of `size` bytes starting with `head`, the rest a hole (no disk used). */
function sparse(name: string, head: Uint8Array, size: number): string {
  const p = file(name);
  const fd = openSync(p, 'w');
  writeSync(fd, head);
  ftruncateSync(fd, size);
  closeSync(fd);
  return p;
}

const idxHeader = (type: number, shape: number[]) => {
  const b = Buffer.alloc(4 + 4 * shape.length);
  b[2] = type;
  b[3] = shape.length;
  shape.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
  return b;
};

/** The bytes of a gzip member holding raw deflate data, with a file name field of nameLen bytes. */
function gzipWithName(payload: Uint8Array, nameLen: number): Buffer {
  const plain = gzipSync(payload); // 10-byte header, deflate data, crc32, isize
  const name = Buffer.alloc(nameLen + 1, 'n');
  name[nameLen] = 0;
  const head = Buffer.from(plain.subarray(0, 10));
  head[3] |= 0x08; // FNAME
  return Buffer.concat([head, name, plain.subarray(10)]);
}

describe('gzip IDX: inflated no further than the header promises', () => {
  it('a small file that inflates to 64 MB behind a 10-byte header is refused after inflating 19 bytes', () => {
    const bomb = gzipSync(Buffer.concat([idxHeader(8, [10]), Buffer.alloc(64 << 20)]), { level: 1 });
    expect(bomb.length).toBeLessThan(1 << 20);
    const p = file('bomb.idx.gz');
    writeFileSync(p, bomb);
    for (const src of [p, bomb])
      expect(() => tb.data.readIdx(src)).toThrow(/the gzip data inflates past the 18 bytes its header describes \(shape \[10\] of uint8\): trailing data/);
  });

  it('a header promising more than the compressed bytes can hold is truncated, found without inflating it', () => {
    const z = gzipSync(Buffer.concat([idxHeader(8, [1_000_000_000]), Buffer.alloc(100)]));
    expect(() => tb.data.readIdx(z)).toThrow(/truncated data: shape \[1000000000\] of uint8 needs 1000000008 bytes/);
  });

  it('a valid gzip file still reads, also with a long name field in the gzip header', () => {
    const arr = { shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i - 5.5) };
    const raw = tb.data.encodeIdx(arr);
    for (const z of [gzipSync(raw), gzipWithName(raw, 5000)]) {
      const r = tb.data.readIdx(z);
      expect(r.shape).toEqual([3, 4]);
      expect(Array.from(r.data)).toEqual(Array.from(arr.data));
    }
  });
});

describe('sizes checked before reading', () => {
  it('a plain IDX file of 3 GB whose header says 10 bytes: refused from its size alone', () => {
    const p = sparse('huge.idx', idxHeader(8, [10]), 3 * 2 ** 30);
    expect(() => tb.data.readIdx(p)).toThrow(/3221225454 trailing bytes after the data: shape \[10\] of uint8 needs 18 bytes, file has 3221225472/);
  });

  it('a weights file of 3 GB for a manifest of 24 bytes', async () => {
    const d = mkdtempSync(join(dir, 'model-'));
    await tb.sequential([tb.layers.dense({ units: 2, inputShape: [2] })]).save(`file://${d}`);
    const weights = join(d, JSON.parse(readFileSync(join(d, 'model.json'), 'utf8')).weightsManifest[0].paths[0]);
    const fd = openSync(weights, 'r+');
    ftruncateSync(fd, 3 * 2 ** 30);
    closeSync(fd);
    await expect(tb.loadModel(`file://${d}`)).rejects.toThrow(/the manifest describes 24 bytes of weights but the weights file weights-[0-9a-f]+\.bin holds 3221225472 bytes \(trailing data/);
  });

  it('model.json over 16 MiB is refused before it is read', async () => {
    const d = mkdtempSync(join(dir, 'json-'));
    const p = join(d, 'model.json');
    const fd = openSync(p, 'w');
    writeSync(fd, Buffer.from('{"modelTopology":'));
    ftruncateSync(fd, 17 << 20);
    closeSync(fd);
    await expect(tb.loadModel(`file://${d}`)).rejects.toThrow(new RegExp(`^loadModel: ${p}: the model\\.json is 17825792 bytes, over the limit of 16777216 \\(model\\.json holds the topology`));
  });

  it('a safetensors header length over 16 MiB is refused before the header is read', () => {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(20n << 20n);
    const p = sparse('bighead.safetensors', len, 8 + (20 << 20) + 16);
    expect(() => tb.load(p)).toThrow(/corrupted: header length 20971520 is beyond the 16777216-byte limit/);
  });

  it('a safetensors header naming more than 131072 tensors', () => {
    const count = 131_073;
    const parts: string[] = [];
    for (let i = 0; i < count; i++) parts.push(`"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
    const head = Buffer.from(`{${parts.join(',')}}`);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(head.length));
    const p = file('many.safetensors');
    writeFileSync(p, Buffer.concat([len, head]));
    expect(head.length).toBeLessThan(16 << 20);
    expect(() => tb.load(p)).toThrow(/the header names 131073 tensors; at most 131072 are read from one file/);
  });
});

describe('toCategorical', () => {
  it('does not size its output from one wild label', () => {
    expect(() => tb.toCategorical([3, 70_000, 1])).toThrow(/^toCategorical: labels\[1\] = 70000 would make 70001 classes; numClasses is inferred up to 65536 \(pass numClasses to go beyond\)/);
    expect(() => tb.toCategorical([2 ** 31])).toThrow(/labels\[0\] = 2147483648 would make 2147483649 classes/);
    const t = tb.toCategorical([70_000], 70_001); // asked for: allowed
    expect(t.shape).toEqual([1, 70_001]);
    t.dispose();
  });
});
