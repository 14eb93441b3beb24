// Memory stays flat (short runs; the full 20,000-step MLP and 500-step CNN soak is `npm run
// test:soak`), and the FinalizationRegistry backstop reclaims tensors nobody disposed.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanBundles, libraryBundle, ROOT } from './bundle.js';
import { expectFlat, soak } from './soak-run.js';

afterAll(cleanBundles);

describe('memory', () => {
  it('an MLP trained with fit(): live tensors constant, RSS flat (3,000 steps)', async () => {
    expectFlat(await soak('mlp', 3000, 32, 250));
  }, 120_000);

  it('a CNN trained in a PyTorch-style loop: live tensors constant, RSS flat (100 steps)', async () => {
    expectFlat(await soak('cnn', 100, 16, 10));
  }, 120_000);

  it('forgotten tensors are reclaimed by the FinalizationRegistry backstop (node --expose-gc)', () => {
    const out = execFileSync(process.execPath, ['--expose-gc', join(ROOT, 'test', 'reliability', 'children', 'finalizer.mjs'), libraryBundle()], { encoding: 'utf8' });
    const r = JSON.parse(out) as {
      base: { numTensors: number; numBytes: number; arrayBuffers: number };
      before: { numTensors: number; numBytes: number };
      after: { numTensors: number; numBytes: number; arrayBuffers: number };
      kept: number; keptBytes: number; keptAlive: boolean;
    };
    // all 10,000 forgotten tensors were counted live until the collector ran
    expect(r.before.numTensors).toBe(r.base.numTensors + 10_000 + r.kept);
    // then only the referenced ones remain, with exactly their bytes
    expect(r.after.numTensors).toBe(r.base.numTensors + r.kept);
    expect(r.after.numBytes).toBe(r.base.numBytes + r.keptBytes);
    expect(r.keptAlive).toBe(true);
    // and the 2.5 GB that passed through is gone (well under one forgotten tensor's 256 KB remains)
    expect(r.after.arrayBuffers - r.base.arrayBuffers).toBeLessThan(256 * 1024);
  }, 120_000);
});
