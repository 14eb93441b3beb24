// A write that fails halfway (disk full) must leave the previous file whole: the mocked writeSync
// writes part of the data, then fails with ENOSPC.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { cleanTempDirs, tempDir } from './tfjs_helpers.js';

const failing = { on: false, skip: 0 };
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const writeSync = ((fd: number, buf: Uint8Array, off?: number, len?: number) => {
    if (!failing.on || failing.skip-- > 0) return (fs.writeSync as (...a: unknown[]) => number)(fd, buf, off, len);
    (fs.writeSync as (...a: unknown[]) => number)(fd, buf, off, Math.max(1, Math.floor((len ?? buf.byteLength) / 2)));
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  }) as typeof fs.writeSync;
  return { ...fs, default: { ...fs, writeSync }, writeSync };
});

const tb = await import('../../lib/index.js');

afterAll(cleanTempDirs);

describe('a write that fails halfway', () => {
  it('leaves the previous safetensors file whole and no temporary file', () => {
    const dir = tempDir();
    const file = join(dir, 'w.safetensors');
    tb.save({ w: tb.ones([64]) }, file);
    const before = readFileSync(file);
    failing.on = true;
    try {
      expect(() => tb.save({ w: tb.zeros([4096]) }, file)).toThrow(/save: .*w\.safetensors: cannot write it: ENOSPC/);
    } finally {
      failing.on = false;
    }
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(Array.from(tb.load(file).w!.dataSync())).toEqual(new Array(64).fill(1));
    expect(readdirSync(dir)).toEqual(['w.safetensors']);
  });

  it('leaves a saved model loadable', async () => {
    const dir = tempDir();
    const model = tb.sequential([tb.layers.dense({ units: 3, inputShape: [2] })]);
    await model.save(`file://${dir}`);
    const x = tb.ones([1, 2]);
    const want = Array.from(model.predict(x).dataSync());
    const other = tb.sequential([tb.layers.dense({ units: 3, inputShape: [2] })]);
    failing.on = true;
    try {
      await expect(other.save(`file://${dir}`)).rejects.toThrow(/cannot write it: ENOSPC/);
    } finally {
      failing.on = false;
    }
    expect(Array.from((await tb.loadModel(`file://${dir}`)).predict(x).dataSync())).toEqual(want);
    expect(readdirSync(dir).sort()).toEqual(['model.json', expect.stringMatching(/^weights-[0-9a-f]{16}\.bin$/)]);
  });

  it('between the weights and model.json (the second file) leaves the previous pair, not new weights under the old model.json', async () => {
    const dir = tempDir();
    const model = tb.sequential([tb.layers.dense({ units: 3, inputShape: [2] })]);
    await model.save(`file://${dir}`);
    const before = readdirSync(dir).sort();
    const x = tb.ones([1, 2]);
    const want = Array.from(model.predict(x).dataSync());
    const other = tb.sequential([tb.layers.dense({ units: 3, inputShape: [2] })]); // same shapes, other values
    failing.on = true;
    failing.skip = 1; // the weights file is written whole
    try {
      await expect(other.save(`file://${dir}`)).rejects.toThrow(/model\.json: cannot write it: ENOSPC/);
    } finally {
      failing.on = false;
      failing.skip = 0;
    }
    expect(Array.from((await tb.loadModel(`file://${dir}`)).predict(x).dataSync())).toEqual(want);
    expect(readdirSync(dir).sort()).toEqual(before); // the new weights file is removed as well
  });
});
