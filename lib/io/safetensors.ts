// safetensors (the Hugging Face format PyTorch users share weights in):
//   8 bytes   N, the header length, unsigned little-endian
//   N bytes   JSON: { "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, ...,
//             "__metadata__": { "<key>": "<string>" } }, padded with spaces to a multiple of 8
//   the rest  the tensors' bytes, little-endian, row-major, offsets relative to here, no gaps
// tb.save(stateDict, 'x.safetensors') writes float32 tensors as F32 and int32 as I32 (atomically);
// tb.load reads those, and converts what PyTorch commonly writes: F16, BF16 and F64 to float32,
// I64 (when every value fits), I16, I8, U8 and BOOL to int32. Every malformed file gets an error
// that names the file and what is wrong.
import { resolve } from 'node:path';
import { checkOptions, fmtValue, TensorboltError } from '../tensor/errors.js';
import { Tensor, copyTo, hostValues, wrap } from '../tensor/tensor.js';
import { MAX_RANK } from '../tensor/shape.js';
import { backendFor, type DeviceName } from '../tensor/device.js';
import { Module } from '../nn/module.js';
import { writeFileAtomic } from './atomic.js';
import { closeFile, openRegular, readAt } from './read_file.js';

export type TensorDict = Record<string, Tensor>;

export interface SafetensorsFile {
  tensors: TensorDict;
  /** The header's __metadata__ (string to string), {} when absent. */
  metadata: Record<string, string>;
}

/** Bytes per element of each dtype we read. */
const SIZE = new Map<string, number>([['F32', 4], ['I32', 4], ['F16', 2], ['BF16', 2], ['F64', 8], ['I64', 8], ['I16', 2], ['I8', 1], ['U8', 1], ['BOOL', 1]]);
/**
 * Bounds on what a header can make us allocate. The format allows 100 MB, whose JSON takes gigabytes
 * to parse into objects; real headers are far smaller (about 100 bytes a tensor: a file of 10,000
 * tensors has a 1 MB header).
 */
export const MAX_HEADER = 16 * 1024 * 1024;
export const MAX_TENSORS = 131_072;

/** obj[key] = value as an own property, also for '__proto__'. */
function define(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The file's bytes for a dict of tensors (names sorted, so equal dicts give equal files). */
export function serializeSafetensors(tensors: TensorDict, metadata: Record<string, string> = {}, op = 'save'): Uint8Array {
  if (!tensors || typeof tensors !== 'object' || Array.isArray(tensors))
    throw new TensorboltError(op, `expected an object of named tensors (e.g. module.stateDict()), got ${Array.isArray(tensors) ? 'an array' : typeof tensors}`);
  if (!metadata || typeof metadata !== 'object') throw new TensorboltError(op, 'metadata must be an object of strings');
  for (const [k, v] of Object.entries(metadata))
    if (typeof v !== 'string') throw new TensorboltError(op, `metadata['${k}'] must be a string, got ${typeof v} (safetensors metadata maps strings to strings)`);
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    if (name === '' || name === '__metadata__') throw new TensorboltError(op, `'${name}' cannot name a tensor in safetensors`);
    if (!(t instanceof Tensor))
      throw new TensorboltError(op, `'${name}' is not a Tensor (got ${t === null ? 'null' : typeof t}): pass an object of named tensors, such as model.stateDict()`);
    const data = hostValues(t, op); // a device tensor is read back
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    // defined, not assigned: a tensor named __proto__ must become a key, not the object's prototype
    define(header, name, { dtype: t.dtype === 'int32' ? 'I32' : 'F32', shape: t.shape.slice(), data_offsets: [offset, offset + bytes.byteLength] });
    parts.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  // pad with spaces so the data section starts 8-byte aligned, as the reference writer does
  const jsonLen = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - ((8 + jsonLen) % 8)) % 8);
  const head = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + head.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.byteLength), true);
  out.set(head, 8);
  let p = 8 + head.byteLength;
  for (const b of parts) {
    out.set(b, p);
    p += b.byteLength;
  }
  return out;
}

