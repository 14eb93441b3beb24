// A load racing a save in another process: the reader has read model.json, the writer commits a new
// model.json and removes the weights file the old one named, then the reader opens that file. The
// reader must read model.json again and load the new pair, whole. The interleaving is forced: just
// before the reader opens the weights file (it has seen it exist), a complete save runs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

const hook: { before: (() => void) | null } = { before: null };
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const openSync = ((p: string, ...rest: unknown[]) => {
    if (hook.before && /weights-[0-9a-f]+\.bin$/.test(String(p))) {
      const run = hook.before;
      hook.before = null;
      run();
    }
    return (fs.openSync as (...a: unknown[]) => unknown)(p, ...rest);
  }) as typeof fs.openSync;
  return { ...fs, default: { ...fs, openSync }, openSync };
});

const tb = await import('../../lib/index.js');
const dir = mkdtempSync(join(tmpdir(), 'tb-race-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function model(value: number): InstanceType<typeof tb.Sequential> {
  const m = tb.sequential([tb.layers.dense({ units: 3, inputShape: [4] })]);
  m.build();
  for (const [, t] of m.layers[0]!.weightsWithNames()) t.f32('test').fill(value);
  return m;
}

describe('a load racing a save', () => {
  it('the weights file vanished under the reader: it reads model.json again and gets the new pair', async () => {
    await tb.saveLayersModel(model(1), `file://${dir}`);
    let saved = false;
    hook.before = () => {
      void tb.saveLayersModel(model(2), `file://${dir}`); // runs to its end synchronously
      saved = true;
    };
    const m = await tb.loadModel(`file://${dir}`);
    expect(saved).toBe(true);
    const values = new Set(m.layers[0]!.weightsWithNames().flatMap(([, t]) => Array.from(t.dataSync())));
    expect([...values]).toEqual([2]);
  });

  it('a weights file that is really missing is still an error naming it', async () => {
    const d = mkdtempSync(join(dir, 'gone-'));
    const r = await tb.saveLayersModel(model(1), `file://${d}`);
    rmSync(r.weightsPath);
    await expect(tb.loadModel(`file://${d}`)).rejects.toThrow(new RegExp(`weights file ${r.weightsPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is missing`));
  });
});
