// Smoke tests of every program in examples/ and of the CLI, run as a user would: the compiled
// JavaScript in dist/ (npx tsc -p .), with small --epochs/--limit so the whole file takes seconds.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tb from '../../lib/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = join(root, 'dist');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : []);
}

/** Fails when dist/ is missing or older than the sources, rather than testing stale code. */
function checkDist(): void {
  const stale: string[] = [];
  for (const src of [...tsFiles(join(root, 'lib')), ...tsFiles(join(root, 'examples'))]) {
    const out = join(dist, src.slice(root.length + 1).replace(/\.ts$/, '.js'));
    if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) stale.push(src.slice(root.length + 1));
  }
  if (stale.length) throw new Error(`dist/ is missing or older than ${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ' ...' : ''}: run npx tsc -p . first`);
}

interface Run {
  code: number | null;
  out: string;
  err: string;
}

// Asynchronous: a test that waited in spawnSync for a minute of child processes on a loaded machine
// kept this process from answering vitest ("Timeout calling onTaskUpdate").
function run(script: string, args: string[] = [], timeoutMs = 120_000, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(dist, script), ...args], { cwd: root, encoding: 'utf8', timeout: timeoutMs, env, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, out: stdout, err: stderr }));
  });
}

/** The first number captured by re in text (fails the test when absent). */
function num(text: string, re: RegExp): number {
  const m = re.exec(text);
  expect(m, `expected ${re} in:\n${text}`).not.toBeNull();
  return Number(m![1]);
}

function ok(r: Run): string {
  expect(r.code, `exit code; stderr:\n${r.err}`).toBe(0);
  return r.out;
}

beforeAll(checkDist);

