// The one place that loads the native addon. Order, deterministic:
//   1. TENSORBOLT_ADDON=/path/to/tensorbolt.node (explicit override, e.g. an ASan build);
//   2. node-gyp-build over the package root: a matching prebuild in prebuilds/, else build/Release;
//   3. the cmake-js build in build-cmake/Release.
// When nothing loads, the error lists every attempt and the one command that fixes it.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeBinding } from './binding.js';

const require = createRequire(import.meta.url);

// libgomp's default wait policy spins idle threads for a while after each parallel region. Between
// our many short kernels those spinning threads steal the cores that OpenBLAS and the next kernel
// need (on 2 cores, step times became bimodal). PASSIVE makes them sleep; it must be set before
// the runtime starts, that is before the addon loads. A user's own setting wins.
process.env.OMP_WAIT_POLICY ??= 'PASSIVE';

/** The package root: the folder holding package.json and binding.gyp (works from lib/ and dist/lib/). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'binding.gyp'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('tensorbolt: cannot find the package root (binding.gyp) above ' + fileURLToPath(import.meta.url));
}

let cached: NativeBinding | null = null;
let loadedFrom = '';

export function native(): NativeBinding {
  if (cached) return cached;
  const tried: string[] = [];
  const root = packageRoot();
  const override = process.env.TENSORBOLT_ADDON;
  if (override) {
    try {
      cached = require(resolve(override)) as NativeBinding;
      loadedFrom = resolve(override);
      return cached;
    } catch (e) {
      tried.push(`TENSORBOLT_ADDON=${override}: ${(e as Error).message}`);
    }
  }
  try {
    const nodeGypBuild = require('node-gyp-build') as { (dir: string): unknown; resolve(dir: string): string };
    const path = nodeGypBuild.resolve(root);
    cached = require(path) as NativeBinding;
    loadedFrom = path;
    return cached;
  } catch (e) {
    tried.push(`prebuilds/ and build/Release (node-gyp-build): ${(e as Error).message.split('\n')[0]}`);
  }
  const cmakePath = join(root, 'build-cmake', 'Release', 'tensorbolt.node');
  try {
    cached = require(cmakePath) as NativeBinding;
    loadedFrom = cmakePath;
    return cached;
  } catch (e) {
    tried.push(`${cmakePath}: ${(e as Error).message.split('\n')[0]}`);
  }
  throw new Error(
    'tensorbolt: no native addon could be loaded for ' +
      `${process.platform}-${process.arch} (node ${process.versions.node}, N-API ${process.versions.napi}).\n` +
      'Tried:\n  - ' + tried.join('\n  - ') + '\n' +
      `Fix: build it from source with \`npm rebuild tensorbolt\` (or \`npx node-gyp rebuild\` in ${root}); ` +
      'this needs a C++ compiler, python3 and make, and for the fast path `apt-get install libopenblas-dev`.',
  );
}

/** Path of the addon that was loaded (for `tensorbolt info`). */
export function nativePath(): string {
  native();
  return loadedFrom;
}
