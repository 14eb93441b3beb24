// Builds and runs bench/cublas_gemm.cu: square sgemm through cuBLAS called from a CUDA C++ program
// (no Node), the ceiling for tensorbolt's GPU GEMM. Needs nvcc and cuBLAS (headers and library):
// the toolkit's, or the folder named by TENSORBOLT_CUBLAS_DIR (PyTorch's nvidia-cublas wheel).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../lib/native/load.js';
import { runSamples } from './gemm_direct.js';

function nvcc(): string | null {
  for (const c of [process.env.CUDACXX, 'nvcc', '/usr/local/cuda/bin/nvcc']) {
    if (!c) continue;
    try {
      execFileSync(c, ['--version'], { stdio: 'ignore' });
      return c;
    } catch { /* next */ }
  }
  return null;
}

/** n to samples in ms, or why cuBLAS could not be called directly. */
export function cublasDirect(sizes: number[], reps: number): Record<string, number[]> | string {
  const root = packageRoot();
  const exe = join(root, 'build', 'bench-cublas-gemm');
  try {
    if (!existsSync(exe)) {
      const cc = nvcc();
      if (!cc) return 'nvcc not found (CUDACXX, PATH, /usr/local/cuda/bin)';
      mkdirSync(join(root, 'build'), { recursive: true });
      // TENSORBOLT_CUBLAS_DIR: cuBLAS outside the toolkit (include/ and lib/, as CMakeLists.txt takes it);
      // a wheel's lib/ has only versioned files (libcublas.so.13), so the library is named by its path
      const dir = process.env.TENSORBOLT_CUBLAS_DIR;
      const so = dir ? readdirSync(join(dir, 'lib')).find((f) => /^libcublas\.so/.test(f)) : undefined;
      const blas = dir && so ? [`-I${join(dir, 'include')}`, join(dir, 'lib', so), `-Xlinker=-rpath,${join(dir, 'lib')}`] : ['-lcublas'];
      execFileSync(cc, ['-O2', join(root, 'bench', 'cublas_gemm.cu'), ...blas, '-o', exe], { stdio: ['ignore', 'ignore', 'pipe'] });
    }
    return runSamples(exe, reps, sizes);
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    return `could not build or run bench/cublas_gemm.cu: ${(err.stderr?.toString() || err.message).trim().split('\n')[0]}`;
  }
}
