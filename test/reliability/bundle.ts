// Child processes and worker_threads cannot import the TypeScript sources that vitest transforms,
// so the reliability tests bundle lib/index.ts into one ES module with esbuild (a vite dependency,
// ~100 ms) inside the package root (.test-bundles/, ignored by git), where the addon loader finds
// binding.gyp and build/Release exactly as it does for the sources.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIR = join(ROOT, '.test-bundles');
let built: string | null = null;

/** Path of an ES module exporting everything tb exports (one per test process, so parallel files do not race). */
export function libraryBundle(): string {
  if (built) return built;
  mkdirSync(DIR, { recursive: true });
  const out = join(DIR, `tensorbolt-${process.pid}.mjs`);
  buildSync({
    entryPoints: [join(ROOT, 'lib', 'index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node18',
    outfile: out,
    logLevel: 'error',
    // node-gyp-build and the other dependencies load from node_modules as usual
    packages: 'external',
  });
  built = out;
  return out;
}

/** Writes a script next to the bundle (so its relative import works) and returns its path. */
export function scriptFile(name: string, source: string): string {
  const lib = libraryBundle();
  const path = join(DIR, `${process.pid}-${name}.mjs`);
  writeFileSync(path, source.replaceAll('__LIB__', `./${lib.slice(DIR.length + 1)}`));
  return path;
}

/** Removes this process's bundle and scripts. */
export function cleanBundles(): void {
  if (!built) return;
  rmSync(built, { force: true });
  built = null;
}

export { DIR as BUNDLE_DIR };
