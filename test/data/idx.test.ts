import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeIdx, readIdx, writeIdx, type IdxData } from '../../lib/data/idx.js';
import { TensorboltError } from '../../lib/tensor/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'tb-idx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An IDX file built byte by byte (big-endian), independent of encodeIdx. */
function handMade(typeCode: number, shape: number[], width: number, put: (dv: DataView, off: number, i: number) => void): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const header = 4 + 4 * shape.length;
  const bytes = new Uint8Array(header + n * width);
  const dv = new DataView(bytes.buffer);
  bytes[2] = typeCode;
  bytes[3] = shape.length;
  shape.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < n; i++) put(dv, header + i * width, i);
  return bytes;
}

const cases: { dtype: string; code: number; width: number; shape: number[]; data: IdxData; put: (dv: DataView, o: number, v: number) => void }[] = [
  { dtype: 'uint8', code: 0x08, width: 1, shape: [2, 3], data: Uint8Array.of(0, 1, 127, 128, 200, 255), put: (d, o, v) => d.setUint8(o, v) },
  { dtype: 'int8', code: 0x09, width: 1, shape: [5], data: Int8Array.of(-128, -1, 0, 1, 127), put: (d, o, v) => d.setInt8(o, v) },
  { dtype: 'int16', code: 0x0b, width: 2, shape: [1, 2, 2], data: Int16Array.of(-32768, -2, 258, 32767), put: (d, o, v) => d.setInt16(o, v, false) },
  { dtype: 'int32', code: 0x0c, width: 4, shape: [3, 1], data: Int32Array.of(-2147483648, 16909060, 2147483647), put: (d, o, v) => d.setInt32(o, v, false) },
  { dtype: 'float32', code: 0x0d, width: 4, shape: [2, 2], data: Float32Array.of(1.5, -0.1, 3.4e38, 1e-40), put: (d, o, v) => d.setFloat32(o, v, false) },
  { dtype: 'float64', code: 0x0e, width: 8, shape: [3], data: Float64Array.of(Math.PI, -1e-300, 1e300), put: (d, o, v) => d.setFloat64(o, v, false) },
];

describe('readIdx', () => {
  for (const c of cases) {
    it(`reads hand-made big-endian ${c.dtype} bytes`, () => {
      const bytes = handMade(c.code, c.shape, c.width, (dv, o, i) => c.put(dv, o, c.data[i]!));
      const got = readIdx(bytes);
      expect(got.dtype).toBe(c.dtype);
      expect(got.shape).toEqual(c.shape);
      expect(got.data.constructor).toBe(c.data.constructor);
      expect(Array.from(got.data)).toEqual(Array.from(c.data));
      // encodeIdx produces exactly the same bytes
      expect(Uint8Array.from(encodeIdx({ shape: c.shape, data: c.data }))).toEqual(bytes);
    });

    it(`round-trips ${c.dtype} through a file, plain and gzip`, () => {
      for (const name of [`a-${c.dtype}.idx`, `a-${c.dtype}.idx.gz`]) {
        const path = join(dir, name);
        writeIdx(path, { shape: c.shape, data: c.data });
        const got = readIdx(path);
        expect(got.dtype).toBe(c.dtype);
        expect(got.shape).toEqual(c.shape);
        expect(Array.from(got.data)).toEqual(Array.from(c.data));
      }
    });
  }

  it('detects gzip by content, not by the file name', () => {
    const path = join(dir, 'compressed-without-suffix');
    writeFileSync(path, gzipSync(encodeIdx({ shape: [4], data: Int32Array.of(1, -2, 3, -4) })));
    expect(Array.from(readIdx(path).data)).toEqual([1, -2, 3, -4]);
  });

  it('reads an empty array (a zero dimension)', () => {
    const got = readIdx(encodeIdx({ shape: [0, 28], data: new Float32Array(0) }));
    expect(got.shape).toEqual([0, 28]);
    expect(got.data.length).toBe(0);
  });

  it('returns memory owned by the caller, not a view of the input', () => {
    const bytes = encodeIdx({ shape: [3], data: Uint8Array.of(1, 2, 3) });
    const got = readIdx(bytes);
    got.data[0] = 9;
    expect(readIdx(bytes).data[0]).toBe(1);
  });

  it('leaves no temporary files behind after writeIdx', () => {
    writeIdx(join(dir, 'clean.idx'), { shape: [1], data: Uint8Array.of(1) });
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

describe('readIdx errors', () => {
  const good = () => Uint8Array.from(encodeIdx({ shape: [2, 3], data: Int16Array.of(1, 2, 3, 4, 5, 6) }));
  const expectErr = (fn: () => unknown, re: RegExp) => {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TensorboltError);
    expect((err as TensorboltError).op).toBe('readIdx');
    expect((err as Error).message).toMatch(re);
  };

  it('bad magic', () => {
    const b = good();
    b[0] = 0x12;
    expectErr(() => readIdx(b, { name: 'weird.idx' }), /weird\.idx.*bad magic number 0x12 0x00/);
  });

  it('unknown type byte', () => {
    const b = good();
    b[2] = 0x0a;
    expectErr(() => readIdx(b), /unknown element type 0x0a/);
  });

  it('zero dimensions', () => {
    expectErr(() => readIdx(Uint8Array.of(0, 0, 8, 0)), /zero dimensions/);
  });

  it('too many dimensions', () => {
    expectErr(() => readIdx(Uint8Array.of(0, 0, 8, 200)), /200 dimensions exceed the maximum/);
  });

  it('too short for a header', () => {
    expectErr(() => readIdx(Uint8Array.of(0, 0)), /too short.*2 bytes/);
    expectErr(() => readIdx(Uint8Array.of(0, 0, 8, 2, 0, 0, 0, 1)), /truncated header.*need 12 header bytes, file has 8/);
  });

  it('truncated data names expected and actual byte counts', () => {
    const b = good().subarray(0, 20 - 3);
    expectErr(() => readIdx(b, { name: 'short.idx' }), /short\.idx: truncated data: shape \[2,3\] of int16 needs 24 bytes.*file has 17/);
  });

  it('trailing garbage is an error', () => {
    const b = new Uint8Array(good().length + 5);
    b.set(good());
    expectErr(() => readIdx(b), /5 trailing bytes.*needs 24 bytes, file has 29/);
  });

  it('names the file for path sources', () => {
    const path = join(dir, 'broken.idx');
    writeFileSync(path, Uint8Array.of(1, 2, 3, 4, 5));
    expectErr(() => readIdx(path), new RegExp(`bad magic.*${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expectErr(() => readIdx(join(dir, 'nope.idx')), /file not found: .*nope\.idx/);
  });

  it('corrupt gzip', () => {
    const z = gzipSync(good());
    expectErr(() => readIdx(z.subarray(0, z.length - 10)), /corrupt gzip data/);
  });

  it('rejects sources that are neither path nor bytes', () => {
    expectErr(() => readIdx(42 as unknown as string), /expected a file path or a Uint8Array, got number/);
  });

  it('encodeIdx rejects a shape that does not fit the data', () => {
    expect(() => encodeIdx({ shape: [2, 2], data: new Uint8Array(3) })).toThrow(/encodeIdx: 3 values do not fit shape \[2,2\]/);
    expect(() => encodeIdx({ shape: [], data: new Uint8Array(1) })).toThrow(/1 to 8 dimensions/);
  });
});
