// Crash-safe saving: a process killed with SIGKILL in the middle of model.save() leaves the previous
// model intact and loadable. A child saves an 8 MB model over and over (every weight of version v
// equals v) and stops at a given point inside a save, says so, and is killed there: halfway through
// writing the weights, before their rename, halfway through model.json, between the two renames,
// and after the commit. Each point is hit on purpose (children/save-loop.mjs wraps node:fs), not by
// a timer, so every kill lands inside a save on any machine. After each kill the folder must load
// and hold exactly the version the point implies.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { cleanBundles, libraryBundle, ROOT } from './bundle.js';

const dir = mkdtempSync(join(tmpdir(), 'tb-crash-save-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  cleanBundles();
});

const POINTS = ['weights-write', 'weights-rename', 'json-write', 'json-rename', 'after-commit'] as const;

/** Runs the save loop from version `first`; it is killed inside save number killAt + 1. */
function killAt(first: number, point: string, completeFirst: number): Promise<{ killed: number; lastDone: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'test', 'reliability', 'children', 'save-loop.mjs'), libraryBundle(), dir, String(first), point, String(completeFirst)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let killed = -1, lastDone = -1, buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        const [what, a, b] = l.split(' ');
        if (what === 'at') {
          killed = Number(b);
          expect(a).toBe(point);
          child.kill('SIGKILL');
        } else if (what === 'saved') lastDone = Number(a);
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL' || killed < 0) reject(new Error(`the save loop ended without reaching ${point} (code ${code}, signal ${signal})`));
      else resolve({ killed, lastDone });
    });
  });
}

describe('crash-safe save', () => {
  it('SIGKILL at each point inside model.save leaves a complete model of the right version', async () => {
    // the model a user already had
    const first = tb.sequential([tb.layers.dense({ units: 1024, inputShape: [2048] }), tb.layers.dense({ units: 16 })]);
    for (const l of first.layers) for (const [, t] of l.weightsWithNames()) t.f32('test').fill(0);
    await first.save(`file://${dir}`);
    first.dispose();

    let version = 1;
    let onDisk = 0;
    const rounds = POINTS.length * 2;
    for (let round = 0; round < rounds; round++) {
      const point = POINTS[round % POINTS.length]!;
      const completeFirst = Math.floor(round / POINTS.length); // 0: the killed save is the run's first
      const { killed, lastDone } = await killAt(version, point, completeFirst);
      const before = completeFirst > 0 ? lastDone : onDisk;
      // Only a model.json renamed into place commits a save; up to then the previous one stays.
      const want = point === 'after-commit' ? killed : before;
      const model = await tb.loadModel(`file://${join(dir, 'model.json')}`);
      const values = new Set<number>();
      for (const l of model.layers) for (const [, t] of l.weightsWithNames()) for (const v of t.dataSync()) values.add(v);
      model.dispose();
      expect([...values], `round ${round} (${point}): the weights of exactly version ${want}`).toEqual([want]);
      // what a killed writer leaves: its temporary file unless it was killed after the commit; its own
      // weights file, unreferenced, when killed after renaming it but before model.json; and the old
      // weights file when killed after the commit, before removing it
      const files = readdirSync(dir);
      const named = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')).weightsManifest[0].paths[0];
      const temps = files.filter((f) => f.endsWith('.tmp'));
      const others = files.filter((f) => !f.endsWith('.tmp') && f !== 'model.json' && f !== named);
      expect(temps.length, `round ${round} (${point}): temporary files ${temps}`).toBe(point === 'after-commit' ? 0 : 1);
      expect(others.length, `round ${round} (${point}): other files ${others}`).toBe(point === 'json-write' || point === 'json-rename' || point === 'after-commit' ? 1 : 0);
      for (const f of [...temps, ...others]) rmSync(join(dir, f)); // a killed writer cannot clean up
      onDisk = want;
      version = killed + 1;
    }
  }, 180_000);
});
