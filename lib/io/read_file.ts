// Reading the files we are handed (weights, model.json, safetensors, IDX). Only regular files: a
// FIFO blocks forever and /dev/zero never ends. Sizes come from fstat and are checked against what
// the caller expects before a byte is read, so a file cannot make us allocate more than its format
// allows. Reads go in chunks: one read(2) moves at most 2 GiB, and readFileSync refuses files over
// 2 GiB, which large safetensors and weights files are.
import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { TensorboltError } from '../tensor/errors.js';

/** An open regular file; close it with closeFile. */
export interface RegularFile {
  readonly fd: number;
  readonly path: string;
  readonly size: number;
}

let chunkBytes = 1 << 30;

/** @internal Tests shrink the chunk to see a file read in several pieces. Returns the old size. */
export function setReadChunkBytes(bytes: number): number {
  const old = chunkBytes;
  chunkBytes = bytes;
  return old;
}

function kind(st: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

const missing = new WeakSet<object>();

/** Whether openRegular threw because the file does not exist (callers may retry, or say it their way). */
export function isMissing(e: unknown): boolean {
  return typeof e === 'object' && e !== null && missing.has(e);
}

/** Opens path for reading; `what` names it in errors ("weights file"). */
export function openRegular(op: string, path: string, what = 'file'): RegularFile {
  const fail = (msg: string) => new TensorboltError(op, `${path}: ${msg}`);
  // stat first: open(2) on a FIFO waits for a writer. O_NONBLOCK covers a file swapped in between.
  // (A file removed between the two calls, as a concurrent save removes old weights, is missing too.)
  const failOn = (e: unknown): TensorboltError => {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return fail(`cannot read the ${what}: ${(e as Error).message}`);
    const err = fail('no such file');
    missing.add(err);
    return err;
  };
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw failOn(e);
  }
  if (!st.isFile()) throw fail(`the ${what} is ${kind(st)}, not a regular file`);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw failOn(e);
  }
  const now = fstatSync(fd);
  if (!now.isFile()) {
    closeSync(fd);
    throw fail(`the ${what} is ${kind(now)}, not a regular file`);
  }
  return { fd, path, size: now.size };
}

export function closeFile(f: RegularFile): void {
  closeSync(f.fd);
}

/** Fills `into` from byte `position` of f, in chunks; a file that ends early is an error. */
export function readAt(op: string, f: RegularFile, into: Uint8Array, position: number): void {
  let done = 0;
  while (done < into.byteLength) {
    const len = Math.min(chunkBytes, into.byteLength - done);
    let n: number;
    try {
      n = readSync(f.fd, into, done, len, position + done);
    } catch (e) {
      throw new TensorboltError(op, `${f.path}: cannot read: ${(e as Error).message}`);
    }
    if (n === 0)
      throw new TensorboltError(op, `${f.path}: truncated: ended at byte ${position + done}, ${into.byteLength - done} bytes short (was it changed while being read?)`);
    done += n;
  }
}

/** The whole file, refused before reading when it is over maxBytes (`limit` says why). */
export function readRegularFile(op: string, path: string, maxBytes: number, what = 'file', limit = ''): Uint8Array {
  const f = openRegular(op, path, what);
  try {
    if (f.size > maxBytes)
      throw new TensorboltError(op, `${path}: the ${what} is ${f.size} bytes, over the limit of ${maxBytes}${limit ? ` (${limit})` : ''}`);
    const out = new Uint8Array(f.size);
    readAt(op, f, out, 0);
    return out;
  } finally {
    closeFile(f);
  }
}
