// The package's type declarations as a user's project sees them: a project with tensorbolt and
// @types/node in node_modules, compiled by tsc --strict with the default lib and target, as
// --module nodenext, and with a bundler's resolution. The TypeScript code blocks of README.md and
// docs/ are type-checked there too, and a typo in an optimizer name must be a compile error.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../reliability/bundle.js';
import { blocksOf } from '../docs/blocks.js';

let app = '';

// Uses the API across its parts, without top-level await (a CommonJS compile has none).
const MAIN = `
import * as tb from 'tensorbolt';

const x: tb.Tensor = tb.tensor([[1, 2], [3, 4]]);
const [values, indices] = tb.max(x, 1);
const same: boolean = tb.equal(values, x.max(1).values) && x.eq(x).sum().item() === 4 && indices.dtype === 'int32';
const net = new tb.nn.Sequential(new tb.nn.Conv2d(1, 4, 3, 1), new tb.nn.Flatten(), new tb.nn.Linear(4 * 26 * 26, 10));
const loss: tb.Tensor = new tb.nn.CrossEntropyLoss().forward(net.forward(tb.zeros([2, 1, 28, 28])), tb.tensor([1, 2], [2], 'int32'));
const model = tb.sequential([tb.layers.dense({ units: 1, inputShape: [1] })]);
model.compile({ optimizer: tb.optimizers.adadelta({ learning_rate: 1.0 }), loss: 'meanSquaredError' });
model.compile({ optimizer: 'RMSprop', loss: 'mse' });
async function run(): Promise<number[]> {
  const h: tb.History = await model.fit([[1], [2]], [[1], [2]], { epochs: 1, verbose: 0 });
  const job: tb.TrainingJob<{ accuracy: number }> = tb.trainInWorker(new URL('file:///job.js'), { workerData: { epochs: 1 } });
  job.on('epochEnd', ({ epoch, logs }) => console.log(epoch, logs.loss));
  console.log(model.predict([[4]]).dataSync(), same, loss.item(), tb.flatten(x, 0).shape);
  return h.epochTime;
}
void run;
`;

/** tsc's checks with these compiler options over files (see typecheck.cjs), in a child process. */
function tsc(options: Record<string, unknown>, files: string[]): Promise<{ code: number; out: string }> {
  const script = join(ROOT, 'test', 'package', 'typecheck.cjs');
  return new Promise((resolve) => {
    execFile(process.execPath, [script, JSON.stringify({ strict: true, ...options }), ...files], { cwd: app, timeout: 240_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr }));
  });
}

beforeAll(() => {
  app = mkdtempSync(join(tmpdir(), 'tb-consumer-'));
  mkdirSync(join(app, 'node_modules', '@types'), { recursive: true });
  symlinkSync(ROOT, join(app, 'node_modules', 'tensorbolt'), 'dir');
  symlinkSync(join(ROOT, 'node_modules', '@types', 'node'), join(app, 'node_modules', '@types', 'node'), 'dir');
  writeFileSync(join(app, 'main.ts'), MAIN);
});
afterAll(() => rmSync(app, { recursive: true, force: true }));

describe('a user project compiles against the .d.ts', () => {
  it('tsc --strict with the default lib and target (no FinalizationRegistry or other ES2021 names needed)', async () => {
    const r = await tsc({}, ['main.ts']);
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  }, 240_000);

  it('--module nodenext, with the README and docs code blocks beside it', async () => {
    writeFileSync(join(app, 'package.json'), '{ "type": "module" }\n');
    const files = ['main.ts'];
    for (const page of ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)])
      for (const b of blocksOf(join(ROOT, page), page).filter((x) => x.lang === 'ts')) {
        const name = b.file ? `${b.file}.ts` : `${page.replace(/[/.]/g, '-')}-${b.where.split(':').pop()}.ts`;
        writeFileSync(join(app, name), b.code);
        files.push(name);
      }
    expect(files.length).toBeGreaterThan(4);
    const r = await tsc({ module: 'nodenext' }, files);
    rmSync(join(app, 'package.json'));
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  }, 240_000);

  it('--module esnext --moduleResolution bundler', async () => {
    const r = await tsc({ module: 'esnext', moduleResolution: 'bundler', target: 'es2022' }, ['main.ts']);
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  }, 240_000);

  it("a misspelt optimizer name does not compile: compile({ optimizer: 'adamm' })", async () => {
    writeFileSync(join(app, 'typo.ts'), `import * as tb from 'tensorbolt';\ntb.sequential([]).compile({ optimizer: 'adamm', loss: 'mse' });\n`);
    const r = await tsc({}, ['typo.ts']);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/typo\.ts\(2,\d+\): error TS\d+: Type '"adamm"' is not assignable to type 'KerasOptimizerName/);
  }, 240_000);
});
