// DistributedSampler and DataLoader's sampler option (no MPI needed: replicas and rank are given).
import { describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';

const { DistributedSampler, DataLoader } = tb.data;

describe('DistributedSampler', () => {
  it('covers every sample exactly once per epoch, over every rank count, for several epochs', () => {
    for (const n of [1, 7, 10, 60, 61, 1000]) {
      for (let size = 1; size <= 5; size++) {
        const samplers = Array.from({ length: size }, (_, r) => new DistributedSampler(n, { numReplicas: size, rank: r, seed: 3 }));
        for (let epoch = 0; epoch < 3; epoch++) {
          const seen = new Int32Array(n);
          for (const s of samplers) {
            const idx = s.indices();
            expect(idx.length).toBe(s.shardLength());
            for (const i of idx) seen[i]!++;
          }
          expect(Array.from(seen).every((c) => c === 1), `n ${n}, ${size} ranks, epoch ${epoch}`).toBe(true);
        }
        const lens = samplers.map((s) => s.length);
        expect(Math.max(...lens) - Math.min(...lens)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('reshuffles every epoch by seed + epoch, the same on every rank, and setEpoch picks an epoch', () => {
    const a = new DistributedSampler(100, { numReplicas: 2, rank: 0, seed: 9 });
    const b = new DistributedSampler(100, { numReplicas: 2, rank: 0, seed: 9 });
    const e0 = a.indices();
    const e1 = a.indices();
    expect(Array.from(e0)).not.toEqual(Array.from(e1));
    expect(Array.from(b.indices())).toEqual(Array.from(e0));
    b.setEpoch(1);
    expect(Array.from(b.indices())).toEqual(Array.from(e1));
    const other = new DistributedSampler(100, { numReplicas: 2, rank: 0, seed: 10 });
    expect(Array.from(other.indices())).not.toEqual(Array.from(e0));
    // rank r takes positions r, r + size, ... of one permutation shared by all ranks
    const one = new DistributedSampler(100, { numReplicas: 1, rank: 0, seed: 9 }).indices();
    const r1 = new DistributedSampler(100, { numReplicas: 2, rank: 1, seed: 9 }).indices();
    expect(Array.from(e0)).toEqual(Array.from(one).filter((_, k) => k % 2 === 0));
    expect(Array.from(r1)).toEqual(Array.from(one).filter((_, k) => k % 2 === 1));
  });

  it('without shuffle deals the samples in order; dropLast evens the shards', () => {
    expect(Array.from(new DistributedSampler(7, { numReplicas: 3, rank: 1, shuffle: false }).indices())).toEqual([1, 4]);
    expect(Array.from(new DistributedSampler(7, { numReplicas: 3, rank: 0, shuffle: false }).indices())).toEqual([0, 3, 6]);
    const lens = [0, 1, 2].map((r) => new DistributedSampler(7, { numReplicas: 3, rank: r, dropLast: true }).length);
    expect(lens).toEqual([2, 2, 2]);
  });

  it('rejects bad arguments with errors naming them', () => {
    expect(() => new DistributedSampler(0, { numReplicas: 1, rank: 0 })).toThrow(/expects a data set/);
    expect(new DistributedSampler({ images: tb.zeros([7, 2]), labels: tb.zeros([7]) }, { numReplicas: 2, rank: 1 }).length).toBe(3);
    expect(() => new DistributedSampler(10, { numReplicas: 2, rank: 2 })).toThrow(/rank must be in \[0, 2\), got 2/);
    expect(() => new DistributedSampler(10, { numReplicas: 0, rank: 0 })).toThrow(/numReplicas must be a positive integer/);
    expect(() => new DistributedSampler(10, { numReplicas: 2, rank: 0, seed: 0.5 })).toThrow(/seed must be an integer/);
    expect(() => new DistributedSampler(10, { numReplicas: 2, rank: 0 }).setEpoch(-1)).toThrow(/epoch must be a non-negative integer/);
  });
});

describe('DataLoader with a sampler', () => {
  const n = 10;
  const ds = new tb.TensorDataset(tb.arange(0, n).reshape([n, 1]), tb.arange(0, n, 1, 'int32'));

  it("yields this rank's samples in the sampler's order, and its length", () => {
    const sampler = new DistributedSampler(ds, { numReplicas: 2, rank: 1, seed: 4 });
    const expected = Array.from(new DistributedSampler(ds, { numReplicas: 2, rank: 1, seed: 4 }).indices());
    const loader = new DataLoader(ds, { batchSize: 2, sampler });
    expect(loader.length).toBe(3);
    const got: number[] = [];
    for (const [x, y] of loader) {
      expect(Array.from(x.dataSync())).toEqual(Array.from(y.dataSync()));
      got.push(...Array.from(y.dataSync()));
      x.dispose();
      y.dispose();
    }
    expect(got).toEqual(expected);
  });

  it('refuses batching that would give the ranks different numbers of steps, and shuffle with a sampler', () => {
    // 10 samples over 4 ranks: shards of 3, 3, 2, 2; batches of 1 give 3 steps to some, 2 to others
    expect(() => new DataLoader(ds, { batchSize: 1, sampler: new DistributedSampler(ds, { numReplicas: 4, rank: 0 }) }))
      .toThrow(/rank 0 gets 3 batches but rank 2 gets 2; every rank must take the same number of steps/);
    expect(() => new DataLoader(ds, { batchSize: 1, dropLast: true, sampler: new DistributedSampler(ds, { numReplicas: 4, rank: 0, dropLast: true }) })).not.toThrow();
    expect(() => new DataLoader(ds, { batchSize: 2, shuffle: true, sampler: new DistributedSampler(ds, { numReplicas: 2, rank: 0 }) }))
      .toThrow(/shuffle and sampler exclude each other/);
    expect(() => new DataLoader(ds, { batchSize: 2, sampler: {} as never })).toThrow(/sampler must have indices\(\) and length/);
  });

  it('rejects a sampler index outside the data set', () => {
    const loader = new DataLoader(ds, { batchSize: 2, sampler: { length: 1, indices: () => Int32Array.of(10) } });
    expect(() => [...loader]).toThrow(/the sampler gave index 10 at position 0, outside the data set's \[0, 10\)/);
  });
});
