// The IDX format (LeCun's MNIST files): a 4-byte magic [0, 0, type, ndims], ndims big-endian u32
// sizes, then the values, big-endian, row-major. Files may be gzip-compressed (detected by content,
// not by name). Every malformed input gets an error naming the file and what is wrong with it.
import { existsSync, readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { basename } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { TensorboltError, fmtShape, fmtValue } from '../tensor/errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { MAX_RANK } from '../tensor/shape.js';

export type IdxDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDType;
  shape: number[];
  /** Row-major values in host byte order (a fresh array, owned by the caller). */
  data: IdxData;
}

interface TypeInfo {
  dtype: IdxDType;
  code: number;
  bytes: number;
  ctor: { new (n: number): IdxData };
}

const TYPES: TypeInfo[] = [
  { dtype: 'uint8', code: 0x08, bytes: 1, ctor: Uint8Array },
  { dtype: 'int8', code: 0x09, bytes: 1, ctor: Int8Array },
  { dtype: 'int16', code: 0x0b, bytes: 2, ctor: Int16Array },
  { dtype: 'int32', code: 0x0c, bytes: 4, ctor: Int32Array },
  { dtype: 'float32', code: 0x0d, bytes: 4, ctor: Float32Array },
  { dtype: 'float64', code: 0x0e, bytes: 8, ctor: Float64Array },
];

const LITTLE_ENDIAN_HOST = endianness() === 'LE';

function hex(n: number): string {
  return '0x' + n.toString(16).padStart(2, '0');
}

/** Reverses the byte order of every element in place (IDX is big-endian). */
function swapBytes(bytes: Uint8Array, width: number): void {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (width === 2) b.swap16();
  else if (width === 4) b.swap32();
  else if (width === 8) b.swap64();
}

export interface ReadIdxOptions {
  /** The name used in error messages when the source is a buffer. */
  name?: string;
}

/**
 * Reads an IDX file (path) or IDX bytes (buffer), gzip-compressed or not.
 * Throws TensorboltError('readIdx', ...) naming the file for a bad magic, an unknown type, zero or
 * too many dims, truncated data or trailing bytes.
 */
export function readIdx(source: string | Uint8Array, opts: ReadIdxOptions = {}): IdxArray {
  const op = 'readIdx';
  let name: string;
  let bytes: Uint8Array;
  if (typeof source === 'string') {
    name = source;
    if (!existsSync(source)) throw new TensorboltError(op, `file not found: ${source}`);
    try {
      bytes = readFileSync(source);
    } catch (e) {
      throw new TensorboltError(op, `cannot read ${source}: ${(e as Error).message}`);
    }
  } else if (source instanceof Uint8Array) {
    name = opts.name ?? '<buffer>';
    bytes = source;
  } else {
    throw new TensorboltError(op, `expected a file path or a Uint8Array, got ${source === null ? 'null' : typeof source}`);
  }
  return parseIdx(bytes, name);
}

