// tb.distributed across real processes on this machine (Open MPI, localhost), at 2 and 4 ranks:
// collectives, DDP against one process, checkpoints across rank counts, a model mismatch, faults.
// The workers run the compiled library in dist/ (npx tsc -p . first).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeRun, launch, mpiMissing, mpirun, single } from './helpers.js';

const missing = mpiMissing();
const T = 240_000;

describe.skipIf(missing !== null)(`tb.distributed over MPI${missing ? ` (skipped: ${missing})` : ''}`, () => {
  for (const n of [2, 4]) {
    it(`collectives at ${n} ranks (${n === 2 ? 'tensorbolt launch' : 'plain mpirun'})`, async () => {
      const env = { SYNC_DIR: mkdtempSync(join(tmpdir(), 'tb-sync-')) };
      const r = n === 2 ? await launch(n, 'collectives.mjs', env) : await mpirun(n, 'collectives.mjs', env);
      expect(r.code, describeRun(r)).toBe(0);
      const tri = (n * (n + 1)) / 2;
      for (let k = 0; k < n; k++) {
        const o = r.byRank[k] as Record<string, unknown>;
        expect(o, describeRun(r)).toBeDefined();
        expect(o).toMatchObject({ rank: k, size: n, localRank: k, backend: 'mpi' });
        // Open MPI 3 and 4's shared-memory transport copies through its segment unless the user
        // chose otherwise; other MPIs are left alone
        expect(o.singleCopy).toBe(/^Open MPI v[34]\./.test(String(o.library)) ? 'none' : null);
        expect(o.sum).toEqual([tri, -tri, n * (n - 1)]);
        expect(o.mean).toEqual([tri / n, -tri / n, n - 1]);
        expect(o.max).toEqual([n, -1, 2 * (n - 1)]);
        expect(o.min).toEqual([1, -n, 0]);
        expect(o.intSum).toEqual([(n * (n - 1)) / 2, n]);
        expect(o.broadcast).toEqual([n - 1, 10 * (n - 1)]);
        expect(o.gatherShape).toEqual([n, 1, 2]);
        expect(o.gather).toEqual(Array.from({ length: n }, (_, i) => [i, i + 0.5]).flat());
        expect(o.intMeanError).toMatch(/'mean' needs a float32 tensor/);
        if (k > 0) expect(o.detached).toMatch(/detached or resized while the collective ran/);
        expect(o.disposed).toMatch(/was disposed while the collective ran/);
        expect(o.after).toEqual([n]);
        // the others' event loops ran a timer while their barrier waited for rank 0
        if (k > 0) expect(o.timerRanDuringBarrier).toBe(true);
      }
    }, T);

    it(`DDP at ${n} ranks: identical weights on every rank, equal to one process on the same global batches`, async () => {
      const r = await launch(n, 'ddp_train.mjs');
      expect(r.code, describeRun(r)).toBe(0);
      const hashes = new Set(r.byRank.map((o) => o.hash));
      expect(r.byRank.length).toBe(n);
      expect(hashes.size, describeRun(r)).toBe(1);
      // ranks started from different weights: the construction broadcast made them rank 0's
      expect(new Set(r.byRank.map((o) => o.loadedHash)).size).toBe(n);
      const d = r.byRank[0]!.diff as { maxDiff: number; maxAbs: number };
      expect(d.maxDiff).toBeLessThanOrEqual(1e-6 * Math.max(1, d.maxAbs));
      expect(r.byRank[0]!.steps).toBe(6);
      expect(r.byRank[0]!.buckets).toBe(3);
      // every gradient is a view of its bucket slot after the step: the averages were not copied back
      expect(r.byRank[0]!.gradViews).toBe(r.byRank[0]!.params);
    }, T);
  }

  it('gradients accumulated over two batches (zeroGrad(false), then a step) match one process doing the same', async () => {
    // the gradients stay the slots' views from one step to the next: backward accumulates into the
    // bucket itself, which is then scaled in place rather than copied
    const r = await launch(2, 'ddp_train.mjs', { ACCUM: '2' });
    expect(r.code, describeRun(r)).toBe(0);
    expect(new Set(r.byRank.map((o) => o.hash)).size, describeRun(r)).toBe(1);
    const d = r.byRank[0]!.diff as { maxDiff: number; maxAbs: number };
    expect(d.maxDiff).toBeLessThanOrEqual(1e-6 * Math.max(1, d.maxAbs));
    expect(r.byRank[0]!.gradViews).toBe(r.byRank[0]!.params);
  }, T);

  it("the user's single-copy setting wins over tensorbolt's default, and the sums still add up", async () => {
    const r = await launch(2, 'collectives.mjs', {}, T, '--mca btl_vader_single_copy_mechanism cma');
    expect(r.code, describeRun(r)).toBe(0);
    for (let k = 0; k < 2; k++) expect(r.byRank[k], describeRun(r)).toMatchObject({ rank: k, singleCopy: 'cma', sum: [3, -3, 2] });
  }, T);

  it('a checkpoint saved by rank 0 of 2 resumes on 4 ranks and on one process', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tb-ckpt-')), 'ckpt.safetensors');
    const saved = await launch(2, 'ddp_train.mjs', { SAVE: file });
    expect(saved.code, describeRun(saved)).toBe(0);
    const savedHash = saved.byRank[0]!.hash;
    const four = await launch(4, 'ddp_train.mjs', { RESUME: file });
    expect(four.code, describeRun(four)).toBe(0);
    for (const o of four.byRank) expect(o.loadedHash).toBe(savedHash);
    expect(new Set(four.byRank.map((o) => o.hash)).size).toBe(1);
    const d = four.byRank[0]!.diff as { maxDiff: number; maxAbs: number };
    expect(d.maxDiff).toBeLessThanOrEqual(1e-6 * Math.max(1, d.maxAbs));
    const one = await single('ddp_train.mjs', { RESUME: file });
    expect(one.code, describeRun(one)).toBe(0);
    expect(one.byRank[0]!.loadedHash).toBe(savedHash);
  }, T);

  it('ranks whose parameter shapes differ fail at DDP construction, naming the first mismatch', async () => {
    const r = await launch(2, 'ddp_train.mjs', { MISMATCH: '1' });
    expect(r.code, describeRun(r)).toBe(0);
    for (const o of r.byRank)
      expect(o.error).toBe("DistributedDataParallel: the ranks' models differ: parameter 2 is 'fc1.weight' float32 [16,144] on rank 0 but 'fc1.weight' float32 [24,144] on rank 1");
  }, T);

  it('a rank killed mid-training ends the job with an error naming it', async () => {
    const r = await launch(2, 'ddp_train.mjs', { FAULT: 'kill', TENSORBOLT_DIST_TIMEOUT: '20' });
    expect(r.code, describeRun(r)).not.toBe(0);
    expect(r.err + r.out).toMatch(/rank 1 .*exited on signal 9/);
    // mpirun ends the survivors at once; the watchdog would have within its 20 s
    expect(r.seconds).toBeLessThan(180);
  }, T);

  it('a rank killed while mpirun keeps the job: the survivors exit with the timeout error', async () => {
    // --enable-recovery: mpirun does not end the job when a rank dies, so the survivors' own
    // watchdog is what ends their wait (as under launchers that do not kill)
    const r = await launch(4, 'ddp_train.mjs', { FAULT: 'kill', TENSORBOLT_DIST_TIMEOUT: '5' }, T, '--enable-recovery');
    // (mpirun then reports success itself: what counts is that every survivor failed, and how)
    const failed = [...r.err.matchAll(/TensorboltError: DistributedDataParallel: rank (\d) of 4: gradient bucket \d of 3 \(\d+ float32\) had no answer from the other ranks within 5 s/g)].map((m) => m[1]);
    expect(failed.sort(), describeRun(r)).toEqual(['0', '2', '3']);
    expect(r.seconds).toBeLessThan(180);
  }, T);

  it('a rank that stops answering: the others fail with the timeout error', async () => {
    const r = await launch(4, 'ddp_train.mjs', { FAULT: 'hang', TENSORBOLT_DIST_TIMEOUT: '5' });
    expect(r.code, describeRun(r)).not.toBe(0);
    expect(r.err).toMatch(/rank [023] of 4: gradient bucket \d of 3 \(\d+ float32\) had no answer from the other ranks within 5 s/);
    expect(r.seconds).toBeLessThan(180);
  }, T);
});
