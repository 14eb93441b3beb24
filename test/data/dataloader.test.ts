import { describe, expect, it, vi } from 'vitest';
import { DataLoader, TensorDataset, subset, type Dataset } from '../../lib/data/index.js';
import { randomShift } from '../../lib/data/transforms.js';
import { tensor } from '../../lib/tensor/creation.js';
import { TensorboltError } from '../../lib/tensor/errors.js';
import { setSeed } from '../../lib/tensor/random.js';
import type { Tensor } from '../../lib/tensor/tensor.js';

/** x row i is [i*10, i*10+1, i*10+2] (shape (n, 3)); y is the int32 label i % 4. */
function toy(n: number): { x: Tensor; y: Tensor } {
  const x = new Float32Array(n * 3).map((_, k) => Math.floor(k / 3) * 10 + (k % 3));
  const y = new Int32Array(n).map((_, i) => i % 4);
  return { x: tensor(x, [n, 3]), y: tensor(y, [n], 'int32') };
}

/** The sample index each batch row came from (x[0] / 10). */
const rowsOf = (x: Tensor) => Array.from({ length: x.shape[0]! }, (_, r) => x.f32('t')[r * 3]! / 10);

function epoch(loader: DataLoader): number[] {
  const seen: number[] = [];
  for (const [x, y] of loader) {
    const r = rowsOf(x);
    // y travels with x
    expect(Array.from(y.i32('t'))).toEqual(r.map((i) => i % 4));
    seen.push(...r);
    x.dispose();
    y.dispose();
  }
  return seen;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('DataLoader', () => {
  it('batches in order with a partial last batch, keeping dtypes and sample shapes', () => {
    const { x, y } = toy(10);
    const loader = new DataLoader(new TensorDataset(x, y), { batchSize: 4 });
    expect(loader.length).toBe(3);
    const batches = [...loader];
    expect(batches.map(([bx]) => bx.shape)).toEqual([[4, 3], [4, 3], [2, 3]]);
    expect(batches.map(([, by]) => by.shape)).toEqual([[4], [4], [2]]);
    for (const [bx, by] of batches) {
      expect(bx.dtype).toBe('float32');
      expect(by.dtype).toBe('int32');
    }
    expect(batches[2]![0].arraySync()).toEqual([[80, 81, 82], [90, 91, 92]]);
    expect(Array.from(batches[2]![1].i32('t'))).toEqual([0, 1]);
    expect(batches.flatMap(([bx]) => rowsOf(bx))).toEqual(range(10));
  });

  it('dropLast drops the partial batch', () => {
    const { x, y } = toy(10);
    const loader = new DataLoader(new TensorDataset(x, y), { batchSize: 4, dropLast: true });
    expect(loader.length).toBe(2);
    expect(epoch(loader)).toEqual(range(8));
    expect(new DataLoader(new TensorDataset(x, y), { batchSize: 5, dropLast: true }).length).toBe(2);
    expect(new DataLoader(new TensorDataset(x, y), { batchSize: 11, dropLast: true }).length).toBe(0);
  });

  it('accepts an { images, labels } split like the one mnist() returns', () => {
    const { x, y } = toy(6);
    const loader = new DataLoader({ images: x, labels: y }, { batchSize: 6 });
    const [[bx, by]] = [...loader];
    expect(bx!.shape).toEqual([6, 3]);
    expect(by!.dtype).toBe('int32');
  });

  it('a seeded shuffle is a permutation, repeatable, and new each epoch', () => {
    const { x, y } = toy(50);
    const ds = new TensorDataset(x, y);
    const a = new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 7 });
    const b = new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 7 });
    const a1 = epoch(a);
    const a2 = epoch(a);
    expect(a1.slice().sort((p, q) => p - q)).toEqual(range(50));
    expect(a2.slice().sort((p, q) => p - q)).toEqual(range(50));
    expect(a1).not.toEqual(range(50));
    expect(a2).not.toEqual(a1);
    expect(epoch(b)).toEqual(a1);
    expect(epoch(b)).toEqual(a2);
    expect(epoch(new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 8 }))).not.toEqual(a1);
  });

  it('without a seed, tb.setSeed makes the shuffle repeatable', () => {
    const { x, y } = toy(30);
    const loader = new DataLoader(new TensorDataset(x, y), { batchSize: 7, shuffle: true });
    setSeed(123);
    const first = epoch(loader);
    setSeed(123);
    expect(epoch(loader)).toEqual(first);
  });

  it('iterates a subset in the given order (fast path through the indices)', () => {
    const { x, y } = toy(10);
    const sub = subset(new TensorDataset(x, y), [9, 2, 3, 4, 0]);
    expect(sub.length).toBe(5);
    expect(epoch(new DataLoader(sub, { batchSize: 2 }))).toEqual([9, 2, 3, 4, 0]);
    expect(() => subset(new TensorDataset(x, y), [1, 10])).toThrow(/subset: indices\[1\] = 10 is out of range for a dataset of 10 samples/);
  });

  it('batches a generic Dataset through get(i), with declared shapes and dtypes', () => {
    const ds: Dataset = {
      length: 5,
      get: (i) => [Float32Array.of(i, -i, i, -i), i % 2],
      sampleShape: [[2, 2], []],
      sampleDtype: ['float32', 'int32'],
    };
    const [[x1, y1], [x2, y2]] = [...new DataLoader(ds, { batchSize: 3 })];
    expect(x1!.shape).toEqual([3, 2, 2]);
    expect(y1!.dtype).toBe('int32');
    expect(Array.from(y1!.i32('t'))).toEqual([0, 1, 0]);
    expect(x2!.arraySync()).toEqual([[[3, -3], [3, -3]], [[4, -4], [4, -4]]]);
    expect(Array.from(y2!.i32('t'))).toEqual([1, 0]);

    const plain: Dataset = { length: 3, get: (i) => [Float32Array.of(i, i), Int32Array.of(i)] };
    const [[px, py]] = [...new DataLoader(plain, { batchSize: 3 })];
    expect(px!.shape).toEqual([3, 2]);
    expect(py!.shape).toEqual([3, 1]);
    expect(py!.dtype).toBe('int32');
  });

  it('names the sample whose shape differs from sample 0', () => {
    const ds: Dataset = { length: 4, get: (i) => [new Float32Array(i === 2 ? 5 : 4), 0] };
    expect(() => [...new DataLoader(ds, { batchSize: 4 })]).toThrow(/DataLoader: sample 2's x has 5 values but sample 0's has shape \[4\]/);
  });

  it('applies a per-sample transform to x (seeded through the loader)', () => {
    // 8 images of 5x5x1 with one bright pixel at the centre.
    const n = 8;
    const img = new Float32Array(n * 25);
    for (let i = 0; i < n; i++) img[i * 25 + 12] = 1;
    const ds = new TensorDataset(tensor(img, [n, 5, 5, 1]), tensor(new Int32Array(n), [n], 'int32'));
    const run = () => {
      const [[x]] = [...new DataLoader(ds, { batchSize: n, seed: 3, transform: randomShift({ maxShift: 2 }) })];
      return x!;
    };
    const a = run();
    expect(a.shape).toEqual([n, 5, 5, 1]);
    const pos = Array.from({ length: n }, (_, i) => a.f32('t').subarray(i * 25, (i + 1) * 25).indexOf(1));
    for (const p of pos) expect(p).toBeGreaterThanOrEqual(0); // a shift of <= 2 keeps the centre pixel inside
    expect(new Set(pos).size).toBeGreaterThan(1);
    expect(Array.from(run().f32('t'))).toEqual(Array.from(a.f32('t')));
    // the source images are not modified
    expect(img.filter((v) => v === 1).length).toBe(n);
    for (let i = 0; i < n; i++) expect(img[i * 25 + 12]).toBe(1);
  });

  it('rejects a bad batch size, an empty dataset and mismatched sample counts', () => {
    const { x, y } = toy(4);
    const ds = new TensorDataset(x, y);
    const expectErr = (fn: () => unknown, op: string, re: RegExp) => {
      let err: unknown;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TensorboltError);
      expect((err as TensorboltError).op).toBe(op);
      expect((err as Error).message).toMatch(re);
    };
    expectErr(() => new DataLoader(ds, { batchSize: 0 }), 'DataLoader', /batchSize must be a positive integer, got 0/);
    expectErr(() => new DataLoader(ds, { batchSize: -3 }), 'DataLoader', /batchSize/);
    expectErr(() => new DataLoader(ds, { batchSize: 2.5 }), 'DataLoader', /batchSize must be a positive integer, got 2.5/);
    expectErr(() => new DataLoader(ds, {} as never), 'DataLoader', /batchSize/);
    expectErr(() => new DataLoader({ length: 0, get: () => [0, 0] }, { batchSize: 2 }), 'DataLoader', /empty/);
    expectErr(() => new DataLoader(42 as never, { batchSize: 2 }), 'DataLoader', /expected a Dataset/);
    expectErr(() => new TensorDataset(x, tensor(new Int32Array(3), [3], 'int32')), 'TensorDataset', /x has 4 samples but y has 3/);
    expectErr(() => new TensorDataset(tensor(1), y), 'TensorDataset', /sample axis/);
    expectErr(() => ds.get(4), 'TensorDataset.get', /index 4 is out of range for a dataset of 4 samples/);
    const intX = new TensorDataset(tensor(new Int32Array(8), [4, 2], 'int32'), y);
    expectErr(() => new DataLoader(intX, { batchSize: 2, transform: (v) => v }), 'DataLoader', /transforms need float32 samples, x is int32/);
    expectErr(
      () => [...new DataLoader(ds, { batchSize: 2, transform: () => new Float32Array(1) })],
      'DataLoader',
      /transform returned Float32Array\(1\) for sample 0; expected a Float32Array of 3 values/,
    );
  });

  it('a disposed source tensor gives a clear error, not garbage', () => {
    const { x, y } = toy(4);
    const loader = new DataLoader(new TensorDataset(x, y), { batchSize: 2 });
    x.dispose();
    expect(() => [...loader]).toThrow(/DataLoader: tensor #\d+ \[4,3\] was used after dispose\(\)/);
  });

  it('copies MNIST-sized batches as whole rows, never sample by sample through get()', () => {
    const n = 6000;
    const x = tensor(new Float32Array(n * 784).map((_, i) => i % 784 === 0 ? i / 784 : 0.5), [n, 28, 28, 1]);
    const y = tensor(Int32Array.from({ length: n }, (_, i) => i), [n], 'int32');
    const ds = new TensorDataset(x, y);
    const get = vi.spyOn(ds, 'get');
    const loader = new DataLoader(ds, { batchSize: 128, shuffle: true, seed: 1 });
    let count = 0;
    for (const [bx, by] of loader) {
      const xs = bx.dataSync(), ys = by.dataSync();
      for (let k = 0; k < by.size; k++) expect(xs[k * 784]).toBe(ys[k]); // each row is its sample's
      count += bx.shape[0]!;
      bx.dispose();
      by.dispose();
    }
    expect(count).toBe(n);
    // The speed of this path is the rows: a copy per row (one per run of rows), not a get() and a
    // check per sample. (A time limit here failed on busy machines; speed belongs in bench/.)
    expect(get.mock.calls.length).toBeLessThanOrEqual(1);
  });
});
