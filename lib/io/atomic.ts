// Crash-safe file writes: write a temporary file in the same folder, fsync it, rename it over the
// target, then fsync the folder. A crash or a failed write leaves either the old file or the new
// one, never a torn one, and no temporary file is left behind by a failure we see.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, basename, join } from 'node:path';
import { TensorboltError } from '../tensor/errors.js';

// Every file the library writes goes through here (model.json and its weights, safetensors,
// checkpoints, IDX). The temporary name is random and opened with O_EXCL ('wx'), which never follows
// a symlink: a link planted where a predictable name would go (an attacker's, in a shared folder)
// can neither redirect the write nor be guessed. A name that exists is skipped, not reused.
const TRIES = 8;

export function writeFileAtomic(path: string, data: Uint8Array | string, op = 'save'): void {
  const dir = dirname(path);
  const fail = (what: string, e: unknown): TensorboltError =>
    new TensorboltError(op, `${path}: cannot ${what}: ${(e as Error).message}`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw fail(`create the folder ${dir}`, e);
  }
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let fd = -1;
  let tmp = '';
  for (let i = 0; fd < 0; i++) {
    tmp = join(dir, `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
    try {
      fd = openSync(tmp, 'wx', 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || i + 1 >= TRIES) throw fail('create a temporary file', e);
    }
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
