// Every code block of README.md and docs/*.md runs, as the reader copies it: ts/js blocks as
// programs (transpiled, importing the package by name), sh blocks as commands. MNIST is cut to its
// first images by a preloaded module (mnist-subset.mjs) so the programs take seconds; their code is
// not changed. Runs the compiled package in dist/ (npx tsc -p . first, as the examples' tests do).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { transformSync } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../reliability/bundle.js';
import { blocksOf, programs, type Block } from './blocks.js';
import { native } from '../../lib/native/load.js';

// tb.distributed needs an addon built with MPI (docs/distributed.md): without it those blocks skip.
const mpiMissing = !native().dist;
const needsMpi = (b: Block) => /tb\.distributed\.|DistributedDataParallel/.test(b.code);

const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const WORK = join(ROOT, '.test-bundles', `docs-${process.pid}`);
afterAll(() => rmSync(WORK, { recursive: true, force: true }));

/** The files "your own data" reads: a CSV of two learnable classes and a folder of PGM images. */
function fixtures(dir: string): void {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const rows = Array.from({ length: 120 }, () => {
    const f = [rnd(), rnd(), rnd()];
    return [...f.map((v) => v.toFixed(4)), f[0]! + f[1]! > 1 ? 1 : 0].join(',');
  });
  writeFileSync(join(dir, 'data.csv'), ['width,height,depth,label', ...rows].join('\n') + '\n');
  for (const [cls, level] of [['dark', 40], ['light', 200]] as const) {
    mkdirSync(join(dir, 'images', cls), { recursive: true });
    for (let k = 0; k < 12; k++) {
      const px = Buffer.from(Array.from({ length: 28 * 28 }, () => Math.max(0, Math.min(255, level + Math.round((rnd() - 0.5) * 80)))));
      writeFileSync(join(dir, 'images', cls, `${k}.pgm`), Buffer.concat([Buffer.from('P5\n28 28\n255\n', 'latin1'), px]));
    }
  }
}

function dirFor(page: string): string {
  const dir = join(WORK, page.replace(/[/.]/g, '-'));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  fixtures(dir);
  return dir;
}

function scriptName(b: Block): string {
  return b.file ? `${b.file}.js` : `block-${b.where.split(':').pop()}.js`;
}

/** Writes every ts/js block of a page into dir (TypeScript transpiled to an ES module). */
function writeBlocks(dir: string, blocks: Block[]): void {
  for (const b of blocks) {
    if (b.lang !== 'ts' && b.lang !== 'js') continue;
    const js = b.lang === 'ts' ? transformSync(b.code, { loader: 'ts', format: 'esm', target: 'node18', sourcefile: b.where }).code : b.code;
    writeFileSync(join(dir, scriptName(b)), js);
  }
}

// Asynchronous: a test process that blocks in spawnSync for long misses vitest's own messages.
function runNode(dir: string, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', join(ROOT, 'test', 'docs', 'mnist-subset.mjs'), ...args],
      { cwd: dir, encoding: 'utf8', timeout: 240_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, out: stdout, err: stderr }));
  });
}

/** What each program must print, beyond exiting 0 (keyed by a line of its code). */
const EXPECT: [RegExp, (out: string) => void][] = [
  [/class Net extends nn\.Module/, (out) => {
    const lines = [...out.matchAll(/^epoch (\d): train loss (\d+\.\d+), test accuracy (\d+\.\d+)%, (\d+) tensors live$/gm)];
    expect(lines.map((m) => m[1])).toEqual(['1', '2']);
    expect(Number(lines[1]![3])).toBeGreaterThan(70);     // 2 epochs on 2,000 images
    expect(lines[1]![4]).toBe(lines[0]![4]);                // tidy: no tensor left behind by an epoch
  }],
  [/tb\.layers\.conv2d\(\{ filters: 32/, (out) => expect(Number(/test accuracy (\d+\.\d+)%/.exec(out)?.[1])).toBeGreaterThan(30)],
  [/readFileSync\('data\.csv'/, (out) => expect(Number(/validation accuracy (\d\.\d+)/.exec(out)?.[1])).toBeGreaterThan(0.6)],
  [/class ImageFolder/, (out) => expect(out).toMatch(/^epoch 5: loss \d\.\d{4} over 24 images of dark, light$/m)],
  [/tb\.TensorDataset\(x, y\)/, (out) => expect(out).toMatch(/^batch: x 100,8, y 100 int32$/m)],
  [/startTraining\(\)/, (out) => expect(out).toMatch(/"state":"done","accuracy":0\.\d+/)],
];

/** sh blocks: the package's own commands run (`npx tensorbolt ...`), npm scripts must exist. */
async function checkShell(b: Block): Promise<void> {
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const commands = b.code.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean).flatMap((l) => l.split('&&').map((c) => c.trim()));
  for (const c of commands) {
    const words = c.split(/\s+/);
    if (words[0] === 'npx' && words[1] === 'tensorbolt') {
      const r = await runNode(ROOT, [join(ROOT, 'dist', 'lib', 'cli.js'), ...words.slice(2)]);
      expect(r.code, `${b.where}: ${c}\n${r.err}`).toBe(0);
    } else if (words[0] === 'npm' && ['install', 'ci', 'test', 'pack', 'publish'].includes(words[1]!)) {
      if (words[1] === 'test') expect(scripts.test, `${b.where}: ${c}`).toBeDefined();
    } else if (words[0] === 'npm' && words[1] === 'run') {
      expect(scripts[words[2]!], `${b.where}: '${c}' names no script of package.json`).toBeDefined();
    } else {
      throw new Error(`${b.where}: '${c}' is a command this test does not know how to check: teach test/docs/docs.test.ts`);
    }
  }
}

describe('docs: every code block runs', () => {
  it('dist/ is built', () => expect(existsSync(join(ROOT, 'dist', 'lib', 'index.js')), 'run npx tsc -p . first').toBe(true));

  for (const page of pages) {
    const blocks = blocksOf(join(ROOT, page), page);
    describe(page, () => {
      for (const b of programs(blocks)) {
        it.skipIf(mpiMissing && needsMpi(b))(`${b.where}${b.file ? ` (${b.file})` : ''}`, async () => {
          const dir = dirFor(`${page}-${b.where.split(':').pop()}`);
          writeBlocks(dir, blocks);
          const r = await runNode(dir, [scriptName(b)]);
          expect(r.code, `${b.where} exited ${r.code}\nstdout:\n${r.out}\nstderr:\n${r.err}`).toBe(0);
          for (const [re, check] of EXPECT) if (re.test(b.code)) check(r.out);
        }, 300_000);
      }
      for (const b of blocks.filter((x) => x.lang === 'sh')) it(`${b.where} (sh)`, async () => checkShell(b), 300_000);
    });
  }

  it('every expectation above found its block (none went stale)', () => {
    const all = pages.flatMap((p) => programs(blocksOf(join(ROOT, p), p)));
    for (const [re] of EXPECT) expect(all.some((b) => re.test(b.code)), String(re)).toBe(true);
  });
});
