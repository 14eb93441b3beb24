// Builds and runs bench/gemm_direct.cc: square sgemm through OpenBLAS called from C++ (no Node, no
// N-API), the ceiling the binding is measured against. Same thread count as the binding's run.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../lib/native/load.js';

/** n to samples in ms, or why OpenBLAS could not be called directly. */
let built: string | null = null;

/** Compiles bench/gemm_direct.cc once per process; returns the executable, or why it cannot. */
function build(root: string): { exe: string } | { error: string } {
  if (built) return { exe: built };
  const script = join(root, 'scripts/openblas.cjs');
  const flags = execFileSync('node', [script, 'libraries'], { encoding: 'utf8' }).trim();
  const inc = execFileSync('node', [script, 'include_dirs'], { encoding: 'utf8' }).trim();
  if (!flags) return { error: 'OpenBLAS not found (portable GEMM build)' };
  const exe = join(root, 'build', 'bench-gemm-direct');
  mkdirSync(join(root, 'build'), { recursive: true });
  execFileSync('g++', ['-O2', join(root, 'bench/gemm_direct.cc'), `-I${inc}`, ...flags.split(/\s+/), '-o', exe]);
  built = exe;
  return { exe };
}

/** Runs a direct-GEMM program (`exe reps n...`, one JSON line per size) and reads its samples by n. */
export function runSamples(exe: string, reps: number, sizes: number[], env: NodeJS.ProcessEnv = process.env): Record<string, number[]> {
  const out = execFileSync(exe, [String(reps), ...sizes.map(String)], { encoding: 'utf8', env });
  const m: Record<string, number[]> = {};
  for (const line of out.trim().split('\n')) {
    const r = JSON.parse(line) as { n: number; samples_ms: number[] };
    m[r.n] = r.samples_ms;
  }
  return m;
}

export function gemmDirect(sizes: number[], reps: number, threads?: number): Record<string, number[]> | string {
  const root = packageRoot();
  try {
    const b = build(root);
    if ('error' in b) return b.error;
    const exe = b.exe;
    const env = threads ? { ...process.env, OPENBLAS_NUM_THREADS: String(threads) } : process.env;
    return runSamples(exe, reps, sizes, env);
  } catch (e) {
    return `could not build or run bench/gemm_direct.cc: ${(e as Error).message.split('\n')[0]}`;
  }
}