/** Where one tensor's bytes are, relative to the data section. */
interface TensorSpec {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Checks the header's text against a data section of dataLen bytes: entries, dtypes, shapes, offsets
 * that tile the section exactly. Nothing is allocated for the tensors yet.
 */
function parseHeader(text: string, dataLen: number, bad: (what: string) => TensorboltError): { metadata: Record<string, string>; specs: TensorSpec[] } {
  if (!text.startsWith('{')) throw bad('corrupted: the header is not a JSON object (not a safetensors file?)');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw bad(`corrupted header: ${(e as Error).message}`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw bad('corrupted: the header is not a JSON object');
  const names = Object.keys(header);
  const count = names.length - (Object.prototype.hasOwnProperty.call(header, '__metadata__') ? 1 : 0);
  if (count > MAX_TENSORS) throw bad(`the header names ${count} tensors; at most ${MAX_TENSORS} are read from one file (split it)`);
  let metadata: Record<string, string> = {};
  const specs: TensorSpec[] = [];
  for (const name of names) {
    const raw = header[name];
    if (name === '__metadata__') {
      if (!raw || typeof raw !== 'object' || Array.isArray(raw) || !Object.values(raw).every((v) => typeof v === 'string'))
        throw bad('__metadata__ must map strings to strings');
      metadata = raw as Record<string, string>;
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e !== 'object') throw bad(`entry '${name}' is not an object`);
    const dtype = typeof e.dtype === 'string' ? e.dtype : '';
    const size = SIZE.get(dtype);
    if (!size) throw bad(`tensor '${name}' has dtype ${fmtValue(e.dtype)}; supported: ${[...SIZE.keys()].join(', ')}`);
    if (!Array.isArray(e.shape) || e.shape.length > MAX_RANK || !e.shape.every((d) => Number.isInteger(d) && d >= 0))
      throw bad(`tensor '${name}' has an invalid shape ${fmtValue(e.shape)} (non-negative integer sizes, at most ${MAX_RANK} of them)`);
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0) || offs[0] > offs[1])
      throw bad(`tensor '${name}' has invalid data_offsets ${fmtValue(offs)}`);
    const [b, end] = offs as [number, number];
    const shape = e.shape as number[];
    const count = shape.reduce((a, d) => a * d, 1);
    if (end - b !== count * size)
      throw bad(`tensor '${name}' is ${dtype} [${shape.join(',')}] (${count * size} bytes) but its data_offsets span ${end - b} bytes`);
    if (end > dataLen)
      throw bad(`truncated: tensor '${name}' ends at byte ${end} of the data section, which holds only ${dataLen} bytes`);
    specs.push({ name, dtype, shape, begin: b, end });
  }
  const ranges = specs.slice().sort((x, y) => x.begin - y.begin || x.end - y.end);
  let pos = 0;
  for (const { begin, end, name } of ranges) {
    if (begin < pos) throw bad(`corrupted: tensor '${name}' overlaps the tensor before it (bytes ${begin}..${end})`);
    if (begin > pos) throw bad(`corrupted: ${begin - pos} bytes before tensor '${name}' belong to no tensor`);
    pos = end;
  }
  if (pos !== dataLen) throw bad(`corrupted: ${dataLen - pos} bytes after the last tensor belong to no tensor (the file is longer than its header says)`);
  return { metadata, specs };
}

/** The header length field, checked against the limit and the bytes that follow it. */
function headerLength(lenField: Uint8Array, available: number, bad: (what: string) => TensorboltError): number {
  const n = new DataView(lenField.buffer, lenField.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER))
    throw bad(`corrupted: header length ${n} is beyond the ${MAX_HEADER}-byte limit (real headers take about 100 bytes a tensor; a damaged length field, or not a safetensors file?)`);
  const headerLen = Number(n);
  if (headerLen > available) throw bad(`truncated: the header says it is ${headerLen} bytes but only ${available} follow the length field`);
  return headerLen;
}

/** The tensors of specs, each read straight into its own memory by read(dataOffset, into). */
function readTensors(specs: TensorSpec[], read: (pos: number, into: Uint8Array) => void, bad: (what: string) => TensorboltError): TensorDict {
  const tensors: TensorDict = {};
  for (const { name, dtype, shape, begin, end } of specs) {
    let data: Float32Array | Int32Array;
    try {
      if (dtype === 'F32' || dtype === 'I32') {
        // straight into the tensor's array: no copy of the file's bytes (little-endian, as the host)
        data = dtype === 'F32' ? new Float32Array((end - begin) / 4) : new Int32Array((end - begin) / 4);
        read(begin, new Uint8Array(data.buffer));
      } else {
        const raw = new Uint8Array(end - begin);
        read(begin, raw);
        data = decode(raw, dtype, () => bad(`tensor '${name}' (I64) holds a value outside the int32 range`));
      }
    } catch (e) {
      if (e instanceof TensorboltError) throw e;
      throw bad(`cannot allocate tensor '${name}' (${dtype} [${shape.join(',')}]): ${(e as Error).message}`);
    }
    // arrays made here and never handed out: the library's own memory (fit may read it off-thread)
    define(tensors, name, wrap(data, shape, data instanceof Float32Array ? 'float32' : 'int32', false));
  }
  return tensors;
}