function parseIdx(input: Uint8Array, name: string): IdxArray {
  const op = 'readIdx';
  const fail = (msg: string): never => {
    throw new TensorboltError(op, `${basename(name)}: ${msg} (file ${name})`);
  };
  let bytes = input;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      fail(`corrupt gzip data: ${(e as Error).message}`);
    }
  }
  if (bytes.length < 4) fail(`too short for an IDX header: ${bytes.length} bytes, need at least 4`);
  if (bytes[0] !== 0 || bytes[1] !== 0)
    fail(`bad magic number ${hex(bytes[0]!)} ${hex(bytes[1]!)}: an IDX file starts with 0x00 0x00`);
  const typeCode = bytes[2]!;
  const info = TYPES.find((t) => t.code === typeCode);
  if (!info)
    fail(`unknown element type ${hex(typeCode)}; expected one of ${TYPES.map((t) => `${hex(t.code)} (${t.dtype})`).join(', ')}`);
  const { dtype, bytes: width, ctor } = info!;
  const ndims = bytes[3]!;
  if (ndims === 0) fail('zero dimensions: an IDX array needs at least one');
  if (ndims > MAX_RANK) fail(`${ndims} dimensions exceed the maximum of ${MAX_RANK}`);
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes)
    fail(`truncated header: ${ndims} dimensions need ${headerBytes} header bytes, file has ${bytes.length}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let i = 0; i < ndims; i++) {
    const d = dv.getUint32(4 + 4 * i, false);
    shape.push(d);
    count *= d;
  }
  const expected = headerBytes + count * width;
  if (!Number.isSafeInteger(expected)) fail(`shape ${fmtShape(shape)} is too large`);
  if (bytes.length < expected)
    fail(`truncated data: shape ${fmtShape(shape)} of ${dtype} needs ${expected} bytes (header ${headerBytes} + data ${count * width}), file has ${bytes.length}`);
  if (bytes.length > expected)
    fail(`${bytes.length - expected} trailing bytes after the data: shape ${fmtShape(shape)} of ${dtype} needs ${expected} bytes, file has ${bytes.length}`);

  const data = new ctor(count);
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  raw.set(bytes.subarray(headerBytes, expected));
  if (width > 1 && LITTLE_ENDIAN_HOST) swapBytes(raw, width);
  return { dtype, shape, data };
}

function dtypeOf(data: IdxData): IdxDType | undefined {
  return TYPES.find((t) => data instanceof t.ctor)?.dtype;
}

/** Encodes an array as IDX bytes (uncompressed). The dtype follows the typed array's class. */
export function encodeIdx(arr: { shape: readonly number[]; data: IdxData; dtype?: IdxDType }): Buffer {
  const op = 'encodeIdx';
  if (arr === null || typeof arr !== 'object') throw new TensorboltError(op, `expects {shape, data}, got ${arr === null ? 'null' : typeof arr}`);
  const dtype = dtypeOf(arr.data);
  if (!dtype)
    throw new TensorboltError(op, `data must be a Uint8Array, Int8Array, Int16Array, Int32Array, Float32Array or Float64Array`);
  if (arr.dtype !== undefined && arr.dtype !== dtype)
    throw new TensorboltError(op, `dtype '${arr.dtype}' does not match the data (${dtype})`);
  const info = TYPES.find((t) => t.dtype === dtype)!;
  const shape = arr.shape;
  if (!Array.isArray(shape) || shape.length === 0 || shape.length > MAX_RANK)
    throw new TensorboltError(op, `shape ${fmtShape(shape)} must have 1 to ${MAX_RANK} dimensions`);
  let count = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff)
      throw new TensorboltError(op, `shape ${fmtShape(shape)} must hold non-negative 32-bit integers`);
    count *= d;
  }
  if (count !== arr.data.length)
    throw new TensorboltError(op, `${arr.data.length} values do not fit shape ${fmtShape(shape)}`);
  const header = 4 + 4 * shape.length;
  const out = Buffer.alloc(header + arr.data.byteLength);
  out[2] = info.code;
  out[3] = shape.length;
  shape.forEach((d, i) => out.writeUInt32BE(d, 4 + 4 * i));
  const body = out.subarray(header);
  body.set(new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength));
  if (info.bytes > 1 && LITTLE_ENDIAN_HOST) swapBytes(body, info.bytes);
  return out;
}

/** Writes an IDX file atomically; gzip-compressed when the path ends in .gz. */
export function writeIdx(path: string, arr: { shape: readonly number[]; data: IdxData; dtype?: IdxDType }): void {
  if (typeof path !== 'string' || path === '') throw new TensorboltError('writeIdx', `path must be a non-empty string, got ${fmtValue(path)}`);
  let bytes: Uint8Array = encodeIdx(arr);
  if (path.endsWith('.gz')) bytes = gzipSync(bytes);
  writeFileAtomic(path, bytes, 'writeIdx');
}
