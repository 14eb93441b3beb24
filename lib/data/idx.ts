// The IDX format (LeCun's MNIST files): a 4-byte magic [0, 0, type, ndims], ndims big-endian u32
// sizes, then the values, big-endian, row-major. Files may be gzip-compressed (detected by content,
// not by name). Every malformed input gets an error naming the file and what is wrong with it.
import { endianness } from 'node:os';
import { basename } from 'node:path';
import { constants as zlibConstants, gunzipSync, gzipSync } from 'node:zlib';
import { TensorboltError, fmtShape, fmtValue } from '../tensor/errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { closeFile, isMissing, openRegular, readAt } from '../io/read_file.js';
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
 * too many dims, truncated data or trailing bytes. What is allocated is bounded by the header: a
 * plain file's size is checked against it before the data is read, and a gzip stream is inflated
 * no further than the header promises (a small file cannot inflate into gigabytes first).
 */
export function readIdx(source: string | Uint8Array, opts: ReadIdxOptions = {}): IdxArray {
  const op = 'readIdx';
  if (typeof source === 'string') return readIdxFile(source);
  if (source instanceof Uint8Array) return parseIdx(source, opts.name ?? '<buffer>');
  throw new TensorboltError(op, `expected a file path or a Uint8Array, got ${source === null ? 'null' : typeof source}`);
}

interface Header {
  info: TypeInfo;
  shape: number[];
  count: number;
  headerBytes: number;
  /** Bytes of the whole (uncompressed) file. */
  expected: number;
}

type Fail = (msg: string) => never;

function failFor(name: string): Fail {
  return (msg: string): never => {
    throw new TensorboltError('readIdx', `${basename(name)}: ${msg} (file ${name})`);
  };
}

const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
const MAX_HEADER_BYTES = 4 + 4 * 255;

/** The header at the start of bytes (which must hold all of it). */
function parseHeader(bytes: Uint8Array, fail: Fail): Header {
  if (bytes.length < 4) fail(`too short for an IDX header: ${bytes.length} bytes, need at least 4`);
  if (bytes[0] !== 0 || bytes[1] !== 0)
    fail(`bad magic number ${hex(bytes[0]!)} ${hex(bytes[1]!)}: an IDX file starts with 0x00 0x00`);
  const typeCode = bytes[2]!;
  const info = TYPES.find((t) => t.code === typeCode);
  if (!info)
    return fail(`unknown element type ${hex(typeCode)}; expected one of ${TYPES.map((t) => `${hex(t.code)} (${t.dtype})`).join(', ')}`);
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
  const expected = headerBytes + count * info.bytes;
  if (!Number.isSafeInteger(expected)) fail(`shape ${fmtShape(shape)} is too large`);
  return { info, shape, count, headerBytes, expected };
}

function sizeMismatch(h: Header, have: number, fail: Fail): never {
  const { shape, info, headerBytes, count, expected } = h;
  if (have < expected)
    fail(`truncated data: shape ${fmtShape(shape)} of ${info.dtype} needs ${expected} bytes (header ${headerBytes} + data ${count * info.bytes}), file has ${have}`);
  return fail(`${have - expected} trailing bytes after the data: shape ${fmtShape(shape)} of ${info.dtype} needs ${expected} bytes, file has ${have}`);
}

/** An empty array of the header's type and size (an allocation failure names the file). */
function allocate(h: Header, fail: Fail): IdxData {
  try {
    return new h.info.ctor(h.count);
  } catch (e) {
    return fail(`cannot allocate ${h.count} ${h.info.dtype} values for shape ${fmtShape(h.shape)}: ${(e as Error).message}`);
  }
}

function finish(h: Header, data: IdxData): IdxArray {
  if (h.info.bytes > 1 && LITTLE_ENDIAN_HOST) swapBytes(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), h.info.bytes);
  return { dtype: h.info.dtype, shape: h.shape, data };
}

/**
 * Inflates a gzip stream no further than its IDX header promises. The header comes first, from
 * growing prefixes of the input inflated with a sync flush (deflate expands at most ~1032:1, so a
 * prefix's output is bounded); then the whole stream, capped at the header's size plus one byte.
 */
function gunzipBounded(input: Uint8Array, fail: Fail): { header: Header; bytes: Uint8Array } {
  const inflate = (src: Uint8Array, max: number, partial: boolean): Buffer =>
    gunzipSync(src, { maxOutputLength: max, ...(partial ? { finishFlush: zlibConstants.Z_SYNC_FLUSH } : {}) });
  let head: Uint8Array = new Uint8Array(0);
  for (let n = 256; ; n *= 4) {
    const whole = n >= input.length;
    try {
      head = inflate(input.subarray(0, n), Math.min(n, input.length) * 1032 + 1024, !whole);
    } catch (e) {
      if (!whole) continue; // the prefix ended inside gzip's own header fields
      fail(`corrupt gzip data: ${(e as Error).message}`);
    }
    if (head.length >= 4 && head.length >= 4 + 4 * (head[3] ?? 0)) break;
    if (head.length >= MAX_HEADER_BYTES || whole) break;
  }
  const header = parseHeader(head, fail);
  if (header.expected > input.length * 1032 + 1024) sizeMismatch(header, head.length, fail); // it cannot inflate that far
  let bytes: Uint8Array;
  try {
    bytes = inflate(input, header.expected + 1, false);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      fail(`the gzip data inflates past the ${header.expected} bytes its header describes (shape ${fmtShape(header.shape)} of ${header.info.dtype}): trailing data`);
    fail(`corrupt gzip data: ${(e as Error).message}`);
  }
  return { header, bytes: bytes! };
}

function parseIdx(input: Uint8Array, name: string): IdxArray {
  const fail = failFor(name);
  let h: Header;
  let bytes = input;
  if (isGzip(input)) ({ header: h, bytes } = gunzipBounded(input, fail));
  else h = parseHeader(bytes, fail);
  if (bytes.length !== h.expected) sizeMismatch(h, bytes.length, fail);
  const data = allocate(h, fail);
  new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(bytes.subarray(h.headerBytes, h.expected));
  return finish(h, data);
}

/** A plain file's size is checked against its header before its data is read (into the result). */
function readIdxFile(path: string): IdxArray {
  const fail = failFor(path);
  let f;
  try {
    f = openRegular('readIdx', path, 'IDX file');
  } catch (e) {
    if (isMissing(e)) throw new TensorboltError('readIdx', `file not found: ${path}`);
    throw e;
  }
  try {
    const head = new Uint8Array(Math.min(f.size, MAX_HEADER_BYTES));
    readAt('readIdx', f, head, 0);
    if (isGzip(head)) {
      const all = new Uint8Array(f.size);
      readAt('readIdx', f, all, 0);
      return parseIdx(all, path);
    }
    const h = parseHeader(head, fail);
    if (f.size !== h.expected) sizeMismatch(h, f.size, fail);
    const data = allocate(h, fail);
    readAt('readIdx', f, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), h.headerBytes);
    return finish(h, data);
  } finally {
    closeFile(f);
  }
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
