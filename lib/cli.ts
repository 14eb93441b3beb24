#!/usr/bin/env node
// tensorbolt train|info|bench — the command-line entry.
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tb from './index.js';
import { LAUNCH_USAGE, launch } from './distributed/launch.js';

const USAGE = `usage:
  tensorbolt train mnist [--model mlp|cnn] [--epochs N] [--batch-size B] [--optimizer adam|sgd|adadelta|rmsprop|adagrad|adamw]
                         [--lr X] [--seed S] [--save DIR] [--limit N] [--threads T] [--device cpu|cuda|auto] [--quiet]
  tensorbolt info [--device cpu|cuda|auto]
  tensorbolt bench [--quick] [--device cuda] [--distributed]
  tensorbolt launch -n N [--hostfile FILE] [--threads T] [--timeout S] [--dry-run] script.js [args...]
  tensorbolt --version | --help`;

const TRAIN_HELP = `usage: tensorbolt train mnist [options]
Trains a model on MNIST (shipped offline), then prints test accuracy, a report and a confusion matrix.
  --model mlp|cnn       784-128-10 MLP (default) or the Keras MNIST CNN
  --epochs N            epochs (default 5 for mlp, 1 for cnn)
  --batch-size B        batch size (default 128)
  --optimizer NAME      adam (default), sgd, adadelta, rmsprop, adagrad, adamw: Keras's defaults
  --lr X                learning rate (default: the optimizer's)
  --seed S              seed of initialization and shuffling (default 1234)
  --limit N             train on the first N images only
  --threads T           threads for the kernels (at most the cores of this machine)
  --device D            cpu (default), cuda (a CUDA build and a GPU; see docs/cuda.md), or auto (cuda when usable)
  --save DIR            save the model there (model.json + its weights file, TensorFlow.js layers format)
  --quiet               no summary and no progress bar
  -h, --help            this help`;

function fail(msg: string): never {
  console.error(`tensorbolt: ${msg}\n${USAGE}`);
  process.exit(2);
}