// Each test waits on child processes that train: minutes on a loaded machine, not vitest's default.
describe('examples', { timeout: 300_000 }, () => {
  it('every example in examples/ has a smoke test here', async () => {
    const programs = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.ts') && f !== 'common.ts').sort();
    expect(programs).toEqual(['binary-classification.ts', 'char-rnn-keras.ts', 'char-rnn-pytorch.ts', 'linear-regression-keras.ts', 'linear-regression.ts',
      'mnist-cnn-keras.ts', 'mnist-lstm-keras.ts', 'pytorch-cnn.ts', 'pytorch-mlp.ts']);
  });

  it('linear-regression (autograd): the prediction for x = 4 is close to 4', async () => {
    const out = ok(await run('examples/linear-regression.js'));
    expect(out).toMatch(/^epoch {4}1 {2}loss \d+\.\d{6}$/m);
    expect(num(out, /prediction for x = 4: (-?\d+\.\d+)/)).toBeCloseTo(4, 1);
  });

  it('linear-regression fails loudly when it has not converged', async () => {
    const r = await run('examples/linear-regression.js', ['--epochs', '1']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('did not converge');
  });

  it('linear-regression-keras: loss falls and the prediction for x = 4 is close to 4', async () => {
    const out = ok(await run('examples/linear-regression-keras.js'));
    const first = num(out, /loss: epoch 1 (\d+\.\d+)/);
    const last = num(out, /-> epoch 1000 (\S+)/);
    expect(last).toBeLessThan(first * 1e-3);
    expect(num(out, /prediction for x = 4: (-?\d+\.\d+)/)).toBeCloseTo(4, 1);
  });

  it('binary-classification: high validation accuracy after a few epochs', async () => {
    const out = ok(await run('examples/binary-classification.js', ['--epochs', '5']));
    expect(num(out, /validation accuracy after 5 epochs: (\d+\.\d)%/)).toBeGreaterThan(90);
  });

  it('mnist-cnn-keras: summary, progress lines and a test accuracy well above chance', async () => {
    const out = ok(await run('examples/mnist-cnn-keras.js', ['--epochs', '1', '--limit', '1000']));
    expect(out).toContain('Total params: 1199882');
    expect(out).toMatch(/^Epoch 1\/1 - .* - val_loss: \d+\.\d{4} - val_accuracy: \d\.\d{4}$/m);
    expect(out).not.toMatch(/[\r\x1b]/); // a pipe is not a TTY: plain lines
    expect(num(out, /Test loss: (\d+\.\d+)/)).toBeLessThan(2.3);
    expect(num(out, /Test accuracy: (\d\.\d+)/)).toBeGreaterThan(0.4);
  });

  it('pytorch-cnn: trains on a subset and reports test accuracy', async () => {
    const out = ok(await run('examples/pytorch-cnn.js', ['--epochs', '1', '--limit', '1000']));
    expect(out).toMatch(/^epoch 1 batch 1: loss \d+\.\d{4}$/m);
    expect(num(out, /test accuracy: (\d+\.\d+)%/)).toBeGreaterThan(15);
  });

  it('pytorch-mlp: trains on a subset and reports test accuracy', async () => {
    const out = ok(await run('examples/pytorch-mlp.js', ['--epochs', '1', '--limit', '2000']));
    expect(num(out, /epoch 1: train loss (\d+\.\d+)/)).toBeLessThan(2.3);
    expect(num(out, /test accuracy (\d+\.\d+)%/)).toBeGreaterThan(60);
  });

  it('mnist-lstm-keras: the rows-as-steps LSTM trains on a subset, well above chance', async () => {
    const out = ok(await run('examples/mnist-lstm-keras.js', ['--epochs', '1', '--limit', '1000']));
    expect(out).toContain('Total params: 81674');
    expect(out).toMatch(/^Epoch 1\/1 - loss: \d+\.\d{4} - accuracy: \d\.\d{4} - val_loss/m);
    expect(num(out, /Test accuracy: (\d\.\d+)/)).toBeGreaterThan(0.2);
  });

  for (const [name, args] of [['char-rnn-keras', ['--epochs', '3']], ['char-rnn-pytorch', ['--epochs', '3', '--steps', '15']]] as const) {
    it(`${name}: the loss falls and every epoch prints a sample of the text's characters`, async () => {
      const out = ok(await run(`examples/${name}.js`, [...args, '--limit', '4000', '--length', '60']));
      const losses = [...out.matchAll(/^epoch (\d+) loss (\d+\.\d+)$/gm)].map((m) => Number(m[2]));
      expect(losses.length).toBe(3);
      expect(losses[2]!).toBeLessThan(losses[0]!);
      const samples = [...out.matchAll(/^sample: (".*")$/gm)].map((m) => JSON.parse(m[1]!) as string);
      expect(samples.length).toBe(3);
      for (const s of samples) expect(s.length).toBeGreaterThanOrEqual(60);
    });
  }

  it('reject a bad --epochs', async () => {
    const r = await run('examples/binary-classification.js', ['--epochs', '0']);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('--epochs needs a positive integer');
  });
});

describe('CLI', { timeout: 300_000 }, () => {
  it('train mnist --model mlp on 2000 images: accuracy, report and confusion matrix', async () => {
    const out = ok(await run('lib/cli.js', ['train', 'mnist', '--model', 'mlp', '--epochs', '1', '--limit', '2000', '--quiet']));
    expect(out).toMatch(/^MNIST: 2000 training and 10000 test images/m);
    expect(out).toMatch(/optimizer adam, batch 128, 1 epoch\(s\), seed 1234/);
    expect(out).toMatch(/^trained in [\d.]+s \(\d+ images\/s\)$/m);
    expect(num(out, /test accuracy (\d+\.\d+)%/)).toBeGreaterThan(60);
    expect(out).toMatch(/^\s+accuracy\s+0\.\d{4}\s+10000$/m);
    expect(out).toContain('confusion matrix (rows: true class, columns: predicted class)');
    expect(out).not.toContain('Total params'); // --quiet: no summary
  });

  it('train accepts --seed 0 and other options', async () => {
    const out = ok(await run('lib/cli.js', ['train', 'mnist', '--epochs', '1', '--limit', '500', '--seed', '0', '--optimizer', 'sgd', '--lr', '0.1', '--batch-size', '50', '--quiet']));
    expect(out).toMatch(/optimizer sgd lr 0\.1, batch 50, 1 epoch\(s\), seed 0/);
    expect(num(out, /test accuracy (\d+\.\d+)%/)).toBeGreaterThan(30);
  });

  it('info', async () => {
    const out = ok(await run('lib/cli.js', ['info']));
    expect(out).toMatch(/^tensorbolt \d+\.\d+\.\d+/);
    expect(out).toMatch(/^gemm: +\w+/m);
    expect(out).toMatch(/^isa: +(avx512|avx2|portable) \(this CPU runs: [a-z0-9, ]+;/m);
    expect(out).toMatch(/^bf16: +\S/m);
    expect(out).toMatch(/^threads: +\d+ \(OpenMP (on|off)\)$/m);
    expect(out).toMatch(/^addon: +\S+\.node$/m);
    // the device in use (auto: cuda where a CUDA build and a GPU are usable)
    expect(out).toMatch(tb.cuda.isAvailable() ? /^device: +cuda \(/m : /^device: +cpu \(/m);
  });

  it('--device: cuda is refused, saying why, where no GPU is usable; a bad name is a usage error', async () => {
    const bad = await run('lib/cli.js', ['train', 'mnist', '--device', 'tpu', '--quiet']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("--device must be cpu, cuda or auto, got 'tpu'");
    if (tb.cuda.isAvailable()) return;
    const r = await run('lib/cli.js', ['train', 'mnist', '--device', 'cuda', '--epochs', '1', '--limit', '200', '--quiet']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--device cuda: .*(npm run build:cuda|cannot be used)/);
    const auto = ok(await run('lib/cli.js', ['train', 'mnist', '--device', 'auto', '--epochs', '1', '--limit', '200', '--quiet']));
    expect(auto).toMatch(/^device: cpu \(/m);
  });

  it.skipIf(tb.cuda.isAvailable())('bench --device cuda fails at once, saying what a GPU run needs', async () => {
    const r = await run('lib/cli.js', ['bench', '--device', 'cuda']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--device cuda: no usable GPU: .*npm run build:cuda/);
  });

  it('--version, and --help for the whole and for each command, exit 0', async () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(ok(await run('lib/cli.js', ['--version'])).trim()).toBe(pkg.version);
    expect(ok(await run('lib/cli.js', ['train', '--help']))).toMatch(/^usage: tensorbolt train mnist \[options\]$[^]*--epochs N/m);
    expect(ok(await run('lib/cli.js', ['train', 'mnist', '-h']))).toContain('--batch-size B');
    expect(ok(await run('lib/cli.js', ['info', '--help']))).toMatch(/^usage: tensorbolt info \[--device cpu\|cuda\|auto\]$/m);
    expect(ok(await run('lib/cli.js', ['--help']))).toContain('tensorbolt --version');
  });

  it('--threads beyond the cores is capped, with a warning', async () => {
    const r = await run('lib/cli.js', ['train', 'mnist', '--threads', '999', '--epochs', '1', '--limit', '200', '--quiet']);
    const cores = availableParallelism();
    expect(r.err).toContain(`--threads 999 is more than the ${cores} cores of this machine; using ${cores}`);
    expect(ok(r)).toMatch(new RegExp(`, ${cores} threads; optimizer adam`));
  });

  it('info when no addon loads: the loader\'s message and its fix, no stack trace', async () => {
    const r = await run('lib/cli.js', ['info'], 60_000, { ...process.env, TENSORBOLT_ADDON: join(root, 'no-such-addon.node') });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^tensorbolt: the addon named by TENSORBOLT_ADDON could not be loaded\.$/m);
    expect(r.err).toContain('Fix: unset TENSORBOLT_ADDON');
    expect(r.err).not.toMatch(/^\s+at /m);
  });

  it('help, and usage errors exit 2 with a message', async () => {
    expect(ok(await run('lib/cli.js', ['--help']))).toContain('usage:');
    for (const [args, msg] of [
      [['frobnicate'], "unknown command 'frobnicate'"],
      [['train', 'cifar'], "train needs a data set: 'mnist' (got cifar)"],
      [['train', 'mnist', '--model', 'rnn'], "--model must be mlp or cnn, got 'rnn'"],
      [['train', 'mnist', '--epochs', '0'], "--epochs must be a positive integer, got '0'"],
      [['train', 'mnist', '--seed=-1'], "--seed must be a non-negative integer, got '-1'"],
      // a negative number is a value to judge, not an option the parser calls ambiguous
      [['train', 'mnist', '--seed', '-1'], "--seed must be a non-negative integer, got '-1'"],
      [['train', 'mnist', '--epochs', '-1'], "--epochs must be a positive integer, got '-1'"],
      [['train', 'mnist', '--lr', '-0.5'], "--lr must be a positive number, got '-0.5'"],
      // option errors of the argument parser are usage errors too, not stack traces
      [['train', 'mnist', '--bogus'], "tensorbolt: Unknown option '--bogus'"],
      [['train', 'mnist', '--epochs'], "tensorbolt: Option '--epochs <value>' argument missing"],
      [['train', 'mnist', '--epochs', '-x'], "tensorbolt: Option '--epochs' argument is ambiguous"],
      [['train', 'mnist', '--optimizer', 'adamx', '--limit', '10'], "unknown optimizer 'adamx'"],
    ] as [string[], string][]) {
      const r = await run('lib/cli.js', args);
      expect(r.code, args.join(' ')).toBe(msg.includes('optimizer') ? 1 : 2);
      expect(r.err, args.join(' ')).toContain(msg);
      expect(r.err, args.join(' ')).not.toMatch(/^\s+at /m);
    }
  });
});
