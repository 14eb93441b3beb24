// Crash-safe file writes: write a temporary file in the same folder, fsync it, rename it over the
// target, then fsync the folder. A crash or a failed write leaves either the old file or the new
// one, never a torn one, and no temporary file is left behind by a failure we see.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { TensorboltError } from '../tensor/errors.js';

let counter = 0;

export function writeFileAtomic(path: string, data: Uint8Array | string, op = 'save'): void {
  const dir = dirname(path);
  const fail = (what: string, e: unknown): TensorboltError =>
    new TensorboltError(op, `${path}: cannot ${what}: ${(e as Error).message}`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw fail(`create the folder ${dir}`, e);
  }
  // Unique per process, thread and call; 'wx' refuses to reuse a name that somehow exists.
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${threadId}.${counter++}.tmp`);
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', 0o644);
  } catch (e) {
    throw fail('create a temporary file', e);
  }
  try {
    try {
      let off = 0;
      while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw fail('write it', e);
  }
  try {
    const dfd = openSync(dir, 'r');
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  } catch {
    // some file systems refuse fsync on folders; the rename itself is still atomic
  }
}
