// Running the worker scripts of test/distributed/workers as ranks: under `tensorbolt launch` (the
// compiled CLI in dist/) or as a plain node process (a world of one). Tests that need MPI skip
// where the addon was built without it or mpirun is missing.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native } from '../../lib/native/load.js';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'dist', 'lib', 'cli.js');

export function mpiMissing(): string | null {
  if (!native().dist) return 'the addon was built without MPI';
  const r = spawnSync('mpirun', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'mpirun is not installed';
  checkDist();
  return null;
}

/** The workers run dist/: fail rather than test stale code. */
function checkDist(): void {
  for (const dir of ['distributed', 'train']) {
    for (const f of readdirSync(join(root, 'lib', dir)).filter((x) => x.endsWith('.ts'))) {
      const out = join(root, 'dist', 'lib', dir, f.replace(/\.ts$/, '.js'));
      if (!existsSync(out) || statSync(out).mtimeMs < statSync(join(root, 'lib', dir, f)).mtimeMs)
        throw new Error(`dist/lib/${dir}/${f.replace(/\.ts$/, '.js')} is missing or older than its source: run npx tsc -p . first`);
    }
  }
}

export interface Ranks {
  code: number | null;
  signal: string | null;
  out: string;
  err: string;
  seconds: number;
  /** The JSON lines printed, by rank. */
  byRank: Record<string, unknown>[];
}

function clean(env: Record<string, string>): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const k of Object.keys(e)) if (k.startsWith('OMPI_') || k.startsWith('PMIX_')) delete e[k];
  return e;
}

// Asynchronous, so the test worker's event loop (vitest's RPC with it) runs while the ranks do.
function run(args: string[], env: Record<string, string>, timeoutMs: number, command = process.execPath): Promise<Ranks> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env: clean(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve(collect(code, signal, out, err, t0));
    });
  });
}

function collect(code: number | null, signal: string | null, out: string, err: string, t0: number): Ranks {
  const byRank: Record<string, unknown>[] = [];
  for (const line of out.split('\n')) {
    if (!line.startsWith('{')) continue;
    // A line that is not JSON (mpirun splits long lines of output between ranks) is left out: the
    // test then fails on the missing rank, showing the output, instead of hanging in this callback.
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    byRank[j.rank as number] = j;
  }
  return { code, signal, out, err, seconds: (Date.now() - t0) / 1000, byRank };
}

/** Runs workers/<script> as n ranks through `tensorbolt launch`. */
export function launch(n: number, script: string, env: Record<string, string> = {}, timeoutMs = 240_000, mpirunArgs = ''): Promise<Ranks> {
  const extra = mpirunArgs ? ['--mpirun-args', mpirunArgs] : [];
  return run([cli, 'launch', '-n', String(n), ...extra, join(root, 'test', 'distributed', 'workers', script)], env, timeoutMs);
}

/** Runs workers/<script> as n ranks under plain mpirun (what a user may type instead of `tensorbolt launch`). */
export function mpirun(n: number, script: string, env: Record<string, string> = {}, timeoutMs = 240_000): Promise<Ranks> {
  const flags = ['-np', String(n), '--oversubscribe', ...(process.getuid?.() === 0 ? ['--allow-run-as-root'] : []), '-x', 'OMP_NUM_THREADS=1'];
  return run([...flags, process.execPath, join(root, 'test', 'distributed', 'workers', script)], env, timeoutMs, 'mpirun');
}

/** Runs workers/<script> as one plain process (no launcher). */
export function single(script: string, env: Record<string, string> = {}, timeoutMs = 240_000): Promise<Ranks> {
  return run([join(root, 'test', 'distributed', 'workers', script)], env, timeoutMs);
}

export function describeRun(r: Ranks): string {
  return `exit ${r.code} (signal ${r.signal}) after ${r.seconds} s\n--- stdout\n${r.out.slice(-3000)}\n--- stderr\n${r.err.slice(-3000)}`;
}