function num(v: string | undefined, name: string, dflt: number, integer = true, allowZero = false): number {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || (integer && !Number.isInteger(x)) || x < 0 || (x === 0 && !allowZero))
    fail(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} ${integer ? 'integer' : 'number'}, got '${v}'`);
  return x;
}

/**
 * `--epochs -1` as `--epochs=-1`: parseArgs takes a value that starts with '-' for an option of its
 * own and calls it ambiguous; a number there is a value, which the range checks then judge.
 */
function joinNegativeValues(argv: string[], valued: Set<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (valued.has(a) && next !== undefined && /^-\d|^-\.\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** Caps --threads at the cores here (999 threads on 2 cores only fight over them), saying so. */
function threadCount(v: string): number {
  const want = num(v, 'threads', 1);
  const cores = availableParallelism();
  if (want <= cores) return want;
  console.error(`tensorbolt: --threads ${want} is more than the ${cores} cores of this machine; using ${cores}`);
  return cores;
}

/** Runs parseArgs, turning its errors (unknown option, missing value) into usage errors instead of a stack trace. */
function parsed<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) fail((e as Error).message);
    throw e;
  }
}

const TRAIN_OPTIONS = {
  model: { type: 'string', default: 'mlp' }, epochs: { type: 'string' }, 'batch-size': { type: 'string' },
  optimizer: { type: 'string', default: 'adam' }, lr: { type: 'string' }, seed: { type: 'string' },
  save: { type: 'string' }, limit: { type: 'string' }, threads: { type: 'string' }, quiet: { type: 'boolean', default: false },
  device: { type: 'string', default: 'cpu' }, help: { type: 'boolean', short: 'h', default: false },
} as const;

/** --device: 'cpu', 'cuda' (refused, saying why, where no GPU is usable) or 'auto' (cuda when usable). */
function deviceArg(v: string | undefined): tb.DeviceName {
  if (v === undefined || v === 'cpu') return 'cpu';
  if (v === 'auto') return tb.cuda.isAvailable() ? 'cuda' : 'cpu';
  if (v !== 'cuda') fail(`--device must be cpu, cuda or auto, got '${v}'`);
  if (!tb.cuda.isAvailable()) {
    console.error(`tensorbolt: --device cuda: ${tb.cuda.info().built ? `the CUDA build cannot be used: ${tb.cuda.info().reason}` : 'this install has no CUDA build (npm run build:cuda where the CUDA toolkit with cuBLAS is installed; see docs/cuda.md)'}`);
    process.exit(1);
  }
  return 'cuda';
}

/** The device line of train and info: where tensors live, and what runs them. */
function deviceLine(device: tb.DeviceName): string {
  const i = tb.backendInfo();
  if (device === 'cuda') return `cuda (${tb.cuda.info().device!.name}; matmul precision ${tb.getMatmulPrecision()})`;
  return `cpu (${i.isa} kernels, GEMM ${i.gemmKernel}), ${i.threads} threads`;
}

async function train(argv: string[]): Promise<void> {
  const valued = new Set(Object.entries(TRAIN_OPTIONS).filter(([, o]) => o.type === 'string').map(([k]) => `--${k}`));
  const { values, positionals } = parsed(() => parseArgs({
    args: joinNegativeValues(argv, valued),
    allowPositionals: true,
    options: TRAIN_OPTIONS,
  }));
  if (values.help) {
    console.log(TRAIN_HELP);
    return;
  }
  if (positionals[0] !== 'mnist') fail(`train needs a data set: 'mnist' (got ${positionals[0] ?? 'nothing'})`);
  const kind = values.model;
  if (kind !== 'mlp' && kind !== 'cnn') fail(`--model must be mlp or cnn, got '${kind}'`);
  const epochs = num(values.epochs, 'epochs', kind === 'cnn' ? 1 : 5);
  const batchSize = num(values['batch-size'], 'batch-size', 128);
  // 0 is a seed like any other (it was rejected as not positive)
  const seed = values.seed !== undefined ? num(values.seed, 'seed', 0, true, true) : 1234;
  if (values.threads) tb.setNumThreads(threadCount(values.threads));
  tb.setSeed(seed);
  // every option is checked before the data set loads
  const optName = values.optimizer!;
  const lr = values.lr !== undefined ? num(values.lr, 'lr', 0, false) : undefined;
  const optimizer = tb.optim.optimizerFromName(optName, lr !== undefined ? { learningRate: lr } : {});
  const limitArg = values.limit ? num(values.limit, 'limit', 60000) : Infinity;
  const device = deviceArg(values.device);

  const t0 = performance.now();
  const { train: tr, test } = await tb.datasets.mnist();
  const limit = Math.min(limitArg, tr.images.shape[0]!);
  const xTrain = limit < tr.images.shape[0]! ? tr.images.slice([0, 0, 0, 0], [limit, -1, -1, -1]) : tr.images;
  const yTrain = tb.toCategorical(limit < tr.labels.shape[0]! ? tr.labels.slice([0], [limit]) : tr.labels, 10);
  const yTest = tb.toCategorical(test.labels, 10);
  console.log(`MNIST: ${xTrain.shape[0]} training and ${test.images.shape[0]} test images (loaded in ${((performance.now() - t0) / 1000).toFixed(1)}s)`);

  const model = kind === 'cnn' ? tb.models.mnistCnn() : tb.models.mnistMlp();
  model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'], device });
  if (!values.quiet) model.summary();
  console.log(`device: ${deviceLine(device)}; optimizer ${optName}${lr !== undefined ? ` lr ${lr}` : ''}, batch ${batchSize}, ${epochs} epoch(s), seed ${seed}`);
  const tFit = performance.now();
  await model.fit(xTrain, yTrain, { batchSize, epochs, validationData: [test.images, yTest], verbose: values.quiet ? 0 : 1 });
  const fitSecs = (performance.now() - tFit) / 1000;
  const [loss, acc] = model.evaluate(test.images, yTest, { batchSize: 512 });
  const pred = model.predict(test.images, { batchSize: 512 });
  const predLabels = pred.argMax(-1).dataSync() as Int32Array;
  const trueLabels = test.labels.dataSync() as Int32Array;
  const cm = tb.metrics.confusionMatrix(trueLabels, predLabels, 10);
  console.log(`\ntrained in ${fitSecs.toFixed(1)}s (${((xTrain.shape[0]! * epochs) / fitSecs).toFixed(0)} images/s)`);
  console.log(`test loss ${loss!.toFixed(4)}, test accuracy ${(acc! * 100).toFixed(2)}%\n`);
  console.log(tb.metrics.classificationReport(trueLabels, predLabels, { numClasses: 10 }));
  console.log('\nconfusion matrix (rows: true class, columns: predicted class)');
  console.log(tb.metrics.formatConfusionMatrix(cm));
  if (values.save) {
    const url = values.save.includes('://') ? values.save : `file://${values.save}`;
    await model.save(url);
    console.log(`\nsaved to ${values.save} (model.json + its weights file, TensorFlow.js layers format)`);
  }
}

