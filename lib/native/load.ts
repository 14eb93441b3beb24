// The one place that loads the native addon. Order, deterministic:
//   1. TENSORBOLT_ADDON=/path/to/tensorbolt.node (explicit override, e.g. an ASan build; if it fails
//      to load, that is the error: nothing else is tried);
//   2. node-gyp-build over the package root: build/Release when it exists, else the matching prebuild
//      in prebuilds/<platform>-<arch>/;
//   3. the prebuild itself, when node-gyp-build chose a build/Release that does not load;
//   4. the cmake-js build in build-cmake/Release.
// When nothing loads, the error lists every attempt and the one command that fixes it.
import { createRequire } from 'node:module';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
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

/**
 * Finds and loads the addon under a package root; throws an Error listing every attempt and the one
 * command that fixes it. Exported for tests; everything else calls native().
 */
export function loadAddon(root: string, override = process.env.TENSORBOLT_ADDON): { binding: NativeBinding; path: string } {
  const tried: string[] = [];
  const attempt = (path: string, what: string): NativeBinding | null => {
    try {
      return require(path) as NativeBinding;
    } catch (e) {
      tried.push(`${what}${what.endsWith('=') ? '' : ' '}${path}: ${firstLine(e)}`);
      return null;
    }
  };
  if (override) {
    // An explicit choice that fails is an error, not a reason to load something else silently.
    const path = resolve(override);
    const b = attempt(path, 'TENSORBOLT_ADDON=');
    if (b) return { binding: b, path };
    throw new Error(`tensorbolt: the addon named by TENSORBOLT_ADDON could not be loaded.\n  - ${tried[0]}\n` +
      'Fix: unset TENSORBOLT_ADDON, or point it at a tensorbolt.node built for this platform.');
  }
  const candidates: [string, string][] = [];
  try {
    const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
    candidates.push([nodeGypBuild.resolve(root), 'node-gyp-build chose']);
  } catch (e) {
    tried.push(`node-gyp-build: ${firstLine(e)} (looked in ${join(root, 'build', 'Release')} and ${join(root, 'prebuilds')})`);
  }
  // node-gyp-build prefers build/Release; when that one is stale or broken, the prebuild may still load.
  const prebuildDir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  if (existsSync(prebuildDir))
    for (const f of readdirSync(prebuildDir).filter((f) => f.endsWith('.node')).sort())
      if (!candidates.some(([p]) => p === join(prebuildDir, f))) candidates.push([join(prebuildDir, f), 'prebuild']);
  const cmakePath = join(root, 'build-cmake', 'Release', 'tensorbolt.node');
  if (existsSync(cmakePath)) candidates.push([cmakePath, 'cmake-js build']);
  for (const [path, what] of candidates) {
    const b = attempt(path, what);
    if (b) return { binding: b, path };
  }
  throw new Error(
    'tensorbolt: no native addon could be loaded for ' +
      `${process.platform}-${process.arch} (node ${process.versions.node}, N-API ${process.versions.napi}).\n` +
      'Tried:\n  - ' + tried.join('\n  - ') + '\n' + fixHint(root, tried.join('\n')),
  );
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();
}

/** @internal The one command that fixes what the attempts show. */
export function fixHint(root: string, tried: string): string {
  const missingLib = /(lib[\w+.-]+\.so[\w.]*): cannot open shared object file/.exec(tried)?.[1];
  if (missingLib === 'libgomp.so.1')
    return 'Fix: install the OpenMP runtime the addon needs: `apt-get install libgomp1` (Fedora/RHEL: `dnf install libgomp`).';
  const installed = root.split(sep).includes('node_modules');
  const cmd = installed ? 'npm rebuild tensorbolt --build-from-source' : 'npm run build:native';
  return `Fix: build the addon from source with \`${cmd}\`` + (installed ? ' in your project' : ` in ${root}`) +
    ' (it needs a C++ compiler, make and python3: `apt-get install build-essential python3`, and `libopenblas-dev` for the fast GEMM).';
}

export function native(): NativeBinding {
  if (cached) return cached;
  const { binding, path } = loadAddon(packageRoot());
  cached = binding;
  loadedFrom = path;
  return cached;
}

/** Path of the addon that was loaded (for `tensorbolt info`). */
export function nativePath(): string {
  native();
  return loadedFrom;
}
