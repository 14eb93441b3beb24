// Keras-style fit under the launcher (data-parallel by default there) against the same fit in one
// process: MNIST MLP, 20,000 training samples, 2 epochs. The ranks split every global batch, so the
// run is the single process's up to float rounding: test accuracy within noise (1 point).
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeRun, launch, mpiMissing, single } from './helpers.js';

const missing = mpiMissing();
const T = 300_000;

describe.skipIf(missing !== null)(`fit under tensorbolt launch${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let alone: { acc: number } | null = null;
  it('one process (the reference)', async () => {
    const r = await single('keras_fit.mjs');
    expect(r.code, describeRun(r)).toBe(0);
    alone = r.byRank[0] as { acc: number };
    expect(alone.acc).toBeGreaterThan(0.9);
  }, T);

  for (const n of [2, 4]) {
    it(`${n} ranks: the single-process accuracy, one progress display, one saved model`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tb-fit-'));
      const r = await launch(n, 'keras_fit.mjs', { OUT_DIR: dir });
      expect(r.code, describeRun(r)).toBe(0);
      expect(r.byRank.length).toBe(n);
      // the same model on every rank, and the same (averaged) evaluation
      expect(new Set(r.byRank.map((o) => o.hash)).size, describeRun(r)).toBe(1);
      expect(new Set(r.byRank.map((o) => JSON.stringify(o.valAcc))).size).toBe(1);
      const acc = r.byRank[0]!.acc as number;
      expect(Math.abs(acc - alone!.acc)).toBeLessThanOrEqual(0.01);
      // only rank 0 printed progress (verbose 2: a line per epoch) and wrote the model
      expect(r.out.match(/^Epoch 1\/2 /gm)?.length).toBe(1);
      expect(r.out.match(/^Epoch 2\/2 /gm)?.length).toBe(1);
      expect(existsSync(join(dir, 'rank0', 'model.json'))).toBe(true);
      for (let k = 1; k < n; k++) expect(existsSync(join(dir, `rank${k}`))).toBe(false);
    }, T);
  }
});
