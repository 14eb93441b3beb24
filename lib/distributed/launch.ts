// `tensorbolt launch -n 4 train.js [args]`: runs train.js as 4 ranks under Open MPI's mpirun with
// the flags a Node program needs: --oversubscribe when there are more ranks than cores (mpirun
// refuses otherwise), --allow-run-as-root as root (containers), one compute thread per rank unless
// told otherwise, no binding of ranks to cores (Horovod's horovodrun does the same: a rank's
// communication thread, its OpenMP team and other programs then share the cores as the kernel
// sees fit; --mpirun-args "--bind-to core" brings binding back), and the variables set here
// exported to every rank, remote ones included.
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { TensorboltError } from '../tensor/errors.js';

export const LAUNCH_USAGE = `usage: tensorbolt launch -n N [--hostfile FILE] [--threads T] [--timeout S] [--mpirun PATH]
                        [--mpirun-args "ARGS"] [--dry-run] script.js [script args...]
  -n, --np N        ranks to start (required)
  --hostfile FILE   Open MPI hostfile: one line per machine, "host slots=K" (default: this machine only)
  --threads T       compute threads per rank (default 1: OMP_NUM_THREADS)
  --timeout S       seconds a collective waits for the other ranks before failing (TENSORBOLT_DIST_TIMEOUT; default 600)
  --mpirun PATH     the mpirun to use (default: mpirun on PATH)
  --mpirun-args ARGS   more arguments for mpirun, as one string (e.g. "--mca btl_tcp_if_include eth0")
  --dry-run         print the mpirun command and exit`;

export interface LaunchSpec {
  np: number;
  script: string;
  args: string[];
  hostfile?: string;
  threads: number;
  timeout?: number;
  mpirun: string;
  extra: string[];
  dryRun: boolean;
}

/** Parses `launch`'s own options; everything from the script on belongs to the script. */
export function parseLaunchArgs(argv: string[]): LaunchSpec {
  const op = 'launch';
  const spec: Partial<LaunchSpec> & { args: string[]; extra: string[] } = { args: [], extra: [], threads: 1, mpirun: 'mpirun', dryRun: false };
  const int = (v: string | undefined, name: string, min = 1): number => {
    const n = Number(v);
    if (v === undefined || v.trim() === '' || !Number.isInteger(n) || n < min) throw new TensorboltError(op, `${name} needs an integer >= ${min}, got ${v === undefined ? 'nothing' : `'${v}'`}`);
    return n;
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === '-n' || flag === '--np' || flag === '-np') spec.np = int(value(), '-n');
    else if (flag === '--hostfile') spec.hostfile = value();
    else if (flag === '--threads') spec.threads = int(value(), '--threads');
    else if (flag === '--timeout') {
      const v = value();
      const t = Number(v);
      if (!(t > 0)) throw new TensorboltError(op, `--timeout needs a positive number of seconds, got '${v}'`);
      spec.timeout = t;
    } else if (flag === '--mpirun') spec.mpirun = value();
    else if (flag === '--mpirun-args') spec.extra.push(...(value() ?? '').split(/\s+/).filter(Boolean));
    else if (flag === '--dry-run') spec.dryRun = true;
    else if (flag === '--') { i++; break; }
    else if (a.startsWith('-')) throw new TensorboltError(op, `unknown option '${a}' (options go before the script)`);
    else break;
  }
  if (spec.np === undefined) throw new TensorboltError(op, 'the number of ranks is missing: -n N');
  if (i >= argv.length) throw new TensorboltError(op, 'the script to run is missing: tensorbolt launch -n N script.js');
  if (spec.hostfile === undefined && argv.includes('--hostfile')) throw new TensorboltError(op, '--hostfile needs a file');
  spec.script = argv[i]!;
  spec.args = argv.slice(i + 1);
  return spec as LaunchSpec;
}

export interface Machine {
  cores: number;
  root: boolean;
  node: string;
}

/** mpirun's argument list and the variables exported to the ranks. */
export function mpirunCommand(spec: LaunchSpec, m: Machine): { command: string; args: string[]; env: Record<string, string> } {
  const env: Record<string, string> = {
    OMP_NUM_THREADS: String(spec.threads),
    // our GEMMs split over our OpenMP team; OpenBLAS's own pool stays at one thread
    OPENBLAS_NUM_THREADS: '1',
  };
  if (spec.timeout !== undefined) env.TENSORBOLT_DIST_TIMEOUT = String(spec.timeout);
  const args = ['-np', String(spec.np)];
  if (spec.hostfile) args.push('--hostfile', spec.hostfile);
  // On one machine we know the cores; with a hostfile its slots say what fits where.
  const oversubscribed = !spec.hostfile && spec.np * spec.threads > m.cores;
  if (oversubscribed) args.push('--oversubscribe');
  args.push('--bind-to', 'none');
  if (m.root) args.push('--allow-run-as-root');
  for (const k of Object.keys(env)) args.push('-x', k);
  args.push(...spec.extra, m.node, spec.script, ...spec.args);
  return { command: spec.mpirun, args, env };
}

/** Runs the ranks, forwarding Ctrl-C, and resolves with mpirun's exit code. */
export async function launch(argv: string[]): Promise<number> {
  const spec = parseLaunchArgs(argv);
  const m: Machine = { cores: availableParallelism(), root: process.getuid?.() === 0, node: process.execPath };
  const { command, args, env } = mpirunCommand(spec, m);
  const line = [command, ...args].map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' ');
  if (spec.dryRun) {
    console.log(Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ') + ' ' + line);
    return 0;
  }
  const probe = spawnSync(command, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0)
    throw new TensorboltError('launch', `cannot run '${command}' (${probe.error ? probe.error.message : `exit ${probe.status}`}): install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev) or pass --mpirun PATH`);
  const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(code ?? (signal ? 128 + 15 : 1));
    });
  });
}
