// The one place that loads the native addon. Order, deterministic:
//   1. TENSORBOLT_ADDON=/path/to/tensorbolt.node (explicit override, e.g. an ASan build; if it fails
//      to load, that is the error: nothing else is tried);
//   2. the CUDA build in build-cuda/Release (npm run build:cuda), when it exists, a GPU is visible
//      and TENSORBOLT_CUDA is not 0; it holds the CPU kernels too, so it serves both devices;
//   3. node-gyp-build over the package root: build/Release when it exists, else the matching prebuild
//      in prebuilds/<platform>-<arch>/;
//   4. the prebuild itself, when node-gyp-build chose a build/Release that does not load;
//   5. the cmake-js build in build-cmake/Release.
// When nothing loads, the error lists every attempt and the one command that fixes it. Why the
// CUDA build was or was not used is kept for `tensorbolt info` and for the errors of device: 'cuda'.
import { createRequire } from 'node:module';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
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

// A forced instruction set (TENSORBOLT_ISA) the CPU cannot run is an error, not a reason to run
// another set silently.
function checkIsaEnv(b: NativeBinding): void {
  const err = b.isaInfo().isaEnvError;
  if (err) throw new Error(`tensorbolt: ${err}. Fix: unset TENSORBOLT_ISA, or name a set this CPU runs.`);
}

export function native(): NativeBinding {
  if (cached) return cached;
  const override = process.env.TENSORBOLT_ADDON;
  const withCuda = override ? null : loadCuda();
  if (withCuda) {
    checkIsaEnv(withCuda);
    cached = withCuda;
    loadedFrom = cudaState.path;
    return cached;
  }
  const { binding, path } = loadAddon(packageRoot(), override);
  checkIsaEnv(binding);
  cached = binding;
  loadedFrom = path;
  if (override) {
    const devices = probeDevices(binding);
    cudaState = {
      built: binding.cuda !== undefined,
      available: devices.count > 0,
      path: binding.cuda !== undefined ? path : '',
      reason: devices.count > 0 ? '' : devices.reason,
    };
  }
  return cached;
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
