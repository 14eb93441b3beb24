// Determinism: the same seed gives bit-identical weights after 100 CPU training steps (a Keras fit
// with shuffling, conv, batch norm, dropout and Adam, then a PyTorch-style SGD loop) in two separate
// processes. Our own kernels are also independent of the thread count (checked with the portable
// GEMM); OpenBLAS's threaded sgemm is not, which README "Determinism" documents.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanBundles, libraryBundle, ROOT } from './bundle.js';
import { native } from '../../lib/native/load.js';
import type { IsaName } from '../../lib/native/binding.js';
import { ALL_ISAS } from '../helpers/opcheck.js';

afterAll(cleanBundles);

type Outcome = { hash: string; kerasLoss: number; torchLoss: number; threads: number; gemm: string };
const child = (threads: number, gemm: 'openblas' | 'portable') =>
  [join(ROOT, 'test', 'reliability', 'children', 'determinism.mjs'), libraryBundle(), String(threads), gemm];

function run(threads: number, gemm: 'openblas' | 'portable'): Outcome {
  return JSON.parse(execFileSync(process.execPath, child(threads, gemm), { encoding: 'utf8' }));
}

// Asynchronous, so that the test worker keeps answering vitest while the slower sets run.
async function runIsa(threads: number, isa: IsaName): Promise<Outcome> {
  const { stdout } = await promisify(execFile)(process.execPath, child(threads, 'portable'), {
    encoding: 'utf8', env: { ...process.env, TENSORBOLT_ISA: isa },
  });
  return JSON.parse(stdout);
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

  // Each instruction set's kernels: repeatable and independent of the thread count. A set this
  // machine cannot run is reported as skipped.
  const supported = native().isaInfo().isaSupported;
  for (const isa of ALL_ISAS)
    it.skipIf(!supported.includes(isa))(`${isa} kernels: same seed, two processes, bit-identical weights; 1 and 2 threads agree (our GEMM)`, async () => {
      const a = await runIsa(2, isa);
      const b = await runIsa(2, isa);
      const c = await runIsa(1, isa);
      expect(b.hash).toBe(a.hash);
      expect(c.hash).toBe(a.hash);
      expect(Number.isFinite(a.torchLoss) && a.torchLoss < 1).toBe(true);
    }, 180_000);
});