/** Parses a safetensors file's bytes; `file` names the source in errors. */
export function parseSafetensors(bytes: Uint8Array, file: string, op = 'load'): SafetensorsFile {
  const bad = (what: string) => new TensorboltError(op, `${file}: ${what}`);
  if (!(bytes instanceof Uint8Array)) throw new TensorboltError(op, `expects the file's bytes as a Uint8Array or Buffer, got ${fmtValue(bytes)}`);
  if (bytes.byteLength < 8) throw bad(`truncated: ${bytes.byteLength} bytes, shorter than the 8-byte header length (not a safetensors file, or cut short)`);
  const headerLen = headerLength(bytes.subarray(0, 8), bytes.byteLength - 8, bad);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLen).toString('utf8');
  const dataStart = 8 + headerLen;
  const { metadata, specs } = parseHeader(text, bytes.byteLength - dataStart, bad);
  const tensors = readTensors(specs, (pos, into) => into.set(bytes.subarray(dataStart + pos, dataStart + pos + into.byteLength)), bad);
  return { tensors, metadata };
}

function decode(raw: Uint8Array, dtype: string, outOfRange: () => Error): Float32Array | Int32Array {
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const n = raw.byteLength / SIZE.get(dtype)!;
  switch (dtype) {
    case 'F32': return new Float32Array(raw.buffer, raw.byteOffset, n);
    case 'I32': return new Int32Array(raw.buffer, raw.byteOffset, n);
    case 'F64': return Float32Array.from({ length: n }, (_, i) => dv.getFloat64(i * 8, true));
    case 'F16': return Float32Array.from({ length: n }, (_, i) => halfToFloat(dv.getUint16(i * 2, true)));
    case 'BF16': {
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = dv.getUint16(i * 2, true) << 16;
      return out;
    }
    case 'I64': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = dv.getBigInt64(i * 8, true);
        if (v > 2147483647n || v < -2147483648n) throw outOfRange();
        out[i] = Number(v);
      }
      return out;
    }
    case 'I16': return Int32Array.from({ length: n }, (_, i) => dv.getInt16(i * 2, true));
    case 'I8': return Int32Array.from({ length: n }, (_, i) => dv.getInt8(i));
    default: return Int32Array.from(raw); // U8, BOOL
  }
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** tb.save(module.stateDict(), 'x.safetensors'): writes the named tensors atomically. */
/**
 * Writes named tensors to a safetensors file: a module's state dict, `tb.save(net.stateDict(), p)`,
 * or the module itself, `tb.save(net, p)` (as torch.save(model.state_dict(), p)). Read it back with
 * `net.loadStateDict(tb.load(p))`.
 */
export function save(tensors: TensorDict | Module, path: string, opts: { metadata?: Record<string, string> } = {}): void {
  checkOptions('save', opts);
  writeSafetensors(path, tensors instanceof Module ? tensors.stateDict() : tensors, opts.metadata ?? {}, 'save');
}

/** @internal save() under another op name (for errors). */
export function writeSafetensors(path: string, tensors: TensorDict, metadata: Record<string, string>, op: string): void {
  if (typeof path !== 'string' || path === '') throw new TensorboltError(op, `path must be a non-empty string, got ${fmtValue(path)}`);
  writeFileAtomic(resolve(path), serializeSafetensors(tensors, metadata, op), op);
}

/**
 * Reads a safetensors file: its tensors and its metadata. The header is checked against the file's
 * size before any tensor memory is allocated, and each tensor is read straight into its own array
 * (files over 2 GiB included).
 */
export function loadSafetensors(path: string, op = 'load'): SafetensorsFile {
  if (typeof path !== 'string' || path === '') throw new TensorboltError(op, `path must be a non-empty string, got ${fmtValue(path)}`);
  const abs = resolve(path);
  const bad = (what: string) => new TensorboltError(op, `${abs}: ${what}`);
  const f = openRegular(op, abs, 'safetensors file');
  try {
    if (f.size < 8) throw bad(`truncated: ${f.size} bytes, shorter than the 8-byte header length (not a safetensors file, or cut short)`);
    const lenField = new Uint8Array(8);
    readAt(op, f, lenField, 0);
    const headerLen = headerLength(lenField, f.size - 8, bad);
    const head = new Uint8Array(headerLen);
    readAt(op, f, head, 8);
    const dataStart = 8 + headerLen;
    const { metadata, specs } = parseHeader(Buffer.from(head.buffer).toString('utf8'), f.size - dataStart, bad);
    return { tensors: readTensors(specs, (pos, into) => readAt(op, f, into, dataStart + pos), bad), metadata };
  } finally {
    closeFile(f);
  }
}

/**
 * tb.load('x.safetensors'): the named tensors (pass them to module.loadStateDict), on the default
 * device or on opts.device. A file saved from any device loads on any device.
 */
export function load(path: string, opts: { device?: DeviceName } = {}): TensorDict {
  checkOptions('load', opts);
  const be = backendFor('load', opts.device);
  const tensors = loadSafetensors(path).tensors;
  for (const [k, t] of Object.entries(tensors)) {
    if (t._be === be) continue;
    define(tensors, k, copyTo(t, be, 'load')); // defined: a tensor may be named __proto__
    t.dispose();
  }
  return tensors;
}
