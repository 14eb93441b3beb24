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
    it(`${n} ranks: device collectives, and DDP and Keras fit on 'cuda', each matching one CPU process`, async () => {
      const r = await launch(n, 'ddp_device.mjs');
      expect(r.code, describeRun(r)).toBe(0);
      expect(r.byRank.length).toBe(n);
      for (const o of r.byRank) {
        expect(o).toMatchObject({ size: n, device: 'cuda', buckets: 2 });
        expect(o.collectives).toEqual({ sum: [(n * (n + 1)) / 2, 2 * n], device: 'cuda', gather: Array.from({ length: n }, (_, i) => i), gatherDevice: 'cuda' });
      }
      expect(new Set(r.byRank.map((o) => o.hash)).size, describeRun(r)).toBe(1);
      expect(r.byRank[0]!.diff as number).toBeLessThan(1e-5);
      // Keras fit of a model on 'cuda' (host buckets over MPI), against one CPU process's fit
      expect(r.byRank[0]!.fitDiff as number).toBeLessThan(1e-5);
    }, 240_000);
  }
});

// init({ nccl: true }): CUDA tensors' own memory goes to the NCCL engine. Where the addon has it:
// test:cuda-emu builds it over an emulation of NCCL's API on MPI (test/cuda/emu/nccl_emu.cc), so
// this checks tensorbolt's side (routing, dtypes, pre-scaling, queues, memory held by the job); a
// CUDA build with the real NCCL on a GPU machine runs the same test (one GPU per rank).
const whyNccl = why ?? (native().dist?.nccl ? null : 'the addon has no NCCL engine');

describe.skipIf(whyNccl !== null)(`tb.distributed with NCCL on device tensors${whyNccl ? ` (skipped: ${whyNccl})` : ''}`, () => {
  for (const n of [2, 4]) {
    it(`${n} ranks: every collective on 'cuda' tensors through NCCL, host ones over MPI between them; DDP's and Keras fit's device buckets through NCCL, each matching one CPU process`, async () => {
      const r = await launch(n, 'nccl_device.mjs');
      expect(r.code, describeRun(r)).toBe(0);
      expect(r.byRank.length).toBe(n);
      const tri = (n * (n + 1)) / 2;
      const cuda = (values: number[]) => ({ values, device: 'cuda' });
      for (const [k, o] of r.byRank.entries()) {
        expect(o, describeRun(r)).toMatchObject({ rank: k, size: n, deviceBackend: 'nccl', ncclStarted: true });
        expect(o.routed).toEqual({ device: [0, 1], host: [1, 0] });
        expect(o.sum).toEqual(cuda([tri, -2 * n, 0.5 * n]));
        expect(o.mean).toEqual(cuda([tri / n, 4]));
        expect(o.max).toEqual(cuda([n - 1, 0]));
        expect(o.min).toEqual(cuda([0, -(n - 1)]));
        expect(o.intSum).toEqual(cuda([(n * (n - 1)) / 2, n]));
        expect(o.host).toEqual({ values: [tri], device: 'cpu' });
        expect(o.broadcast).toEqual(cuda([n - 1, 10 * (n - 1)]));
        expect(o.gather).toEqual({ ...cuda(Array.from({ length: n }, (_, i) => [i, i + 0.5]).flat()), shape: [n, 1, 2] });
        expect(o.together).toEqual([0, 1, 2].map((k) => (n * (n - 1)) / 2 + n * k));
        // submitted before the dispose (NCCL had started): the job held the memory
        expect(o.disposed).toBe('resolved');
        // DDP: device buckets, every one of the K=3 steps' buckets to NCCL and nothing to MPI
        expect(o).toMatchObject({ ddpOnDevice: true, buckets: 2, ddpJobs: { mpi: 0, nccl: 3 * 2 } });
      }
      // identical weights on every rank, and those of one CPU process on the same global batches
      expect(new Set(r.byRank.map((o) => o.hash)).size, describeRun(r)).toBe(1);
      expect(r.byRank[0]!.diff as number).toBeLessThan(1e-5);
      // Keras fit on 'cuda': 2 epochs of 2 global batches, one device bucket each, all through NCCL
      for (const o of r.byRank) expect(o.fitNcclJobs, describeRun(r)).toBe(4);
      expect(r.byRank[0]!.fitDiff as number).toBeLessThan(1e-5);
    }, 240_000);
  }
});
