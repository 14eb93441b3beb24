// Files that are not regular files, handed where the library reads one: a FIFO blocks the reader
// forever and /dev/zero never ends, so each read here ran in a child process (a hang shows as its
// timeout). Every one must be a TensorboltError naming the path, at once.
import { spawnSync } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';
import { cleanBundles, scriptFile } from '../reliability/bundle.js';

const dir = mkdtempSync(join(tmpdir(), 'tb-special-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  cleanBundles();
});

/** Runs `code` (with tb in scope) in a child process; returns what it threw, or 'no error'. */
function inChild(name: string, code: string): string {
  const script = scriptFile(name, `import * as tb from '__LIB__';\ntry { await (async () => { ${code} })(); console.log('RESULT no error'); } catch (e) { console.log('RESULT ' + e.name + ': ' + e.message); }\n`);
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 });
  if (r.error) return `child failed: ${(r.error as NodeJS.ErrnoException).code}`; // ETIMEDOUT: it hung
  return r.stdout.split('\n').find((l) => l.startsWith('RESULT '))?.slice(7) ?? `no result: ${r.stderr.slice(-300)}`;
}

async function savedModel(): Promise<{ dir: string; weights: string }> {
  const d = mkdtempSync(join(dir, 'model-'));
  const m = tb.sequential([tb.layers.dense({ units: 2, inputShape: [2] })]);
  await m.save(`file://${d}`);
  const weights = join(d, JSON.parse(readFileSync(join(d, 'model.json'), 'utf8')).weightsManifest[0].paths[0]);
  return { dir: d, weights };
}

const fifo = (p: string) => { execFileSync('mkfifo', [p]); return p; };

describe('reading what is not a regular file', () => {
  it('a FIFO as tb.load, loadCheckpoint and readIdx paths', () => {
    const p = fifo(join(dir, 'pipe.safetensors'));
    expect(inChild('fifo-load', `tb.load(${JSON.stringify(p)})`)).toBe(`TensorboltError: load: ${p}: the safetensors file is a FIFO (named pipe), not a regular file`);
    expect(inChild('fifo-ckpt', `tb.loadCheckpoint(${JSON.stringify(p)}, { model: new tb.nn.Linear(1, 1) })`)).toMatch(/^TensorboltError: loadCheckpoint: .*pipe\.safetensors: the safetensors file is a FIFO/);
    expect(inChild('fifo-idx', `tb.data.readIdx(${JSON.stringify(p)})`)).toMatch(/^TensorboltError: readIdx: .*pipe\.safetensors: the IDX file is a FIFO/);
  });

  it('a FIFO as the weights file, and as model.json', async () => {
    const m = await savedModel();
    rmSync(m.weights);
    fifo(m.weights);
    expect(inChild('fifo-weights', `await tb.loadModel('file://${m.dir}')`)).toBe(`TensorboltError: loadModel: ${m.weights}: the weights file is a FIFO (named pipe), not a regular file`);
    const j = await savedModel();
    rmSync(join(j.dir, 'model.json'));
    fifo(join(j.dir, 'model.json'));
    expect(inChild('fifo-json', `await tb.loadModel('file://${j.dir}')`)).toMatch(/^TensorboltError: loadModel: .*model\.json: the model\.json is a FIFO/);
  });

  it('/dev/zero as tb.load, readIdx and the weights file (a link to it)', async () => {
    expect(inChild('zero-load', `tb.load('/dev/zero')`)).toBe('TensorboltError: load: /dev/zero: the safetensors file is a device, not a regular file');
    expect(inChild('zero-idx', `tb.data.readIdx('/dev/zero')`)).toBe('TensorboltError: readIdx: /dev/zero: the IDX file is a device, not a regular file');
    const m = await savedModel();
    rmSync(m.weights);
    symlinkSync('/dev/zero', m.weights);
    expect(inChild('zero-weights', `await tb.loadModel('file://${m.dir}')`)).toMatch(/^TensorboltError: loadModel: .*weights-[0-9a-f]+\.bin: the weights file is a device/);
  });

  it('a folder: a TensorboltError, not a raw EISDIR', async () => {
    const d = mkdtempSync(join(dir, 'folder-'));
    expect(() => tb.load(d)).toThrow(new RegExp(`^load: ${d}: the safetensors file is a folder, not a regular file$`));
    expect(() => tb.data.readIdx(d)).toThrow(/^readIdx: .*: the IDX file is a folder/);
    mkdirSync(join(d, 'model.json'));
    await expect(tb.loadModel(`file://${d}`)).rejects.toThrow(/^loadModel: .*model\.json: the model\.json is a folder, not a regular file$/);
    const m = await savedModel();
    rmSync(m.weights);
    mkdirSync(m.weights);
    await expect(tb.loadModel(`file://${m.dir}`)).rejects.toThrow(/the weights file is a folder/);
  });
});
