// Determinism: the same seed gives bit-identical weights after 100 CPU training steps (a Keras fit
// with shuffling, conv, batch norm, dropout and Adam, then a PyTorch-style SGD loop) in two separate
// processes. Our own kernels are also independent of the thread count (checked with the portable
// GEMM); OpenBLAS's threaded sgemm is not, which README "Determinism" documents.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanBundles, libraryBundle, ROOT } from './bundle.js';
import { native } from '../../lib/native/load.js';

afterAll(cleanBundles);

function run(threads: number, gemm: 'openblas' | 'portable'): { hash: string; kerasLoss: number; torchLoss: number; threads: number; gemm: string } {
  const out = execFileSync(process.execPath, [join(ROOT, 'test', 'reliability', 'children', 'determinism.mjs'), libraryBundle(), String(threads), gemm], { encoding: 'utf8' });
  return JSON.parse(out);
}

describe('determinism', () => {
  const backends: ('openblas' | 'portable')[] = native().info().openblas ? ['openblas', 'portable'] : ['portable'];
  for (const gemm of backends) {
    it(`same seed, two processes, same thread count: bit-identical weights (${gemm} GEMM)`, () => {
      const a = run(2, gemm);
      const b = run(2, gemm);
      expect(a.gemm).toBe(gemm);
      expect(b.hash).toBe(a.hash);
      expect(b.kerasLoss).toBe(a.kerasLoss);
      expect(b.torchLoss).toBe(a.torchLoss);
      expect(Number.isFinite(a.torchLoss) && a.torchLoss < 1).toBe(true); // it did train
    }, 120_000);
  }

  it('our kernels do not depend on the thread count (portable GEMM, 1, 2 and 4 threads)', () => {
    const hashes = [1, 2, 4].map((t) => run(t, 'portable').hash);
    expect(new Set(hashes).size).toBe(1);
  }, 120_000);
});
