// Finding the peers and running one measurement in a child process (a node worker, or the PyTorch
// script under a Python that can import torch).
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../lib/native/load.js';
import { peerEnv } from './env_snapshot.js';
import { RESULT_TAG } from './protocol.js';
import { packageVersion } from './tfjs_peer.js';

export interface PeerStatus {
  /** Version string when present. */
  version?: string;
  /** Why it is missing, when it is. */
  missing?: string;
  /** For PyTorch: the interpreter that imports it. */
  python?: string;
}

/**
 * The first Python that imports torch: $TENSORBOLT_BENCH_PYTHON if set, else python3 on PATH, else
 * the system interpreter (a distribution's python3-torch installs there, not into a pyenv/venv python).
 */
export function findTorch(): PeerStatus {
  const env = process.env.TENSORBOLT_BENCH_PYTHON;
  const cands = env ? [env] : ['python3', '/usr/bin/python3'];
  const tried: string[] = [];
  for (const py of cands) {
    const r = spawnSync(py, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 120_000 });
    if (r.status === 0) return { version: r.stdout.trim(), python: py };
    const why = r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`);
    tried.push(`${py}: ${why}`);
  }
  return { missing: `no Python here imports torch (${tried.join('; ')}); on Debian/Ubuntu: apt-get install python3-torch` };
}

export function findTfjs(): Record<'tfjs-cpu' | 'tfjs-wasm' | 'tfjs-node', PeerStatus> {
  const core = packageVersion('@tensorflow/tfjs');
  const wasm = packageVersion('@tensorflow/tfjs-backend-wasm');
  const node = packageVersion('@tensorflow/tfjs-node');
  return {
    'tfjs-cpu': core ? { version: core } : { missing: '@tensorflow/tfjs is not installed' },
    'tfjs-wasm': core && wasm ? { version: `${core} (backend-wasm ${wasm})` } : { missing: '@tensorflow/tfjs-backend-wasm is not installed' },
    'tfjs-node': node ? { version: node } : { missing: '@tensorflow/tfjs-node is not installed (its install downloads libtensorflow)' },
  };
}

export interface ChildOutcome<T> {
  result?: T;
  error?: string;
  wallS: number;
}

function parse<T>(stdout: string): T | undefined {
  const line = stdout.split('\n').reverse().find((l) => l.startsWith(RESULT_TAG));
  return line ? (JSON.parse(line.slice(RESULT_TAG.length)) as T) : undefined;
}

/** Runs cmd and reads its RESULT_TAG line (the error and stderr tail when there is none). */
export function run<T>(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<ChildOutcome<T>> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => resolve({ error: e.message, wallS: (performance.now() - t0) / 1000 }));
    child.on('close', (code) => {
      const wallS = (performance.now() - t0) / 1000;
      const result = code === 0 ? parse<T>(out) : undefined;
      if (result) resolve({ result, wallS });
      else {
        const tail = err.trim().split('\n').filter((l) => !/^\s+at /.test(l)).slice(-3).join(' | ');
        resolve({ error: `exit ${code}: ${tail || 'no result line'}`, wallS });
      }
    });
  });
}

const benchDir = fileURLToPath(new URL('.', import.meta.url));

/** Runs dist/bench/worker.js with the spec in a fresh node process (extra environment variables in env). */
export function runNode<T>(spec: object, env: Record<string, string> = {}): Promise<ChildOutcome<T>> {
  return run<T>(process.execPath, [join(benchDir, 'worker.js'), JSON.stringify(spec)], { ...peerEnv, ...env });
}

/** Runs bench/torch_bench.py; threads also sizes the OpenMP and BLAS pools torch uses. */
export function runTorch<T>(python: string, spec: { threads: number } & object): Promise<ChildOutcome<T>> {
  const t = String(spec.threads);
  const env = { ...peerEnv, OMP_NUM_THREADS: t, OPENBLAS_NUM_THREADS: t, MKL_NUM_THREADS: t };
  return run<T>(python, [join(packageRoot(), 'bench', 'torch_bench.py'), JSON.stringify(spec)], env);
}
