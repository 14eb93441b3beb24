// writeFileAtomic: temporary file, fsync, rename. A failure leaves the old file and no temporary file.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../lib/io/atomic.js';
import { TensorboltError } from '../../lib/index.js';
import { cleanTempDirs, tempDir } from './tfjs_helpers.js';

afterAll(cleanTempDirs);

describe('writeFileAtomic', () => {
  it('writes, replaces, creates folders, and leaves no temporary file', () => {
    const dir = tempDir();
    const file = join(dir, 'sub', 'deeper', 'a.bin');
    writeFileAtomic(file, Uint8Array.of(1, 2, 3));
    expect([...readFileSync(file)]).toEqual([1, 2, 3]);
    writeFileAtomic(file, 'replaced');
    expect(readFileSync(file, 'utf8')).toBe('replaced');
    expect(readdirSync(join(dir, 'sub', 'deeper'))).toEqual(['a.bin']);
  });

  it('when the rename fails, the old target stays and the temporary file is removed', () => {
    const dir = tempDir();
    const target = join(dir, 'model.json');
    mkdirSync(target); // a non-empty folder cannot be replaced by a file
    writeFileSync(join(target, 'keep.txt'), 'old');
    let err: unknown;
    try {
      writeFileAtomic(target, 'new', 'save');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TensorboltError);
    expect((err as Error).message).toContain(`save: ${target}: cannot write it`);
    expect(readFileSync(join(target, 'keep.txt'), 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['model.json']);
  });

  it('when the folder cannot be created, the error names the file', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'plain-file'), 'x');
    const file = join(dir, 'plain-file', 'w.bin');
    expect(() => writeFileAtomic(file, 'data', 'saveCheckpoint')).toThrow(new RegExp(`^saveCheckpoint: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: cannot create the folder`));
  });
});