function cudaVersion(v: number, cublas = false): string {
  if (!v) return 'unknown';
  return cublas ? `${Math.floor(v / 10000)}.${Math.floor(v / 100) % 100}.${v % 100}` : `${Math.floor(v / 1000)}.${(v % 1000) / 10}`;
}

function cudaLine(): string {
  const c = tb.cuda.info();
  if (!c.built) return 'not built (npm run build:cuda where the CUDA toolkit with nvcc and cuBLAS is installed; see docs/cuda.md)';
  if (!c.available || !c.device) return `built, not in use: ${c.reason}`;
  const d = c.device;
  return `${d.name}, compute capability ${d.computeCapability}, ${d.multiprocessors} SMs, ` +
    `${(d.totalMemory / 2 ** 30).toFixed(1)} GiB; CUDA runtime ${cudaVersion(d.runtimeVersion)}, ` +
    `driver ${cudaVersion(d.driverVersion)}, cuBLAS ${cudaVersion(d.cublasVersion, true)}; ` +
    `matmul precision ${tb.getMatmulPrecision()}`;
}

function info(argv: string[]): void {
  const { values } = parsed(() => parseArgs({ args: argv, options: { device: { type: 'string', default: 'auto' } } }));
  const device = deviceArg(values.device);
  const i = tb.backendInfo();
  console.log(`tensorbolt ${tb.version}`);
  // what `train --device ${values.device}` would run on
  console.log(`device:    ${deviceLine(device)}`);
  console.log(`isa:       ${i.isa} (this CPU runs: ${i.isaSupported.join(', ')}; TENSORBOLT_ISA=avx512|avx2|portable forces one; CPU kernels only)`);
  console.log(`bf16:      ${i.bf16 ? `AVX512_BF16 present; setMatmulPrecision('bf16') ${i.cpuBf16 ? 'on' : 'off'} (CPU products only)` : 'no AVX512_BF16 on this CPU'}`);
  console.log(`gemm:      ${i.gemmKernel}; OpenBLAS ${i.openblas ? `${i.gemm === 'openblas' ? 'on' : 'off'} (${i.openblasConfig})` : 'not linked: apt-get install libopenblas-dev && npm rebuild tensorbolt'}`);
  console.log(`threads:   ${i.threads} (OpenMP ${i.openmp ? 'on' : 'off'})`);
  console.log(`compiler:  ${i.compiler}`);
  console.log(`addon:     ${i.addonPath}`);
  console.log(`cuda:      ${cudaLine()}`);
  console.log(`mpi:       ${tb.distributed.isAvailable() ? `Open MPI built in${tb.distributed.isNcclAvailable() ? ' (and NCCL)' : ''}: tb.distributed, tensorbolt launch -n N script.js` : 'not built, so no tb.distributed (apt-get install openmpi-bin libopenmpi-dev, then rebuild from source)'}`);
  console.log(`node:      ${process.version} (N-API ${process.versions.napi})`);
}

function bench(argv: string[]): void {
  const here = dirname(fileURLToPath(import.meta.url));
  const script = join(here, '..', 'bench', 'run.js');
  if (!existsSync(script)) fail('the benchmark suite is not part of this install (it ships with the source repository)');
  const r = spawnSync(process.execPath, [script, ...argv], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const [cmd, ...rest] = process.argv.slice(2);
const helpAsked = rest.includes('--help') || rest.includes('-h');
try {
  if (cmd === 'train') await train(rest);
  else if (cmd === 'info' && helpAsked) console.log('usage: tensorbolt info [--device cpu|cuda|auto]\nPrints the version, the device in use (default auto: cuda when a CUDA build and a GPU are usable), the instruction set of the CPU kernels and bf16 support, what runs the GEMMs, threads, the addon loaded and CUDA status.');
  else if (cmd === 'info') info(rest);
  else if (cmd === 'bench') bench(rest);
  else if (cmd === 'launch') {
    if (rest.length === 0 || rest[0] === '--help' || rest[0] === '-h') console.log(LAUNCH_USAGE);
    else process.exitCode = await launch(rest);
  }
  else if (cmd === '--version' || cmd === '-v' || cmd === 'version') console.log(tb.version);
  else if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') console.log(USAGE);
  else fail(`unknown command '${cmd}'`);
} catch (e) {
  if (e instanceof tb.TensorboltError) {
    console.error(`tensorbolt: ${e.message}`);
    process.exit(1);
  }
  // The addon loader's own message says what was tried and the command that fixes it: a stack
  // trace around it only hides it.
  if (e instanceof Error && e.message.startsWith('tensorbolt: ')) {
    console.error(e.message);
    process.exit(1);
  }
  throw e;
}
