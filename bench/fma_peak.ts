// Builds and runs bench/fma_peak.cc: the machine's fp32 FMA peak on all cores, the ceiling every
// kernel's GFLOP/s is reported against.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../lib/native/load.js';

export interface FmaPeak {
  /** Vector unit the loop ran on: 'avx512', 'avx2' or 'scalar'. */
  isa: string;
  threads: number;
  samplesGflops: number[];
}

/** The peak on `threads` OpenMP threads (default: every core), or why it could not be measured. */
export function fmaPeak(reps: number, threads?: number): FmaPeak | string {
  const root = packageRoot();
  try {
    const exe = join(root, 'build', 'bench-fma-peak');
    mkdirSync(join(root, 'build'), { recursive: true });
    execFileSync('g++', ['-O2', '-fopenmp', join(root, 'bench/fma_peak.cc'), '-o', exe]);
    const env = threads ? { ...process.env, OMP_NUM_THREADS: String(threads) } : process.env;
    const r = JSON.parse(execFileSync(exe, [String(reps)], { encoding: 'utf8', env })) as { isa: string; threads: number; samples_gflops: number[] };
    return { isa: r.isa, threads: r.threads, samplesGflops: r.samples_gflops };
  } catch (e) {
    return `could not build or run bench/fma_peak.cc: ${(e as Error).message.split('\n')[0]}`;
  }
}
