// The loader's choices and its error when nothing loads: every attempt listed, one command to fix it.
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixHint, loadAddon, nativePath } from '../../lib/native/load.js';

const dirs: string[] = [];
function fakeRoot(...sub: string[]): string {
  const base = mkdtempSync(join(tmpdir(), 'tb-load-'));
  dirs.push(base);
  const root = join(base, ...sub);
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'tensorbolt' }));
  writeFileSync(join(root, 'binding.gyp'), '{}');
  return root;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const platformDir = `${process.platform}-${process.arch}`;

describe('loadAddon', () => {
  it('with nothing built, lists what node-gyp-build looked for and says to build from source (checkout)', () => {
    const root = fakeRoot('checkout');
    expect(() => loadAddon(root, '')).toThrowError(/Tried:[\s\S]*No native build was found[\s\S]*prebuilds[\s\S]*Fix: build the addon from source with `npm run build:native`/);
  });

  it('inside node_modules, the fix is npm rebuild --build-from-source', () => {
    const root = fakeRoot('app', 'node_modules', 'tensorbolt');
    expect(() => loadAddon(root, '')).toThrowError(/`npm rebuild tensorbolt --build-from-source` in your project/);
  });

  it('a corrupt prebuild is named with the loader error', () => {
    const root = fakeRoot('corrupt');
    mkdirSync(join(root, 'prebuilds', platformDir), { recursive: true });
    const bad = join(root, 'prebuilds', platformDir, 'tensorbolt.node');
    writeFileSync(bad, 'not an ELF file at all, just text');
    let msg = '';
    try {
      loadAddon(root, '');
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain(bad);
    expect(msg).toMatch(/invalid ELF header|file too short|not a valid/i);
    expect(msg).toMatch(/Fix: /);
  });

  it('falls back to the prebuild when build/Release is broken', () => {
    const root = fakeRoot('fallback');
    mkdirSync(join(root, 'build', 'Release'), { recursive: true });
    writeFileSync(join(root, 'build', 'Release', 'tensorbolt.node'), 'stale garbage');
    mkdirSync(join(root, 'prebuilds', platformDir), { recursive: true });
    const good = join(root, 'prebuilds', platformDir, 'tensorbolt.node');
    symlinkSync(nativePath(), good);
    const { binding, path } = loadAddon(root, '');
    expect(path).toBe(good);
    expect(typeof binding.info().gemm).toBe('string');
  });

  it('a TENSORBOLT_ADDON that does not load is the error, not a silent fallback', () => {
    const root = fakeRoot('override');
    mkdirSync(join(root, 'prebuilds', platformDir), { recursive: true });
    symlinkSync(nativePath(), join(root, 'prebuilds', platformDir, 'tensorbolt.node'));
    const missing = join(root, 'nope', 'tensorbolt.node');
    expect(() => loadAddon(root, missing)).toThrowError(new RegExp(`TENSORBOLT_ADDON=${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}[\\s\\S]*Fix: unset TENSORBOLT_ADDON`));
  });

  it('a missing OpenMP runtime gets the package to install, not a rebuild', () => {
    expect(fixHint('/x/node_modules/tensorbolt', 'prebuild /x/t.node: libgomp.so.1: cannot open shared object file: No such file or directory'))
      .toMatch(/apt-get install libgomp1/);
    expect(fixHint('/x/node_modules/tensorbolt', "prebuild /x/t.node: /lib/libc.so.6: version `GLIBC_2.34' not found"))
      .toMatch(/npm rebuild tensorbolt --build-from-source/);
  });
});
