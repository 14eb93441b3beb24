// DDP over a recurrent module across 2 real processes (Open MPI, localhost): the gradient hooks fire
// for the recurrent weights as for any other, and the averaged gradients equal one process's over
// the global batch. The worker runs the compiled library in dist/ (npx tsc -p . first).
import { describe, expect, it } from 'vitest';
import { describeRun, launch, mpiMissing } from './helpers.js';

const missing = mpiMissing();

describe.skipIf(missing !== null)(`DDP over an LSTM${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('2 ranks: every Embedding/LSTM/Linear weight hooked, the same gradients on both ranks, equal to one process over the global batch', async () => {
    const r = await launch(2, 'ddp_lstm.mjs');
    expect(r.code, describeRun(r)).toBe(0);
    const [a, b] = r.byRank as { names: string[]; hooked: string[]; missing: string[]; gradHash: string; diff: { maxDiff: number; maxAbs: number } }[];
    expect(a && b, describeRun(r)).toBeTruthy();
    // 2 layers x 2 directions x 4 tensors, the embedding table, the head's weight and bias
    expect(a!.names.length).toBe(19);
    expect(a!.hooked).toEqual(a!.names);
    expect(a!.missing).toEqual([]);
    expect(b!.gradHash).toBe(a!.gradHash);
    expect(a!.diff.maxAbs).toBeGreaterThan(0);
    expect(a!.diff.maxDiff).toBeLessThanOrEqual(1e-5 * Math.max(1, a!.diff.maxAbs));
  }, 240_000);
});
