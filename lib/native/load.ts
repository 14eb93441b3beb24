// The one place that loads the native addon. Order, deterministic:
//   1. TENSORBOLT_ADDON=/path/to/tensorbolt.node (explicit override, e.g. an ASan build);
//   2. the CUDA build in build-cuda/Release (npm run build:cuda), when it exists, a GPU is visible
//      and TENSORBOLT_CUDA is not 0; it holds the CPU kernels too, so it serves both devices;
//   3. node-gyp-build over the package root: a matching prebuild in prebuilds/, else build/Release;
//   4. the cmake-js build in build-cmake/Release.
// When nothing loads, the error lists every attempt and the one command that fixes it. Why the
// CUDA build was or was not used is kept for `tensorbolt info` and for the errors of device: 'cuda'.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CudaBinding, NativeBinding } from './binding.js';

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

/** Whether the CUDA backend can be used, and why not when it cannot. */
export interface CudaState {
  /** A CUDA-capable addon exists (build-cuda/Release, or the TENSORBOLT_ADDON override has one). */
  built: boolean;
  /** The loaded addon has the CUDA backend and sees at least one GPU. */
  available: boolean;
  /** Path of the CUDA addon, when built. */
  path: string;
  /** When not available: why, in words. */
  reason: string;
}

let cudaState: CudaState = { built: false, available: false, path: '', reason: 'not probed yet' };

/** Path where `npm run build:cuda` puts the CUDA-capable addon. */
export function cudaAddonPath(): string {
  return join(packageRoot(), 'build-cuda', 'Release', 'tensorbolt.node');
}

// The devices the addon sees, or why none (never throws).
function probeDevices(b: NativeBinding): { count: number; reason: string } {
  if (!b.cuda) return { count: 0, reason: 'this addon was built without CUDA' };
  try {
    return b.cuda.deviceCount();
  } catch (e) {
    return { count: 0, reason: (e as Error).message };
  }
}

// The CUDA build, when it exists and a GPU is visible; null (with cudaState saying why) otherwise.
function loadCuda(): NativeBinding | null {
  const path = cudaAddonPath();
  if (!existsSync(path)) {
    cudaState = { built: false, available: false, path: '', reason: `no CUDA build (${path} does not exist)` };
    return null;
  }
  cudaState = { built: true, available: false, path, reason: '' };
  if (process.env.TENSORBOLT_CUDA === '0') {
    cudaState.reason = 'disabled by TENSORBOLT_CUDA=0';
    return null;
  }
  // Without the driver's device node (/dev/dxg under WSL2) there is no GPU to find: skip loading
  // cudart at all. TENSORBOLT_CUDA=1 skips this guess and asks CUDA itself.
  if (process.platform === 'linux' && process.env.TENSORBOLT_CUDA !== '1' && !existsSync('/dev/nvidiactl') &&
      !existsSync('/dev/dxg')) {
    cudaState.reason = 'no NVIDIA GPU driver on this machine (/dev/nvidiactl is missing)';
    return null;
  }
  let b: NativeBinding;
  try {
    b = require(path) as NativeBinding;
  } catch (e) {
    cudaState.reason = `the CUDA build failed to load: ${(e as Error).message.split('\n')[0]}`;
    return null;
  }
  const devices = probeDevices(b);
  if (devices.count === 0) {
    cudaState.reason = `no usable GPU: ${devices.reason}`;
    return null;
  }
  cudaState.available = true;
  return b;
}

export function native(): NativeBinding {
  if (cached) return cached;
  const tried: string[] = [];
  const root = packageRoot();
  const override = process.env.TENSORBOLT_ADDON;
  if (override) {
    try {
      cached = require(resolve(override)) as NativeBinding;
      loadedFrom = resolve(override);
      const devices = probeDevices(cached);
      cudaState = {
        built: cached.cuda !== undefined,
        available: devices.count > 0,
        path: cached.cuda !== undefined ? loadedFrom : '',
        reason: devices.count > 0 ? '' : devices.reason,
      };
      return cached;
    } catch (e) {
      tried.push(`TENSORBOLT_ADDON=${override}: ${(e as Error).message}`);
    }
  }
  const withCuda = loadCuda();
  if (withCuda) {
    cached = withCuda;
    loadedFrom = cudaState.path;
    return cached;
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

/** The CUDA state of this process (loads the addon first). */
export function cuda(): CudaState {
  native();
  return { ...cudaState };
}

/** The CUDA binding when a CUDA build is loaded and a GPU is visible; null otherwise. */
export function cudaBinding(): CudaBinding | null {
  const b = native();
  return cudaState.available && b.cuda ? b.cuda : null;
}
