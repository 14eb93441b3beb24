// tb.distributed with device tensors: collectives and DDP on 'cuda', staged through host memory over
// MPI, at 2 and 4 ranks. Runs where the loaded addon has both the CUDA backend and MPI (test:cuda-emu
// builds the host emulator of CUDA with MPI when MPI is found; a CUDA build on a GPU machine); skips
// otherwise.
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native/load.js';
import { cuda } from '../../lib/index.js';
import { describeRun, launch, mpiMissing } from '../distributed/helpers.js';

const why = !cuda.isAvailable() ? 'no CUDA backend in this addon' : !native().dist ? 'the addon was built without MPI' : mpiMissing();

describe.skipIf(why !== null)(`tb.distributed on device tensors${why ? ` (skipped: ${why})` : ''}`, () => {
  for (const n of [2, 4]) {
    it(`${n} ranks: device collectives, and DDP on 'cuda' matching one CPU process`, async () => {
      const r = await launch(n, 'ddp_device.mjs');
      expect(r.code, describeRun(r)).toBe(0);
      expect(r.byRank.length).toBe(n);
      for (const o of r.byRank) {
        expect(o).toMatchObject({ size: n, device: 'cuda', buckets: 2 });
        expect(o.collectives).toEqual({ sum: [(n * (n + 1)) / 2, 2 * n], device: 'cuda', gather: Array.from({ length: n }, (_, i) => i), gatherDevice: 'cuda' });
      }
      expect(new Set(r.byRank.map((o) => o.hash)).size, describeRun(r)).toBe(1);
      expect(r.byRank[0]!.diff as number).toBeLessThan(1e-5);
    }, 240_000);
  }
});
