// Writes never go through a symlink planted in the target folder. The temporary file's name is
// random and opened exclusively (O_EXCL does not follow links); here the random source is made
// predictable, so the planted links sit exactly at the first names the writer tries.
import { lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { cleanTempDirs, tempDir } from './tfjs_helpers.js';

const rigged = { on: false, next: 0, step: 1 };
vi.mock('node:crypto', async (importOriginal) => {
  const crypto = await importOriginal<typeof import('node:crypto')>();
  const randomBytes = ((n: number) => (rigged.on ? Buffer.alloc(n, (rigged.next += rigged.step) - rigged.step) : crypto.randomBytes(n))) as typeof crypto.randomBytes;
  return { ...crypto, default: { ...crypto, randomBytes }, randomBytes };
});

const tb = await import('../../lib/index.js');
const { writeIdx, readIdx } = tb.data;

afterAll(cleanTempDirs);
afterEach(() => {
  rigged.on = false;
  rigged.step = 1;
  vi.restoreAllMocks();
});

/** A file outside the target folder, and links to it at the names a predictable writer would use. */
function plant(dir: string, target: string, names: string[]): string {
  const victim = join(tempDir(), 'victim.txt');
  writeFileSync(victim, 'precious');
  mkdirSync(dir, { recursive: true });
  for (const n of names) symlinkSync(victim, join(dir, n));
  return victim;
}

describe('a symlink planted at a temporary name', () => {
  it('writeIdx: the old predictable name (pid and clock) is not used', () => {
    const dir = join(tempDir(), 'out');
    const path = join(dir, 'a.idx');
    vi.spyOn(Date, 'now').mockReturnValue(1234);
    const victim = plant(dir, path, [`a.idx.tmp-${process.pid}-1234`]);
    writeIdx(path, { shape: [3], data: Uint8Array.of(1, 2, 3) });
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(Array.from(readIdx(path).data)).toEqual([1, 2, 3]);
    expect(lstatSync(path).isSymbolicLink()).toBe(false);
  });

  it.each([
    ['writeIdx', 'a.idx', (p: string) => writeIdx(p, { shape: [2], data: Uint8Array.of(7, 8) })],
    ['tb.save', 'w.safetensors', (p: string) => tb.save({ w: tb.ones([2]) }, p)],
    ['saveCheckpoint', 'c.safetensors', (p: string) => tb.saveCheckpoint(p, { model: new tb.nn.Linear(2, 1) })],
  ])('%s: names that exist (links included) are skipped, never opened', (_name, file, write) => {
    const dir = join(tempDir(), 'out');
    const path = join(dir, file);
    const taken = [0, 1, 2].map((b) => `.${file}.${Buffer.alloc(8, b).toString('hex')}.tmp`);
    const victim = plant(dir, path, taken);
    rigged.on = true;
    rigged.next = 0;
    write(path);
    rigged.on = false;
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(readdirSync(dir).sort()).toEqual([...taken, file].sort());
    for (const t of taken) expect(lstatSync(join(dir, t)).isSymbolicLink()).toBe(true);
  });

  it('gives up with a TensorboltError when every name it tries is taken', () => {
    const dir = join(tempDir(), 'out');
    const path = join(dir, 'w.safetensors');
    const victim = plant(dir, path, [`.w.safetensors.${Buffer.alloc(8, 5).toString('hex')}.tmp`]);
    rigged.on = true;
    rigged.next = 5;
    rigged.step = 0; // the same name every time
    expect(() => tb.save({ w: tb.ones([2]) }, path)).toThrow(/^save: .*w\.safetensors: cannot create a temporary file: EEXIST/);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
  });
});
