// Several processes saving models of the same shapes to one folder at once, while this process loads
// from it: every load is one writer's model.json with that writer's weights (model 'writer<k>' holds
// only the value k), never a mix and never an unloadable pair; the folder ends with a complete pair.
// (test/io/atomic_failure.test.ts has the deterministic case: a failure between the two files.)
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { cleanBundles, libraryBundle, ROOT } from './bundle.js';

const dir = mkdtempSync(join(tmpdir(), 'tb-concurrent-save-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  cleanBundles();
});

function writer(id: number, saves: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'test', 'reliability', 'children', 'save-concurrent.mjs'), libraryBundle(), dir, String(id), String(saves)], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer ${id} exited with ${code}`))));
  });
}

async function check(where: string): Promise<number> {
  const m = await tb.loadModel(`file://${dir}`);
  const id = Number(/^writer(\d)$/.exec(m.name)?.[1]);
  const values = new Set(m.layers.flatMap((l) => l.weightsWithNames().flatMap(([, t]) => Array.from(t.dataSync()))));
  m.dispose();
  expect([...values], `${where}: model.json of writer ${id}`).toEqual([id]);
  return id;
}

describe('concurrent saves to one folder', () => {
  it('two writers and a reader: every load is one writer\'s complete pair', async () => {
    const first = tb.sequential({ name: 'writer0', layers: [tb.layers.dense({ units: 64, inputShape: [256] }), tb.layers.dense({ units: 8 })] });
    for (const l of first.layers) for (const [, t] of l.weightsWithNames()) t.f32('test').fill(0);
    await first.save(`file://${dir}`);
    let running = true;
    const writers = Promise.all([writer(1, 40), writer(2, 40)]).finally(() => { running = false; });
    const seen = new Set<number>();
    let loads = 0;
    try {
      while (running) {
        seen.add(await check(`load ${++loads}`));
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      await writers.catch(() => {}); // a failed load must not remove the folder under the writers
    }
    await writers;
    const last = await check('after both writers');
    expect([1, 2]).toContain(last);
    const files = readdirSync(dir);
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const named = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')).weightsManifest[0].paths[0];
    // a save removes the file of the model.json it replaced and its own earlier ones; two saves that
    // replaced the same model.json leave the loser's last file (one per writer at most), unreferenced
    const orphans = files.filter((f) => f !== 'model.json' && f !== named);
    for (const f of orphans) expect(f).toMatch(/^weights-[0-9a-f]{16}\.bin$/);
    expect(orphans.length).toBeLessThanOrEqual(1);
    console.log(`concurrent saves: 2 x 40 saves, ${loads} loads meanwhile (writers seen: ${[...seen].sort()}), ${orphans.length} unreferenced weights files left`);
    expect(loads).toBeGreaterThan(0);
  }, 120_000);
});
